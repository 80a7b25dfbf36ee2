package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// State is where an invitation is in its life; see the package doc.
type State string

// The states of an invitation.
const (
	StateFound   State = "found"   // recorded, the user not asked yet
	StateAsked   State = "asked"   // the user was asked, no answer yet
	StateDecided State = "decided" // answered; the reply draft is still to be written
	StateDrafted State = "drafted" // the reply draft was saved (final)
	StateIgnored State = "ignored" // answered "ignore": no reply (final)
)

// Action is the user's answer to an invitation.
type Action string

// The answers a user can give.
const (
	ActionDecline         Action = "decline"
	ActionReschedule      Action = "reschedule"
	ActionIgnore          Action = "ignore"
	ActionAskCompensation Action = "ask-compensation"
)

// Valid reports whether a is one of the known actions.
func (a Action) Valid() bool {
	switch a {
	case ActionDecline, ActionReschedule, ActionIgnore, ActionAskCompensation:
		return true
	}
	return false
}

// Fields are what was read out of the invitation's text.
type Fields struct {
	FirstName string
	Company   string
	Role      string
	Lang      string
	Times     []time.Time // times the invitation proposed; their zones are kept
}

// Found is what the daemon knows of an invitation when it finds one: where
// the message is, its headers, and the classifier's verdict.
type Found struct {
	Account     string
	Mailbox     string
	UIDValidity uint32
	UID         uint32
	MessageID   string // required; unique per account
	Received    time.Time
	Subject     string
	FromName    string
	FromAddr    string
	ReplyTo     string
	Score       float64
	Rules       []string // names of the rules that fired
	Fields      Fields
	// Raw is the invitation as fetched (header and the first bytes of the
	// body): the reply is built from it, possibly long after, without
	// fetching the message again.
	Raw []byte
}

// Invitation is a recorded invitation and every step taken on it.
// A step not taken yet has the zero time.
type Invitation struct {
	ID string // 8 characters a–z, 2–7; what the user types
	Found

	State      State
	FoundAt    time.Time
	AskedAt    time.Time // first time the user was asked
	AskedCount int       // times the user was asked, reminders included
	ReminderAt time.Time // last time the user was asked again
	DecidedAt  time.Time // when the answer came (decided or ignored)
	DraftedAt  time.Time

	Action         Action
	Reason         string
	DraftMessageID string
}

// StateError is the error of an operation not allowed in the invitation's
// current state. It matches ErrBadState, and ErrAlreadyDecided when the
// operation was an answer to an invitation already answered.
type StateError struct {
	Op     string // "decide", "mark asked", "mark drafted"
	ID     string
	State  State  // the invitation's current state
	Action Action // its recorded answer, if any
}

func (e *StateError) Error() string {
	if e.already() {
		return fmt.Sprintf("%s %s: already answered (%s, %s)", e.Op, e.ID, e.Action, e.State)
	}
	return fmt.Sprintf("%s %s: not allowed: invitation is %s", e.Op, e.ID, e.State)
}

func (e *StateError) already() bool {
	return e.Op == "decide" && (e.State == StateDecided || e.State == StateDrafted || e.State == StateIgnored)
}

// Is makes errors.Is match ErrBadState, and ErrAlreadyDecided for a second answer.
func (e *StateError) Is(target error) bool {
	return target == ErrBadState || (target == ErrAlreadyDecided && e.already())
}

const invitationColumns = `id, account, mailbox, uidvalidity, uid, message_id, received_at,
	subject, from_name, from_addr, reply_to, score, rules,
	first_name, company, role, lang, proposed_times,
	state, found_at, asked_at, asked_count, reminder_at, decided_at, drafted_at,
	action, reason, draft_message_id`

type scanner interface{ Scan(dest ...any) error }

// scanInvitation reads a row of invitationColumns, followed by raw when
// withRaw: lists leave the message out (it is up to 64 KB an invitation).
func scanInvitation(r scanner, withRaw bool) (Invitation, error) {
	var inv Invitation
	var received, found, asked, reminder, decided, drafted sql.NullInt64
	var rules, times string
	dest := []any{&inv.ID, &inv.Account, &inv.Mailbox, &inv.UIDValidity, &inv.UID, &inv.MessageID, &received,
		&inv.Subject, &inv.FromName, &inv.FromAddr, &inv.ReplyTo, &inv.Score, &rules,
		&inv.Fields.FirstName, &inv.Fields.Company, &inv.Fields.Role, &inv.Fields.Lang, &times,
		&inv.State, &found, &asked, &inv.AskedCount, &reminder, &decided, &drafted,
		&inv.Action, &inv.Reason, &inv.DraftMessageID}
	if withRaw {
		dest = append(dest, &inv.Raw)
	}
	err := r.Scan(dest...)
	if err != nil {
		return Invitation{}, err
	}
	if err := json.Unmarshal([]byte(rules), &inv.Rules); err != nil {
		return Invitation{}, fmt.Errorf("invitation %s: rules: %w", inv.ID, err)
	}
	if err := json.Unmarshal([]byte(times), &inv.Fields.Times); err != nil {
		return Invitation{}, fmt.Errorf("invitation %s: proposed times: %w", inv.ID, err)
	}
	inv.Received = fromNanos(received)
	inv.FoundAt = fromNanos(found)
	inv.AskedAt = fromNanos(asked)
	inv.ReminderAt = fromNanos(reminder)
	inv.DecidedAt = fromNanos(decided)
	inv.DraftedAt = fromNanos(drafted)
	return inv, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func getOne(ctx context.Context, q querier, where string, args ...any) (Invitation, error) {
	return scanOne(q.QueryRowContext(ctx, `SELECT `+invitationColumns+`, raw FROM invitations WHERE `+where, args...))
}

// scanOne reads the row of a query for invitationColumns and raw.
func scanOne(row *sql.Row) (Invitation, error) {
	inv, err := scanInvitation(row, true)
	if errors.Is(err, sql.ErrNoRows) {
		return Invitation{}, ErrNotFound
	}
	return inv, err
}

func list(ctx context.Context, q querier, rest string, args ...any) ([]Invitation, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+invitationColumns+` FROM invitations `+rest, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

// NormalizeID turns what a user typed into an ID as stored: trimmed, lower case.
func NormalizeID(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// deriveID is the ID of account's message msgid; attempt > 0 gives the
// alternatives used when two invitations' IDs collide.
func deriveID(account, msgid string, attempt int) string {
	h := sha256.New()
	h.Write([]byte(account))
	h.Write([]byte{0})
	h.Write([]byte(msgid))
	if attempt > 0 {
		h.Write([]byte{0})
		h.Write([]byte(strconv.Itoa(attempt)))
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil))
	return strings.ToLower(enc[:8])
}

// AddInvitation records a new invitation in state found and returns it with
// true (its Raw is f.Raw). When the account already has an invitation with
// f.MessageID it returns that one with false and records nothing new,
// except that the invitation's location (mailbox, UIDVALIDITY, UID) is
// updated to where it was seen now: after a UIDVALIDITY change the old UID
// means nothing.
// The record survives a crash of the process; a power cut may lose it
// together with the cursors written after it, and reading that mail again
// finds it again.
func (s *Store) AddInvitation(ctx context.Context, f Found) (Invitation, bool, error) {
	added, err := s.AddInvitations(ctx, []Found{f})
	if err != nil {
		return Invitation{}, false, err
	}
	return added[0].Invitation, added[0].New, nil
}

// Added is what AddInvitations did with one Found.
type Added struct {
	Invitation Invitation
	New        bool // recorded now; false: the account already had it
}

// AddInvitations is AddInvitation for each of fs, in one transaction: all
// are recorded or, on an error, none. The results are in the order of fs;
// when two of them have one Message-ID, the second finds the first.
// A backfill records the invitations of a batch together: a transaction
// costs more than the rows it writes.
func (s *Store) AddInvitations(ctx context.Context, fs []Found) ([]Added, error) {
	type encoded struct{ rules, times []byte }
	enc := make([]encoded, len(fs))
	fs = slices.Clone(fs) // trimmed here, not in the caller's
	for i := range fs {
		f := &fs[i]
		f.MessageID = strings.TrimSpace(f.MessageID)
		if f.Account == "" || f.MessageID == "" {
			return nil, errors.New("add invitation: account and Message-ID are required")
		}
		var err error
		if enc[i].rules, err = json.Marshal(nonNil(f.Rules)); err != nil {
			return nil, fmt.Errorf("add invitation: %w", err)
		}
		if enc[i].times, err = json.Marshal(nonNil(f.Fields.Times)); err != nil {
			return nil, fmt.Errorf("add invitation: %w", err)
		}
	}
	if len(fs) == 0 {
		return nil, nil
	}
	out := make([]Added, len(fs))
	bump := false // one change for the readers to see, however many are new
	// On the NORMAL connection: see Open.
	err := inTxOn(ctx, s.redoDB, func(tx *sql.Tx) error {
		st := s.add.in(ctx, tx)
		defer st.close()
		for i, f := range fs {
			inv, added, err := s.addOne(ctx, &st, f, enc[i].rules, enc[i].times)
			if err != nil {
				return fmt.Errorf("%s %s: %w", f.Account, f.MessageID, err)
			}
			out[i] = Added{Invitation: inv, New: added}
			bump = bump || added
		}
		if bump {
			if _, err := st.bump.ExecContext(ctx); err != nil {
				return fmt.Errorf("bump change counter: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add invitation: %w", err)
	}
	return out, nil
}

// addOne is AddInvitations' work for one Found, within its transaction.
func (s *Store) addOne(ctx context.Context, st *addStmts, f Found, rules, times []byte) (Invitation, bool, error) {
	existing, err := scanOne(st.byMessageID.QueryRowContext(ctx, f.Account, f.MessageID))
	if err == nil {
		if existing.Mailbox != f.Mailbox || existing.UIDValidity != f.UIDValidity || existing.UID != f.UID {
			if _, err := st.moved.ExecContext(ctx, f.Mailbox, f.UIDValidity, f.UID, existing.ID); err != nil {
				return Invitation{}, false, err
			}
			existing.Mailbox, existing.UIDValidity, existing.UID = f.Mailbox, f.UIDValidity, f.UID
		}
		return existing, false, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Invitation{}, false, err
	}
	now := s.now()
	id, err := insertNew(ctx, st.insert, f.Account, f.MessageID, func(id string) []any {
		return []any{id, f.Account, f.Mailbox, f.UIDValidity, f.UID, f.MessageID, nanos(f.Received),
			f.Subject, f.FromName, f.FromAddr, f.ReplyTo, f.Score, string(rules),
			f.Fields.FirstName, f.Fields.Company, f.Fields.Role, f.Fields.Lang, string(times),
			StateFound, nanos(now), f.Raw}
	})
	if err != nil {
		return Invitation{}, false, err
	}
	// The invitation as it reads back, without reading it back: times in
	// UTC and to the nanosecond, proposed times as JSON leaves them (their
	// offsets, not their zone names), no nil lists. TestAddedIsAsStored
	// compares the two.
	inv := Invitation{ID: id, Found: f, State: StateFound, FoundAt: fromNanos(nanos(now))}
	inv.Received = fromNanos(nanos(f.Received))
	inv.Rules = slices.Clone(nonNil(f.Rules))
	inv.Fields.Times = nil
	if err := json.Unmarshal(times, &inv.Fields.Times); err != nil {
		return Invitation{}, false, err
	}
	return inv, true, nil
}

// addStmts are AddInvitation's statements, prepared once: a backfill
// records an invitation every few dozen messages, and preparing them
// each time took half of its cost.
type addStmts struct {
	byMessageID, moved, insert, bump *sql.Stmt
}

func (a *addStmts) prepare(db *sql.DB) error {
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&a.byMessageID, `SELECT ` + invitationColumns + `, raw FROM invitations WHERE account = ? AND message_id = ?`},
		{&a.moved, `UPDATE invitations SET mailbox = ?, uidvalidity = ?, uid = ? WHERE id = ?`},
		{&a.insert, `INSERT INTO invitations (
	id, account, mailbox, uidvalidity, uid, message_id, received_at,
	subject, from_name, from_addr, reply_to, score, rules,
	first_name, company, role, lang, proposed_times, state, found_at, raw)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`},
		{&a.bump, bumpSQL},
	} {
		st, err := db.Prepare(p.sql)
		if err != nil {
			return err
		}
		*p.st = st
	}
	return nil
}

// in is the statements within tx (the prepared ones when tx is on their
// connection); close them before tx ends.
func (a *addStmts) in(ctx context.Context, tx *sql.Tx) addStmts {
	return addStmts{
		byMessageID: tx.StmtContext(ctx, a.byMessageID), moved: tx.StmtContext(ctx, a.moved),
		insert: tx.StmtContext(ctx, a.insert), bump: tx.StmtContext(ctx, a.bump),
	}
}

func (a *addStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{a.byMessageID, a.moved, a.insert, a.bump} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// insertNew inserts the row of a new invitation with the derived ID, or,
// in the unlikely case that another invitation has it, the next
// alternative, and returns the ID. insert is an INSERT that does nothing
// when the ID is taken; row gives its arguments for an ID.
func insertNew(ctx context.Context, insert *sql.Stmt, account, msgid string, row func(id string) []any) (string, error) {
	for attempt := 0; attempt < 100; attempt++ {
		id := deriveID(account, msgid, attempt)
		res, err := insert.ExecContext(ctx, row(id)...)
		if err != nil {
			return "", err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return id, err
		}
	}
	return "", errors.New("no free invitation ID")
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Get returns the invitation with the given ID (as typed: case and
// surrounding space do not matter), or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Invitation, error) {
	id = NormalizeID(id)
	inv, err := getOne(ctx, s.db, `id = ?`, id)
	if err != nil {
		return Invitation{}, fmt.Errorf("invitation %q: %w", id, err)
	}
	return inv, nil
}

// FindByMessageID returns account's invitation with that Message-ID, or ErrNotFound.
func (s *Store) FindByMessageID(ctx context.Context, account, messageID string) (Invitation, error) {
	messageID = strings.TrimSpace(messageID)
	inv, err := getOne(ctx, s.db, `account = ? AND message_id = ?`, account, messageID)
	if err != nil {
		return Invitation{}, fmt.Errorf("invitation %s %s: %w", account, messageID, err)
	}
	return inv, nil
}

// transition changes one invitation in one transaction: apply is given the
// current record and returns the SQL assignments to make, or an error.
func (s *Store) transition(ctx context.Context, op, id string,
	apply func(cur Invitation, now time.Time) (set string, args []any, err error)) (Invitation, error) {
	id = NormalizeID(id)
	var inv Invitation
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := getOne(ctx, tx, `id = ?`, id)
		if err != nil {
			return err
		}
		set, args, err := apply(cur, s.now())
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET `+set+` WHERE id = ?`, append(args, id)...); err != nil {
			return err
		}
		if err := bump(ctx, tx); err != nil {
			return err
		}
		inv, err = getOne(ctx, tx, `id = ?`, id)
		return err
	})
	if err != nil {
		var se *StateError
		if errors.As(err, &se) {
			return Invitation{}, err
		}
		return Invitation{}, fmt.Errorf("%s %s: %w", op, id, err)
	}
	return inv, nil
}

// MarkAsked records that the user was asked about the invitation. The first
// time it moves found → asked and sets AskedAt; asking again while asked
// (a reminder) counts in AskedCount and sets ReminderAt. Any other state is
// ErrBadState.
func (s *Store) MarkAsked(ctx context.Context, id string) (Invitation, error) {
	return s.transition(ctx, "mark asked", id, func(cur Invitation, now time.Time) (string, []any, error) {
		switch cur.State {
		case StateFound:
			return `state = ?, asked_at = ?, asked_count = asked_count + 1`, []any{StateAsked, nanos(now)}, nil
		case StateAsked:
			return `asked_count = asked_count + 1, reminder_at = ?`, []any{nanos(now)}, nil
		}
		return "", nil, &StateError{Op: "mark asked", ID: cur.ID, State: cur.State, Action: cur.Action}
	})
}

// Decide records the user's answer to an invitation that is found or asked:
// it becomes decided, or ignored for ActionIgnore. An invitation already
// answered (decided, drafted or ignored) keeps its first answer and Decide
// returns an error matching ErrAlreadyDecided.
func (s *Store) Decide(ctx context.Context, id string, action Action, reason string) (Invitation, error) {
	if !action.Valid() {
		return Invitation{}, fmt.Errorf("decide %s: unknown action %q (want decline, reschedule, ignore or ask-compensation)", NormalizeID(id), action)
	}
	return s.transition(ctx, "decide", id, func(cur Invitation, now time.Time) (string, []any, error) {
		if cur.State != StateFound && cur.State != StateAsked {
			return "", nil, &StateError{Op: "decide", ID: cur.ID, State: cur.State, Action: cur.Action}
		}
		next := StateDecided
		if action == ActionIgnore {
			next = StateIgnored
		}
		return `state = ?, decided_at = ?, action = ?, reason = ?`, []any{next, nanos(now), action, reason}, nil
	})
}

// Ignore is Decide with ActionIgnore.
func (s *Store) Ignore(ctx context.Context, id, reason string) (Invitation, error) {
	return s.Decide(ctx, id, ActionIgnore, reason)
}

// MarkDrafted records that the reply draft, with Message-ID draftMessageID,
// was saved. Only a decided invitation can become drafted.
func (s *Store) MarkDrafted(ctx context.Context, id, draftMessageID string) (Invitation, error) {
	if strings.TrimSpace(draftMessageID) == "" {
		return Invitation{}, fmt.Errorf("mark drafted %s: no draft Message-ID", NormalizeID(id))
	}
	return s.transition(ctx, "mark drafted", id, func(cur Invitation, now time.Time) (string, []any, error) {
		if cur.State != StateDecided {
			return "", nil, &StateError{Op: "mark drafted", ID: cur.ID, State: cur.State, Action: cur.Action}
		}
		return `state = ?, drafted_at = ?, draft_message_id = ?`, []any{StateDrafted, nanos(now), strings.TrimSpace(draftMessageID)}, nil
	})
}

// Pending returns the invitations waiting for an answer (found or asked),
// oldest received first. Lists (Pending, AwaitingDraft, History) leave
// Invitation.Raw empty; Get and FindByMessageID fill it.
func (s *Store) Pending(ctx context.Context) ([]Invitation, error) {
	out, err := list(ctx, s.db, pendingWhere)
	if err != nil {
		return nil, fmt.Errorf("pending invitations: %w", err)
	}
	return out, nil
}

// Waiting is where an invitation waiting for an answer stands: what the
// daemon's asker needs to choose what to ask next, without reading the rest
// of each record.
type Waiting struct {
	ID         string
	State      State // StateFound or StateAsked
	AskedAt    time.Time
	AskedCount int
}

// Waiting is Pending, each invitation as a Waiting, in the same order.
func (s *Store) Waiting(ctx context.Context) ([]Waiting, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, state, asked_at, asked_count FROM invitations `+pendingWhere)
	if err != nil {
		return nil, fmt.Errorf("pending invitations: %w", err)
	}
	defer rows.Close()
	var out []Waiting
	for rows.Next() {
		var w Waiting
		var asked sql.NullInt64
		if err := rows.Scan(&w.ID, &w.State, &asked, &w.AskedCount); err != nil {
			return nil, fmt.Errorf("pending invitations: %w", err)
		}
		w.AskedAt = fromNanos(asked)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending invitations: %w", err)
	}
	return out, nil
}

// pendingWhere selects and orders the invitations waiting for an answer.
const (
	pendingStates = `state IN ('found', 'asked')`
	pendingWhere  = `WHERE ` + pendingStates + ` ORDER BY coalesce(received_at, found_at), found_at, id`
)

// PendingCount is len(Pending), counted in the database: a status line needs
// no more, and listing decodes every row.
func (s *Store) PendingCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM invitations WHERE `+pendingStates).Scan(&n); err != nil {
		return 0, fmt.Errorf("pending invitations: %w", err)
	}
	return n, nil
}

// AwaitingDraft returns the invitations decided but not drafted yet, in the
// order they were decided: the daemon's work list.
func (s *Store) AwaitingDraft(ctx context.Context) ([]Invitation, error) {
	out, err := list(ctx, s.db, `WHERE state = 'decided' ORDER BY decided_at, id`)
	if err != nil {
		return nil, fmt.Errorf("invitations awaiting a draft: %w", err)
	}
	return out, nil
}

// HistoryFilter narrows History. The zero value selects everything.
type HistoryFilter struct {
	Since   time.Time // received at or after; zero: no bound
	Until   time.Time // received before; zero: no bound
	Account string    // "" for all accounts
	States  []State   // empty for all states
	Limit   int       // keep only the newest Limit (still returned oldest first); 0: all
}

// History returns the invitations f selects, oldest received first (ties by
// the time found, then ID): the record of date, company, role, contact,
// decision and reason that `rsvp history` prints.
func (s *Store) History(ctx context.Context, f HistoryFilter) ([]Invitation, error) {
	var where []string
	var args []any
	const when = `coalesce(received_at, found_at)`
	if !f.Since.IsZero() {
		where = append(where, when+` >= ?`)
		args = append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		where = append(where, when+` < ?`)
		args = append(args, f.Until.UnixNano())
	}
	if f.Account != "" {
		where = append(where, `account = ?`)
		args = append(args, f.Account)
	}
	if len(f.States) > 0 {
		where = append(where, `state IN (?`+strings.Repeat(`, ?`, len(f.States)-1)+`)`)
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	q := ""
	if len(where) > 0 {
		q = `WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY ` + when + ` DESC, found_at DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ` + strconv.Itoa(f.Limit)
	}
	out, err := list(ctx, s.db, q, args...)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
