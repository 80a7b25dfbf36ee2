// Package mailbox is the boundary between the daemon and a mail store.
//
// A backend (mailbox/imap, later mailbox/gmail) implements Mailbox: it hands
// out new messages after a Cursor, in batches and in UID order, flags an
// invitation, and saves or finds a reply draft. Backends never send, delete,
// move or expunge mail and never set \Seen (DESIGN.md, product rule 1).
//
// The daemon branches on three sentinel errors with errors.Is: ErrAuth
// (wrong credentials: retry slowly, tell the user), ErrUIDValidityChanged
// (the cursor no longer names the same messages: see UIDValidityError) and
// ErrNoDrafts (nowhere to put a draft). Any other error is a connection or
// server problem: reconnect with backoff.
package mailbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

// Sentinel error categories. Backends wrap them with context; test with
// errors.Is.
var (
	// ErrAuth means the server refused the credentials. Retrying at once
	// will not help.
	ErrAuth = errors.New("authentication failed")
	// ErrUIDValidityChanged means the mailbox's UIDVALIDITY is not the
	// cursor's: stored UIDs name other messages now (RFC 9051 §2.3.1.1).
	// The error is a *UIDValidityError carrying the new value.
	ErrUIDValidityChanged = errors.New("UIDVALIDITY changed")
	// ErrNoDrafts means the account has no Drafts mailbox: neither one with
	// the \Drafts special-use attribute (RFC 6154) nor the configured name.
	ErrNoDrafts = errors.New("no Drafts mailbox")
)

// UIDValidityError reports a UIDVALIDITY change. It matches
// ErrUIDValidityChanged with errors.Is.
type UIDValidityError struct {
	Mailbox  string
	Old, New uint32
}

func (e *UIDValidityError) Error() string {
	return fmt.Sprintf("mailbox %q: UIDVALIDITY changed from %d to %d", e.Mailbox, e.Old, e.New)
}

// Is makes errors.Is(err, ErrUIDValidityChanged) true.
func (e *UIDValidityError) Is(target error) bool { return target == ErrUIDValidityChanged }

// Cursor is where the daemon stopped in one mailbox: every message with a
// UID up to LastUID under UIDValidity has been handed out. The zero Cursor
// means "first start": only mail newer than a given time is wanted.
type Cursor struct {
	UIDValidity uint32
	LastUID     uint32
	// Token is an opaque position for backends without UIDs (the Gmail
	// API's historyId); IMAP uses it only to mark a first start still in
	// progress. Store it with the cursor.
	Token string
}

// IsZero reports whether the cursor is a first start (no message seen yet).
func (c Cursor) IsZero() bool { return c.LastUID == 0 && c.Token == "" }

// Message is one incoming message, independent of the account it came from.
type Message struct {
	UID         uint32
	UIDValidity uint32
	Mailbox     string // the mailbox it lives in, e.g. "INBOX"
	// ID and ThreadID name the message in backends without UIDs (Gmail API
	// message and thread ids); IMAP leaves them empty.
	ID, ThreadID string

	// Raw is the header and the first bytes of the body as the server has
	// them; the rest of a long message is never fetched.
	Raw []byte
	// Parsed is Raw decoded by mailmsg.Read; nil when it could not be parsed,
	// with ParseErr saying why. The daemon logs and skips such a message
	// (the cursor still moves past it).
	Parsed   *mailmsg.Message
	ParseErr error

	Flags        []string // system flags and keywords, as the server reports them
	InternalDate time.Time
}

// Mailbox is one watched mailbox of one account, with its Drafts.
//
// Calls are serialized by the implementation; a cancelled context may close
// the connection, after which every call fails and the caller reconnects.
type Mailbox interface {
	// Fetch returns at most one batch of messages after since, in UID order,
	// and the cursor to store once they are handled. With a zero cursor
	// only messages that arrived on or after firstStart's date are returned,
	// never the whole history. An empty batch means nothing new. A
	// UIDVALIDITY change returns a *UIDValidityError (ErrUIDValidityChanged).
	Fetch(ctx context.Context, since Cursor, firstStart time.Time) (batch []Message, next Cursor, err error)
	// Flag marks invitations with the configured keyword (in one command
	// where the protocol has one); a no-op when flagging is off or the
	// server does not keep keywords.
	Flag(ctx context.Context, msgs ...Message) error
	// SaveDraft stores raw (a complete message whose Message-ID header is
	// messageID) as a draft. Callers that may be retrying call FindDraft
	// first.
	SaveDraft(ctx context.Context, messageID string, raw []byte) error
	// FindDraft reports whether a draft with this Message-ID exists.
	FindDraft(ctx context.Context, messageID string) (bool, error)
	// Close logs out and releases the connection.
	Close() error
}

// Unparsed is implemented by a Mailbox that can hand out a batch before
// parsing it, so that a caller can fetch the next batch while it parses
// this one: the server's work and the parsing then overlap instead of
// taking turns.
type Unparsed interface {
	// FetchUnparsed is Fetch, except that it leaves each message's Parsed
	// and ParseErr unset.
	FetchUnparsed(ctx context.Context, since Cursor, firstStart time.Time) (batch []Message, next Cursor, err error)
	// Parse sets m.Parsed and m.ParseErr as Fetch does. It is safe for
	// concurrent use, also with the Mailbox's other methods.
	Parse(m *Message)
}

// Recycler is implemented by an Unparsed Mailbox that can fetch into the
// memory of a message its caller is done with.
type Recycler interface {
	// Recycle takes back the memory of m, the bytes of m.Raw and the text
	// of m.Parsed, and sets both to nil. Nothing may use them afterwards,
	// nor anything sliced from them (a classifier Hit's Match).
	Recycle(m *Message)
}

// ReadAhead is implemented by a Mailbox whose Fetch, while a catch-up has
// more batches to hand out, has the server send the next one before it
// returns this one (mailbox/imap queues the next UID FETCH).
type ReadAhead interface {
	// ReadsAhead reports whether Fetch does.
	ReadsAhead() bool
}

// Watcher is implemented by a Mailbox that can wait for new mail.
type Watcher interface {
	// Wait returns when new mail may have arrived (IMAP IDLE saw EXISTS, or
	// a poll interval passed), or with ctx's error when ctx ends. Spurious
	// returns are allowed: the caller just fetches again.
	Wait(ctx context.Context) error
}
