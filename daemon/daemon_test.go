package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/internal/syncbuf"
	"github.com/rsvp-mail/rsvp/internal/testserver/dovecot"
	"github.com/rsvp-mail/rsvp/mailbox"
	"github.com/rsvp-mail/rsvp/mailmsg"
	"github.com/rsvp-mail/rsvp/store"
)

var corpusDir = filepath.Join("..", "..", "shared", "corpus")

type label struct {
	Label   string `json:"label"`
	ReplyTo string `json:"reply_to"`
}

// corpusMail is the shared corpus: file name → raw, and the invitations.
func corpusMail(t testing.TB) (files []string, raw map[string][]byte, invites map[string]label) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, "labels.json"))
	if err != nil {
		t.Fatalf("corpus: %v", err)
	}
	var labels map[string]label
	if err := json.Unmarshal(b, &labels); err != nil {
		t.Fatal(err)
	}
	raw, invites = map[string][]byte{}, map[string]label{}
	for name, l := range labels {
		files = append(files, name)
		if raw[name], err = os.ReadFile(filepath.Join(corpusDir, name)); err != nil {
			t.Fatal(err)
		}
		if l.Label == "invite" {
			invites[name] = l
		}
	}
	sort.Strings(files)
	return files, raw, invites
}

// messageID is raw's Message-ID without angle brackets.
func messageID(t testing.TB, raw []byte) string {
	m, err := mailmsg.Read(bytes.NewReader(raw), mailmsg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return bare(m.MessageID)
}

func bare(id string) string { return strings.Trim(strings.TrimSpace(id), "<>") }

// decoded is an RFC 2047 header value as a reader sees it.
func decoded(t testing.TB, v string) string {
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		t.Fatalf("header %q: %v", v, err)
	}
	return s
}

// testConfig is a config for one account on s, loaded through the real
// parser and validator, the password in a 0600 password_file.
func testConfig(t testing.TB, s *dovecot.Server, extra string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte(s.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(s.Addr, ":")
	y := fmt.Sprintf(`me:
  name: Alex Morgan
  addresses: [alex@morgan.example]
  time_zone: Europe/London
accounts:
  - name: test
    address: alex.morgan@example.net
    host: %s
    port: %s
    security: plain
    username: %s
    password_file: %s
    poll_interval: 1s
%s`, host, port, s.User, pw, extra)
	cfg, err := config.Parse(filepath.Join(dir, "config.yaml"), []byte(y))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// events records what a daemon reports and lets a test wait for it.
type events struct {
	mu   sync.Mutex
	list []Event
	ch   chan struct{}
}

func newEvents() *events { return &events{ch: make(chan struct{}, 1)} }

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	e.mu.Unlock()
	select {
	case e.ch <- struct{}{}:
	default:
	}
}

func (e *events) all() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

func (e *events) count(k EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.list {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

func (e *events) errs() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []error
	for _, ev := range e.list {
		if ev.Kind == EventError {
			out = append(out, ev.Err)
		}
	}
	return out
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type running struct {
	d      *Daemon
	ev     *events
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned, with err set
	err    error
}

// stop cancels the daemon and waits for Run to return.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Errorf("Run = %v", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon did not stop within 10 s of cancel")
	}
}

type syncBuffer = syncbuf.Buffer

func start(t testing.TB, cfg *config.Config, st *store.Store, mod func(*Options)) *running {
	t.Helper()
	r := &running{ev: newEvents(), logs: &syncBuffer{}, done: make(chan struct{})}
	opts := Options{Config: cfg, Store: st, OnEvent: r.ev.add, MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second,
		Logger: slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&opts)
	}
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	r.d = d
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		r.err = d.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
		if t.Failed() {
			t.Logf("daemon log:\n%s", r.logs.String())
		}
	})
	return r
}

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir, &store.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func invitations(t testing.TB, st *store.Store) []store.Invitation {
	t.Helper()
	list, err := st.History(context.Background(), store.HistoryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestTheWholeLoopOnDovecot is the daemon's main path against a real
// server: the corpus in INBOX; every invitation found, recorded and
// flagged, nothing else touched; each decided; one threaded draft each.
func TestTheWholeLoopOnDovecot(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	files, raw, invites := corpusMail(t)
	for _, f := range files {
		s.Deliver(t, s.User, "INBOX", raw[f])
	}
	before := s.Messages(t, s.User, "INBOX")
	cfg := testConfig(t, s, "")
	stDir := t.TempDir()
	st := openStore(t, stDir)
	r := start(t, cfg, st, nil)

	waitFor(t, "every invitation found", 30*time.Second, func() bool { return r.ev.count(EventFound) >= len(invites) })
	waitFor(t, "the daemon idle", 30*time.Second, func() bool { return r.ev.count(EventIdle) > 0 })
	byMsgID := map[string]string{}
	for name := range invites {
		byMsgID[messageID(t, raw[name])] = name
	}
	list := invitations(t, st)
	if len(list) != len(invites) {
		t.Fatalf("recorded %d invitations, want %d", len(list), len(invites))
	}
	for _, inv := range list {
		if _, ok := byMsgID[bare(inv.MessageID)]; !ok {
			t.Errorf("recorded %s (%s), which the corpus labels other", inv.MessageID, inv.Subject)
		}
		full, err := st.Get(context.Background(), inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if inv.State != store.StateFound || len(full.Raw) == 0 || len(inv.Raw) != 0 {
			t.Errorf("invitation %s: state %s, %d raw bytes; want found with the message kept (and left out of lists)", inv.ID, inv.State, len(inv.Raw))
		}
	}

	// INBOX: same messages, same UIDs; the keyword on invitations only; no \Seen.
	after := s.Messages(t, s.User, "INBOX")
	if len(after) != len(before) {
		t.Fatalf("INBOX has %d messages, had %d", len(after), len(before))
	}
	for i, m := range after {
		_, invite := byMsgID[bare(m.MessageID)]
		if m.UID != before[i].UID {
			t.Errorf("message %d: UID %d, was %d", i, m.UID, before[i].UID)
		}
		if m.HasFlag(`\Seen`) {
			t.Errorf("UID %d got \\Seen", m.UID)
		}
		if got := m.HasFlag("$Interview"); got != invite {
			t.Errorf("UID %d (%s): $Interview = %v, want %v", m.UID, m.MessageID, got, invite)
		}
		others := slices.DeleteFunc(slices.Clone(m.Flags), func(f string) bool { return strings.EqualFold(f, "$Interview") })
		if !slices.Equal(others, before[i].Flags) {
			t.Errorf("UID %d: flags %v, were %v", m.UID, m.Flags, before[i].Flags)
		}
	}

	// Decide each from another Store handle, as `rsvp decide` does.
	other := openStore(t, stDir)
	for i, inv := range list {
		var err error
		switch i % 3 {
		case 0:
			_, err = other.Decide(context.Background(), inv.ID, store.ActionDecline, "")
		case 1:
			_, err = other.Decide(context.Background(), inv.ID, store.ActionReschedule, "")
		case 2:
			_, err = other.Decide(context.Background(), inv.ID, store.ActionDecline, "timing")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every draft written", 30*time.Second, func() bool { return r.ev.count(EventDrafted) == len(list) })
	checkDrafts(t, s, st, raw, invites)

	// A restart writes nothing again and flags nothing new.
	r.stop(t)
	r2 := start(t, cfg, st, nil)
	waitFor(t, "the restarted daemon idle", 30*time.Second, func() bool { return r2.ev.count(EventIdle) > 0 })
	if n := r2.ev.count(EventFound) + r2.ev.count(EventDrafted); n != 0 {
		t.Errorf("after a restart: %d found or drafted events, want 0", n)
	}
	checkDrafts(t, s, st, raw, invites)
}

// checkDrafts asserts exactly one draft per decided invitation, threaded
// and addressed as the corpus labels say, and no other drafts.
func checkDrafts(t *testing.T, s *dovecot.Server, st *store.Store, raw map[string][]byte, invites map[string]label) {
	t.Helper()
	drafts := s.Messages(t, s.User, "Drafts", "In-Reply-To", "References", "To", "Subject")
	byReplyTo := map[string]int{}
	for _, d := range drafts {
		byReplyTo[bare(d.Header["in-reply-to"])]++
		if !d.HasFlag(`\Draft`) || !d.HasFlag(`\Seen`) {
			t.Errorf("draft UID %d flags %v, want \\Draft and \\Seen", d.UID, d.Flags)
		}
	}
	decided := 0
	for name, l := range invites {
		id := messageID(t, raw[name])
		inv, err := st.FindByMessageID(context.Background(), "test", id)
		if errors.Is(err, store.ErrNotFound) {
			continue // not delivered in this test
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if inv.State != store.StateDrafted {
			continue
		}
		decided++
		if n := byReplyTo[id]; n != 1 {
			t.Errorf("%s: %d drafts in reply, want 1", name, n)
			continue
		}
		for _, d := range drafts {
			if bare(d.Header["in-reply-to"]) != id {
				continue
			}
			if !strings.Contains(strings.ToLower(d.Header["to"]), strings.ToLower(l.ReplyTo)) {
				t.Errorf("%s: draft To %q, want %s", name, d.Header["to"], l.ReplyTo)
			}
			if !strings.Contains(d.Header["references"], id) {
				t.Errorf("%s: draft References %q lacks %s", name, d.Header["references"], id)
			}
			if subj := decoded(t, d.Header["subject"]); !strings.HasPrefix(strings.ToLower(subj), "re:") {
				t.Errorf("%s: draft Subject %q is not a reply's", name, subj)
			}
			if bare(d.MessageID) != bare(inv.DraftMessageID) {
				t.Errorf("%s: draft Message-ID %s, recorded %s", name, d.MessageID, inv.DraftMessageID)
			}
		}
	}
	if len(drafts) != decided {
		t.Errorf("Drafts holds %d messages, want %d (one per decided invitation)", len(drafts), decided)
	}
}

func TestFirstStartLooksOnlyAtRecentMail(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	_, raw, invites := corpusMail(t)
	var names []string
	for n := range invites {
		names = append(names, n)
	}
	sort.Strings(names)
	// Two invitations from a month ago, one from today.
	for _, n := range names[:2] {
		s.AppendAt(t, raw[n], time.Now().AddDate(0, -1, 0))
	}
	s.Deliver(t, s.User, "INBOX", raw[names[2]])
	st := openStore(t, t.TempDir())
	r := start(t, testConfig(t, s, "    since: 14d\n"), st, nil)
	waitFor(t, "the daemon idle", 30*time.Second, func() bool { return r.ev.count(EventIdle) > 0 })
	list := invitations(t, st)
	if len(list) != 1 || bare(list[0].MessageID) != messageID(t, raw[names[2]]) {
		t.Fatalf("recorded %d invitations %v, want only today's %s", len(list), list, names[2])
	}
	// Mail arriving later is picked up; the old mail still is not.
	s.Deliver(t, s.User, "INBOX", raw[names[3]])
	waitFor(t, "the new invitation", 30*time.Second, func() bool { return len(invitations(t, st)) == 2 })
}

func TestDecisionBeforeStartIsDraftedOnStartAndRunningDaemonPicksItUp(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	_, raw, invites := corpusMail(t)
	var names []string
	for n := range invites {
		names = append(names, n)
	}
	sort.Strings(names)
	s.Deliver(t, s.User, "INBOX", raw[names[0]])
	s.Deliver(t, s.User, "INBOX", raw[names[1]])
	dir := t.TempDir()
	st := openStore(t, dir)
	cfg := testConfig(t, s, "")
	r := start(t, cfg, st, nil)
	waitFor(t, "two invitations", 30*time.Second, func() bool { return r.ev.count(EventFound) == 2 })
	r.stop(t)

	list := invitations(t, st)
	if _, err := st.Decide(context.Background(), list[0].ID, store.ActionDecline, ""); err != nil {
		t.Fatal(err)
	}
	r = start(t, cfg, st, nil)
	waitFor(t, "the draft decided while stopped", 30*time.Second, func() bool { return r.ev.count(EventDrafted) == 1 })
	waitFor(t, "idle", 30*time.Second, func() bool { return r.ev.count(EventIdle) > 0 })

	decided := time.Now()
	if _, err := openStore(t, dir).Decide(context.Background(), list[1].ID, store.ActionReschedule, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the draft decided while running", 30*time.Second, func() bool { return r.ev.count(EventDrafted) == 2 })
	t.Logf("decision to draft in Drafts: %v (goal under 2 s)", time.Since(decided).Round(time.Millisecond))
	checkDrafts(t, s, st, raw, invites)
}

func TestUIDValidityChangeAsksAndDraftsNothingTwice(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	_, raw, invites := corpusMail(t)
	var names []string
	for n := range invites {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names[:3] {
		s.Deliver(t, s.User, "INBOX", raw[n])
	}
	st := openStore(t, t.TempDir())
	cfg := testConfig(t, s, "")
	r := start(t, cfg, st, nil)
	waitFor(t, "three invitations", 30*time.Second, func() bool { return r.ev.count(EventFound) == 3 })
	list := invitations(t, st)
	if _, err := st.Decide(context.Background(), list[0].ID, store.ActionDecline, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one draft", 30*time.Second, func() bool { return r.ev.count(EventDrafted) == 1 })
	r.stop(t)

	s.SetUIDValidity(t, s.User, "INBOX", s.UIDValidity(t, s.User, "INBOX")+1000)
	r = start(t, cfg, st, nil)
	waitFor(t, "idle after the change", 30*time.Second, func() bool { return r.ev.count(EventIdle) > 0 })
	if !strings.Contains(r.logs.String(), "UIDVALIDITY changed") {
		t.Errorf("the change was not logged:\n%s", r.logs.String())
	}
	if n := r.ev.count(EventFound); n != 0 {
		t.Errorf("%d invitations found again after UIDVALIDITY changed, want 0", n)
	}
	after := invitations(t, st)
	if len(after) != 3 {
		t.Fatalf("%d invitations recorded, want 3", len(after))
	}
	for _, inv := range after {
		if inv.UIDValidity != s.UIDValidity(t, s.User, "INBOX") {
			t.Errorf("invitation %s still at UIDVALIDITY %d", inv.ID, inv.UIDValidity)
		}
	}
	checkDrafts(t, s, st, raw, invites)
}

func TestNoDraftsMailboxKeepsTheDecision(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{NoDrafts: true})
	_, raw, invites := corpusMail(t)
	for n := range invites {
		s.Deliver(t, s.User, "INBOX", raw[n])
		break
	}
	st := openStore(t, t.TempDir())
	cfg := testConfig(t, s, "")
	r := start(t, cfg, st, nil)
	waitFor(t, "the invitation", 30*time.Second, func() bool { return r.ev.count(EventFound) == 1 })
	inv := invitations(t, st)[0]
	if _, err := st.Decide(context.Background(), inv.ID, store.ActionDecline, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the error logged", 30*time.Second, func() bool { return strings.Contains(r.logs.String(), "no Drafts mailbox") })
	if got, _ := st.Get(context.Background(), inv.ID); got.State != store.StateDecided {
		t.Errorf("state %s, want decided (kept for a later try)", got.State)
	}
	r.stop(t)
	if n := strings.Count(r.logs.String(), "msg=\"no Drafts mailbox"); n != 1 {
		t.Errorf("logged the missing Drafts %d times in one session, want 1", n)
	}
	// Once the user creates it, the next start writes the draft.
	s.CreateMailbox(t, s.User, "Drafts")
	r = start(t, cfg, st, nil)
	waitFor(t, "the draft", 30*time.Second, func() bool { return r.ev.count(EventDrafted) == 1 })
}

func TestWrongPasswordIsReportedAndRetriedSlowly(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	cfg := testConfig(t, s, "")
	if err := os.WriteFile(config.ExpandHome(cfg.Accounts[0].PasswordFile), []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, t.TempDir())
	r := start(t, cfg, st, func(o *Options) {
		o.AuthRetry = time.Hour
		o.MinBackoff = time.Millisecond // a tight loop would show
	})
	waitFor(t, "the login refused", 30*time.Second, func() bool { return len(r.ev.errs()) > 0 })
	time.Sleep(500 * time.Millisecond)
	errs := r.ev.errs()
	if len(errs) != 1 || !errors.Is(errs[0], mailbox.ErrAuth) {
		t.Fatalf("errors %v, want exactly one ErrAuth (then a slow retry)", errs)
	}
	if !strings.Contains(r.logs.String(), "refused the login") || !strings.Contains(r.logs.String(), "password_file") {
		t.Errorf("log does not say the login was refused:\n%s", r.logs.String())
	}
	if strings.Contains(r.logs.String(), s.Password) {
		t.Error("the log holds the password")
	}
}

func TestPasswordFileReadableByOthersIsRefused(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("secret\n"), 0o644)
	_, err := Password(context.Background(), config.Account{PasswordFile: pw})
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Password(0644 file) = %v, want a refusal with the chmod hint", err)
	}
	os.Chmod(pw, 0o600)
	if got, err := Password(context.Background(), config.Account{PasswordFile: pw}); err != nil || got != "secret" {
		t.Fatalf("Password(0600 file) = %q, %v; want secret", got, err)
	}
	got, err := Password(context.Background(), config.Account{PasswordCommand: []string{"printf", "from-cmd\\nsecond line\\n"}})
	if err != nil || got != "from-cmd" {
		t.Fatalf("Password(command) = %q, %v; want its first line", got, err)
	}
	_, err = Password(context.Background(), config.Account{PasswordCommand: []string{"sh", "-c", "echo locked >&2; exit 3"}})
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("Password(failing command) = %v, want its stderr in the error", err)
	}
}
