package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rsvp-mail/rsvp/store"
)

// benchStore is a new store in a temporary directory, closed after b.
func benchStore(b *testing.B) *store.Store {
	s, err := store.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkSetCursor is the cost of one committed cursor write: the daemon
// makes one per batch of messages.
func BenchmarkSetCursor(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	for i := 0; b.Loop(); i++ {
		if err := s.SetCursor(ctx, "work", "INBOX", store.Cursor{UIDValidity: 1, LastUID: uint32(i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchFound is the i-th invitation a benchmark records.
func benchFound(i int) store.Found {
	f := found(i % 60)
	f.MessageID = fmt.Sprintf("<bench-%d@x>", i)
	return f
}

// BenchmarkAddInvitation is the cost of recording one invitation.
func BenchmarkAddInvitation(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	for i := 0; b.Loop(); i++ {
		if _, _, err := s.AddInvitation(ctx, benchFound(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddInvitations records five invitations a call, as a backfill's
// batch of 100 messages holds about that many; ns/op is per invitation, to
// compare with BenchmarkAddInvitation.
func BenchmarkAddInvitations(b *testing.B) {
	s, ctx := benchStore(b), context.Background()
	fs := make([]store.Found, 5)
	for i := 0; b.Loop(); i++ {
		fs[i%5] = benchFound(i)
		if i%5 == 4 {
			if _, err := s.AddInvitations(ctx, fs); err != nil {
				b.Fatal(err)
			}
		}
	}
}
