package daemon

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/internal/testserver/dovecot"
	"github.com/rsvp-mail/rsvp/mailbox"
)

// hungMailbox does not answer a Fetch, whatever its context says, until
// the test ends: a connection wedged below anything a timeout can reach.
type hungMailbox struct {
	mailbox.Mailbox
	release chan struct{}
}

func (h hungMailbox) Fetch(context.Context, mailbox.Cursor, time.Time) ([]mailbox.Message, mailbox.Cursor, error) {
	<-h.release
	return nil, mailbox.Cursor{}, context.Canceled
}
func (hungMailbox) Close() error { return nil }

func TestAStuckAccountLoopIsReported(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	cfg := testConfig(t, s, "")
	st := openStore(t, t.TempDir())
	release := make(chan struct{})
	r := start(t, cfg, st, func(o *Options) {
		o.OpTimeout, o.StuckGrace = 50*time.Millisecond, 50*time.Millisecond
		o.Open = func(context.Context, config.Account, bool) (mailbox.Mailbox, error) {
			return hungMailbox{release: release}, nil
		}
	})
	t.Cleanup(func() { close(release) }) // runs before start's cleanup waits for Run
	<-r.d.Ready()
	waitFor(t, "the stuck loop reported", 10*time.Second, func() bool {
		stuck := r.d.Stuck()
		return len(stuck) == 1 && stuck[0] == "test"
	})
}

func TestAHealthyDaemonIsReadyAndNotStuck(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	deliverInvites(t, s, 1)
	st := openStore(t, t.TempDir())
	r := start(t, testConfig(t, s, ""), st, func(o *Options) { o.StuckGrace = 50 * time.Millisecond })
	select {
	case <-r.d.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("not ready within 30 s")
	}
	waitFor(t, "idle", 30*time.Second, func() bool { return r.ev.count(EventIdle) > 0 })
	time.Sleep(200 * time.Millisecond) // well past the grace: IDLE declared its own bound
	if stuck := r.d.Stuck(); len(stuck) != 0 {
		t.Errorf("Stuck() = %v while idling", stuck)
	}
	if got := r.d.Summary(context.Background()); got != "1 account, 1 invitation waiting" {
		t.Errorf("Summary() = %q", got)
	}
}

func TestReloadKeepsTheAccountsAndTakesTheRest(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	cfg := testConfig(t, s, "")
	st := openStore(t, t.TempDir())
	r := start(t, cfg, st, nil)
	next := testConfig(t, s, "detect:\n  threshold: 42\n")
	next.Accounts[0].PasswordFile = cfg.Accounts[0].PasswordFile // same account, same file
	if notes := r.d.Reload(next); len(notes) != 0 {
		t.Errorf("Reload of the same accounts: notes %v", notes)
	}
	if got := r.d.Config().Classifier.Threshold(); got != 42 {
		t.Errorf("threshold after reload = %v, want 42", got)
	}
	moved := testConfig(t, s, "")
	moved.Accounts[0].Host = "127.0.0.2"
	notes := r.d.Reload(moved)
	if len(notes) != 1 || !strings.Contains(notes[0], "restart") || r.d.Config().Accounts[0].Host == "127.0.0.2" {
		t.Errorf("Reload with a changed account: notes %v, host %s; want a restart note and the old account", notes, r.d.Config().Accounts[0].Host)
	}
}

// rebuiltAtFlag is the real mailbox, except that Flag reports a
// UIDVALIDITY change, as when the fetching stage's SELECT saw the mailbox
// rebuilt while the batch before was still being handled.
type rebuiltAtFlag struct {
	mailbox.Mailbox
	flags *atomic.Int32
}

func (m rebuiltAtFlag) Flag(ctx context.Context, msgs ...mailbox.Message) error {
	// Every time: recording the invitations changes the store, which
	// may start another catch-up before the test looks at the cursor.
	m.flags.Add(1)
	return &mailbox.UIDValidityError{Mailbox: "INBOX", Old: msgs[0].UIDValidity, New: msgs[0].UIDValidity + 1}
}

func TestAMailboxRebuiltDuringABatchIsNoSessionError(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	deliverInvites(t, s, 2)
	cfg := testConfig(t, s, "")
	st := openStore(t, t.TempDir())
	var flags atomic.Int32
	r := start(t, cfg, st, func(o *Options) {
		o.Open = func(ctx context.Context, a config.Account, ro bool) (mailbox.Mailbox, error) {
			mb, err := Backends{}.Open(ctx, a, ro)
			if err != nil {
				return nil, err
			}
			return rebuiltAtFlag{Mailbox: mb, flags: &flags}, nil
		}
	})
	waitFor(t, "idle", 30*time.Second, func() bool { return r.ev.count(EventIdle) > 0 })
	if flags.Load() == 0 {
		t.Fatal("the batch was never flagged")
	}
	if n := r.ev.count(EventError); n != 0 {
		t.Errorf("%d session errors; a rebuilt mailbox seen at Flag is not one", n)
	}
	if n := r.ev.count(EventFound); n != 2 {
		t.Errorf("%d invitations found, want 2 (recorded before the flag)", n)
	}
	if !strings.Contains(r.logs.String(), "mailbox rebuilt while a batch was handled") {
		t.Errorf("no log of the skipped batch:\n%s", r.logs.String())
	}
	// The batch moved no cursor: the next session reads it again and
	// flags its invitations then.
	if c, ok, _ := st.Cursor(context.Background(), "test", "INBOX"); ok && c.LastUID != 0 {
		t.Errorf("cursor at UID %d after the skipped batch, want none", c.LastUID)
	}
	r.stop(t)
	r = start(t, cfg, st, nil)
	waitFor(t, "both flagged on the next start", 30*time.Second, func() bool { return r.ev.count(EventFlagged) == 2 })
}
