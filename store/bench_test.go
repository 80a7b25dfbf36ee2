package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rsvp-mail/rsvp/store"
)

// BenchmarkSetCursor is the cost of one committed cursor write: the daemon
// makes one per batch of messages.
func BenchmarkSetCursor(b *testing.B) {
	s, err := store.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if err := s.SetCursor(ctx, "work", "INBOX", store.Cursor{UIDValidity: 1, LastUID: uint32(i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddInvitation is the cost of recording one invitation.
func BenchmarkAddInvitation(b *testing.B) {
	s, err := store.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		f := found(i % 60)
		f.MessageID = fmt.Sprintf("<bench-%d@x>", i)
		if _, _, err := s.AddInvitation(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddInvitations records five invitations a call, as a backfill's
// batch of 100 messages holds about that many; ns/op is per invitation, to
// compare with BenchmarkAddInvitation.
func BenchmarkAddInvitations(b *testing.B) {
	s, err := store.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	fs := make([]store.Found, 5)
	for i := 0; b.Loop(); i++ {
		f := found(i % 60)
		f.MessageID = fmt.Sprintf("<bench-%d@x>", i)
		fs[i%5] = f
		if i%5 == 4 {
			if _, err := s.AddInvitations(ctx, fs); err != nil {
				b.Fatal(err)
			}
		}
	}
}
