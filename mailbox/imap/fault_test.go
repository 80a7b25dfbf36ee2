package imap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/rsvp-mail/rsvp/internal/syncbuf"
	"github.com/rsvp-mail/rsvp/internal/testserver/dovecot"
	"github.com/rsvp-mail/rsvp/internal/testserver/faultproxy"
	"github.com/rsvp-mail/rsvp/mailbox"
)

// Fault tests: a real Dovecot behind faultproxy, which cuts or stalls the
// connection at a chosen point of the exchange.

// syncBuffer is a trace that the test reads while the client still writes.
type syncBuffer = syncbuf.Buffer

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// returns waits for a call running in the background to return.
func returns(t *testing.T, what string, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return within 10s", what)
		return nil
	}
}

// via dials the server through the proxy.
func via(p *faultproxy.Proxy, trace *syncBuffer) func(*Options) {
	return func(o *Options) {
		o.Addr = p.Addr()
		if trace != nil {
			o.DebugWriter = trace
		}
	}
}

// bigMessage is an invitation whose text is over 64 KiB, so that the answer
// to a FETCH of a few of them spans many reads.
func bigMessage(i int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Recruiter %d <recruiter%d@corp.example>\r\nTo: Alex <alex@example.net>\r\n"+
		"Subject: Interview invitation %d\r\nMessage-ID: <big-%d@corp.example>\r\nDate: %s\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		i, i, i, i, time.Now().Format(time.RFC1123Z))
	for b.Len() < 100<<10 {
		b.WriteString("We would be glad to invite you to an interview for the role next week.\r\n")
	}
	return []byte(b.String())
}

func messageIDs(ms []mailbox.Message) []string {
	var ids []string
	for _, m := range ms {
		if m.Parsed == nil {
			ids = append(ids, "(unparsed)")
			continue
		}
		ids = append(ids, m.Parsed.MessageID)
	}
	return ids
}

// isCtxErr reports whether err carries a context's end.
func isCtxErr(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// assertClosed checks that the client's connection is gone and that the
// next call says so at once, without blaming an earlier call's context.
func assertClosed(t *testing.T, c *Client) {
	t.Helper()
	select {
	case <-c.c.Closed():
	default:
		t.Fatal("connection still open")
	}
	_, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now())
	if !errors.Is(err, net.ErrClosed) || isCtxErr(err) || errors.Is(err, ErrTimeout) {
		t.Fatalf("Fetch on the closed connection = %v, want net.ErrClosed only", err)
	}
}

func TestCutMidFetchLosesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		arm  func(*faultproxy.Proxy)
		seen string // what the client must have read before the cut
	}{
		{"the UID FETCH command is lost", func(p *faultproxy.Proxy) { p.CutOnClient("UID FETCH") }, "UID SEARCH"},
		{"the answer breaks off before the third message", func(p *faultproxy.Proxy) { p.CutOnServer("* 3 FETCH") }, "* 1 FETCH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := dovecot.Start(t, dovecot.Options{})
			for i := 1; i <= 3; i++ {
				s.Deliver(t, s.User, "INBOX", bigMessage(i))
			}
			p := faultproxy.Start(t, s.Addr)
			trace := &syncBuffer{}
			c := dial(t, s, via(p, trace))
			since := time.Now().AddDate(0, 0, -1)

			tc.arm(p)
			batch, next, err := c.Fetch(ctx(t), mailbox.Cursor{}, since)
			if err == nil || len(batch) != 0 || next != (mailbox.Cursor{}) {
				t.Fatalf("Fetch through the cut = %v, %+v, %v; want an error, no messages, the same cursor", uids(batch), next, err)
			}
			if !strings.Contains(trace.String(), tc.seen) {
				t.Fatalf("trace lacks %q: the cut came too early\n%s", tc.seen, trace)
			}

			// The caller dials again and fetches from the same cursor.
			c2 := dial(t, s, via(p, nil))
			batch, next, err = c2.Fetch(ctx(t), mailbox.Cursor{}, since)
			if err != nil {
				t.Fatalf("Fetch after redial: %v", err)
			}
			if got := uids(batch); !slices.Equal(got, []uint32{1, 2, 3}) || next.LastUID != 3 {
				t.Fatalf("Fetch after redial = %v, next %+v; want [1 2 3], LastUID 3", got, next)
			}
			wantIDs := []string{"big-1@corp.example", "big-2@corp.example", "big-3@corp.example"}
			if got := messageIDs(batch); !slices.Equal(got, wantIDs) {
				t.Errorf("Message-IDs = %v, want %v", got, wantIDs)
			}
			if n := p.Conns(); n != 2 {
				t.Errorf("proxy accepted %d connections, want 2", n)
			}
			assertNoSeen(t, s)
		})
	}
}

// A batch's FETCH is sent before the batch before it is read: a fault in
// its answer surfaces in one of the two Fetch calls, and after a redial
// every message comes once, in order.
func TestFaultInTheBatchAskedForAheadLosesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		arm  func(*faultproxy.Proxy)
		want error // nil: any
	}{
		{"cut", func(p *faultproxy.Proxy) { p.CutOnServer("* 3 FETCH") }, nil},
		{"stalled", func(p *faultproxy.Proxy) { p.StallOnServer("* 3 FETCH") }, ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := dovecot.Start(t, dovecot.Options{})
			for i := 1; i <= 6; i++ {
				s.Deliver(t, s.User, "INBOX", bigMessage(i))
			}
			p := faultproxy.Start(t, s.Addr)
			opts := func(o *Options) { via(p, nil)(o); o.BatchSize = 2; o.ReplyTimeout = 500 * time.Millisecond }
			c := dial(t, s, opts)
			since := time.Now().AddDate(0, 0, -1)

			tc.arm(p)
			var got []uint32
			var ids []string
			cur, failed := mailbox.Cursor{}, 0
			for calls := 0; ; calls++ {
				if calls == 10 {
					t.Fatalf("no end after 10 calls; got %v", got)
				}
				done := make(chan error, 1)
				var batch []mailbox.Message
				var next mailbox.Cursor
				go func() {
					var err error
					batch, next, err = c.Fetch(ctx(t), cur, since)
					done <- err
				}()
				if err := returns(t, "Fetch", done); err != nil {
					if failed++; failed > 1 || tc.want != nil && !errors.Is(err, tc.want) {
						t.Fatalf("Fetch after %v = %v, want one %v", got, err, tc.want)
					}
					p.Resume()
					c = dial(t, s, opts)
					continue
				}
				if len(batch) == 0 {
					break
				}
				got = append(got, uids(batch)...)
				ids = append(ids, messageIDs(batch)...)
				cur = next
			}
			if failed != 1 {
				t.Errorf("%d Fetch calls failed, want 1: the fault was not met", failed)
			}
			if !slices.Equal(got, []uint32{1, 2, 3, 4, 5, 6}) {
				t.Errorf("fetched %v, want 1..6 once each", got)
			}
			for i, id := range ids {
				if want := fmt.Sprintf("big-%d@corp.example", got[i]); id != want {
					t.Errorf("UID %d is %s, want %s", got[i], id, want)
				}
			}
			assertNoSeen(t, s)
		})
	}
}

func TestCutMidIdleEndsWait(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	p := faultproxy.Start(t, s.Addr)
	trace := &syncBuffer{}
	c := dial(t, s, via(p, trace))
	if _, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait(ctx(t)) }()
	waitFor(t, "IDLE to start", func() bool { return strings.Contains(trace.String(), "+ idling") })

	p.Cut()
	err := returns(t, "Wait after the cut", done)
	if err == nil || isCtxErr(err) {
		t.Fatalf("Wait after the cut = %v, want a connection error", err)
	}
	assertClosed(t, c)
}

func TestStalledIdleIsClosedWithinReplyTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restart time.Duration
		// act makes the server go silent and ends the wait.
		act func(p *faultproxy.Proxy, cancel context.CancelFunc)
		ctx error // the context's error, also in Wait's, or nil
	}{
		{"DONE after a cancel goes unanswered", 0,
			func(p *faultproxy.Proxy, cancel context.CancelFunc) { p.StallOnClient("DONE"); cancel() },
			context.Canceled},
		{"DONE of an IDLE restart goes unanswered", time.Second,
			func(p *faultproxy.Proxy, cancel context.CancelFunc) { p.Stall() },
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := dovecot.Start(t, dovecot.Options{})
			p := faultproxy.Start(t, s.Addr)
			trace := &syncBuffer{}
			c := dial(t, s, func(o *Options) {
				via(p, trace)(o)
				o.ReplyTimeout = 500 * time.Millisecond
				o.IdleRestart = tc.restart
			})
			if _, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now()); err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- c.Wait(wctx) }()
			waitFor(t, "IDLE to start", func() bool { return strings.Contains(trace.String(), "+ idling") })

			tc.act(p, cancel)
			err := returns(t, "Wait on a silent server", done)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("Wait = %v, want ErrTimeout", err)
			}
			if tc.ctx != nil && !errors.Is(err, tc.ctx) {
				t.Errorf("Wait = %v, want it to carry %v too", err, tc.ctx)
			}
			if tc.ctx == nil && isCtxErr(err) {
				t.Errorf("Wait = %v, blames the context", err)
			}
			if !strings.Contains(trace.String(), "DONE") {
				t.Errorf("trace lacks DONE: IDLE was not ended\n%s", trace)
			}
			assertClosed(t, c)
			p.Resume()
		})
	}
}

func TestStallMidFetchReturns(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     time.Duration
		timeout time.Duration
		want    error
	}{
		{"when the context ends", 500 * time.Millisecond, 0, context.DeadlineExceeded},
		{"when the server is silent for ReplyTimeout", time.Minute, 500 * time.Millisecond, ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := dovecot.Start(t, dovecot.Options{})
			s.Deliver(t, s.User, "INBOX", corpus(t, 1))
			p := faultproxy.Start(t, s.Addr)
			c := dial(t, s, func(o *Options) { via(p, nil)(o); o.ReplyTimeout = tc.timeout })

			p.StallOnClient("UID FETCH")
			fctx, cancel := context.WithTimeout(context.Background(), tc.ctx)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, _, err := c.Fetch(fctx, mailbox.Cursor{}, time.Now().AddDate(0, 0, -1))
				done <- err
			}()
			err := returns(t, "Fetch on a stalled connection", done)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Fetch = %v, want %v", err, tc.want)
			}
			if tc.want == ErrTimeout && isCtxErr(err) {
				t.Errorf("Fetch = %v, blames the context", err)
			}
			assertClosed(t, c)

			p.Resume()
			c2 := dial(t, s, via(p, nil))
			batch, _, err := c2.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -1))
			if err != nil || !slices.Equal(uids(batch), []uint32{1}) {
				t.Fatalf("Fetch after redial = %v, %v; want [1]", uids(batch), err)
			}
		})
	}
}

// draftWith is a reply draft whose text is body.
func draftWith(id, body string) []byte {
	return []byte("From: Alex Morgan <alex.morgan@example.net>\r\nTo: Jane <jane@corp.example>\r\n" +
		"Subject: Re: Interview\r\nMessage-ID: <" + id + ">\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body)
}

func TestDialToAStalledServerEndsWithItsContext(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	p := faultproxy.Start(t, s.Addr)
	p.Stall()
	dctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		c, err := Dial(dctx, Options{Addr: p.Addr(), Security: "plain", Username: s.User,
			Password: func() (string, error) { return s.Password, nil }})
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	if err := returns(t, "Dial to a stalled server", done); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial = %v, want context.DeadlineExceeded", err)
	}
	p.Resume()
}

func TestCutMidAppendLeavesExactlyOneDraftAfterRetry(t *testing.T) {
	long := "Thank you for the invitation.\r\n" + strings.Repeat("I am not available for new roles at the moment.\r\n", 120) +
		"LAST-LINE-OF-THE-DRAFT\r\n"
	for _, tc := range []struct {
		name   string
		body   string
		arm    func(*faultproxy.Proxy)
		landed bool
	}{
		{"the APPEND command is lost", "Thank you.\r\n",
			func(p *faultproxy.Proxy) { p.CutOnClient("APPEND") }, false},
		// Over 4 KiB: a synchronizing literal, sent after the server's
		// "+", so the server has begun the APPEND when the text is lost.
		{"the message text is lost", long,
			func(p *faultproxy.Proxy) { p.CutOnClient("LAST-LINE-OF-THE-DRAFT") }, false},
		{"the server's OK is lost", "Thank you.\r\n",
			func(p *faultproxy.Proxy) { p.CutOnServer("[APPENDUID") }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := dovecot.Start(t, dovecot.Options{})
			p := faultproxy.Start(t, s.Addr)
			trace := &syncBuffer{}
			c := dial(t, s, via(p, trace))
			id := "rsvp-cut@rsvp.invalid"
			raw := draftWith(id, tc.body)

			tc.arm(p)
			if err := c.SaveDraft(ctx(t), id, raw); err == nil {
				t.Fatal("SaveDraft through a cut succeeded")
			}
			if !strings.Contains(trace.String(), "APPEND") {
				t.Fatalf("no APPEND in the trace\n%s", trace)
			}
			if len(raw) > 4096 && !strings.Contains(trace.String(), "\r\n+ ") {
				t.Fatalf("the server never asked for the literal: the cut came too early\n%s", trace)
			}
			drafts := func() int {
				n := 0
				for _, m := range s.Messages(t, s.User, "Drafts") {
					if m.MessageID == "<"+id+">" {
						n++
					}
				}
				return n
			}

			// A retrying caller: dial again, FindDraft, SaveDraft if absent.
			c2 := dial(t, s, via(p, nil))
			found, err := c2.FindDraft(ctx(t), id)
			if err != nil {
				t.Fatalf("FindDraft after redial: %v", err)
			}
			if n := drafts(); found != (n == 1) || n > 1 {
				t.Fatalf("FindDraft = %v but Drafts holds %d copies", found, n)
			}
			if found != tc.landed {
				t.Fatalf("FindDraft = %v, want %v", found, tc.landed)
			}
			if !found {
				if err := c2.SaveDraft(ctx(t), id, raw); err != nil {
					t.Fatalf("SaveDraft on retry: %v", err)
				}
			}
			if n := drafts(); n != 1 {
				t.Fatalf("Drafts holds %d copies of the draft after the retry, want exactly 1", n)
			}
			msgs := s.Messages(t, s.User, "Drafts")
			lines := strings.Split(strings.TrimSpace(tc.body), "\r\n")
			if got := s.Raw(t, s.User, "Drafts", msgs[0].UID); !strings.Contains(string(got), lines[len(lines)-1]) {
				t.Errorf("saved draft lacks the end of its text:\n%s", got)
			}
		})
	}
}

func TestReadOnlyChangesNothing(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	s.Deliver(t, s.User, "INBOX", corpus(t, 1))
	s.Deliver(t, s.User, "INBOX", corpus(t, 2))
	before := s.Flags(t, s.User, "INBOX")
	trace := &syncBuffer{}
	c := dial(t, s, func(o *Options) { o.ReadOnly = true; o.DebugWriter = trace })

	batch, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -1))
	if err != nil || !slices.Equal(uids(batch), []uint32{1, 2}) {
		t.Fatalf("Fetch = %v, %v; want [1 2]", uids(batch), err)
	}
	if err := c.Flag(ctx(t), batch[0]); err != nil {
		t.Fatalf("Flag = %v, want a no-op", err)
	}
	id := "rsvp-ro@rsvp.invalid"
	if err := c.SaveDraft(ctx(t), id, []byte(fmt.Sprintf(draft, id))); err == nil {
		t.Fatal("SaveDraft on a read-only connection succeeded")
	}
	if found, err := c.FindDraft(ctx(t), id); err != nil || found {
		t.Fatalf("FindDraft = %v, %v; want false", found, err)
	}

	tr := trace.String()
	if !strings.Contains(tr, "EXAMINE INBOX") {
		t.Errorf("trace lacks EXAMINE INBOX\n%s", tr)
	}
	for _, cmd := range []string{" SELECT ", " STORE ", " APPEND ", " EXPUNGE", " COPY ", " MOVE "} {
		if strings.Contains(tr, cmd) {
			t.Errorf("a read-only connection sent%s\n%s", cmd, tr)
		}
	}
	after := s.Flags(t, s.User, "INBOX")
	for uid, fl := range before {
		if !slices.Equal(after[uid], fl) {
			t.Errorf("UID %d flags went from %v to %v", uid, fl, after[uid])
		}
	}
	if n := len(s.Messages(t, s.User, "Drafts")); n != 0 {
		t.Errorf("Drafts holds %d messages, want none", n)
	}
	assertNoSeen(t, s)
}

func TestWaitPollsWhenTheServerHasNoIdle(t *testing.T) {
	// Dovecot advertises what imap_capability lists (after login too), so
	// leaving IDLE out makes a server without it.
	s := dovecot.Start(t, dovecot.Options{ExtraConfig: "imap_capability = IMAP4rev1 SASL-IR LITERAL+ ID ENABLE NAMESPACE UIDPLUS UNSELECT CHILDREN LIST-EXTENDED SPECIAL-USE"})
	trace := &syncBuffer{}
	poll := 300 * time.Millisecond
	c := dial(t, s, func(o *Options) { o.PollInterval = poll; o.DebugWriter = trace })
	if caps := c.c.Caps(); caps.Has(goimap.CapIdle) {
		t.Fatalf("server still offers IDLE: %v", caps)
	}
	if _, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Wait(ctx(t)); err != nil {
		t.Fatalf("Wait = %v, want nil after PollInterval", err)
	}
	if d := time.Since(start); d < poll {
		t.Errorf("Wait returned after %v, before PollInterval %v", d, poll)
	}
	if strings.Contains(trace.String(), " IDLE") {
		t.Errorf("IDLE sent to a server without it\n%s", trace)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Wait(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled ctx = %v", err)
	}
	s.Deliver(t, s.User, "INBOX", corpus(t, 1))
	if batch, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -1)); err != nil || len(batch) != 1 {
		t.Fatalf("Fetch after polling = %v, %v; want the new message", uids(batch), err)
	}
}

var idleCommand = regexp.MustCompile(`(?m)^T\d+ IDLE\r$`)

func TestIdleIsRestartedAndStillSeesNewMail(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	trace := &syncBuffer{}
	c := dial(t, s, func(o *Options) { o.IdleRestart = time.Second; o.DebugWriter = trace })
	if _, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait(ctx(t)) }()
	waitFor(t, "IDLE to be restarted twice", func() bool {
		return len(idleCommand.FindAllString(trace.String(), -1)) >= 3
	})
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v on an IDLE restart; want it to go on waiting", err)
	default:
	}
	if n := strings.Count(trace.String(), "\r\nDONE\r\n"); n < 2 {
		t.Errorf("%d DONE in the trace, want at least 2", n)
	}

	s.Deliver(t, s.User, "INBOX", corpus(t, 1))
	if err := returns(t, "Wait after a delivery", done); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if batch, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -1)); err != nil || len(batch) != 1 {
		t.Fatalf("Fetch after Wait = %v, %v", uids(batch), err)
	}
}
