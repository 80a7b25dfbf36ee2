package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Cursor is how far an account's mailbox has been read: UIDVALIDITY and the
// last UID processed for IMAP, or an opaque Token (a Gmail historyId).
type Cursor struct {
	UIDValidity uint32
	LastUID     uint32
	Token       string
	UpdatedAt   time.Time // set by SetCursor
}

// Cursor returns the cursor of account's mailbox, and false when none was
// ever set.
func (s *Store) Cursor(ctx context.Context, account, mailbox string) (Cursor, bool, error) {
	var c Cursor
	var updated sql.NullInt64
	err := s.db.QueryRowContext(ctx,
		`SELECT uidvalidity, last_uid, token, updated_at FROM cursors WHERE account = ? AND mailbox = ?`,
		account, mailbox).Scan(&c.UIDValidity, &c.LastUID, &c.Token, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Cursor{}, false, nil
	}
	if err != nil {
		return Cursor{}, false, fmt.Errorf("get cursor %s/%s: %w", account, mailbox, err)
	}
	c.UpdatedAt = fromNanos(updated)
	return c, true, nil
}

// SetCursor replaces the cursor of account's mailbox; c.UpdatedAt is ignored
// and set from the clock. The write survives a crash of the process; a power
// cut may lose the last few, which costs only reading those messages again.
func (s *Store) SetCursor(ctx context.Context, account, mailbox string, c Cursor) error {
	_, err := s.setCursor.ExecContext(ctx, account, mailbox, c.UIDValidity, c.LastUID, c.Token, nanos(s.now()))
	if err != nil {
		return fmt.Errorf("set cursor %s/%s: %w", account, mailbox, err)
	}
	return nil
}

const setCursorSQL = `
INSERT INTO cursors (account, mailbox, uidvalidity, last_uid, token, updated_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (account, mailbox) DO UPDATE SET
	uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid,
	token = excluded.token, updated_at = excluded.updated_at`
