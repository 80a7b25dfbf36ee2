// Package e2e runs the real rsvp binary against a real Dovecot: the checks
// of issue 4 (decisions through rsvp decide, kill -9 at random moments,
// mail delivered while the daemon is down) and of issue 5 (answers from the
// command backend).
package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"mime"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/internal/testserver/dovecot"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

var corpusDir = filepath.Join("..", "..", "..", "shared", "corpus")

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// rsvpBinary builds cmd/rsvp once per test run.
func rsvpBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rsvp-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "rsvp")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/rsvp").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

type label struct {
	Label   string `json:"label"`
	ReplyTo string `json:"reply_to"`
}

type mail struct {
	name    string
	raw     []byte
	id      string // Message-ID without brackets
	invite  bool
	replyTo string
}

func corpus(t *testing.T) []mail {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, "labels.json"))
	if err != nil {
		t.Fatalf("corpus: %v", err)
	}
	var labels map[string]label
	if err := json.Unmarshal(b, &labels); err != nil {
		t.Fatal(err)
	}
	var out []mail
	for name, l := range labels {
		raw, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			t.Fatal(err)
		}
		m, err := mailmsg.Read(bytes.NewReader(raw), mailmsg.Options{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mail{name: name, raw: raw, id: m.MessageID, invite: l.Label == "invite", replyTo: l.ReplyTo})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// env is one user's rsvp: a config and a state directory.
type env struct {
	t    *testing.T
	bin  string
	home string
	vars []string
}

func newEnv(t *testing.T, s *dovecot.Server, askYAML string) *env {
	t.Helper()
	home := t.TempDir()
	e := &env{t: t, bin: rsvpBinary(t), home: home}
	cfgDir := filepath.Join(home, "config", "rsvp")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(cfgDir, "password")
	if err := os.WriteFile(pw, []byte(s.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(s.Addr, ":")
	cfg := fmt.Sprintf(`me:
  name: Alex Morgan
  addresses: [alex@morgan.example]
accounts:
  - name: work
    address: alex.morgan@example.net
    host: %s
    port: %s
    security: plain
    username: %s
    password_file: %s
%s`, host, port, s.User, pw, askYAML)
	if err := os.WriteFile(filepath.Join(cfgDir, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.vars = append(os.Environ(),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_STATE_HOME="+filepath.Join(home, "state"),
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(home, "no-bus"),
		"XDG_RUNTIME_DIR="+home,
	)
	return e
}

// rsvp runs one command to completion.
func (e *env) rsvp(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Env = e.vars
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		e.t.Fatalf("rsvp %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// daemon is a running `rsvp run`.
type daemon struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (e *env) start() *daemon {
	e.t.Helper()
	return e.startArgs("run")
}

func (e *env) startArgs(args ...string) *daemon {
	e.t.Helper()
	d := &daemon{logs: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	d.cmd = exec.Command(e.bin, args...)
	d.cmd.Env = e.vars
	d.cmd.Stdout = lockedWriter{d.mu, d.logs}
	d.cmd.Stderr = lockedWriter{d.mu, d.logs}
	if err := d.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		d.cmd.Wait()
		close(d.done)
	}()
	e.t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
		if e.t.Failed() {
			e.t.Logf("rsvp run log:\n%s", d.log())
		}
	})
	return d
}

func (d *daemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logs.String()
}

func (d *daemon) kill9() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// row is one line of rsvp history --csv.
type row struct{ date, company, role, contact, decision, reason, state, id, account string }

func (e *env) history() []row {
	e.t.Helper()
	out, errOut, code := e.rsvp("history", "--csv")
	if code != 0 {
		e.t.Fatalf("rsvp history --csv: exit %d: %s", code, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		e.t.Fatalf("history CSV: %v\n%s", err, out)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != "date,company,role,contact,decision,reason,state,id,account" {
		e.t.Fatalf("history header %v", recs)
	}
	var rows []row
	for _, r := range recs[1:] {
		rows = append(rows, row{r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]})
	}
	return rows
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func countState(rows []row, state string) int {
	n := 0
	for _, r := range rows {
		if r.state == state {
			n++
		}
	}
	return n
}

// TestKillNineLoop is issue 4's end-to-end check: the real binary, the
// corpus in INBOX, decisions through rsvp decide, kill -9 at random
// moments, mail delivered while the daemon is down; then one draft per
// invitation, none for other mail, INBOX unchanged but for the keyword.
func TestKillNineLoop(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	mails := corpus(t)
	e := newEnv(t, s, "ask:\n  via: terminal\n")
	wantInvites := 0
	for _, m := range mails {
		if m.invite {
			wantInvites++
		}
	}
	// Half the corpus now, the rest while the daemon is down.
	half := len(mails) / 2
	for _, m := range mails[:half] {
		s.Deliver(t, s.User, "INBOX", m.raw)
	}
	delivered := half
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	for round := 0; round < 12; round++ {
		d := e.start()
		time.Sleep(time.Duration(rng.IntN(600)) * time.Millisecond)
		d.kill9()
		// While it is down: answer some waiting invitations, deliver mail.
		for _, r := range e.history() {
			if (r.state == "found" || r.state == "asked") && rng.IntN(2) == 0 {
				answer := []string{"decline", "reschedule", "ignore"}[rng.IntN(3)]
				if _, errOut, code := e.rsvp("decide", r.id, answer); code != 0 {
					t.Fatalf("rsvp decide %s %s: exit %d: %s", r.id, answer, code, errOut)
				}
			}
		}
		if delivered < len(mails) {
			n := min(len(mails)-delivered, 1+rng.IntN(3))
			for _, m := range mails[delivered : delivered+n] {
				s.Deliver(t, s.User, "INBOX", m.raw)
			}
			delivered += n
		}
	}
	for _, m := range mails[delivered:] {
		s.Deliver(t, s.User, "INBOX", m.raw)
	}

	// Last run: everything found, every waiting invitation decided through
	// rsvp decide while it runs, every draft written.
	d := e.start()
	waitFor(t, "every invitation found", 60*time.Second, func() bool { return len(e.history()) == wantInvites })
	pending, _, code := e.rsvp("pending")
	if code != 0 {
		t.Fatalf("rsvp pending: exit %d", code)
	}
	for _, r := range e.history() {
		if r.state == "found" || r.state == "asked" {
			if !strings.Contains(pending, r.id) {
				t.Errorf("rsvp pending does not list %s:\n%s", r.id, pending)
			}
			if _, errOut, code := e.rsvp("decide", r.id, "decline", "--reason", "timing"); code != 0 {
				t.Fatalf("rsvp decide: exit %d: %s", code, errOut)
			}
		}
	}
	waitFor(t, "every draft written", 60*time.Second, func() bool {
		rows := e.history()
		return countState(rows, "drafted")+countState(rows, "ignored") == wantInvites
	})
	if out, _, _ := e.rsvp("pending"); !strings.Contains(out, "No invitations waiting") {
		t.Errorf("rsvp pending after all decided:\n%s", out)
	}

	// SIGTERM stops it cleanly within 5 seconds.
	stopAt := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		if code := d.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("rsvp run exited %d after SIGTERM, want 0", code)
		}
		t.Logf("stopped %v after SIGTERM", time.Since(stopAt).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("rsvp run did not stop within 5 s of SIGTERM")
	}

	checkMailbox(t, s, mails, e.history())
}

// checkMailbox asserts the product rules on the server: INBOX holds every
// message once, with its UID, no \Seen, $Interview exactly on invitations;
// Drafts holds exactly one threaded reply per drafted invitation.
func checkMailbox(t *testing.T, s *dovecot.Server, mails []mail, rows []row) {
	t.Helper()
	byID := map[string]mail{}
	for _, m := range mails {
		byID[m.id] = m
	}
	inbox := s.Messages(t, s.User, "INBOX")
	if len(inbox) != len(mails) {
		t.Errorf("INBOX holds %d messages, want %d", len(inbox), len(mails))
	}
	for i, m := range inbox {
		if m.UID != uint32(i+1) {
			t.Errorf("INBOX message %d has UID %d: something was expunged or moved", i, m.UID)
		}
		mm := byID[strings.Trim(m.MessageID, "<>")]
		if m.HasFlag(`\Seen`) {
			t.Errorf("%s got \\Seen", mm.name)
		}
		if m.HasFlag("$Interview") != mm.invite {
			t.Errorf("%s: $Interview %v, want %v", mm.name, m.HasFlag("$Interview"), mm.invite)
		}
		other := slices.DeleteFunc(slices.Clone(m.Flags), func(f string) bool { return strings.EqualFold(f, "$Interview") })
		if len(other) != 0 {
			t.Errorf("%s: flags %v besides the keyword", mm.name, other)
		}
	}
	drafts := s.Messages(t, s.User, "Drafts", "In-Reply-To", "References", "To", "Subject")
	perInvite := map[string]int{}
	for _, d := range drafts {
		orig := strings.Trim(d.Header["in-reply-to"], "<> ")
		perInvite[orig]++
		m, ok := byID[orig]
		switch {
		case !ok || !m.invite:
			t.Errorf("draft %s answers %q, which is not an invitation", d.MessageID, orig)
			continue
		case !strings.Contains(strings.ToLower(d.Header["to"]), strings.ToLower(m.replyTo)):
			t.Errorf("%s: draft To %q, want %s", m.name, d.Header["to"], m.replyTo)
		case !strings.Contains(d.Header["references"], orig):
			t.Errorf("%s: draft References %q", m.name, d.Header["references"])
		}
		subj, _ := new(mime.WordDecoder).DecodeHeader(d.Header["subject"])
		if !strings.HasPrefix(subj, "Re: ") {
			t.Errorf("%s: draft Subject %q", m.name, subj)
		}
	}
	drafted := 0
	for _, r := range rows {
		if r.state == "drafted" {
			drafted++
		}
	}
	for orig, n := range perInvite {
		if n != 1 {
			t.Errorf("%d drafts answer %s, want 1", n, byID[orig].name)
		}
	}
	if len(drafts) != drafted {
		t.Errorf("Drafts holds %d messages, history says %d drafted", len(drafts), drafted)
	}
}

// TestCommandBackendAnswersEverything is issue 5's end-to-end check: rsvp
// run asks through a command that answers each invitation; the drafts
// appear without rsvp decide.
func TestCommandBackendAnswersEverything(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	mails := corpus(t)
	for _, m := range mails {
		s.Deliver(t, s.User, "INBOX", m.raw)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "answer.sh")
	// Reschedule when the question names a time, else decline; log each.
	os.WriteFile(script, []byte(`#!/bin/sh
q=$(cat)
echo "$RSVP_ID" >> "`+dir+`/asked"
case "$q" in *'"times":["'*) echo reschedule ;; *) echo '{"action":"decline","reason":"happy-where-i-am"}' ;; esac
`), 0o755)
	e := newEnv(t, s, fmt.Sprintf("ask:\n  via: command\n  command: [\"/bin/sh\", %q]\n  spacing: 10ms\n", script))
	want := 0
	for _, m := range mails {
		if m.invite {
			want++
		}
	}
	d := e.start()
	waitFor(t, "every invitation answered and drafted", 90*time.Second, func() bool {
		return countState(e.history(), "drafted") == want
	})
	d.cmd.Process.Signal(syscall.SIGTERM)
	<-d.done
	asked, _ := os.ReadFile(filepath.Join(dir, "asked"))
	if n := len(strings.Fields(string(asked))); n != want {
		t.Errorf("the command ran %d times, want once per invitation (%d)", n, want)
	}
	for _, r := range e.history() {
		if r.decision != "decline" && r.decision != "reschedule" {
			t.Errorf("invitation %s: decision %q", r.id, r.decision)
		}
		if r.decision == "decline" && r.reason != "happy-where-i-am" {
			t.Errorf("invitation %s: reason %q, want the command's happy-where-i-am", r.id, r.reason)
		}
	}
	checkMailbox(t, s, mails, e.history())
}

// TestScanChangesNothing: rsvp scan lists what would be flagged, with
// scores and rules, and changes nothing on the server or in the store.
func TestScanChangesNothing(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	mails := corpus(t)
	for _, m := range mails {
		s.Deliver(t, s.User, "INBOX", m.raw)
	}
	before := s.Messages(t, s.User, "INBOX")
	e := newEnv(t, s, "")
	out, errOut, code := e.rsvp("scan", "--since", "2d")
	if code != 0 {
		t.Fatalf("rsvp scan: exit %d: %s", code, errOut)
	}
	want := 0
	for _, m := range mails {
		if m.invite {
			want++
		}
	}
	if n := strings.Count(out, ": INVITATION (score "); n != want {
		t.Errorf("scan printed %d invitations, want %d:\n%s", n, want, out)
	}
	if !strings.Contains(out, fmt.Sprintf("work: %d messages in INBOX since", len(mails))) ||
		!strings.Contains(out, fmt.Sprintf("%d invitations would be flagged $Interview. Nothing was changed.", want)) {
		t.Errorf("scan summary missing or wrong:\n%s", out)
	}
	if !strings.Contains(out, "pts") || !strings.Contains(out, "rule name") {
		t.Errorf("scan does not show the rules that fired:\n%s", out)
	}
	after := s.Messages(t, s.User, "INBOX")
	if !slices.EqualFunc(before, after, func(a, b dovecot.Message) bool {
		return a.UID == b.UID && slices.Equal(a.Flags, b.Flags)
	}) {
		t.Errorf("scan changed INBOX:\nbefore %v\nafter  %v", before, after)
	}
	if rows := e.history(); len(rows) != 0 {
		t.Errorf("scan recorded %d invitations in the store", len(rows))
	}
	if d := s.Messages(t, s.User, "Drafts"); len(d) != 0 {
		t.Errorf("scan wrote %d drafts", len(d))
	}
	// Mail older than --since is left out.
	out, _, _ = e.rsvp("scan", "--since", "0s")
	if !strings.Contains(out, "0 invitations would be flagged") {
		t.Errorf("scan --since 0s:\n%s", out)
	}
}
