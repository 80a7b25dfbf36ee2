package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ChangeSeq returns the change counter: a number that grows by at least one
// with every committed change to any invitation, by this process or another.
// It costs one indexed read, so polling it every few hundred milliseconds is
// fine. Compare it with the value seen last; its absolute value means nothing.
func (s *Store) ChangeSeq(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'change_seq'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("read change counter: %w", err)
	}
	return n, nil
}

// WaitChange blocks until the change counter differs from seen and returns
// its new value, polling every Options.PollInterval. It returns ctx's error
// when ctx is done first. A daemon keeps the value from the last call:
//
//	seq, _ := st.ChangeSeq(ctx)
//	for {
//		// ... pick up st.AwaitingDraft(ctx) ...
//		if seq, err = st.WaitChange(ctx, seq); err != nil {
//			return err
//		}
//	}
func (s *Store) WaitChange(ctx context.Context, seen int64) (int64, error) {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		n, err := s.ChangeSeq(ctx)
		if err != nil {
			return seen, err
		}
		if n != seen {
			return n, nil
		}
		select {
		case <-ctx.Done():
			return seen, ctx.Err()
		case <-t.C:
		}
	}
}

const bumpSQL = `UPDATE meta SET value = value + 1 WHERE key = 'change_seq'`

// bump increments the change counter inside tx.
func bump(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, bumpSQL); err != nil {
		return fmt.Errorf("bump change counter: %w", err)
	}
	return nil
}
