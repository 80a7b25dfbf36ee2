package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/store"
)

// clock is a fake clock that moves one second on every reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func openStore(t *testing.T, dir string, c *clock) *store.Store {
	t.Helper()
	opts := &store.Options{PollInterval: 20 * time.Millisecond}
	if c != nil {
		opts.Now = c.Now
	}
	s, err := store.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func found(n int) store.Found {
	return store.Found{
		Account:     "work",
		Mailbox:     "INBOX",
		UIDValidity: 7,
		UID:         uint32(100 + n),
		MessageID:   fmt.Sprintf("<invite-%d@recruiter.example>", n),
		Received:    time.Date(2026, 3, 1, 8, n, 0, 0, time.UTC),
		Subject:     fmt.Sprintf("Interview invitation %d", n),
		FromName:    "Anna Berg",
		FromAddr:    "anna@recruiter.example",
		ReplyTo:     "jobs@recruiter.example",
		Score:       4.5,
		Rules:       []string{"subject-interview", "calendar-link"},
		Fields: store.Fields{
			FirstName: "Anna",
			Company:   fmt.Sprintf("Company %d", n),
			Role:      "Backend Engineer",
			Lang:      "en",
			Times: []time.Time{
				time.Date(2026, 3, 10, 14, 0, 0, 0, time.FixedZone("CET", 3600)),
				time.Date(2026, 3, 11, 10, 30, 0, 0, time.FixedZone("CET", 3600)),
			},
		},
	}
}

func add(t *testing.T, s *store.Store, f store.Found) store.Invitation {
	t.Helper()
	inv, added, err := s.AddInvitation(context.Background(), f)
	if err != nil || !added {
		t.Fatalf("AddInvitation(%s) = %v, %v, want added", f.MessageID, added, err)
	}
	return inv
}

func TestAddInvitationRecordsEverythingAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := openStore(t, t.TempDir(), c)
	f := found(1)
	inv := add(t, s, f)

	if len(inv.ID) != 8 {
		t.Errorf("ID = %q, want 8 characters", inv.ID)
	}
	for _, r := range inv.ID {
		if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') {
			t.Errorf("ID %q has %q, want only a-z and 2-7", inv.ID, r)
		}
	}
	if inv.State != store.StateFound || inv.FoundAt.IsZero() {
		t.Errorf("new invitation state = %s, found at %v; want found with a time", inv.State, inv.FoundAt)
	}
	if !sameFound(inv.Found, f) {
		t.Errorf("stored\n%+v\nwant\n%+v", inv.Found, f)
	}

	got, err := s.Get(ctx, "  "+strings.ToUpper(inv.ID)+"\n")
	if err != nil || got.ID != inv.ID {
		t.Errorf("Get(upper-cased, padded ID) = %v, %v; want %s", got.ID, err, inv.ID)
	}

	// Seen again after a UIDVALIDITY change: same invitation, not a second one.
	again := f
	again.UIDValidity, again.UID = 8, 3
	again.Subject = "changed"
	got, added, err := s.AddInvitation(ctx, again)
	if err != nil || added {
		t.Fatalf("AddInvitation(same Message-ID) = added %v, %v; want existing", added, err)
	}
	if got.ID != inv.ID || got.Subject != f.Subject || got.UIDValidity != 8 || got.UID != 3 {
		t.Errorf("AddInvitation(same Message-ID) = %s %q uidvalidity %d uid %d; want %s, old subject, new location",
			got.ID, got.Subject, got.UIDValidity, got.UID, inv.ID)
	}
	byMsg, err := s.FindByMessageID(ctx, "work", f.MessageID)
	if err != nil || byMsg.ID != inv.ID {
		t.Errorf("FindByMessageID = %s, %v; want %s", byMsg.ID, err, inv.ID)
	}

	// The same Message-ID in another account is another invitation.
	other := f
	other.Account = "home"
	inv2 := add(t, s, other)
	if inv2.ID == inv.ID {
		t.Errorf("two accounts' invitations share ID %s", inv.ID)
	}
	pending, err := s.Pending(ctx)
	if err != nil || len(pending) != 2 {
		t.Errorf("Pending = %d invitations, %v; want 2", len(pending), err)
	}

	if _, err := s.Get(ctx, "zzzzzzzz"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.FindByMessageID(ctx, "work", "<nope@x>"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FindByMessageID(unknown) = %v, want ErrNotFound", err)
	}
	if _, _, err := s.AddInvitation(ctx, store.Found{Account: "work"}); err == nil {
		t.Errorf("AddInvitation(no Message-ID) succeeded, want an error")
	}
}

func TestAddInvitationsRecordsABatchInOrder(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), newClock())
	a, b := found(1), found(2)
	a.Raw = []byte("Subject: one\r\n\r\nbody")
	again := a // the same message again, later in the batch, at another UID
	again.UID = 900
	b.MessageID = "  " + b.MessageID + "\n"
	batch := []store.Found{a, b, again}
	added, err := s.AddInvitations(ctx, batch)
	if err != nil || len(added) != 3 {
		t.Fatalf("AddInvitations = %d results, %v; want 3", len(added), err)
	}
	if batch[1].MessageID != b.MessageID {
		t.Errorf("AddInvitations changed its argument: Message-ID %q, was %q", batch[1].MessageID, b.MessageID)
	}
	b.MessageID = strings.TrimSpace(b.MessageID) // as recorded
	if !added[0].New || !added[1].New || added[2].New {
		t.Errorf("new = %v %v %v, want true true false", added[0].New, added[1].New, added[2].New)
	}
	for i, f := range []store.Found{a, b} {
		if inv := added[i].Invitation; !sameFound(inv.Found, f) || inv.State != store.StateFound {
			t.Errorf("result %d:\n%+v\nwant\n%+v", i, inv.Found, f)
		}
	}
	if added[2].Invitation.ID != added[0].Invitation.ID || added[2].Invitation.UID != 900 {
		t.Errorf("the repeat = %s at UID %d, want %s at its new UID 900", added[2].Invitation.ID, added[2].Invitation.UID, added[0].Invitation.ID)
	}
	got, err := s.Get(ctx, added[0].Invitation.ID)
	if err != nil || got.UID != 900 || string(got.Raw) != string(a.Raw) {
		t.Errorf("Get = UID %d, raw %q, %v; want UID 900 and the message", got.UID, got.Raw, err)
	}
	if n, err := s.PendingCount(ctx); err != nil || n != 2 {
		t.Errorf("PendingCount = %d, %v; want 2", n, err)
	}

	// One that cannot be recorded: none of the batch is.
	if _, err := s.AddInvitations(ctx, []store.Found{found(3), {Account: "work"}}); err == nil {
		t.Errorf("AddInvitations(one without Message-ID) succeeded, want an error")
	}
	if _, err := s.FindByMessageID(ctx, "work", found(3).MessageID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after a failed batch, its valid invitation: %v, want ErrNotFound", err)
	}
	if added, err := s.AddInvitations(ctx, nil); err != nil || len(added) != 0 {
		t.Errorf("AddInvitations(nil) = %v, %v; want nothing", added, err)
	}
}

// TestAddedIsAsStored: what AddInvitations returns for a new invitation is
// what reading it back gives, though it is not read back: times in UTC,
// proposed times with their offsets but not their zone names, no nil lists.
func TestAddedIsAsStored(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), newClock())
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no zone database: %v", err)
	}
	a, b := found(1), found(2)
	a.Received = time.Now().In(berlin) // a monotonic reading and a named zone
	a.Fields.Times = []time.Time{time.Date(2026, 3, 10, 14, 0, 0, 123, berlin)}
	a.Raw = []byte("Subject: one\r\n\r\nbody")
	b.Received, b.Rules, b.Fields.Times, b.Raw = time.Time{}, nil, nil, nil
	added, err := s.AddInvitations(ctx, []store.Found{a, b})
	if err != nil || len(added) != 2 {
		t.Fatalf("AddInvitations = %d results, %v; want 2", len(added), err)
	}
	for i, ad := range added {
		got, err := s.Get(ctx, ad.Invitation.ID)
		if err != nil {
			t.Fatalf("Get(%s) = %v", ad.Invitation.ID, err)
		}
		if !reflect.DeepEqual(ad.Invitation, got) {
			t.Errorf("invitation %d as added:\n%#v\nas read back:\n%#v", i, ad.Invitation, got)
		}
	}
}

func sameFound(a, b store.Found) bool {
	if len(a.Fields.Times) != len(b.Fields.Times) {
		return false
	}
	for i := range a.Fields.Times {
		_, za := a.Fields.Times[i].Zone()
		_, zb := b.Fields.Times[i].Zone()
		if !a.Fields.Times[i].Equal(b.Fields.Times[i]) || za != zb {
			return false
		}
	}
	if !a.Received.Equal(b.Received) {
		return false
	}
	a.Fields.Times, b.Fields.Times = nil, nil
	a.Received, b.Received = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// to brings a new invitation into state st by the allowed path.
func to(t *testing.T, s *store.Store, id string, st store.State) {
	t.Helper()
	ctx := context.Background()
	var err error
	switch st {
	case store.StateFound:
	case store.StateAsked:
		_, err = s.MarkAsked(ctx, id)
	case store.StateDecided:
		_, err = s.Decide(ctx, id, store.ActionDecline, "just started a new job")
	case store.StateIgnored:
		_, err = s.Ignore(ctx, id, "")
	case store.StateDrafted:
		if _, err = s.Decide(ctx, id, store.ActionReschedule, ""); err == nil {
			_, err = s.MarkDrafted(ctx, id, "<draft-1@rsvp>")
		}
	}
	if err != nil {
		t.Fatalf("bringing %s to %s: %v", id, st, err)
	}
}

func TestTransitions(t *testing.T) {
	ctx := context.Background()
	type op struct {
		name string
		do   func(s *store.Store, id string) (store.Invitation, error)
	}
	var (
		ask     = op{"MarkAsked", func(s *store.Store, id string) (store.Invitation, error) { return s.MarkAsked(ctx, id) }}
		decline = op{"Decide(decline)", func(s *store.Store, id string) (store.Invitation, error) {
			return s.Decide(ctx, id, store.ActionDecline, "not looking")
		}}
		reschedule = op{"Decide(reschedule)", func(s *store.Store, id string) (store.Invitation, error) {
			return s.Decide(ctx, id, store.ActionReschedule, "")
		}}
		compensation = op{"Decide(ask-compensation)", func(s *store.Store, id string) (store.Invitation, error) {
			return s.Decide(ctx, id, store.ActionAskCompensation, "")
		}}
		ignore = op{"Ignore", func(s *store.Store, id string) (store.Invitation, error) { return s.Ignore(ctx, id, "spam") }}
		draft  = op{"MarkDrafted", func(s *store.Store, id string) (store.Invitation, error) { return s.MarkDrafted(ctx, id, "<d@rsvp>") }}
	)
	tests := []struct {
		from store.State
		op   op
		want store.State // "" when refused
		// for refusals: does it also match ErrAlreadyDecided?
		already bool
	}{
		{store.StateFound, ask, store.StateAsked, false},
		{store.StateFound, decline, store.StateDecided, false},
		{store.StateFound, compensation, store.StateDecided, false},
		{store.StateFound, ignore, store.StateIgnored, false},
		{store.StateFound, draft, "", false},
		{store.StateAsked, ask, store.StateAsked, false},
		{store.StateAsked, reschedule, store.StateDecided, false},
		{store.StateAsked, ignore, store.StateIgnored, false},
		{store.StateAsked, draft, "", false},
		{store.StateDecided, draft, store.StateDrafted, false},
		{store.StateDecided, ask, "", false},
		{store.StateDecided, decline, "", true},
		{store.StateDecided, ignore, "", true},
		{store.StateIgnored, ask, "", false},
		{store.StateIgnored, decline, "", true},
		{store.StateIgnored, draft, "", false},
		{store.StateDrafted, ask, "", false},
		{store.StateDrafted, reschedule, "", true},
		{store.StateDrafted, ignore, "", true},
		{store.StateDrafted, draft, "", false},
	}
	for i, tt := range tests {
		verb := "moves to " + string(tt.want)
		if tt.want == "" {
			verb = "is refused"
		}
		t.Run(fmt.Sprintf("%s on %s %s", tt.op.name, tt.from, verb), func(t *testing.T) {
			s := openStore(t, t.TempDir(), newClock())
			inv := add(t, s, found(i))
			to(t, s, inv.ID, tt.from)
			before, _ := s.Get(ctx, inv.ID)
			seq0, _ := s.ChangeSeq(ctx)

			got, err := tt.op.do(s, inv.ID)
			after, gerr := s.Get(ctx, inv.ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			seq1, _ := s.ChangeSeq(ctx)
			if tt.want == "" {
				if !errors.Is(err, store.ErrBadState) {
					t.Fatalf("%s on %s = %v, want ErrBadState", tt.op.name, tt.from, err)
				}
				if errors.Is(err, store.ErrAlreadyDecided) != tt.already {
					t.Errorf("%s on %s: errors.Is(%v, ErrAlreadyDecided) = %v, want %v", tt.op.name, tt.from, err, !tt.already, tt.already)
				}
				var se *store.StateError
				if !errors.As(err, &se) || se.State != tt.from {
					t.Errorf("error %v does not name the current state %s", err, tt.from)
				}
				if !reflect.DeepEqual(before, after) {
					t.Errorf("refused %s changed the invitation:\n%+v\nto\n%+v", tt.op.name, before, after)
				}
				if seq1 != seq0 {
					t.Errorf("refused %s moved the change counter %d -> %d", tt.op.name, seq0, seq1)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s on %s = %v, want %s", tt.op.name, tt.from, err, tt.want)
			}
			if got.State != tt.want || after.State != tt.want {
				t.Errorf("%s on %s: returned %s, stored %s; want %s", tt.op.name, tt.from, got.State, after.State, tt.want)
			}
			if seq1 <= seq0 {
				t.Errorf("%s did not move the change counter (%d -> %d)", tt.op.name, seq0, seq1)
			}
			switch tt.want {
			case store.StateAsked:
				if after.AskedAt.IsZero() {
					t.Errorf("asked, but AskedAt is zero")
				}
				if tt.from == store.StateAsked && (after.AskedCount != 2 || after.ReminderAt.IsZero() || !after.AskedAt.Equal(before.AskedAt)) {
					t.Errorf("asked again: count %d, reminder %v, asked %v (was %v); want 2, a reminder time, first asked time kept",
						after.AskedCount, after.ReminderAt, after.AskedAt, before.AskedAt)
				}
			case store.StateDecided, store.StateIgnored:
				if after.DecidedAt.IsZero() || after.Action == "" {
					t.Errorf("decided, but DecidedAt %v, Action %q", after.DecidedAt, after.Action)
				}
			case store.StateDrafted:
				if after.DraftedAt.IsZero() || after.DraftMessageID != "<d@rsvp>" {
					t.Errorf("drafted, but DraftedAt %v, DraftMessageID %q", after.DraftedAt, after.DraftMessageID)
				}
			}
		})
	}
}

func TestTransitionsOnUnknownIDsAndBadInput(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), nil)
	inv := add(t, s, found(1))
	if _, err := s.MarkAsked(ctx, "aaaaaaaa"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkAsked(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.Decide(ctx, "aaaaaaaa", store.ActionDecline, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Decide(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.Decide(ctx, inv.ID, "accept", ""); err == nil || errors.Is(err, store.ErrBadState) {
		t.Errorf("Decide(unknown action) = %v, want a plain error", err)
	}
	if _, err := s.Decide(ctx, inv.ID, store.ActionDecline, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkDrafted(ctx, inv.ID, " "); err == nil {
		t.Errorf("MarkDrafted(empty Message-ID) succeeded, want an error")
	}
	if got, _ := s.Get(ctx, inv.ID); got.State != store.StateDecided {
		t.Errorf("state after refused MarkDrafted = %s, want decided", got.State)
	}
}

func TestDecidedAnswerIsKept(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), nil)
	inv := add(t, s, found(1))
	if _, err := s.Decide(ctx, inv.ID, store.ActionDecline, "first"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Decide(ctx, inv.ID, store.ActionReschedule, "second")
	if !errors.Is(err, store.ErrAlreadyDecided) {
		t.Fatalf("second Decide = %v, want ErrAlreadyDecided", err)
	}
	got, _ := s.Get(ctx, inv.ID)
	if got.Action != store.ActionDecline || got.Reason != "first" {
		t.Errorf("after a second answer: %s %q, want the first (decline \"first\")", got.Action, got.Reason)
	}
}

func TestPendingAndAwaitingDraft(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), newClock())
	// Added out of order of reception: Pending is by reception, oldest first.
	ids := map[int]string{}
	for _, n := range []int{5, 1, 3, 2, 4} {
		ids[n] = add(t, s, found(n)).ID
	}
	if n, err := s.PendingCount(ctx); n != 5 || err != nil {
		t.Errorf("PendingCount = %d, %v before any answer; want 5", n, err)
	}
	if all, err := s.Pending(ctx); err == nil {
		checkWaiting(t, s, all) // five, in the order of reception
	}
	to(t, s, ids[2], store.StateAsked)
	to(t, s, ids[4], store.StateIgnored)
	to(t, s, ids[5], store.StateDrafted)
	// 3 decided before 1: AwaitingDraft is in the order of decision.
	to(t, s, ids[3], store.StateDecided)
	to(t, s, ids[1], store.StateDecided)

	pending, err := s.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 1 and 3 were decided, 4 ignored, 5 drafted: only 2 (asked) is pending.
	if got, want := idsOf(pending), []string{ids[2]}; !reflect.DeepEqual(got, want) {
		t.Errorf("Pending = %v, want %v", got, want)
	}
	if n, err := s.PendingCount(ctx); n != len(pending) || err != nil {
		t.Errorf("PendingCount = %d, %v; want %d, as Pending", n, err, len(pending))
	}
	checkWaiting(t, s, pending)
	awaiting, err := s.AwaitingDraft(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := idsOf(awaiting), []string{ids[3], ids[1]}; !reflect.DeepEqual(got, want) {
		t.Errorf("AwaitingDraft = %v, want %v", got, want)
	}

	s2 := openStore(t, t.TempDir(), newClock())
	for _, n := range []int{3, 1, 2} {
		ids[n] = add(t, s2, found(n)).ID
	}
	to(t, s2, ids[1], store.StateAsked)
	pending, _ = s2.Pending(ctx)
	if got, want := idsOf(pending), []string{ids[1], ids[2], ids[3]}; !reflect.DeepEqual(got, want) {
		t.Errorf("Pending = %v, want oldest received first %v", got, want)
	}
}

func idsOf(invs []store.Invitation) []string {
	out := []string{}
	for _, inv := range invs {
		out = append(out, inv.ID)
	}
	return out
}

func TestHistory(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir(), newClock())
	ids := map[int]string{}
	for _, n := range []int{4, 2, 1, 3} {
		ids[n] = add(t, s, found(n)).ID
	}
	f := found(9)
	f.Account = "home"
	ids[9] = add(t, s, f).ID
	to(t, s, ids[1], store.StateDrafted)
	to(t, s, ids[2], store.StateIgnored)

	tests := []struct {
		name   string
		filter store.HistoryFilter
		want   []int
	}{
		{"everything, oldest received first", store.HistoryFilter{}, []int{1, 2, 3, 4, 9}},
		{"one account", store.HistoryFilter{Account: "work"}, []int{1, 2, 3, 4}},
		{"since is inclusive, until exclusive", store.HistoryFilter{Since: found(2).Received, Until: found(4).Received}, []int{2, 3}},
		{"by state", store.HistoryFilter{States: []store.State{store.StateDrafted, store.StateIgnored}}, []int{1, 2}},
		{"limit keeps the newest", store.HistoryFilter{Limit: 2}, []int{4, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.History(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, n := range tt.want {
				want = append(want, ids[n])
			}
			if !reflect.DeepEqual(idsOf(got), want) {
				t.Errorf("History(%+v) = %v, want %v", tt.filter, idsOf(got), want)
			}
		})
	}
	all, _ := s.History(ctx, store.HistoryFilter{})
	h := all[0]
	if h.Fields.Company != "Company 1" || h.Fields.Role != "Backend Engineer" || h.FromAddr != "anna@recruiter.example" ||
		h.Action != store.ActionReschedule || h.State != store.StateDrafted || h.DecidedAt.IsZero() {
		t.Errorf("history record = %+v, want company, role, contact, decision and state", h)
	}
}

func TestCursors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir, newClock())
	if _, ok, err := s.Cursor(ctx, "work", "INBOX"); ok || err != nil {
		t.Fatalf("Cursor(never set) = %v, %v; want none", ok, err)
	}
	if err := s.SetCursor(ctx, "work", "INBOX", store.Cursor{UIDValidity: 7, LastUID: 42}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor(ctx, "work", "INBOX", store.Cursor{UIDValidity: 7, LastUID: 43}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor(ctx, "gmail", "", store.Cursor{Token: "123456789"}); err != nil {
		t.Fatal(err)
	}
	c, ok, err := s.Cursor(ctx, "work", "INBOX")
	if err != nil || !ok || c.UIDValidity != 7 || c.LastUID != 43 || c.UpdatedAt.IsZero() {
		t.Errorf("Cursor(work) = %+v, %v, %v; want uidvalidity 7, last UID 43", c, ok, err)
	}
	g, ok, err := s.Cursor(ctx, "gmail", "")
	if err != nil || !ok || g.Token != "123456789" {
		t.Errorf("Cursor(gmail) = %+v, %v, %v; want token 123456789", g, ok, err)
	}
	if _, ok, _ := s.Cursor(ctx, "work", "Other"); ok {
		t.Errorf("Cursor(work, Other) found, want none")
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := newClock()
	s, err := store.Open(dir, &store.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	a := add(t, s, found(1))
	b := add(t, s, found(2))
	to(t, s, a.ID, store.StateAsked)
	to(t, s, a.ID, store.StateAsked)
	to(t, s, b.ID, store.StateDrafted)
	if err := s.SetCursor(ctx, "work", "INBOX", store.Cursor{UIDValidity: 7, LastUID: 102}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.History(ctx, store.HistoryFilter{})
	seq, _ := s.ChangeSeq(ctx)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir, c)
	after, err := s.History(ctx, store.HistoryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("after reopening:\n%+v\nwant\n%+v", after, before)
	}
	if cur, ok, _ := s.Cursor(ctx, "work", "INBOX"); !ok || cur.LastUID != 102 {
		t.Errorf("cursor after reopening = %+v, %v; want last UID 102", cur, ok)
	}
	if seq2, _ := s.ChangeSeq(ctx); seq2 != seq {
		t.Errorf("change counter after reopening = %d, want %d", seq2, seq)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
}

func TestTwoHandlesSeeEachOther(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir := t.TempDir()
	daemon := openStore(t, dir, newClock())
	cmd := openStore(t, dir, newClock())

	inv := add(t, daemon, found(1))
	pending, err := cmd.Pending(ctx)
	if err != nil || len(pending) != 1 || pending[0].ID != inv.ID {
		t.Fatalf("other handle's Pending = %v, %v; want [%s]", idsOf(pending), err, inv.ID)
	}

	seq, err := daemon.ChangeSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		seq int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := daemon.WaitChange(ctx, seq)
		done <- result{n, err}
	}()
	start := time.Now()
	if _, err := cmd.Decide(ctx, inv.ID, store.ActionDecline, "happy where I am"); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.seq == seq {
		t.Fatalf("WaitChange = %d, %v; want a new sequence number", r.seq, r.err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the daemon's handle noticed the decision after %v, want within 2s", d)
	}
	awaiting, err := daemon.AwaitingDraft(ctx)
	if err != nil || len(awaiting) != 1 || awaiting[0].Reason != "happy where I am" {
		t.Errorf("daemon's AwaitingDraft = %+v, %v; want the decision", awaiting, err)
	}

	// WaitChange gives up when its context ends.
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := daemon.WaitChange(short, r.seq); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitChange with nothing changing = %v, want DeadlineExceeded", err)
	}
}

func TestConcurrentDecidersExactlyOneWins(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	handles := []*store.Store{openStore(t, dir, nil), openStore(t, dir, nil), openStore(t, dir, nil)}
	for round := 0; round < 5; round++ {
		inv := add(t, handles[0], found(round))
		actions := []store.Action{store.ActionDecline, store.ActionReschedule, store.ActionIgnore, store.ActionAskCompensation}
		const n = 12
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = handles[i%len(handles)].Decide(ctx, inv.ID, actions[i%len(actions)], fmt.Sprint("decider ", i))
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Errorf("round %d: deciders %d and %d both won", round, winner, i)
				}
				winner = i
			case !errors.Is(err, store.ErrAlreadyDecided):
				t.Errorf("round %d: decider %d: %v, want nil or ErrAlreadyDecided", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no decider won: %v", round, errs)
		}
		got, _ := handles[1].Get(ctx, inv.ID)
		if got.Reason != fmt.Sprint("decider ", winner) || got.Action != actions[winner%len(actions)] {
			t.Errorf("round %d: stored %s %q, want the winner's (decider %d)", round, got.Action, got.Reason, winner)
		}
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	s.Close()

	db, err := sql.Open("sqlite", filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE schema_version SET version = ?`, store.SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	db.Close()

	_, err = store.Open(dir, nil)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Open(newer schema) = %v, want ErrSchemaTooNew", err)
	}
	t.Logf("the error reads: %v", err)
}

func TestFileModes(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "state", "rsvp")
	s := openStore(t, dir, nil)
	add(t, s, found(1)) // so that the -wal file exists

	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o700 {
		t.Errorf("directory mode = %o, want 700", got)
	}
	for _, name := range []string{store.FileName, store.FileName + "-wal", store.FileName + "-shm"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := st.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode = %o, want 600", name, got)
		}
	}
	if s.Path() != filepath.Join(dir, store.FileName) {
		t.Errorf("Path() = %s, want %s", s.Path(), filepath.Join(dir, store.FileName))
	}
}

// checkWaiting checks that Waiting is pending, entry by entry.
func checkWaiting(t *testing.T, s *store.Store, pending []store.Invitation) {
	t.Helper()
	waiting, err := s.Waiting(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var want []store.Waiting
	for _, inv := range pending {
		want = append(want, store.Waiting{ID: inv.ID, State: inv.State, AskedAt: inv.AskedAt, AskedCount: inv.AskedCount})
	}
	if !reflect.DeepEqual(waiting, want) {
		t.Errorf("Waiting = %+v, want %+v (from Pending)", waiting, want)
	}
}
