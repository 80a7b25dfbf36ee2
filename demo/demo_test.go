package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/internal/syncbuf"
	"github.com/rsvp-mail/rsvp/mailmsg"
	"github.com/rsvp-mail/rsvp/store"
)

type label struct {
	Source  string `json:"source"`
	Label   string `json:"label"`
	ReplyTo string `json:"reply_to"`
	Lang    string `json:"lang"`
}

// inboxMail is the embedded inbox with inbox/labels.json.
type inboxMail struct {
	seeds   []seed
	labels  map[string]label  // by file name
	byMsgID map[string]string // Message-ID → file name
	subject map[string]string // Message-ID → decoded Subject
	invites int
}

func (m inboxMail) label(msgID string) (label, bool) {
	name, ok := m.byMsgID[bare(msgID)]
	return m.labels[name], ok
}

func loadInbox(t testing.TB) inboxMail {
	t.Helper()
	seeds, err := seedMail()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("inbox", "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := inboxMail{seeds: seeds, byMsgID: map[string]string{}, subject: map[string]string{}}
	if err := json.Unmarshal(b, &m.labels); err != nil {
		t.Fatalf("inbox/labels.json: %v", err)
	}
	for _, s := range seeds {
		l, ok := m.labels[s.Name]
		if !ok {
			t.Fatalf("inbox/%s has no entry in inbox/labels.json", s.Name)
		}
		p, err := mailmsg.Read(bytes.NewReader(s.Raw), mailmsg.Options{})
		if err != nil || p.MessageID == "" {
			t.Fatalf("inbox/%s: %v (Message-ID %q)", s.Name, err, p.MessageID)
		}
		m.byMsgID[p.MessageID] = s.Name
		m.subject[p.MessageID] = p.Subject
		if l.Label == "invite" {
			m.invites++
		}
	}
	if len(m.labels) != len(seeds) {
		t.Fatalf("inbox/labels.json has %d entries for %d embedded messages", len(m.labels), len(seeds))
	}
	return m
}

// startTestServer starts the demo server with the embedded inbox, for a
// test to look at after Run.
func startTestServer(t testing.TB, m inboxMail) *server {
	t.Helper()
	srv, err := startServer(m.seeds, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func runDemo(t *testing.T, opts Options) (*Summary, string) {
	t.Helper()
	var out, logs bytes.Buffer
	opts.Stdout, opts.Stderr = &out, &logs
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := Run(ctx, opts)
	if err != nil {
		t.Fatalf("Run = %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), logs.String())
	}
	if sum.Interrupted {
		t.Fatalf("Run timed out\nstdout:\n%s\nstderr:\n%s", out.String(), logs.String())
	}
	if logs.Len() > 0 {
		t.Errorf("a clean run logged at warn level or above:\n%s", logs.String())
	}
	return sum, out.String()
}

// printedDraft is one draft as the demo printed it.
type printedDraft struct {
	n      int
	answer string // "decline", "decline (timing)", "reschedule"
	invID  string // the invitation's store ID
	msg    *mail.Message
	body   string
}

var (
	draftStart = regexp.MustCompile(`(?m)^── Draft (\d+), saved in Drafts: ([^\n]+), in reply to ([a-z0-9]+)\n`)
	summaryRE  = regexp.MustCompile(`(?m)^Summary: (\d+) messages?, (\d+) invitations?: (\d+) drafts? written, (\d+) ignored(?:, (\d+) unanswered)?\.$`)
)

func printedDrafts(t *testing.T, out string) []printedDraft {
	t.Helper()
	var list []printedDraft
	for _, loc := range draftStart.FindAllStringSubmatchIndex(out, -1) {
		n, _ := strconv.Atoi(out[loc[2]:loc[3]])
		end := strings.Index(out[loc[1]:], "\n── end of draft "+strconv.Itoa(n)+"\n")
		if end < 0 {
			t.Fatalf("draft %d is not closed:\n%s", n, out[loc[0]:])
		}
		block := out[loc[1] : loc[1]+end]
		msg, err := mail.ReadMessage(strings.NewReader(block + "\n"))
		if err != nil {
			t.Fatalf("draft %d does not parse as a message: %v\n%s", n, err, block)
		}
		body, _ := io.ReadAll(msg.Body)
		list = append(list, printedDraft{n: n, answer: out[loc[4]:loc[5]], invID: out[loc[6]:loc[7]], msg: msg,
			body: strings.TrimSpace(string(body))})
	}
	return list
}

// summaryCounts reads the summary line: messages, invitations, drafts,
// ignored, unanswered.
func summaryCounts(t *testing.T, out string) [5]int {
	t.Helper()
	m := summaryRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary line in:\n%s", out)
	}
	var c [5]int
	for i := range c {
		c[i], _ = strconv.Atoi(m[i+1]) // "" (no unanswered) is 0
	}
	return c
}

// checkDraft checks a printed draft against the invitation it answers
// and against the message the server holds in Drafts.
func checkDraft(t *testing.T, m inboxMail, d printedDraft, onServer []stored) {
	t.Helper()
	irt := bare(d.msg.Header.Get("In-Reply-To"))
	l, ok := m.label(irt)
	switch {
	case !ok:
		t.Errorf("draft %d: In-Reply-To <%s> is none of the seeded messages", d.n, irt)
		return
	case l.Label != "invite":
		t.Errorf("draft %d answers %s, which is not an invitation (%s)", d.n, m.byMsgID[irt], l.Label)
	}
	if refs := d.msg.Header.Get("References"); !strings.Contains(refs, "<"+irt+">") {
		t.Errorf("draft %d: References %q lacks <%s>", d.n, refs, irt)
	}
	to, err := mail.ParseAddressList(d.msg.Header.Get("To"))
	if err != nil || len(to) != 1 || !strings.EqualFold(to[0].Address, l.ReplyTo) {
		t.Errorf("draft %d: To %q (%v), want %s", d.n, d.msg.Header.Get("To"), err, l.ReplyTo)
	}
	if subj, want := d.msg.Header.Get("Subject"), "Re: "+m.subject[irt]; subj != want {
		t.Errorf("draft %d: Subject %q, want %q", d.n, subj, want)
	}
	id := bare(d.msg.Header.Get("Message-ID"))
	raw := findByMessageID(onServer, id)
	if raw == nil {
		t.Errorf("draft %d: Drafts on the server holds no <%s>", d.n, id)
		return
	}
	p, err := mailmsg.Read(bytes.NewReader(raw), mailmsg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(p.Text) != d.body {
		t.Errorf("draft %d: printed text differs from the one in Drafts:\nprinted:\n%s\nin Drafts:\n%s", d.n, d.body, p.Text)
	}
	if len(p.InReplyTo) != 1 || p.InReplyTo[0] != irt {
		t.Errorf("draft %d: in Drafts, In-Reply-To is %v, printed <%s>", d.n, p.InReplyTo, irt)
	}
}

// checkInbox checks that INBOX holds the seeded mail as seeded: same
// order, same bytes, the keyword on each invitation recorded, nothing else
// (no \Seen).
func checkInbox(t *testing.T, m inboxMail, srv *server, recorded map[string]bool) {
	t.Helper()
	msgs, err := srv.messages(context.Background(), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != len(m.seeds) {
		t.Fatalf("INBOX holds %d messages, %d were seeded", len(msgs), len(m.seeds))
	}
	for i, msg := range msgs {
		s := m.seeds[i]
		if !bytes.Equal(msg.Raw, s.Raw) {
			t.Errorf("INBOX message %d (%s) changed", i+1, s.Name)
		}
		var want []string
		if recorded[bare(messageIDOf(t, s.Raw))] {
			want = []string{"$Interview"}
		}
		if !slices.EqualFunc(msg.Flags, want, strings.EqualFold) { // keywords are case-insensitive
			t.Errorf("INBOX %s: flags %v, want %v", s.Name, msg.Flags, want)
		}
		if age := time.Since(msg.InternalDate); age < 0 || age > time.Hour {
			t.Errorf("INBOX %s: INTERNALDATE %v is not of the last hour", s.Name, msg.InternalDate)
		}
	}
}

func messageIDOf(t testing.TB, raw []byte) string {
	p, err := mailmsg.Read(bytes.NewReader(raw), mailmsg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p.MessageID
}

func TestDemoYesDeclinesEveryInvitationWithAThreadedDraftAndTouchesNothingElse(t *testing.T) {
	m := loadInbox(t)
	srv := startTestServer(t, m)
	sum, out := runDemo(t, Options{Yes: true, server: srv})

	got := summaryCounts(t, out)
	if want := [5]int{len(m.seeds), m.invites, m.invites, 0, 0}; got != want {
		t.Errorf("summary (messages, invitations, drafts, ignored, unanswered) = %v, want %v from inbox/labels.json", got, want)
	}
	if sum.Messages != len(m.seeds) || len(sum.Invitations) != m.invites || sum.Drafted != m.invites || sum.Drafts != m.invites {
		t.Errorf("Summary = %d messages, %d invitations, %d drafted, %d in Drafts; want %d, %d, %d, %d",
			sum.Messages, len(sum.Invitations), sum.Drafted, sum.Drafts, len(m.seeds), m.invites, m.invites, m.invites)
	}
	drafts, err := srv.messages(context.Background(), "Drafts")
	if err != nil {
		t.Fatal(err)
	}
	printed := printedDrafts(t, out)
	if len(printed) != m.invites || len(drafts) != m.invites {
		t.Fatalf("printed %d drafts, Drafts holds %d; want one per invitation (%d)", len(printed), len(drafts), m.invites)
	}
	answered := map[string]int{}
	for _, d := range printed {
		checkDraft(t, m, d, drafts)
		if d.answer != "decline" {
			t.Errorf("draft %d: answer %q, want decline (the default reason)", d.n, d.answer)
		}
		answered[bare(d.msg.Header.Get("In-Reply-To"))]++
	}
	recorded := map[string]bool{}
	for _, o := range sum.Invitations {
		recorded[o.MessageID] = true
		if l, _ := m.label(o.MessageID); l.Label != "invite" {
			t.Errorf("recorded %s (%q) as an invitation; labels.json says %q", o.ID, o.Subject, l.Label)
		}
		if o.State != store.StateDrafted || o.Action != store.ActionDecline || o.Reason != "" {
			t.Errorf("invitation %s: %s %s %q, want drafted decline with the default reason", o.ID, o.State, o.Action, o.Reason)
		}
		if answered[o.MessageID] != 1 {
			t.Errorf("invitation %s: %d drafts printed in reply, want 1", o.ID, answered[o.MessageID])
		}
	}
	checkInbox(t, m, srv, recorded)
	if !strings.Contains(out, "INBOX: untouched but for the $Interview keyword on "+plural(m.invites, "invitation", "invitations")+"; nothing marked as read.") {
		t.Errorf("the summary does not vouch for INBOX:\n%s", out)
	}
}

// TestTerminalAnswersAreFollowedOneQuestionAtATime types d (reason 2), r,
// s, i and then ends the input with one question left.
func TestDemoTerminalAnswersAreFollowedOneQuestionAtATime(t *testing.T) {
	m := loadInbox(t)
	srv := startTestServer(t, m)
	sum, out := runDemo(t, Options{Stdin: strings.NewReader("d\n2\nr\ns\ni\n"), server: srv})

	var asked []string
	for _, mm := range questionID.FindAllStringSubmatch(out, -1) {
		asked = append(asked, mm[1])
	}
	if len(asked) != m.invites {
		t.Fatalf("asked %d questions %v, want one per invitation (%d):\n%s", len(asked), asked, m.invites, out)
	}
	byID := map[string]Outcome{}
	for _, o := range sum.Invitations {
		byID[o.ID] = o
	}
	want := []struct {
		state  store.State
		action store.Action
		reason string
	}{
		{store.StateDrafted, store.ActionDecline, "happy-where-i-am"}, // d, then reason 2
		{store.StateDrafted, store.ActionReschedule, ""},
		{store.StateAsked, "", ""}, // skipped
		{store.StateIgnored, store.ActionIgnore, ""},
		{store.StateAsked, "", ""}, // the input ended
	}
	for i, w := range want {
		o := byID[asked[i]]
		if o.State != w.state || o.Action != w.action || o.Reason != w.reason {
			t.Errorf("question %d (%s): %s %q %q, want %s %q %q", i+1, asked[i], o.State, o.Action, o.Reason, w.state, w.action, w.reason)
		}
	}
	if got, want := summaryCounts(t, out), [5]int{len(m.seeds), m.invites, 2, 1, 2}; got != want {
		t.Errorf("summary (messages, invitations, drafts, ignored, unanswered) = %v, want %v", got, want)
	}
	if !sum.InputEnded || !strings.Contains(out, "The input ended with 2 invitations unanswered.") {
		t.Errorf("InputEnded = %v; the output should say two invitations are left:\n%s", sum.InputEnded, out)
	}

	// Each answer's outcome is printed before the next question.
	at := func(s string) int {
		i := strings.Index(out, s)
		if i < 0 {
			t.Fatalf("output lacks %q:\n%s", s, out)
		}
		return i
	}
	for _, step := range []struct{ outcome, next string }{
		{", in reply to " + asked[0] + "\n", "ID: " + asked[1] + "\n"},
		{", in reply to " + asked[1] + "\n", "ID: " + asked[2] + "\n"},
		{"── Ignored " + asked[3] + ":", "ID: " + asked[4] + "\n"},
	} {
		if at(step.outcome) > at(step.next) {
			t.Errorf("%q is printed after the next question %q:\n%s", step.outcome, step.next, out)
		}
	}

	drafts, err := srv.messages(context.Background(), "Drafts")
	if err != nil {
		t.Fatal(err)
	}
	printed := printedDrafts(t, out)
	if len(printed) != 2 || len(drafts) != 2 {
		t.Fatalf("printed %d drafts, Drafts holds %d; want 2", len(printed), len(drafts))
	}
	for i, d := range printed {
		checkDraft(t, m, d, drafts)
		if d.invID != asked[i] || bare(d.msg.Header.Get("In-Reply-To")) != byID[asked[i]].MessageID {
			t.Errorf("draft %d answers %s, want %s", d.n, d.invID, asked[i])
		}
	}
	if printed[0].answer != "decline (happy-where-i-am)" || printed[1].answer != "reschedule" {
		t.Errorf("drafts are %q and %q, want decline (happy-where-i-am) and reschedule", printed[0].answer, printed[1].answer)
	}
	recorded := map[string]bool{}
	for _, o := range sum.Invitations {
		recorded[o.MessageID] = true
	}
	checkInbox(t, m, srv, recorded)
}

// TestEveryInvitationAnsweredEndsTheDemoWithoutEndOfInput keeps Stdin open:
// the demo must end because nothing is left to ask.
func TestDemoEveryInvitationAnsweredEndsTheDemoWithoutEndOfInput(t *testing.T) {
	m := loadInbox(t)
	r, w := io.Pipe()
	defer w.Close()
	go io.WriteString(w, strings.Repeat("i\n", m.invites))
	sum, out := runDemo(t, Options{Stdin: r})
	if got, want := summaryCounts(t, out), [5]int{len(m.seeds), m.invites, 0, m.invites, 0}; got != want {
		t.Errorf("summary (messages, invitations, drafts, ignored, unanswered) = %v, want %v", got, want)
	}
	if sum.InputEnded || sum.Drafts != 0 {
		t.Errorf("InputEnded %v, %d drafts; want false, 0", sum.InputEnded, sum.Drafts)
	}
	if n := strings.Count(out, "── Ignored "); n != m.invites {
		t.Errorf("%d invitations reported ignored, want %d:\n%s", n, m.invites, out)
	}
}

func TestDemoNoInputLeavesEveryInvitationUnanswered(t *testing.T) {
	m := loadInbox(t)
	srv := startTestServer(t, m)
	sum, out := runDemo(t, Options{server: srv}) // nil Stdin: nothing to read
	if got, want := summaryCounts(t, out), [5]int{len(m.seeds), m.invites, 0, 0, m.invites}; got != want {
		t.Errorf("summary (messages, invitations, drafts, ignored, unanswered) = %v, want %v", got, want)
	}
	if !sum.InputEnded || sum.Drafts != 0 || sum.Flagged != m.invites {
		t.Errorf("InputEnded %v, %d drafts, %d flagged; want true, 0, %d", sum.InputEnded, sum.Drafts, sum.Flagged, m.invites)
	}
	recorded := map[string]bool{}
	for _, o := range sum.Invitations {
		recorded[o.MessageID] = true
	}
	checkInbox(t, m, srv, recorded)
}

func TestDemoInterruptedRunStopsAndSaysSo(t *testing.T) {
	r, w := io.Pipe() // a user who never answers
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan struct{})
	var sum *Summary
	var err error
	go func() {
		defer close(done)
		sum, err = Run(ctx, Options{Stdin: r, Stdout: out})
	}()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "\nID: "); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no question asked within a minute:\n%s", out.String())
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return within 15 s of the cancel")
	}
	if err != nil || !sum.Interrupted || !strings.Contains(out.String(), "\nInterrupted.\n") {
		t.Fatalf("Run = %v, Interrupted %v; want an interrupted summary:\n%s", err, sum != nil && sum.Interrupted, out.String())
	}
	if sum.Unanswered != len(sum.Invitations) || sum.Unanswered == 0 {
		t.Errorf("%d of %d invitations unanswered, want all", sum.Unanswered, len(sum.Invitations))
	}
}

type syncBuffer = syncbuf.Buffer

func TestDemoConfigIsTheAddresseeOfTheSeededMail(t *testing.T) {
	m := loadInbox(t)
	srv := startTestServer(t, m)
	cfg, err := demoConfig(srv)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Accounts[0]
	if len(cfg.Accounts) != 1 || a.Security != "plain" || a.Host != "127.0.0.1" || a.Username != srv.Username || a.Password != srv.Password {
		t.Fatalf("account %+v, want the one user of the demo server, plain on loopback", a)
	}
	if _, port, _ := splitPort(srv.Addr); a.Port != port {
		t.Errorf("port %d, server on %s", a.Port, srv.Addr)
	}
	for _, s := range m.seeds {
		p, err := mailmsg.Read(bytes.NewReader(s.Raw), mailmsg.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(p.To, func(to *mail.Address) bool { return strings.EqualFold(to.Address, a.Address) }) {
			t.Errorf("%s is not addressed to the demo account %s (To %v)", s.Name, a.Address, p.To)
		}
	}
}

func TestDemoDebugTracesTheProtocolWithoutThePassword(t *testing.T) {
	m := loadInbox(t)
	srv := startTestServer(t, m)
	var out, logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := Run(ctx, Options{Yes: true, Debug: true, server: srv, Stdout: &out, Stderr: &logs}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"level=DEBUG", "LOGIN", "UID STORE", "APPEND"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the debug log lacks %q", want)
		}
	}
	if strings.Contains(logs.String(), srv.Password) {
		t.Error("the debug log holds the password")
	}
}

func TestDemoStoppingTheDaemonIsNotReportedAsAnError(t *testing.T) {
	var logs bytes.Buffer
	stopping, stop := context.WithCancel(context.Background())
	log := slog.New(quietStop{slog.NewTextHandler(&logs, nil), stopping}).With("account", "demo")
	log.Error("before the stop", "err", context.Canceled)
	stop()
	log.Error("while stopping", "err", fmt.Errorf("pending invitations: %w", context.Canceled))
	log.Error("a real problem at the stop", "err", io.ErrUnexpectedEOF)
	got := logs.String()
	if !strings.Contains(got, "before the stop") || !strings.Contains(got, "a real problem at the stop") || strings.Contains(got, "while stopping") {
		t.Errorf("logged:\n%s\nwant every record but the cancellation while stopping", got)
	}
}
