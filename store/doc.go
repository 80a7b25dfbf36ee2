// Package store is rsvp's memory: the mailbox cursors, the invitations found
// and every step taken on each, kept in an embedded SQLite database
// (modernc.org/sqlite, pure Go) in one file under a directory the caller
// chooses, normally $XDG_STATE_HOME/rsvp.
//
// The package knows nothing of mail protocols, rules or templates: plain
// values go in and come out.
//
// # Processes
//
// The daemon (`rsvp run`) and short commands (`rsvp decide`, `rsvp pending`,
// `rsvp history`) open the same database at the same time. The database is in
// WAL mode, so readers never wait for the writer; writers take the write lock
// at the start of their transaction (BEGIN IMMEDIATE) and wait up to
// Options.BusyTimeout for each other. Every operation that changes anything
// is one transaction.
//
// # Invitations
//
// An invitation moves through
//
//	found → asked → decided → drafted
//	   \       \
//	    \       → ignored
//	     → decided | ignored
//
// MarkAsked may be repeated while an invitation is asked (a reminder); Decide
// is allowed from found or asked and moves to decided, or to ignored for
// ActionIgnore; MarkDrafted is allowed only from decided. A transition not in
// this picture fails with an error wrapping ErrBadState that names the current
// state; a second answer to an invitation already answered fails with
// ErrAlreadyDecided (which also matches ErrBadState) and changes nothing.
//
// An invitation's ID is 8 lowercase base32 characters (a–z, 2–7) derived from
// its account and Message-ID, so the same message seen again, even after a
// UIDVALIDITY change, is the same invitation with the same ID.
//
// # Noticing another process's change
//
// Every change to an invitation increments a counter kept in the database in
// the same transaction. ChangeSeq reads it with one cheap query; a process
// that polls it (WaitChange does, every Options.PollInterval) sees a decision
// made by another process within one poll interval. PRAGMA data_version would
// also do, but only per connection, and database/sql hands out a different
// connection each time.
//
// # Files
//
// The database is the file FileName in the directory given to Open, with its
// -wal and -shm companions beside it. The directory is created mode 0700 if
// missing and the database file is created mode 0600 (SQLite gives the
// companions the database file's mode).
package store
