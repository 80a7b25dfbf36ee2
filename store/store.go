package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the name of the database file inside the directory given to Open.
const FileName = "rsvp.db"

// SchemaVersion is the newest schema this package knows; Open migrates older
// databases to it and refuses newer ones.
const SchemaVersion = 1

// Errors callers branch on with errors.Is.
var (
	// ErrNotFound: no invitation with that ID or Message-ID.
	ErrNotFound = errors.New("not found")
	// ErrBadState: the operation is not allowed in the invitation's current
	// state; the message names the state.
	ErrBadState = errors.New("not allowed in this state")
	// ErrAlreadyDecided: an answer for an invitation that already has one
	// (decided, drafted or ignored). It is not applied. Errors wrapping it
	// also match ErrBadState.
	ErrAlreadyDecided = errors.New("already decided")
	// ErrSchemaTooNew: the database was written by a newer rsvp.
	ErrSchemaTooNew = errors.New("database schema is newer than this rsvp")
)

// Options tune a Store. The zero value (or nil) is fine.
type Options struct {
	// Now is the clock for every recorded time; nil means time.Now.
	Now func() time.Time
	// BusyTimeout is how long an operation waits for another process's write
	// transaction before failing; 0 means 10 seconds.
	BusyTimeout time.Duration
	// PollInterval is how often WaitChange looks at the change counter;
	// 0 means 250 milliseconds.
	PollInterval time.Duration
}

// Store is an open database. Its methods are safe for concurrent use, and
// several Stores (in one process or many) may have the same file open.
type Store struct {
	db *sql.DB // decisions and drafts: synchronous=FULL
	// redoDB is for writes that reading the mail again redoes: cursors and
	// found invitations. synchronous=NORMAL, one connection.
	redoDB    *sql.DB
	setCursor *sql.Stmt // prepared on redoDB: a backfill runs it every few batches
	add       addStmts  // AddInvitation's, prepared on redoDB
	path      string
	now       func() time.Time
	poll      time.Duration
}

// Open opens, creating if needed, the database in dir and brings its schema
// up to date. It fails with ErrSchemaTooNew when the database was written by a
// newer version of rsvp.
func Open(dir string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 250 * time.Millisecond
	}
	if dir == "" {
		return nil, errors.New("open store: no directory given")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: create directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// Create the file ourselves so that it is 0600 from its first byte;
	// SQLite would create it 0644 (less the umask), and gives the -wal and
	// -shm files the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	f.Close()

	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// FULL rather than NORMAL: in WAL mode NORMAL is safe against a crash of
	// the process but may lose the last commits on power loss. What changes
	// an invitation is rare (a few writes per invitation) and precious: an
	// answer the user typed, or the fact that a draft was written, which is
	// what keeps a second draft from being made. An fsync per commit is
	// cheap at that rate.
	db, err := openDB(abs, o.BusyTimeout, "FULL")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	// Cursors are written after every batch of messages, hundreds of
	// times in a backfill, and losing the last few to a power cut costs only fetching
	// those messages again; the same holds for an invitation found
	// (AddInvitation is idempotent, and the cursor that passed it is a later
	// commit, lost with it). Their connection is NORMAL, with no fsync per
	// commit. synchronous is per connection and does not change atomicity,
	// only durability: a WAL survives a power cut as a prefix of its
	// commits, and a later FULL commit (asking, a decision) fsyncs the
	// writes before it too.
	redoDB, err := openDB(abs, o.BusyTimeout, "NORMAL")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	redoDB.SetMaxOpenConns(1)
	redoDB.SetConnMaxIdleTime(time.Minute)
	s := &Store{db: db, redoDB: redoDB, path: path, now: o.Now, poll: o.PollInterval}
	if err := s.migrate(context.Background()); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if s.setCursor, err = redoDB.Prepare(setCursorSQL); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := s.add.prepare(redoDB); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database. Everything committed is on disk already.
func (s *Store) Close() error {
	var err error
	if s.setCursor != nil {
		err = s.setCursor.Close()
	}
	return errors.Join(err, s.add.close(), s.redoDB.Close(), s.db.Close())
}

// openDB opens a connection pool on the database file at abs.
func openDB(abs string, busy time.Duration, synchronous string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(busy.Milliseconds(), 10))
	// WAL: readers (rsvp pending, history) never block the daemon's writes,
	// and a write never blocks them.
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", synchronous)
	q.Set("_foreign_keys", "1")
	// 512 KiB of page cache a connection rather than SQLite's 2 MiB: the
	// daemon's working set is a cursor and the invitations waiting, and a
	// backfill writing thousands of cursors and invitations would fill
	// every connection's cache (peak RSS, imapbench: about 4 MB less).
	q.Add("_pragma", "cache_size(-512)")
	// Take the write lock at BEGIN: a transaction that reads, then writes
	// could otherwise fail with SQLITE_BUSY when another process wrote in
	// between, with no busy wait to save it.
	q.Set("_txlock", "immediate")
	return sql.Open("sqlite", "file:"+(&url.URL{Path: abs}).EscapedPath()+"?"+q.Encode())
}

// Path is the database file's path, for messages to the user.
func (s *Store) Path() string { return s.path }

// IntegrityCheck runs SQLite's PRAGMA integrity_check and returns an error
// listing the problems it finds.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check of %s: %q", s.path, problems)
	}
	return nil
}

// migrations[i] takes the schema from version i to i+1.
var migrations = []string{
	`
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('change_seq', 0);

CREATE TABLE cursors (
	account     TEXT NOT NULL,
	mailbox     TEXT NOT NULL,
	uidvalidity INTEGER NOT NULL DEFAULT 0,
	last_uid    INTEGER NOT NULL DEFAULT 0,
	token       TEXT NOT NULL DEFAULT '',
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (account, mailbox)
);

-- Times are Unix nanoseconds (UTC); NULL is "not yet".
CREATE TABLE invitations (
	id               TEXT PRIMARY KEY,
	account          TEXT NOT NULL,
	mailbox          TEXT NOT NULL,
	uidvalidity      INTEGER NOT NULL,
	uid              INTEGER NOT NULL,
	message_id       TEXT NOT NULL,
	received_at      INTEGER,
	subject          TEXT NOT NULL DEFAULT '',
	from_name        TEXT NOT NULL DEFAULT '',
	from_addr        TEXT NOT NULL DEFAULT '',
	reply_to         TEXT NOT NULL DEFAULT '',
	score            REAL NOT NULL DEFAULT 0,
	rules            TEXT NOT NULL DEFAULT '[]',  -- JSON array of rule names
	first_name       TEXT NOT NULL DEFAULT '',
	company          TEXT NOT NULL DEFAULT '',
	role             TEXT NOT NULL DEFAULT '',
	lang             TEXT NOT NULL DEFAULT '',
	proposed_times   TEXT NOT NULL DEFAULT '[]',  -- JSON array of RFC 3339 times
	state            TEXT NOT NULL
	                 CHECK (state IN ('found', 'asked', 'decided', 'drafted', 'ignored')),
	found_at         INTEGER NOT NULL,
	asked_at         INTEGER,
	asked_count      INTEGER NOT NULL DEFAULT 0,
	reminder_at      INTEGER,
	decided_at       INTEGER,
	drafted_at       INTEGER,
	action           TEXT NOT NULL DEFAULT '',
	reason           TEXT NOT NULL DEFAULT '',
	draft_message_id TEXT NOT NULL DEFAULT '',
	raw              BLOB,  -- the header and first bytes of the invitation, to reply to
	UNIQUE (account, message_id)
);
CREATE INDEX invitations_by_state ON invitations (state, received_at);
CREATE INDEX invitations_by_received ON invitations (received_at);
`,
}

func (s *Store) migrate(ctx context.Context) error {
	if len(migrations) != SchemaVersion {
		panic("store: migrations and SchemaVersion disagree")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("schema version table: %w", err)
	}
	var version int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
	case err != nil:
		return fmt.Errorf("schema version: %w", err)
	}
	if version > SchemaVersion {
		return fmt.Errorf("%w (version %d; this rsvp knows up to %d): run a newer rsvp",
			ErrSchemaTooNew, version, SchemaVersion)
	}
	if version == SchemaVersion {
		return nil // nothing to write; the deferred rollback ends the transaction
	}
	for v := version; v < SchemaVersion; v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate schema from version %d to %d: %w", v, v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, SchemaVersion); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// inTx runs f in one write transaction and commits it when f returns nil.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	return inTxOn(ctx, s.db, f)
}

// inTxOn runs f in a transaction on db.
func inTxOn(ctx context.Context, db *sql.DB, f func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// nanos stores a time; the zero time is NULL.
func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// fromNanos is the inverse of nanos; times come back in UTC.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
