package daemon

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/internal/testserver/dbusnotify"
	"github.com/rsvp-mail/rsvp/internal/testserver/dovecot"
	"github.com/rsvp-mail/rsvp/notifier"
	"github.com/rsvp-mail/rsvp/store"
)

// askScript writes a command-backend script into dir: it appends each
// question (one JSON line) to dir/asked and answers with what dir/answer
// holds for the question's ID (a line "ID ANSWER..."), or fails.
func askScript(t *testing.T, dir string) []string {
	t.Helper()
	script := filepath.Join(dir, "ask.sh")
	body := `#!/bin/sh
q=$(cat)
printf '%s\n' "$q" >> "` + dir + `/asked"
a=$(grep "^$RSVP_ID " "` + dir + `/answer" 2>/dev/null | head -n 1 | cut -d' ' -f2-)
[ -n "$a" ] || { echo "no answer for $RSVP_ID" >&2; exit 1; }
echo "$a"
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{"/bin/sh", script}
}

type askedQ struct {
	ID       string   `json:"id"`
	Company  string   `json:"company"`
	ReplyTo  string   `json:"reply_to"`
	Why      []string `json:"why"`
	Reminder bool     `json:"reminder"`
}

func askedSoFar(t *testing.T, dir string) []askedQ {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "asked"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []askedQ
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var q askedQ
		if err := json.Unmarshal([]byte(line), &q); err != nil {
			t.Fatalf("question %q: %v", line, err)
		}
		out = append(out, q)
	}
	return out
}

func commandNotifier(t *testing.T, argv []string) notifier.Notifier {
	t.Helper()
	n, err := notifier.NewCommand(notifier.CommandOptions{Argv: argv, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func deliverInvites(t *testing.T, s *dovecot.Server, n int) {
	t.Helper()
	_, raw, invites := corpusMail(t)
	var names []string
	for name := range invites {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names[:n] {
		s.Deliver(t, s.User, "INBOX", raw[name])
	}
}

func TestEveryAnswerFromTheCommandBecomesADecisionAndADraft(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	deliverInvites(t, s, 4)
	dir := t.TempDir()
	cfg := testConfig(t, s, "ask:\n  spacing: 200ms\n")
	st := openStore(t, t.TempDir())
	// Answers are written before the daemon starts, keyed by invitation ID,
	// which the store derives from account and Message-ID: learn them
	// from a first, notifier-less run.
	r := start(t, cfg, st, nil)
	waitFor(t, "four invitations", 30*time.Second, func() bool { return r.ev.count(EventFound) == 4 })
	r.stop(t)
	list := invitations(t, st)
	// The last names a reason the templates do not know: declined with
	// the default reason rather than stuck.
	answers := []string{"decline timing", "reschedule", "ignore", "decline no-such-reason"}
	var lines []string
	for i, inv := range list {
		lines = append(lines, inv.ID+" "+answers[i])
	}
	os.WriteFile(filepath.Join(dir, "answer"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)

	r = start(t, cfg, st, func(o *Options) { o.Notifier = commandNotifier(t, askScript(t, dir)) })
	waitFor(t, "three drafts", 30*time.Second, func() bool { return r.ev.count(EventDrafted) == 3 })
	waitFor(t, "the ignore recorded", 10*time.Second, func() bool {
		inv, _ := st.Get(context.Background(), list[2].ID)
		return inv.State == store.StateIgnored
	})
	want := []string{"decline timing", "reschedule ", "ignore ", "decline "}
	for i, inv := range invitations(t, st) {
		if got := string(inv.Action) + " " + inv.Reason; got != want[i] || inv.AskedCount != 1 {
			t.Errorf("invitation %s: %q asked %d times; want %q asked once", inv.ID, got, inv.AskedCount, want[i])
		}
	}
	qs := askedSoFar(t, dir)
	if len(qs) != 4 {
		t.Fatalf("asked %d questions, want 4: %+v", len(qs), qs)
	}
	for _, q := range qs {
		if q.ReplyTo == "" || len(q.Why) == 0 || q.Reminder {
			t.Errorf("question %+v: want a reply address, reasons, and no reminder", q)
		}
	}
	// Asked one at a time: at least the spacing between two questions.
	var at []time.Time
	for _, ev := range r.ev.all() {
		if ev.Kind == EventAsked {
			at = append(at, ev.Invitation.AskedAt)
		}
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < 200*time.Millisecond {
			t.Errorf("questions %d and %d asked %v apart, want at least the 200ms spacing", i-1, i, gap)
		}
	}
	checkDrafts(t, s, st, corpusRaw(t), corpusInvites(t))
}

func TestARestartAsksAgainOnceAndTheReminderComesOnce(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	deliverInvites(t, s, 1)
	dir := t.TempDir()
	argv := askScript(t, dir) // no answer file: every run fails, nothing answered
	cfg := testConfig(t, s, "ask:\n  spacing: 10ms\n  remind_after: 1500ms\n")
	st := openStore(t, t.TempDir())
	r := start(t, cfg, st, func(o *Options) { o.Notifier = commandNotifier(t, argv) })
	waitFor(t, "the question", 30*time.Second, func() bool { return len(askedSoFar(t, dir)) == 1 })
	r.stop(t)

	r = start(t, cfg, st, func(o *Options) { o.Notifier = commandNotifier(t, argv) })
	waitFor(t, "the question again after the restart", 30*time.Second, func() bool { return len(askedSoFar(t, dir)) == 2 })
	waitFor(t, "the reminder", 30*time.Second, func() bool { return len(askedSoFar(t, dir)) == 3 })
	// Nothing more: a reminder comes once.
	time.Sleep(2 * time.Second)
	qs := askedSoFar(t, dir)
	if len(qs) != 3 {
		t.Fatalf("asked %d times, want 3 (first, after restart, reminder): %+v", len(qs), qs)
	}
	if qs[0].Reminder || qs[1].Reminder || !qs[2].Reminder {
		t.Errorf("reminder flags %v %v %v, want false false true", qs[0].Reminder, qs[1].Reminder, qs[2].Reminder)
	}
	inv := invitations(t, st)[0]
	if inv.State != store.StateAsked || inv.AskedCount != 2 || inv.ReminderAt.IsZero() {
		t.Errorf("invitation %s %d asks, reminder at %v; want asked twice (first + reminder)", inv.State, inv.AskedCount, inv.ReminderAt)
	}
	// An answer through rsvp decide withdraws nothing it should not, and
	// a late answer from the notifier is ignored.
	if _, err := st.Decide(context.Background(), inv.ID, store.ActionDecline, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the draft", 30*time.Second, func() bool { return r.ev.count(EventDrafted) == 1 })
}

func TestNoQuestionsInQuietHours(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	deliverInvites(t, s, 1)
	dir := t.TempDir()
	now := time.Now().In(time.UTC)
	from := now.Add(-time.Hour).Format("15:04")
	to := now.Add(time.Hour).Format("15:04")
	cfg := testConfig(t, s, "ask:\n  spacing: 10ms\n  quiet_hours: {from: \""+from+"\", to: \""+to+"\"}\n")
	cfg.Me.TimeZone = "UTC"
	st := openStore(t, t.TempDir())
	r := start(t, cfg, st, func(o *Options) { o.Notifier = commandNotifier(t, askScript(t, dir)) })
	waitFor(t, "the invitation", 30*time.Second, func() bool { return r.ev.count(EventFound) == 1 })
	waitFor(t, "quiet hours logged", 10*time.Second, func() bool { return strings.Contains(r.logs.String(), "quiet hours") })
	if n := len(askedSoFar(t, dir)); n != 0 || r.ev.count(EventAsked) != 0 {
		t.Fatalf("asked %d questions during quiet hours", n)
	}
	// The answer still comes through rsvp decide.
	if _, err := st.Decide(context.Background(), invitations(t, st)[0].ID, store.ActionDecline, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the draft", 30*time.Second, func() bool { return r.ev.count(EventDrafted) == 1 })
}

func TestQuietHoursSpanMidnight(t *testing.T) {
	q := config.QuietHours{From: "22:00", To: "07:30"}
	day := func(h, m int) time.Time { return time.Date(2026, 11, 29, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		at    time.Time
		quiet bool
		until time.Time
	}{
		{day(21, 59), false, time.Time{}},
		{day(22, 0), true, day(31, 30)},
		{day(3, 0), true, day(7, 30)},
		{day(7, 30), false, time.Time{}},
	} {
		quiet, until := q.In(tc.at)
		if quiet != tc.quiet || !until.Equal(tc.until) {
			t.Errorf("In(%s) = %v, %v; want %v, %v", tc.at.Format("15:04"), quiet, until, tc.quiet, tc.until)
		}
	}
}

func corpusRaw(t testing.TB) map[string][]byte {
	_, raw, _ := corpusMail(t)
	return raw
}

func corpusInvites(t testing.TB) map[string]label {
	_, _, inv := corpusMail(t)
	return inv
}

// TestDesktopClickBecomesADraft is issue 5's desktop path end to end: an
// invitation in a real Dovecot, a notification on a private session bus,
// a click on Decline, the draft in Drafts.
func TestDesktopClickBecomesADraft(t *testing.T) {
	bus := dbusnotify.StartBus(t)
	server := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
	s := dovecot.Start(t, dovecot.Options{})
	deliverInvites(t, s, 1)
	n, err := notifier.NewDesktop(context.Background(), notifier.DesktopOptions{Conn: bus.Connect(t)})
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, t.TempDir())
	r := start(t, testConfig(t, s, ""), st, func(o *Options) { o.Notifier = n })
	note := server.WaitNotify(t, 1)
	inv := invitations(t, st)[0]
	if !strings.Contains(note.Summary, "Interview invitation") || !strings.Contains(note.Body, inv.ReplyTo) {
		t.Errorf("notification %q / %q: want the summary and the reply address %s", note.Summary, note.Body, inv.ReplyTo)
	}
	if inv.State != store.StateAsked {
		t.Errorf("state %s while the notification is up, want asked", inv.State)
	}
	if err := server.Invoke(note.ID, "decline:"+inv.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the draft", 30*time.Second, func() bool { return r.ev.count(EventDrafted) == 1 })
	if got, _ := st.Get(context.Background(), inv.ID); got.Action != store.ActionDecline {
		t.Errorf("recorded %q, want decline", got.Action)
	}
	checkDrafts(t, s, st, corpusRaw(t), corpusInvites(t))
}
