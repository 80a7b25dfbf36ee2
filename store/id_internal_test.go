package store

import (
	"context"
	"testing"
)

// TestTakenIDGoesToTheNextAlternative: when another invitation already has
// the ID a message derives, the message gets the next alternative, and the
// other invitation is left as it was.
func TestTakenIDGoesToTheNextAlternative(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, _, err := s.AddInvitation(ctx, Found{Account: "work", Mailbox: "INBOX", UID: 1, MessageID: "<a@x>", Subject: "first"})
	if err != nil {
		t.Fatal(err)
	}
	taken := deriveID("work", "<b@x>", 0)
	if _, err := s.db.ExecContext(ctx, `UPDATE invitations SET id = ? WHERE id = ?`, taken, other.ID); err != nil {
		t.Fatal(err)
	}
	inv, added, err := s.AddInvitation(ctx, Found{Account: "work", Mailbox: "INBOX", UID: 2, MessageID: "<b@x>", Subject: "second"})
	if want := deriveID("work", "<b@x>", 1); err != nil || !added || inv.ID != want {
		t.Fatalf("AddInvitation(<b@x>) = %s, added %v, %v; want %s, added", inv.ID, added, err, want)
	}
	for id, subject := range map[string]string{taken: "first", inv.ID: "second"} {
		if got, err := s.Get(ctx, id); err != nil || got.Subject != subject {
			t.Errorf("Get(%s) = %q, %v; want %q", id, got.Subject, err, subject)
		}
	}
}
