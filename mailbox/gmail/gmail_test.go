package gmail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/internal/syncbuf"
	"github.com/rsvp-mail/rsvp/internal/testserver/fakegmail"
	"github.com/rsvp-mail/rsvp/mailbox"
)

var corpusDir = filepath.Join("..", "..", "..", "shared", "corpus")

func corpus(t *testing.T, n int) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, fmt.Sprintf("dev-%02d.eml", n)))
	if err != nil {
		t.Fatalf("reading corpus: %v", err)
	}
	return b
}

func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// newFake starts a fake Gmail and, when the test ends, checks that nothing
// tried to send, delete or trash mail or to remove a label.
func newFake(t *testing.T) *fakegmail.Server {
	s := fakegmail.New(t)
	t.Cleanup(func() {
		if u := s.Unsupported(); len(u) > 0 {
			t.Errorf("requests the backend must never make: %v", u)
		}
		for _, c := range s.Changes() {
			if c.Kind == "labelsRemoved" {
				t.Errorf("the backend removed labels %v from message %s", c.LabelIDs, c.MessageID)
			}
		}
	})
	return s
}

// logBuffer collects log output safely across goroutines.
type logBuffer = syncbuf.Buffer

func open(t *testing.T, s *fakegmail.Server, mod func(*Options)) *Client {
	t.Helper()
	o := Options{
		HTTPClient: s.Client(),
		Endpoint:   s.Endpoint(),
		RetryBase:  time.Millisecond,
		MaxBackoff: 5 * time.Millisecond,
	}
	if mod != nil {
		mod(&o)
	}
	c, err := Open(testCtx(t), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ids(ms []mailbox.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// drain fetches until a Fetch hands out nothing, and returns every message
// and the last cursor.
func drain(t *testing.T, c *Client, cur mailbox.Cursor, firstStart time.Time) ([]mailbox.Message, mailbox.Cursor) {
	t.Helper()
	var all []mailbox.Message
	for i := 0; i < 100; i++ {
		batch, next, err := c.Fetch(testCtx(t), cur, firstStart)
		if err != nil {
			t.Fatalf("Fetch(%q): %v", cur.Token, err)
		}
		cur = next
		if len(batch) == 0 && !strings.HasPrefix(next.Token, "sync:") {
			return all, cur
		}
		all = append(all, batch...)
	}
	t.Fatal("Fetch never ran dry")
	return nil, cur
}

func TestFirstFetchHandsOutOnlyMailSinceFirstStart(t *testing.T) {
	s := newFake(t)
	now := time.Now()
	s.Insert(corpus(t, 1), fakegmail.InsertOptions{InternalDate: now.AddDate(0, 0, -30)})
	s.Insert(corpus(t, 2), fakegmail.InsertOptions{InternalDate: now.AddDate(0, 0, -3)})
	id3, thread3 := s.Insert(corpus(t, 3), fakegmail.InsertOptions{InternalDate: now.Add(-2 * time.Hour)})
	id4, _ := s.Deliver(corpus(t, 4))
	c := open(t, s, nil)

	batch, cur, err := c.Fetch(testCtx(t), mailbox.Cursor{}, now.Add(-24*time.Hour))
	if err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	if got := ids(batch); !slices.Equal(got, []string{id3, id4}) {
		t.Fatalf("first Fetch = %v, want [%s %s] (oldest first, nothing older than a day)", got, id3, id4)
	}
	m := batch[0]
	if m.ThreadID != thread3 || m.Mailbox != Inbox || m.Parsed == nil || m.ParseErr != nil ||
		!bytes.Equal(m.Raw, corpus(t, 3)) || !slices.Contains(m.Flags, "INBOX") || m.InternalDate.Before(now.Add(-3*time.Hour)) {
		t.Errorf("message = {ID %s Thread %s Mailbox %s Parsed %v ParseErr %v Flags %v Date %v}, want the stored message parsed",
			m.ID, m.ThreadID, m.Mailbox, m.Parsed != nil, m.ParseErr, m.Flags, m.InternalDate)
	}
	if m.Parsed.MessageID == "" {
		t.Errorf("parsed message has no Message-ID")
	}
	if cur.IsZero() || strings.HasPrefix(cur.Token, "sync:") {
		t.Fatalf("cursor after the first Fetch = %q, want a history position", cur.Token)
	}

	batch, cur, err = c.Fetch(testCtx(t), cur, now.Add(-24*time.Hour))
	if err != nil || len(batch) != 0 {
		t.Fatalf("second Fetch = %v, %v; want nothing new", ids(batch), err)
	}
	id5, _ := s.Deliver(corpus(t, 5))
	batch, cur, err = c.Fetch(testCtx(t), cur, now.Add(-24*time.Hour))
	if err != nil || !slices.Equal(ids(batch), []string{id5}) {
		t.Fatalf("Fetch after a delivery = %v, %v; want [%s]", ids(batch), err, id5)
	}
	batch, _, err = c.Fetch(testCtx(t), cur, now.Add(-24*time.Hour))
	if err != nil || len(batch) != 0 {
		t.Errorf("Fetch again = %v, %v; want nothing (each message once)", ids(batch), err)
	}
}

func TestFirstStartListingIsHandedOutInBatchesAndSurvivesARestart(t *testing.T) {
	s := newFake(t)
	now := time.Now()
	var want []string
	for i := range 5 {
		id, _ := s.Insert(corpus(t, 10+i), fakegmail.InsertOptions{InternalDate: now.Add(time.Duration(i-10) * time.Minute)})
		want = append(want, id)
	}
	c := open(t, s, func(o *Options) { o.BatchSize = 2 })
	first := now.Add(-time.Hour)

	b1, cur, err := c.Fetch(testCtx(t), mailbox.Cursor{}, first)
	if err != nil || !slices.Equal(ids(b1), want[:2]) || !strings.HasPrefix(cur.Token, "sync:") {
		t.Fatalf("Fetch 1 = %v, %q, %v; want %v and a listing cursor", ids(b1), cur.Token, err, want[:2])
	}
	// Mail that arrives during the listing comes through history later.
	late, _ := s.Deliver(corpus(t, 20))
	b2, cur2, err := c.Fetch(testCtx(t), cur, first)
	if err != nil || !slices.Equal(ids(b2), want[2:4]) {
		t.Fatalf("Fetch 2 = %v, %v; want %v", ids(b2), err, want[2:4])
	}
	// A repeated Fetch with an older cursor (the caller did not store the
	// newer one) hands out the same batch again: nothing is skipped.
	again, _, err := c.Fetch(testCtx(t), cur, first)
	if err != nil || !slices.Equal(ids(again), want[2:4]) {
		t.Fatalf("Fetch 2 repeated = %v, %v; want %v again", ids(again), err, want[2:4])
	}

	// A restart in the middle of the listing starts it over: repeats,
	// no loss.
	c.Close()
	c2 := open(t, s, func(o *Options) { o.BatchSize = 2 })
	rest, cur3 := drain(t, c2, cur2, first)
	got := ids(rest)
	for _, id := range append(slices.Clone(want[4:]), late) {
		if !slices.Contains(got, id) {
			t.Errorf("after a restart mid-listing, %s was never handed out (got %v)", id, got)
		}
	}
	// The listing starts over and the history from before it repeats the
	// late message: a message may come twice, never more.
	for _, id := range got {
		if n := strings.Count(strings.Join(got, " "), id); n > 2 {
			t.Errorf("after the restart %s was handed out %d times", id, n)
		}
	}
	batch, _, err := c2.Fetch(testCtx(t), cur3, first)
	if err != nil || len(batch) != 0 {
		t.Errorf("Fetch after draining = %v, %v; want nothing", ids(batch), err)
	}
}

func TestMailArrivingDuringTheFirstListingIsNotLost(t *testing.T) {
	s := newFake(t)
	before, _ := s.Deliver(corpus(t, 2))
	// The message arrives after the server listed the inbox and before
	// the client has the list: only a history id read before the listing
	// covers it.
	late := corpus(t, 3)
	delivered := make(chan string, 1)
	s.AfterCall("messages.list", func() { id, _ := s.Deliver(late); delivered <- id })
	c := open(t, s, nil)
	got, _ := drain(t, c, mailbox.Cursor{}, time.Now().Add(-time.Hour))
	during := <-delivered
	if !slices.Equal(ids(got), []string{before, during}) {
		t.Errorf("handed out %v, want [%s %s]", ids(got), before, during)
	}
}

func TestHistoryHandsOutOnlyNewInboxMailOnce(t *testing.T) {
	s := newFake(t)
	c := open(t, s, nil)
	first := time.Now().Add(-time.Hour)
	_, cur := drain(t, c, mailbox.Cursor{}, first)

	invite, _ := s.Deliver(corpus(t, 2))
	s.Insert(corpus(t, 6), fakegmail.InsertOptions{LabelIDs: []string{"SENT"}})
	s.Insert(corpus(t, 7), fakegmail.InsertOptions{LabelIDs: []string{"INBOX", "SENT"}}) // mail to oneself
	filtered := s.CreateLabel("Newsletters")
	s.Insert(corpus(t, 8), fakegmail.InsertOptions{LabelIDs: []string{filtered}}) // skipped the inbox
	if err := c.SaveDraft(testCtx(t), "draft-1@rsvp.example", reply(t, "draft-1@rsvp.example", corpus(t, 2))); err != nil {
		t.Fatal(err)
	}
	s.ResetCounters()

	batch, cur, err := c.Fetch(testCtx(t), cur, first)
	if err != nil || !slices.Equal(ids(batch), []string{invite}) {
		t.Fatalf("Fetch = %v, %v; want only the new inbox message %s", ids(batch), err, invite)
	}
	if got := s.Calls("messages.get"); got != 1 {
		t.Errorf("messages.get calls = %d, want 1 (sent mail and drafts are not fetched)", got)
	}
	if err := c.Flag(testCtx(t), batch[0]); err != nil {
		t.Fatal(err)
	}
	batch, cur, err = c.Fetch(testCtx(t), cur, first)
	if err != nil || len(batch) != 0 {
		t.Errorf("Fetch after flagging = %v, %v; want nothing (a label change is not new mail)", ids(batch), err)
	}
	// The cursor moves to the mailbox's current history id even when
	// nothing new came, so a quiet inbox's id does not expire.
	if p, err := parseToken(cur.Token); err != nil || p.history != s.HistoryID() {
		t.Errorf("cursor %q after an empty Fetch, want history id %d", cur.Token, s.HistoryID())
	}
}

func TestHistoryIsHandedOutInBatches(t *testing.T) {
	s := newFake(t)
	c := open(t, s, func(o *Options) { o.BatchSize = 3 })
	first := time.Now().Add(-time.Hour)
	_, cur := drain(t, c, mailbox.Cursor{}, first)
	var want []string
	for i := range 7 {
		id, _ := s.Deliver(corpus(t, 1+i))
		want = append(want, id)
	}
	var got []string
	for _, n := range []int{3, 3, 1, 0} {
		batch, next, err := c.Fetch(testCtx(t), cur, first)
		if err != nil || len(batch) != n {
			t.Fatalf("Fetch = %v, %v; want %d messages", ids(batch), err, n)
		}
		got = append(got, ids(batch)...)
		cur = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("handed out %v, want %v", got, want)
	}
}

func TestExpiredHistoryResyncsWithoutLosingMail(t *testing.T) {
	s := newFake(t)
	var logs logBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	c := open(t, s, func(o *Options) { o.Logger = log })
	first := time.Now().Add(-time.Hour)
	a, _ := s.Deliver(corpus(t, 2))
	seen, cur := drain(t, c, mailbox.Cursor{}, first)
	if !slices.Equal(ids(seen), []string{a}) {
		t.Fatalf("first sync = %v, want [%s]", ids(seen), a)
	}
	c.Close()

	// The daemon is down for long enough that Gmail drops the history.
	s.Insert(corpus(t, 3), fakegmail.InsertOptions{InternalDate: time.Now().AddDate(0, 0, -10)}) // old mail moved back to the inbox
	b, _ := s.Deliver(corpus(t, 4))
	cc, _ := s.Deliver(corpus(t, 5))
	s.TrimHistory()

	// A new process, and a firstStart in the future: the resync bound
	// must come from the cursor, not from firstStart.
	c2 := open(t, s, func(o *Options) { o.Logger = log })
	got, cur := drain(t, c2, cur, time.Now().Add(time.Hour))
	gotIDs := ids(got)
	for _, id := range []string{b, cc} {
		if !slices.Contains(gotIDs, id) {
			t.Errorf("resync handed out %v; %s is missing", gotIDs, id)
		}
	}
	if len(gotIDs) > 3 {
		t.Errorf("resync handed out %v: more than the new mail and the last one seen", gotIDs)
	}
	if !strings.Contains(logs.String(), "history id has expired") {
		t.Errorf("log = %q, want the resync logged", logs.String())
	}

	d, _ := s.Deliver(corpus(t, 6))
	batch, _, err := c2.Fetch(testCtx(t), cur, first)
	if err != nil || !slices.Equal(ids(batch), []string{d}) {
		t.Errorf("Fetch after the resync = %v, %v; want [%s] through history again", ids(batch), err, d)
	}
}

func TestLongMessagesKeepTheHeaderAndTheFirstBodyBytes(t *testing.T) {
	s := newFake(t)
	c := open(t, s, func(o *Options) { o.BodyBytes = 1024 })
	body := strings.Repeat("We would love to schedule an interview with you. ", 4000)
	raw := []byte("From: Dana <dana@talent.example>\r\nTo: alex@example.net\r\nSubject: Interview\r\n" +
		"Message-ID: <long@talent.example>\r\nContent-Type: text/plain\r\n\r\n" + body)
	hdr := bytes.Index(raw, []byte("\r\n\r\n")) + 4
	s.Deliver(raw)
	batch, _ := drain(t, c, mailbox.Cursor{}, time.Now().Add(-time.Hour))
	if len(batch) != 1 {
		t.Fatalf("got %d messages, want 1", len(batch))
	}
	m := batch[0]
	if len(m.Raw) != hdr+1024 || !bytes.Equal(m.Raw, raw[:hdr+1024]) {
		t.Errorf("Raw is %d bytes, want the %d-byte header and 1024 bytes of body", len(m.Raw), hdr)
	}
	if m.Parsed == nil || m.Parsed.MessageID != "long@talent.example" || !strings.HasPrefix(m.Parsed.Text, "We would love") {
		t.Errorf("Parsed = %+v, want the truncated message parsed", m.Parsed)
	}
}

func TestFlagCreatesTheLabelOnceAcrossFlagsAndClients(t *testing.T) {
	s := newFake(t)
	for i := range 4 {
		s.Deliver(corpus(t, 2+i))
	}
	c := open(t, s, nil)
	batch, _ := drain(t, c, mailbox.Cursor{}, time.Now().Add(-time.Hour))
	if err := c.Flag(testCtx(t), batch[0]); err != nil {
		t.Fatalf("Flag: %v", err)
	}
	if err := c.Flag(testCtx(t), batch[1:3]...); err != nil { // several at once
		t.Fatalf("Flag: %v", err)
	}
	c2 := open(t, s, nil)
	if err := c2.Flag(testCtx(t), batch[3]); err != nil {
		t.Fatalf("Flag from a second client: %v", err)
	}

	var label string
	for _, l := range s.Labels() {
		if strings.EqualFold(l.Name, DefaultLabel) {
			if label != "" {
				t.Errorf("two labels named %q", DefaultLabel)
			}
			label = l.ID
		}
	}
	if label == "" {
		t.Fatalf("no label %q was created; labels: %v", DefaultLabel, s.Labels())
	}
	for _, m := range batch {
		if got, _ := s.Message(m.ID); !slices.Contains(got.LabelIDs, label) || !slices.Contains(got.LabelIDs, "INBOX") {
			t.Errorf("message %s has labels %v, want INBOX kept and %s added", m.ID, got.LabelIDs, label)
		}
	}
	if got := s.Calls("labels.create"); got != 1 {
		t.Errorf("labels.create calls = %d, want 1", got)
	}
	if got := s.Calls("labels.list"); got != 2 {
		t.Errorf("labels.list calls = %d, want 2 (one per client)", got)
	}
	if got := s.Calls("messages.modify"); got != 4 {
		t.Errorf("messages.modify calls = %d, want 4", got)
	}

	// A message that already carries the label costs nothing.
	m := batch[0]
	m.Flags = append(m.Flags, label)
	before := s.Calls("messages.modify")
	if err := c.Flag(testCtx(t), m); err != nil || s.Calls("messages.modify") != before {
		t.Errorf("Flag of a labelled message: %v, %d modify calls; want none", err, s.Calls("messages.modify")-before)
	}
}

func TestFlagFindsAnExistingLabelWhateverItsCase(t *testing.T) {
	s := newFake(t)
	existing := s.CreateLabel("interview INVITATIONS")
	s.Deliver(corpus(t, 2))
	c := open(t, s, nil)
	batch, _ := drain(t, c, mailbox.Cursor{}, time.Now().Add(-time.Hour))
	if err := c.Flag(testCtx(t), batch[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Message(batch[0].ID); !slices.Contains(got.LabelIDs, existing) || s.Calls("labels.create") != 0 {
		t.Errorf("labels %v and %d creates; want the existing %s used", got.LabelIDs, s.Calls("labels.create"), existing)
	}
}

func TestFlagDoesNothingWhenOffOrReadOnly(t *testing.T) {
	for name, mod := range map[string]func(*Options){
		"with NoFlag":   func(o *Options) { o.NoFlag = true },
		"with ReadOnly": func(o *Options) { o.ReadOnly = true },
	} {
		t.Run(name, func(t *testing.T) {
			s := newFake(t)
			s.Deliver(corpus(t, 2))
			c := open(t, s, mod)
			batch, _ := drain(t, c, mailbox.Cursor{}, time.Now().Add(-time.Hour))
			if err := c.Flag(testCtx(t), batch[0]); err != nil {
				t.Fatal(err)
			}
			for _, m := range []string{"labels.list", "labels.create", "messages.modify"} {
				if n := s.Calls(m); n != 0 {
					t.Errorf("%s calls = %d, want 0", m, n)
				}
			}
		})
	}
}

// reply builds a reply to parent with Message-ID id, threading headers and
// "Re:" subject, as the drafter does.
func reply(t *testing.T, id string, parent []byte) []byte {
	t.Helper()
	pm := parseHeader(t, parent)
	refs := strings.TrimSpace(pm["References"] + " " + pm["Message-Id"])
	return []byte("From: Alex Morgan <alex.morgan@example.net>\r\nTo: " + pm["From"] + "\r\n" +
		"Subject: Re: " + pm["Subject"] + "\r\nMessage-ID: <" + id + ">\r\n" +
		"In-Reply-To: " + pm["Message-Id"] + "\r\nReferences: " + refs + "\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nThank you for thinking of me.\r\n")
}

func parseHeader(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	hdr, _, _ := bytes.Cut(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n\n"))
	var last string
	for _, line := range strings.Split(string(hdr), "\n") {
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			out[last] += " " + strings.TrimSpace(line)
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		k = textproto.CanonicalMIMEHeaderKey(k)
		last = k
		out[k] = strings.TrimSpace(v)
	}
	return out
}

func TestSaveDraftPutsTheReplyInTheInvitationsThread(t *testing.T) {
	s := newFake(t)
	inv1, thread1 := s.Deliver(corpus(t, 2))
	inv2, thread2 := s.Deliver(corpus(t, 4))
	c := open(t, s, nil)
	drain(t, c, mailbox.Cursor{}, time.Now().Add(-time.Hour))
	s.ResetCounters()

	// The client that handed the invitation out knows its thread.
	if err := c.SaveDraft(testCtx(t), "<reply-1@rsvp.example>", reply(t, "reply-1@rsvp.example", corpus(t, 2))); err != nil {
		t.Fatalf("SaveDraft: %v", err)
	}
	if n := s.Calls("messages.list"); n != 0 {
		t.Errorf("messages.list calls = %d, want 0 (thread known from Fetch)", n)
	}
	// A new process finds the thread by the invitation's Message-ID.
	c2 := open(t, s, nil)
	if err := c2.SaveDraft(testCtx(t), "reply-2@rsvp.example", reply(t, "reply-2@rsvp.example", corpus(t, 4))); err != nil {
		t.Fatalf("SaveDraft from a new client: %v", err)
	}
	if n := s.Calls("messages.list"); n != 1 {
		t.Errorf("messages.list calls = %d, want 1 (rfc822msgid: search)", n)
	}

	drafts := s.Drafts()
	if len(drafts) != 2 {
		t.Fatalf("%d drafts stored, want 2", len(drafts))
	}
	for i, want := range []struct{ thread, parent string }{{thread1, inv1}, {thread2, inv2}} {
		d := drafts[i]
		if d.Message.ThreadID != want.thread {
			t.Errorf("draft %d is in thread %s, want the invitation's thread %s", i+1, d.Message.ThreadID, want.thread)
		}
		parentMsg, _ := s.Message(want.parent)
		parentID := parseHeader(t, parentMsg.Raw)["Message-Id"]
		h := parseHeader(t, d.Message.Raw)
		if h["In-Reply-To"] != parentID || !strings.Contains(h["References"], parentID) {
			t.Errorf("draft %d In-Reply-To %q References %q, want both to name %s", i+1, h["In-Reply-To"], h["References"], parentID)
		}
		if !slices.Equal(d.Message.LabelIDs, []string{"DRAFT"}) {
			t.Errorf("draft %d labels = %v, want [DRAFT]", i+1, d.Message.LabelIDs)
		}
	}
}

func TestFindDraftAfterACrashPreventsASecondDraft(t *testing.T) {
	s := newFake(t)
	s.Deliver(corpus(t, 2))
	c := open(t, s, nil)
	drain(t, c, mailbox.Cursor{}, time.Now().Add(-time.Hour))
	const id = "reply-crash@rsvp.example"
	if err := c.SaveDraft(testCtx(t), id, reply(t, id, corpus(t, 2))); err != nil {
		t.Fatal(err)
	}
	c.Close() // the daemon dies before recording "drafted"

	c2 := open(t, s, nil)
	for _, form := range []string{id, "<" + id + ">"} {
		found, err := c2.FindDraft(testCtx(t), form)
		if err != nil || !found {
			t.Errorf("FindDraft(%q) after a restart = %v, %v; want true", form, found, err)
		}
	}
	found, err := c2.FindDraft(testCtx(t), "never-saved@rsvp.example")
	if err != nil || found {
		t.Errorf("FindDraft of a draft never saved = %v, %v; want false", found, err)
	}
	if n := len(s.Drafts()); n != 1 {
		t.Errorf("%d drafts, want 1", n)
	}
}

func TestSaveDraftRefusesAMessageIDThatIsNotTheDrafts(t *testing.T) {
	s := newFake(t)
	c := open(t, s, nil)
	err := c.SaveDraft(testCtx(t), "other@rsvp.example", reply(t, "reply@rsvp.example", corpus(t, 2)))
	if err == nil || len(s.Drafts()) != 0 {
		t.Errorf("SaveDraft with a mismatched Message-ID = %v with %d drafts; want an error and none", err, len(s.Drafts()))
	}
	ro := open(t, s, func(o *Options) { o.ReadOnly = true })
	if err := ro.SaveDraft(testCtx(t), "reply@rsvp.example", reply(t, "reply@rsvp.example", corpus(t, 2))); err == nil {
		t.Error("SaveDraft on a read-only client succeeded")
	}
}

func TestSaveDraftDoesNotDuplicateWhenTheAnswerIsLost(t *testing.T) {
	s := newFake(t)
	s.Deliver(corpus(t, 2))
	c := open(t, s, nil)
	drain(t, c, mailbox.Cursor{}, time.Now().Add(-time.Hour))
	// The server stores the draft, then the answer is a 500.
	s.Fail(fakegmail.Failure{Method: "drafts.create", Status: 500, AfterEffect: true})
	const id = "reply-lost@rsvp.example"
	if err := c.SaveDraft(testCtx(t), id, reply(t, id, corpus(t, 2))); err != nil {
		t.Fatalf("SaveDraft: %v", err)
	}
	if n := len(s.Drafts()); n != 1 {
		t.Errorf("%d drafts after a lost answer, want 1", n)
	}
	if n := s.Calls("drafts.create"); n != 1 {
		t.Errorf("drafts.create calls = %d, want 1 (the retry found the draft first)", n)
	}

	// A plain 500 before the effect is retried and stores one draft.
	s.Fail(fakegmail.Failure{Method: "drafts.create", Status: 503})
	const id2 = "reply-retried@rsvp.example"
	if err := c.SaveDraft(testCtx(t), id2, reply(t, id2, corpus(t, 2))); err != nil {
		t.Fatalf("SaveDraft after a 503: %v", err)
	}
	if n := len(s.Drafts()); n != 2 {
		t.Errorf("%d drafts, want 2", n)
	}
}

func TestWaitSleepsThePollInterval(t *testing.T) {
	s := newFake(t)
	c := open(t, s, func(o *Options) { o.PollInterval = time.Millisecond })
	if err := c.Wait(testCtx(t)); err != nil {
		t.Errorf("Wait: %v", err)
	}
	c2 := open(t, s, func(o *Options) { o.PollInterval = time.Hour })
	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	if err := c2.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled context = %v, want context.Canceled", err)
	}
	if s.QuotaUnits() != 2 {
		t.Errorf("Wait spent quota: %d units beyond the two Opens", s.QuotaUnits()-2)
	}
}

func TestCursorTokens(t *testing.T) {
	tests := []struct {
		token string
		want  position
		bad   bool
	}{
		{"12345", position{history: 12345}, false},
		{"12345:1795016112", position{history: 12345, newest: 1795016112}, false},
		{"sync:12345:1795000000:200", position{listing: true, history: 12345, after: 1795000000, done: 200}, false},
		{"sync:12345:1795000000", position{}, true},
		{"uid:17", position{}, true},
		{"12345:x", position{}, true},
	}
	for _, tt := range tests {
		got, err := parseToken(tt.token)
		if tt.bad {
			if err == nil {
				t.Errorf("parseToken(%q) = %+v, want an error", tt.token, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseToken(%q) = %+v, %v; want %+v", tt.token, got, err, tt.want)
		}
		if back, _ := parseToken(got.cursor().Token); back != got {
			t.Errorf("round trip of %q = %+v", tt.token, back)
		}
	}
}
