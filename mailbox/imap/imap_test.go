package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/internal/testserver/dovecot"
	"github.com/rsvp-mail/rsvp/mailbox"
	"github.com/rsvp-mail/rsvp/mailmsg"
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

func dial(t *testing.T, s *dovecot.Server, mod func(*Options)) *Client {
	t.Helper()
	o := Options{Addr: s.Addr, Security: "plain", Username: s.User,
		Password: func() (string, error) { return s.Password, nil }, Flag: "$Interview"}
	if mod != nil {
		mod(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func uids(ms []mailbox.Message) []uint32 {
	var u []uint32
	for _, m := range ms {
		u = append(u, m.UID)
	}
	return u
}

func assertNoSeen(t *testing.T, s *dovecot.Server) {
	t.Helper()
	for uid, fl := range s.Flags(t, s.User, "INBOX") {
		if slices.Contains(fl, `\Seen`) {
			t.Errorf("INBOX UID %d has flags %v, want no \\Seen", uid, fl)
		}
	}
}

func TestFetchFirstStartOnlyNewMailThenIncremental(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	s.AppendAt(t, corpus(t, 1), time.Now().AddDate(-1, 0, 0))
	s.AppendAt(t, corpus(t, 2), time.Now().AddDate(0, -2, 0))
	s.Deliver(t, s.User, "INBOX", corpus(t, 3))
	s.Deliver(t, s.User, "INBOX", corpus(t, 4))

	c := dial(t, s, nil)
	batch, next, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -14))
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got := uids(batch); !slices.Equal(got, []uint32{3, 4}) {
		t.Fatalf("first start fetched UIDs %v, want [3 4] (mail older than since left out)", got)
	}
	want := s.UIDValidity(t, s.User, "INBOX")
	// The cursor says the first start is not over until a search comes
	// back empty (see TestFirstStartResumedElsewhereKeepsItsWindow).
	if next != (mailbox.Cursor{UIDValidity: want, LastUID: 4, Token: firstStartToken}) {
		t.Fatalf("next cursor = %+v, want {%d 4 %s}", next, want, firstStartToken)
	}
	m := batch[0]
	if m.Parsed == nil || m.ParseErr != nil {
		t.Fatalf("message not parsed: %v", m.ParseErr)
	}
	if m.Parsed.MessageID == "" || m.Parsed.Subject == "" || m.Parsed.Text == "" {
		t.Errorf("parsed message lacks Message-ID, Subject or text: %+v", m.Parsed)
	}
	if m.Mailbox != "INBOX" || m.UIDValidity != want || m.InternalDate.IsZero() {
		t.Errorf("message metadata = %q %d %v", m.Mailbox, m.UIDValidity, m.InternalDate)
	}

	// Nothing new: "5:*" matches UID 4 on the server; it must be dropped.
	// The first start is over: same place, no token.
	batch, next2, err := c.Fetch(ctx(t), next, time.Time{})
	if err != nil || len(batch) != 0 || next2 != (mailbox.Cursor{UIDValidity: want, LastUID: 4}) {
		t.Fatalf("Fetch with nothing new = %v, %+v, %v; want nothing, {%d 4}", uids(batch), next2, err, want)
	}
	next = next2

	s.Deliver(t, s.User, "INBOX", corpus(t, 5))
	batch, next, err = c.Fetch(ctx(t), next, time.Time{})
	if err != nil || !slices.Equal(uids(batch), []uint32{5}) || next.LastUID != 5 {
		t.Fatalf("incremental Fetch = %v, %+v, %v; want [5]", uids(batch), next, err)
	}

	// The same batch unparsed, then parsed as Fetch parses it: the body
	// bytes fetched, read with the same limit.
	unparsed, next3, err := c.FetchUnparsed(ctx(t), next2, time.Time{})
	if err != nil || !slices.Equal(uids(unparsed), []uint32{5}) || next3 != next {
		t.Fatalf("FetchUnparsed = %v, %+v, %v; want [5], %+v", uids(unparsed), next3, err, next)
	}
	u := &unparsed[0]
	if u.Parsed != nil || u.ParseErr != nil || !bytes.Equal(u.Raw, batch[0].Raw) {
		t.Fatalf("FetchUnparsed's message: parsed %v, err %v, %d bytes; want unparsed, Fetch's %d bytes",
			u.Parsed != nil, u.ParseErr, len(u.Raw), len(batch[0].Raw))
	}
	c.Parse(u)
	want5, err := mailmsg.Read(bytes.NewReader(u.Raw), mailmsg.Options{MaxBodyBytes: DefaultBodyBytes})
	if err != nil {
		t.Fatal(err)
	}
	if u.ParseErr != nil || !reflect.DeepEqual(u.Parsed, want5) || !reflect.DeepEqual(batch[0].Parsed, want5) {
		t.Errorf("Parse gave %+v, %v, Fetch %+v; want mailmsg.Read's %+v", u.Parsed, u.ParseErr, batch[0].Parsed, want5)
	}
	assertNoSeen(t, s)
}

// On first start the SINCE window holds for every batch of the catch-up:
// old mail with higher UIDs (imported, say) is not handed out.
func TestFirstStartWindowHoldsAcrossBatches(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	for i := 1; i <= 4; i++ {
		s.Deliver(t, s.User, "INBOX", corpus(t, i))
	}
	s.AppendAt(t, corpus(t, 5), time.Now().AddDate(-1, 0, 0)) // UID 5, a year old
	s.Deliver(t, s.User, "INBOX", corpus(t, 6))
	c := dial(t, s, func(o *Options) { o.BatchSize = 2 })
	var all []uint32
	cur := mailbox.Cursor{}
	for range 5 {
		batch, next, err := c.Fetch(ctx(t), cur, time.Now().AddDate(0, 0, -1))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, uids(batch)...)
		cur = next
	}
	if !slices.Equal(all, []uint32{1, 2, 3, 4, 6}) {
		t.Fatalf("fetched %v, want 1 2 3 4 6 (not the year-old 5)", all)
	}
}

// A first start cut short (the daemon killed, the connection lost) goes on
// from its cursor on a new connection with the same window: the year-old
// message with a higher UID is still left out.
func TestFirstStartResumedElsewhereKeepsItsWindow(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	for i := 1; i <= 4; i++ {
		s.Deliver(t, s.User, "INBOX", corpus(t, i))
	}
	s.AppendAt(t, corpus(t, 5), time.Now().AddDate(-1, 0, 0)) // UID 5, a year old
	s.Deliver(t, s.User, "INBOX", corpus(t, 6))
	window := time.Now().AddDate(0, 0, -1)
	c := dial(t, s, func(o *Options) { o.BatchSize = 2 })
	batch, cur, err := c.Fetch(ctx(t), mailbox.Cursor{}, window)
	if err != nil || !slices.Equal(uids(batch), []uint32{1, 2}) {
		t.Fatalf("first batch = %v, %v; want [1 2]", uids(batch), err)
	}
	// Killed after handling UID 1 only: the cursor stored with it.
	cur.LastUID = 1
	c2 := dial(t, s, func(o *Options) { o.BatchSize = 2 })
	var all []uint32
	for range 5 {
		batch, next, err := c2.Fetch(ctx(t), cur, window)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, uids(batch)...)
		cur = next
	}
	if !slices.Equal(all, []uint32{2, 3, 4, 6}) {
		t.Fatalf("resumed first start fetched %v, want 2 3 4 6 (not the year-old 5)", all)
	}
	if cur.Token != "" || cur.LastUID != 6 {
		t.Errorf("cursor after the first start = %+v, want LastUID 6 and no token", cur)
	}
	// Afterwards, new mail is new mail, whatever its date.
	s.AppendAt(t, corpus(t, 7), time.Now().AddDate(-1, 0, 0))
	if batch, _, err := c2.Fetch(ctx(t), cur, window); err != nil || !slices.Equal(uids(batch), []uint32{7}) {
		t.Errorf("after the first start: %v, %v; want [7]", uids(batch), err)
	}
}

func TestFirstStartInTheFutureFetchesNothing(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	s.Deliver(t, s.User, "INBOX", corpus(t, 6))
	c := dial(t, s, nil)
	batch, next, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, 2))
	if err != nil || len(batch) != 0 {
		t.Fatalf("Fetch = %v, %v; want nothing", uids(batch), err)
	}
	// The cursor must still move on, past the existing mail.
	if next.LastUID != 1 {
		t.Fatalf("next = %+v, want LastUID 1", next)
	}
	s.Deliver(t, s.User, "INBOX", corpus(t, 7))
	batch, _, err = c.Fetch(ctx(t), next, time.Time{})
	if err != nil || !slices.Equal(uids(batch), []uint32{2}) {
		t.Fatalf("Fetch after delivery = %v, %v; want [2]", uids(batch), err)
	}
}

func TestFetchInBatches(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	for i := 1; i <= 7; i++ {
		s.Deliver(t, s.User, "INBOX", corpus(t, i))
	}
	var trace bytes.Buffer
	c := dial(t, s, func(o *Options) { o.BatchSize = 3; o.DebugWriter = &trace })
	var all []uint32
	cur := mailbox.Cursor{}
	for i := 0; i < 5; i++ {
		batch, next, err := c.Fetch(ctx(t), cur, time.Now().AddDate(0, 0, -1))
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) > 3 {
			t.Fatalf("batch of %d, want at most 3", len(batch))
		}
		all = append(all, uids(batch)...)
		cur = next
	}
	if !slices.Equal(all, []uint32{1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("fetched %v, want 1..7 once each", all)
	}
	if n := strings.Count(trace.String(), " UID FETCH "); n != 3 {
		t.Errorf("%d UID FETCH commands, want 3 (one per batch)", n)
	}
	// One catch-up, one SELECT and one SEARCH; then (batches 4 and 5: the
	// catch-up is over) one of each to look for new mail.
	if n := strings.Count(trace.String(), " SELECT "); n != 3 {
		t.Errorf("%d SELECT commands for 3 batches and 2 empty fetches, want 3", n)
	}
	if n := strings.Count(trace.String(), " UID SEARCH "); n != 3 {
		t.Errorf("%d UID SEARCH commands, want 3", n)
	}
	if strings.Contains(trace.String(), "BODY[]") || strings.Contains(trace.String(), "RFC822 ") {
		t.Errorf("trace shows a whole-message fetch")
	}
	for _, item := range []string{"BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]<0.65536>"} {
		if !strings.Contains(trace.String(), item) {
			t.Errorf("trace lacks %s", item)
		}
	}
	assertNoSeen(t, s)
}

// The next batch's FETCH goes out before Fetch returns a batch, and the
// other calls work while it is on its way: Flag, SaveDraft, and FindDraft
// (which selects another mailbox, so the batch is asked for again).
func TestCallsBetweenBatchesWhileTheNextIsOnItsWay(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	for i := 1; i <= 7; i++ {
		s.Deliver(t, s.User, "INBOX", corpus(t, i))
	}
	var trace syncBuffer
	c := dial(t, s, func(o *Options) { o.BatchSize = 3; o.DebugWriter = &trace })
	since := time.Now().AddDate(0, 0, -1)
	fetch := func(cur mailbox.Cursor, want []uint32, fetches int) ([]mailbox.Message, mailbox.Cursor) {
		t.Helper()
		batch, next, err := c.Fetch(ctx(t), cur, since)
		if err != nil || !slices.Equal(uids(batch), want) {
			t.Fatalf("Fetch after %+v = %v, %v; want %v", cur, uids(batch), err, want)
		}
		if n := strings.Count(trace.String(), " UID FETCH "); n != fetches {
			t.Fatalf("%d UID FETCH commands sent once Fetch returned %v, want %d:\n%s", n, want, fetches, trace.String())
		}
		for _, m := range batch {
			if m.Parsed == nil || m.Parsed.MessageID == "" {
				t.Errorf("UID %d read as %+v, %v", m.UID, m.Parsed, m.ParseErr)
			}
		}
		return batch, next
	}
	batch, cur := fetch(mailbox.Cursor{}, []uint32{1, 2, 3}, 2) // 4:6 asked for already
	if err := c.Flag(ctx(t), batch[1]); err != nil {
		t.Fatalf("Flag with a FETCH on its way: %v", err)
	}
	_, cur = fetch(cur, []uint32{4, 5, 6}, 3) // the one on its way, and 7
	id := "rsvp-ahead@rsvp.invalid"
	if err := c.SaveDraft(ctx(t), id, []byte(fmt.Sprintf(draft, id))); err != nil {
		t.Fatalf("SaveDraft with a FETCH on its way: %v", err)
	}
	if found, err := c.FindDraft(ctx(t), id); err != nil || !found {
		t.Fatalf("FindDraft with a FETCH on its way = %v, %v; want true", found, err)
	}
	_, cur = fetch(cur, []uint32{7}, 4) // asked for again after the SELECT
	if _, cur = fetch(cur, nil, 4); cur.LastUID != 7 {
		t.Errorf("cursor after the catch-up = %+v, want LastUID 7", cur)
	}
	fl := s.Flags(t, s.User, "INBOX")
	for uid := uint32(1); uid <= 7; uid++ {
		if want := uid == 2; slices.Contains(fl[uid], "$Interview") != want || len(fl[uid]) > 1 {
			t.Errorf("UID %d flags = %v", uid, fl[uid])
		}
	}
	assertNoSeen(t, s)
}

func TestFlagAddsOnlyTheKeyword(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	s.Deliver(t, s.User, "INBOX", corpus(t, 1))
	s.Deliver(t, s.User, "INBOX", corpus(t, 2))
	c := dial(t, s, nil)
	batch, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -1))
	if err != nil || len(batch) != 2 {
		t.Fatalf("Fetch = %d, %v", len(batch), err)
	}
	if err := c.Flag(ctx(t), batch[1]); err != nil {
		t.Fatalf("Flag: %v", err)
	}
	fl := s.Flags(t, s.User, "INBOX")
	if len(fl[1]) != 0 {
		t.Errorf("UID 1 flags = %v, want none", fl[1])
	}
	if !slices.Equal(fl[2], []string{"$Interview"}) {
		t.Errorf("UID 2 flags = %v, want [$Interview]", fl[2])
	}
}

func TestFlagOfSeveralIsOneStore(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	for i := 1; i <= 4; i++ {
		s.Deliver(t, s.User, "INBOX", corpus(t, i))
	}
	var trace syncBuffer
	c := dial(t, s, func(o *Options) { o.DebugWriter = &trace })
	batch, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -1))
	if err != nil || len(batch) != 4 {
		t.Fatalf("Fetch = %d, %v", len(batch), err)
	}
	if err := c.Flag(ctx(t), batch[0], batch[2], batch[3]); err != nil {
		t.Fatalf("Flag: %v", err)
	}
	if n := strings.Count(trace.String(), "UID STORE"); n != 1 {
		t.Errorf("%d UID STOREs for three messages, want one\n%s", n, trace.String())
	}
	fl := s.Flags(t, s.User, "INBOX")
	for uid, want := range map[uint32][]string{1: {"$Interview"}, 2: nil, 3: {"$Interview"}, 4: {"$Interview"}} {
		if !slices.Equal(fl[uid], want) {
			t.Errorf("UID %d flags = %v, want %v", uid, fl[uid], want)
		}
	}
	if err := c.Flag(ctx(t)); err != nil {
		t.Errorf("Flag of nothing: %v", err)
	}
	if n := strings.Count(trace.String(), "UID STORE"); n != 1 {
		t.Errorf("Flag of nothing sent a STORE")
	}
}

func TestFlagIsANoOpWhenKeywordsAreRefused(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{RefuseKeywords: []string{"INBOX"}})
	s.Deliver(t, s.User, "INBOX", corpus(t, 1))
	var trace bytes.Buffer
	c := dial(t, s, func(o *Options) { o.DebugWriter = &trace })
	batch, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -1))
	if err != nil || len(batch) != 1 {
		t.Fatalf("Fetch = %d, %v", len(batch), err)
	}
	if err := c.Flag(ctx(t), batch[0]); err != nil {
		t.Fatalf("Flag: %v, want a silent no-op", err)
	}
	if strings.Contains(trace.String(), "STORE") {
		t.Errorf("a STORE was sent although PERMANENTFLAGS has no \\*")
	}
	if fl := s.Flags(t, s.User, "INBOX")[1]; len(fl) != 0 {
		t.Errorf("flags = %v, want none", fl)
	}
}

func TestFlagOffSendsNothing(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	s.Deliver(t, s.User, "INBOX", corpus(t, 1))
	c := dial(t, s, func(o *Options) { o.Flag = "" })
	batch, _, _ := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -1))
	if err := c.Flag(ctx(t), batch[0]); err != nil {
		t.Fatal(err)
	}
	if fl := s.Flags(t, s.User, "INBOX")[1]; len(fl) != 0 {
		t.Errorf("flags = %v, want none", fl)
	}
}

const draft = "From: Alex Morgan <alex.morgan@example.net>\r\n" +
	"To: Jane <jane@corp.example>\r\nSubject: Re: Interview\r\n" +
	"Message-ID: <%s>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThank you.\r\n"

func TestSaveDraftAndFindDraft(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	s.Deliver(t, s.User, "INBOX", corpus(t, 1))
	c := dial(t, s, nil)
	if _, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -1)); err != nil {
		t.Fatal(err)
	}
	id := "rsvp-abc123@rsvp.invalid"
	if found, err := c.FindDraft(ctx(t), id); err != nil || found {
		t.Fatalf("FindDraft before saving = %v, %v; want false", found, err)
	}
	if err := c.SaveDraft(ctx(t), id, []byte(fmt.Sprintf(draft, id))); err != nil {
		t.Fatalf("SaveDraft: %v", err)
	}
	msgs := s.Messages(t, s.User, "Drafts")
	if len(msgs) != 1 || msgs[0].MessageID != "<"+id+">" {
		t.Fatalf("Drafts = %+v, want the one draft", msgs)
	}
	if !msgs[0].HasFlag(`\Draft`) || !msgs[0].HasFlag(`\Seen`) {
		t.Errorf("draft flags = %v, want \\Draft \\Seen", msgs[0].Flags)
	}
	for _, q := range []string{id, "<" + id + ">"} {
		if found, err := c.FindDraft(ctx(t), q); err != nil || !found {
			t.Errorf("FindDraft(%q) = %v, %v; want true", q, found, err)
		}
	}
	for _, q := range []string{"other@rsvp.invalid", "abc123@rsvp.invalid"} {
		if found, err := c.FindDraft(ctx(t), q); err != nil || found {
			t.Errorf("FindDraft(%q) = %v, %v; want false", q, found, err)
		}
	}
	// The watched mailbox is selected again: flagging still works.
	batch, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -1))
	if err != nil || len(batch) != 1 {
		t.Fatal(err)
	}
	if _, err := c.FindDraft(ctx(t), id); err != nil {
		t.Fatal(err)
	}
	if err := c.Flag(ctx(t), batch[0]); err != nil {
		t.Fatal(err)
	}
	if fl := s.Flags(t, s.User, "INBOX")[1]; !slices.Equal(fl, []string{"$Interview"}) {
		t.Errorf("INBOX flags after FindDraft+Flag = %v, want [$Interview]", fl)
	}
}

func TestNoDrafts(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{NoDrafts: true})
	c := dial(t, s, nil)
	err := c.SaveDraft(ctx(t), "x@y", []byte(fmt.Sprintf(draft, "x@y")))
	if !errors.Is(err, mailbox.ErrNoDrafts) {
		t.Fatalf("SaveDraft = %v, want ErrNoDrafts", err)
	}
	if _, err := c.FindDraft(ctx(t), "x@y"); !errors.Is(err, mailbox.ErrNoDrafts) {
		t.Fatalf("FindDraft = %v, want ErrNoDrafts", err)
	}
}

func TestDraftsByConfiguredName(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{NoDrafts: true})
	s.CreateMailbox(t, s.User, "Entwürfe")
	c := dial(t, s, func(o *Options) { o.DraftsName = "Entwürfe" })
	if err := c.SaveDraft(ctx(t), "x@y", []byte(fmt.Sprintf(draft, "x@y"))); err != nil {
		t.Fatalf("SaveDraft: %v", err)
	}
	if n := len(s.Messages(t, s.User, "Entwürfe")); n != 1 {
		t.Fatalf("%d messages in Entwürfe, want 1", n)
	}
}

func TestUIDValidityChange(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	s.Deliver(t, s.User, "INBOX", corpus(t, 1))
	c := dial(t, s, nil)
	_, next, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	s.SetUIDValidity(t, s.User, "INBOX", next.UIDValidity+1000)
	c = dial(t, s, nil)
	_, _, err = c.Fetch(ctx(t), next, time.Time{})
	var ve *mailbox.UIDValidityError
	if !errors.Is(err, mailbox.ErrUIDValidityChanged) || !errors.As(err, &ve) || ve.New != next.UIDValidity+1000 {
		t.Fatalf("Fetch = %v, want ErrUIDValidityChanged with the new value", err)
	}
}

func TestWrongPasswordIsErrAuth(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	_, err := Dial(ctx(t), Options{Addr: s.Addr, Security: "plain", Username: s.User,
		Password: func() (string, error) { return "wrong-password", nil }})
	if !errors.Is(err, mailbox.ErrAuth) {
		t.Fatalf("Dial = %v, want ErrAuth", err)
	}
}

func TestTLS(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{TLS: true})
	for _, tc := range []struct{ name, sec, addr string }{
		{"implicit TLS verifies with ca_file", "tls", s.TLSAddr},
		{"STARTTLS verifies with ca_file", "starttls", s.Addr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, s, func(o *Options) { o.Security = tc.sec; o.Addr = tc.addr; o.CAFile = s.CAFile })
			if _, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now()); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("an untrusted certificate is refused", func(t *testing.T) {
		_, err := Dial(ctx(t), Options{Addr: s.TLSAddr, Security: "tls", Username: s.User,
			Password: func() (string, error) { return s.Password, nil }})
		if err == nil {
			t.Fatal("Dial succeeded without the CA")
		}
	})
}

func TestPlainToNonLoopbackIsRefusedBeforeDialing(t *testing.T) {
	called := false
	_, err := Dial(ctx(t), Options{Addr: "192.0.2.1:143", Security: "plain", Username: "u",
		Password: func() (string, error) { called = true; return "p", nil }})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("Dial = %v, want a refusal naming loopback", err)
	}
	if called {
		t.Error("password asked for")
	}
}

func TestWaitReturnsAfterDelivery(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	c := dial(t, s, nil)
	if _, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait(ctx(t)) }()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	s.Deliver(t, s.User, "INBOX", corpus(t, 1))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		t.Logf("Wait returned %v after delivery", time.Since(start))
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return within 10s of a delivery")
	}
	// The connection is still usable after IDLE.
	if batch, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -1)); err != nil || len(batch) != 1 {
		t.Fatalf("Fetch after Wait = %d, %v", len(batch), err)
	}
	// Cancelling ctx ends Wait and keeps the connection.
	cctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := c.Wait(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with a short ctx = %v", err)
	}
	if _, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now()); err != nil {
		t.Fatalf("Fetch after cancelled Wait: %v", err)
	}
}

// The daemon cancels Wait whenever a decision comes in; a cancel at any
// moment, even before the server said "+ idling", must keep the connection.
func TestCancellingWaitEarlyKeepsTheConnection(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	c := dial(t, s, nil)
	if _, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		cctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(time.Duration(i%6) * 300 * time.Microsecond)
			cancel()
		}()
		if err := c.Wait(cctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait cancelled after %d×300µs: %v", i%6, err)
		}
		cancel()
		if _, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now()); err != nil {
			t.Fatalf("Fetch after Wait cancelled after %d×300µs: %v", i%6, err)
		}
	}
}

func TestTraceNeverHoldsThePassword(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	var trace bytes.Buffer
	c := dial(t, s, func(o *Options) { o.DebugWriter = &trace })
	c.Fetch(ctx(t), mailbox.Cursor{}, time.Now())
	c.Close()
	if strings.Contains(trace.String(), s.Password) {
		t.Fatalf("trace holds the password:\n%s", trace.String())
	}
	if !strings.Contains(trace.String(), "SELECT") || !strings.Contains(trace.String(), "ID (") {
		t.Errorf("trace lacks SELECT or ID:\n%s", trace.String())
	}
}

func TestJoinedIsHeaderThenText(t *testing.T) {
	both := []byte("Subject: x\r\n\r\nbody")
	h, tx := both[:14:len(both)], both[14:]
	got := joined(h, tx)
	if string(got) != string(both) || &got[0] != &both[0] || cap(got) != cap(both) {
		t.Errorf("adjacent: %q (cap %d), want %q in place", got, cap(got), both)
	}
	// Not adjacent (the text before the header, or elsewhere): a copy,
	// and the header's spare capacity is not written to.
	spare := []byte("Subject: y\r\n\r\nXXXX")
	h2 := spare[:14]
	got = joined(h2, []byte("text"))
	if string(got) != "Subject: y\r\n\r\ntext" || string(spare) != "Subject: y\r\n\r\nXXXX" {
		t.Errorf("apart: %q, header's array now %q", got, spare)
	}
	if got := joined(h2, nil); string(got) != "Subject: y\r\n\r\n" || cap(got) != len(got) {
		t.Errorf("no text: %q cap %d", got, cap(got))
	}
}
