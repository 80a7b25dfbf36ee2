package daemon

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/internal/testserver/dovecot"
	"github.com/rsvp-mail/rsvp/mailbox"
	"github.com/rsvp-mail/rsvp/mailmsg"
	"github.com/rsvp-mail/rsvp/store"
)

// memMailbox is a mailbox in memory that hands out batches of three
// messages and records each Flag with the cursor stored when it came.
// With rebuildAt set, the mailbox is rebuilt (a new UIDVALIDITY, the same
// messages) before that Fetch, as the IMAP backend reports it.
type memMailbox struct {
	msgs      []mailbox.Message // UIDs 1, 2, …
	st        *store.Store
	rebuildAt int

	mu       sync.Mutex
	fetches  int
	validity uint32
	flags    []flagCall
	recycled []uint32 // UIDs, as Recycle was called
}

type flagCall struct {
	uids     []uint32
	validity uint32
	cursor   uint32 // the stored cursor's LastUID at the call
}

const memValidity = 7

func (m *memMailbox) Fetch(ctx context.Context, since mailbox.Cursor, _ time.Time) ([]mailbox.Message, mailbox.Cursor, error) {
	m.mu.Lock()
	m.fetches++
	if m.validity == 0 {
		m.validity = memValidity
	}
	if m.fetches == m.rebuildAt {
		m.validity++
	}
	validity := m.validity
	m.mu.Unlock()
	if since.UIDValidity != 0 && since.UIDValidity != validity {
		return nil, mailbox.Cursor{UIDValidity: validity}, &mailbox.UIDValidityError{Mailbox: "INBOX", Old: since.UIDValidity, New: validity}
	}
	next := mailbox.Cursor{UIDValidity: validity, LastUID: since.LastUID}
	var batch []mailbox.Message
	for _, msg := range m.msgs {
		if msg.UID > since.LastUID && len(batch) < 3 {
			msg.Raw = bytes.Clone(msg.Raw) // its own, as fetched: Recycle overwrites it
			p, err := mailmsg.Read(bytes.NewReader(msg.Raw), mailmsg.Options{})
			msg.Parsed, msg.ParseErr, msg.UIDValidity = p, err, validity
			batch = append(batch, msg)
			next.LastUID = msg.UID
		}
	}
	return batch, next, nil
}

func (m *memMailbox) Flag(ctx context.Context, msgs ...mailbox.Message) error {
	c, _, err := m.st.Cursor(ctx, "test", "INBOX")
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	call := flagCall{validity: m.validity, cursor: c.LastUID}
	for _, msg := range msgs {
		if msg.UIDValidity != m.validity {
			return &mailbox.UIDValidityError{Mailbox: "INBOX", Old: msg.UIDValidity, New: m.validity}
		}
		call.uids = append(call.uids, msg.UID)
	}
	m.flags = append(m.flags, call)
	return nil
}

// Recycle implements mailbox.Recycler: it overwrites the bytes and the
// text, as the next fetch and the next message's text would.
func (m *memMailbox) Recycle(msg *mailbox.Message) {
	for i := range msg.Raw {
		msg.Raw[i] = 'X'
	}
	if p := msg.Parsed; p != nil && p.Text != "" {
		text := unsafe.Slice(unsafe.StringData(p.Text), len(p.Text))
		for i := range text {
			text[i] = 'X'
		}
		mailmsg.Recycle(p)
	}
	msg.Raw, msg.Parsed = nil, nil
	m.mu.Lock()
	m.recycled = append(m.recycled, msg.UID)
	m.mu.Unlock()
}

func (m *memMailbox) Wait(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func (m *memMailbox) SaveDraft(context.Context, string, []byte) error { return nil }
func (m *memMailbox) FindDraft(context.Context, string) (bool, error) { return false, nil }
func (m *memMailbox) Close() error                                    { return nil }

// catchUpOnce runs a daemon on a memMailbox of msgs (rebuilt before
// Fetch number rebuildAt, if not 0) with flushEvery set as given, until
// it has caught up, and stops it.
func catchUpOnce(t *testing.T, msgs []mailbox.Message, rebuildAt, messages, invitations int, after time.Duration) (*memMailbox, *store.Store, *running) {
	t.Helper()
	saved := flushEvery
	flushEvery.messages, flushEvery.invitations, flushEvery.after = messages, invitations, after
	t.Cleanup(func() { flushEvery = saved })
	st := openStore(t, t.TempDir())
	mb := &memMailbox{msgs: msgs, st: st, rebuildAt: rebuildAt}
	cfg := testConfig(t, &dovecot.Server{Addr: "127.0.0.1:1", User: "u", Password: "p"}, "")
	r := start(t, cfg, st, func(o *Options) {
		o.Open = func(context.Context, config.Account, bool) (mailbox.Mailbox, error) { return mb, nil }
	})
	waitFor(t, "idle", 30*time.Second, func() bool { return r.ev.count(EventIdle) > 0 })
	r.stop(t)
	return mb, st, r
}

// TestFlagsAndCursorWaitForAFewBatches: a catch-up flags what it found a
// few batches at a time (on a Maildir server every STORE costs a read of
// the whole directory), never moves the cursor past an invitation it has
// not flagged, and flags everything before it idles.
func TestFlagsAndCursorWaitForAFewBatches(t *testing.T) {
	files, raw, invites := corpusMail(t)
	var want []uint32 // the invitations' UIDs
	batchesWithInvitations := 0
	var msgs []mailbox.Message
	for i, name := range files {
		uid := uint32(i + 1)
		msgs = append(msgs, mailbox.Message{UID: uid, UIDValidity: memValidity, Mailbox: "INBOX", Raw: raw[name]})
		if _, ok := invites[name]; ok {
			want = append(want, uid)
			if len(want) == 1 || (want[len(want)-2]-1)/3 != (uid-1)/3 {
				batchesWithInvitations++
			}
		}
	}
	if len(want) < 4 || batchesWithInvitations < 3 {
		t.Fatalf("the corpus has %d invitations in %d batches; the test needs more", len(want), batchesWithInvitations)
	}
	for _, tc := range []struct {
		name                  string
		messages, invitations int
		after                 time.Duration
		maxCalls              int // at most this many Flags
	}{
		{"every 7 messages", 7, 1000, time.Hour, (len(msgs)+6)/7 + 1},
		{"every 2 invitations", 1000, 2, time.Hour, (len(want)+1)/2 + 1},
		{"after no time at all", 1000, 1000, 0, batchesWithInvitations},
		{"at the end", 1000, 1000, time.Hour, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mb, st, r := catchUpOnce(t, msgs, 0, tc.messages, tc.invitations, tc.after)

			var flagged []uint32
			for _, c := range mb.flags {
				if c.validity != memValidity {
					t.Errorf("flagged under UIDVALIDITY %d; the mailbox was not rebuilt", c.validity)
				}
				if c.cursor >= slices.Min(c.uids) {
					t.Errorf("UIDs %v flagged with the cursor already at %d", c.uids, c.cursor)
				}
				flagged = append(flagged, c.uids...)
			}
			if fmt.Sprint(flagged) != fmt.Sprint(want) {
				t.Errorf("flagged %v, want each invitation once: %v", flagged, want)
			}
			if len(mb.flags) > tc.maxCalls {
				t.Errorf("%d Flag calls, want at most %d", len(mb.flags), tc.maxCalls)
			}
			if tc.after == 0 && len(mb.flags) != batchesWithInvitations {
				t.Errorf("%d Flag calls with a flush after every batch, want one per batch with invitations (%d)", len(mb.flags), batchesWithInvitations)
			}
			if c, _, _ := st.Cursor(context.Background(), "test", "INBOX"); c.LastUID != uint32(len(msgs)) {
				t.Errorf("cursor at %d after the catch-up, want %d", c.LastUID, len(msgs))
			}
			if n := r.ev.count(EventFlagged); n != len(want) {
				t.Errorf("%d flagged events, want %d", n, len(want))
			}
		})
	}
}

// TestOnlyOtherMailIsRecycled: a catch-up hands back the memory of every
// message once it is classified, except the invitations', which are stored
// as fetched.
func TestOnlyOtherMailIsRecycled(t *testing.T) {
	files, raw, invites := corpusMail(t)
	var msgs []mailbox.Message
	var others []uint32
	for i, name := range files {
		uid := uint32(i + 1)
		msgs = append(msgs, mailbox.Message{UID: uid, UIDValidity: memValidity, Mailbox: "INBOX", Raw: raw[name]})
		if _, ok := invites[name]; !ok {
			others = append(others, uid)
		}
	}
	mb, st, _ := catchUpOnce(t, msgs, 0, 1000, 1000, time.Hour)
	recycled := slices.Sorted(slices.Values(mb.recycled))
	if !slices.Equal(recycled, others) {
		t.Errorf("recycled UIDs %v, want every message but the invitations: %v", recycled, others)
	}
	stored, err := st.History(context.Background(), store.HistoryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(msgs)-len(others) {
		t.Fatalf("%d invitations stored, want %d", len(stored), len(msgs)-len(others))
	}
	for _, inv := range stored {
		if inv, err = st.Get(context.Background(), inv.ID); err != nil { // with Raw
			t.Fatal(err)
		}
		if want := msgs[inv.UID-1].Raw; !bytes.Equal(inv.Raw, want) {
			t.Errorf("UID %d stored with %d bytes that are not the message's %d", inv.UID, len(inv.Raw), len(want))
		}
	}
}

// TestARebuildDuringACatchUpFlagsUnderTheNewUIDValidity: invitations held
// from before a rebuild are not flagged in one command with those of the
// new UIDVALIDITY (the server would refuse the whole command, and the
// cursor would then pass the new ones unflagged): each invitation ends up
// flagged under the new UIDVALIDITY, once, and the cursor is its last UID.
func TestARebuildDuringACatchUpFlagsUnderTheNewUIDValidity(t *testing.T) {
	files, raw, invites := corpusMail(t)
	var want []uint32
	var msgs []mailbox.Message
	for i, name := range files {
		msgs = append(msgs, mailbox.Message{UID: uint32(i + 1), UIDValidity: memValidity, Mailbox: "INBOX", Raw: raw[name]})
		if _, ok := invites[name]; ok {
			want = append(want, uint32(i+1))
		}
	}
	// Rebuilt after four batches; everything held until the end.
	mb, st, r := catchUpOnce(t, msgs, 5, 1000, 1000, time.Hour)

	var flagged []uint32
	for _, c := range mb.flags {
		if c.validity != memValidity+1 {
			t.Errorf("UIDs %v flagged under UIDVALIDITY %d, want %d", c.uids, c.validity, memValidity+1)
		}
		flagged = append(flagged, c.uids...)
	}
	slices.Sort(flagged)
	if fmt.Sprint(flagged) != fmt.Sprint(want) {
		t.Errorf("flagged %v under the new UIDVALIDITY, want each invitation once: %v", flagged, want)
	}
	c, _, _ := st.Cursor(context.Background(), "test", "INBOX")
	if c.UIDValidity != memValidity+1 || c.LastUID != uint32(len(msgs)) {
		t.Errorf("cursor %+v after the catch-up, want UIDVALIDITY %d, UID %d", c, memValidity+1, len(msgs))
	}
	if n := r.ev.count(EventFound); n != len(want) {
		t.Errorf("%d invitations found, want %d (the rebuilt mailbox's are known by Message-ID)", n, len(want))
	}
}
