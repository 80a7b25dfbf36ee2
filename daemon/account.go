package daemon

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/rsvp-mail/rsvp/mailbox"
	"github.com/rsvp-mail/rsvp/notifier"
	"github.com/rsvp-mail/rsvp/oauth"
	"github.com/rsvp-mail/rsvp/store"
)

// closeTimeout bounds LOGOUT on shutdown, so a stop takes seconds.
const closeTimeout = 2 * time.Second

// runAccount keeps one account's session going until ctx ends.
func (d *Daemon) runAccount(ctx context.Context, name string) {
	log := d.log.With("account", name)
	bo := backoff{min: d.opts.MinBackoff, max: d.opts.MaxBackoff}
	authFailures := 0
	for ctx.Err() == nil {
		progressed, err := d.session(ctx, name, log)
		if ctx.Err() != nil {
			return
		}
		d.setStatus(name, false, err)
		d.emit(Event{Kind: EventError, Account: name, Err: err})
		if progressed {
			bo.reset()
			authFailures = 0
		}
		if errors.Is(err, oauth.ErrInvalidGrant) {
			d.waitForSignIn(ctx, name, err, log)
			continue
		}
		var wait time.Duration
		if errors.Is(err, mailbox.ErrAuth) {
			authFailures++
		}
		acct, _, _ := d.account(name)
		if errors.Is(err, mailbox.ErrAuth) && acct.UsesOAuth() && authFailures == 1 {
			// A refused access token: reconnecting signs in with a fresh
			// one (or finds the grant revoked). Retry as for any error.
			wait = bo.next()
			log.Warn("the server refused the access token; signing in again", "err", err, "retry_in", wait.Round(time.Millisecond))
		} else if errors.Is(err, mailbox.ErrAuth) {
			wait = jitter(d.opts.AuthRetry)
			fix := "check the username and the password (password, password_command or password_file) in the config"
			if acct.UsesOAuth() {
				fix = "sign in again with: rsvp auth --account " + name
			}
			log.Error("the server refused the login; retrying slowly", "fix", fix, "err", err, "retry_in", wait.Round(time.Second))
		} else {
			wait = bo.next()
			log.Warn("connection failed; reconnecting", "err", err, "retry_in", wait.Round(time.Millisecond))
		}
		d.expect(name, wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// tokenPoll is how often a stopped OAuth account looks whether rsvp auth
// wrote a new token.
var tokenPoll = 5 * time.Second

// waitForSignIn stops an account whose OAuth grant was revoked or expired
// until the user signs in again (rsvp auth writes a new token file). It is
// logged and shown once; the other accounts keep running.
func (d *Daemon) waitForSignIn(ctx context.Context, name string, err error, log *slog.Logger) {
	acct, _, aerr := d.account(name)
	if aerr != nil {
		return
	}
	log.Error("the account's sign-in expired or was revoked; it is stopped until you sign in again",
		"err", err, "fix", "rsvp auth --account "+name)
	if al, ok := d.opts.Notifier.(notifier.Alerter); ok {
		if aerr := al.Alert(ctx, "rsvp: sign in again to "+name,
			"Google no longer accepts rsvp's sign-in for "+acct.Address+". Run: rsvp auth --account "+name); aerr != nil {
			log.Debug("could not show the sign-in alert", "err", aerr)
		}
	}
	stamp := func() time.Time {
		fi, err := os.Stat(acct.TokenFile)
		if err != nil {
			return time.Time{}
		}
		return fi.ModTime()
	}
	was := stamp()
	t := time.NewTicker(tokenPoll)
	defer t.Stop()
	for {
		d.expect(name, tokenPoll)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if now := stamp(); !now.Equal(was) {
				log.Info("a new sign-in was saved; starting the account again")
				return
			}
		}
	}
}

// session is one connection's life: open, catch up, wait, repeat. It
// returns when the connection fails (with progressed telling whether it
// got anywhere, to reset the backoff) or ctx ends.
func (d *Daemon) session(ctx context.Context, name string, log *slog.Logger) (progressed bool, err error) {
	acct, _, err := d.account(name)
	if err != nil {
		return false, err
	}
	d.expect(name, d.opts.OpTimeout)
	octx, cancel := context.WithTimeout(ctx, d.opts.OpTimeout)
	mb, err := d.open(octx, acct, false)
	cancel()
	if err != nil {
		return false, err
	}
	defer closeWithin(mb, closeTimeout)
	d.setStatus(name, true, nil)
	d.emit(Event{Kind: EventConnected, Account: name})
	log.Info("connected", "mailbox", mailboxName(acct.Mailbox))

	acctState := &accountState{name: name, mb: mb, log: log}
	watcher, _ := mb.(mailbox.Watcher)
	for {
		seq, err := d.store.ChangeSeq(ctx)
		if err != nil {
			return progressed, err
		}
		if err := d.writeDrafts(ctx, acctState); err != nil {
			return progressed, err
		}
		if err := d.catchUp(ctx, acctState); err != nil {
			return progressed, err
		}
		progressed = true
		d.emit(Event{Kind: EventIdle, Account: name})
		// IDLE restarts within 9 minutes (its DONE answered within 30 s);
		// polling sleeps poll_interval.
		d.expect(name, max(10*time.Minute, time.Duration(acct.PollInterval)))
		if err := d.wait(ctx, watcher, seq, time.Duration(acct.PollInterval)); err != nil {
			return progressed, err
		}
	}
}

// wait returns when new mail may be there (the mailbox's Wait), the store
// changed (a decision was made), or ctx ended (with its error).
func (d *Daemon) wait(ctx context.Context, w mailbox.Watcher, seq int64, poll time.Duration) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed := make(chan error, 1)
	go func() {
		_, err := d.store.WaitChange(wctx, seq)
		if err == nil {
			cancel()
		}
		changed <- err
	}()
	var err error
	if w != nil {
		err = w.Wait(wctx)
	} else {
		t := time.NewTimer(poll)
		select {
		case <-t.C:
		case <-wctx.Done():
			t.Stop()
		}
	}
	cancel()
	serr := <-changed
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if serr != nil && !errors.Is(serr, context.Canceled) {
		return serr
	}
	return nil
}

// accountState is what one session keeps between its steps.
type accountState struct {
	name string
	mb   mailbox.Mailbox
	log  *slog.Logger
	// reported holds invitations whose draft could not be written for a
	// reason a retry on the next wake-up will not fix (no Drafts mailbox, a
	// template error): logged once per session, tried again on reconnect.
	reported map[string]bool
}

// catchUp fetches and handles everything new, batch by batch; it flags
// the invitations and stores the cursor a few batches at a time.
//
// It is a pipeline of three goroutines, so the server sends the next batch
// while this one is parsed and classified, and the rules run while the last
// one is recorded: one fetches, one parses (when the mailbox leaves that to
// its caller: mailbox.Unparsed) and classifies, and this one records (and,
// every few batches, flags and moves the cursor), in UID order. Each hands
// its batch on and starts the next; the fetcher and the classifier may each
// also finish one batch ahead, so at most five batches are held at a time
// (a classified batch keeps only its invitations' messages).
func (d *Daemon) catchUp(ctx context.Context, s *accountState) error {
	acct, cfg, err := d.account(s.name)
	if err != nil {
		return err
	}
	mboxName := mailboxName(acct.Mailbox)
	sc, ok, err := d.store.Cursor(ctx, s.name, mboxName)
	if err != nil {
		return err
	}
	cur := mailbox.Cursor{UIDValidity: sc.UIDValidity, LastUID: sc.LastUID, Token: sc.Token}
	firstStart := d.now().Add(-time.Duration(acct.Since))
	if !ok {
		s.log.Info("first start: looking only at mail received since", "since", firstStart.Format(time.DateOnly))
	}
	began, handled := time.Now(), 0
	defer func() {
		if handled > 0 {
			s.log.Info("caught up", "messages", handled, "took", time.Since(began).Round(time.Millisecond))
		}
	}()

	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // no Fetch outlives the catch-up
	defer cancel()
	// A batch of room: the server and the fetcher go on with the next
	// batch while the classifier is still busy, instead of waiting for it
	// with nothing asked (a backfill's FETCH chain sat idle ~15% of the
	// time without it). A mailbox that reads ahead has the next batch on
	// its way already: there a batch of room only holds one more batch in
	// memory (3 runs of a 20,000-message backfill on IMAP: peak RSS 57.3
	// MB with it, 55.3 MB without; 3.80 s against 3.35 s).
	room := 1
	if ra, ok := s.mb.(mailbox.ReadAhead); ok && ra.ReadsAhead() {
		room = 0
	}
	fetched := make(chan fetchedBatch, room)
	fetch, parse, recycle := s.mb.Fetch, func(*mailbox.Message) {}, func(*mailbox.Message) {}
	if u, ok := s.mb.(mailbox.Unparsed); ok {
		// Parsed by the classifying stage, while the fetcher fetches
		// the next batch.
		fetch, parse = u.FetchUnparsed, u.Parse
	}
	if r, ok := s.mb.(mailbox.Recycler); ok {
		recycle = r.Recycle
	}
	wg.Go(func() {
		defer close(fetched)
		d.fetchAll(pctx, s, fetch, cur, firstStart, fetched)
	})
	// A batch of room here too: the classifier goes on while the
	// recorder writes to the store (it waited ~4% of a backfill without
	// it), and a classified batch is small.
	classified := make(chan fetchedBatch, 1)
	wg.Go(func() {
		defer close(classified)
		for b := range fetched {
			if b.err == nil {
				b.verdicts = classifyAll(cfg, b.batch, parse, recycle)
			}
			select {
			case classified <- b:
			case <-pctx.Done():
				return
			}
		}
	})

	var stale uint32 // a UIDVALIDITY seen replaced during this catch-up
	// Invitations are recorded as their batch arrives, but flagged, and
	// the cursor moved past them, a few batches at a time (see
	// flushEvery): on a Maildir server every STORE makes the next command
	// read the whole directory again, which cost Dovecot more CPU than
	// the FETCHes of a 20,000-message backfill. Until then the cursor
	// stays before them: a crash fetches those batches again, and
	// recording and flagging again change nothing.
	var held heldFlags
	flush := func() error {
		if len(held.found) > 0 {
			d.expect(s.name, flagTimeout(d.opts.OpTimeout))
		}
		var uv *mailbox.UIDValidityError
		switch err := d.flag(ctx, s, held.found, held.invs); {
		case errors.As(err, &uv):
			// The fetching stage's SELECT saw the mailbox rebuilt after
			// these batches were fetched: their UIDs mean nothing now.
			// Their invitations are recorded; the fetcher is reading
			// the since window again, where they are recognised by
			// Message-ID and flagged under their new UIDs. No batch of
			// the old UIDVALIDITY moves the cursor any more.
			s.log.Info("mailbox rebuilt while a batch was handled; its invitations are flagged when seen again",
				"mailbox", uv.Mailbox, "invitations", len(held.found))
			stale = uv.Old
		case err != nil:
			return err
		}
		// Every message up to held.next is handled now: one write moves
		// the cursor past all of them (Fetch's next is never before its
		// batch's last message). Writing it message by message would
		// only add intermediate states that a crash could leave; each
		// would re-read part of what is held, as this one does.
		if held.moved && (stale == 0 || held.next.UIDValidity != stale) {
			if err := d.store.SetCursor(ctx, s.name, mboxName,
				store.Cursor{UIDValidity: held.next.UIDValidity, LastUID: held.next.LastUID, Token: held.next.Token}); err != nil {
				return err
			}
		}
		held = heldFlags{}
		return nil
	}
	for b := range classified {
		if b.err != nil {
			return b.err
		}
		if held.moved && b.next.UIDValidity != held.next.UIDValidity {
			// The mailbox was rebuilt (the fetcher starts again under
			// the new UIDVALIDITY): what is held is flagged, or found
			// stale, on its own, never in one command with UIDs of the
			// new one.
			if err := flush(); err != nil {
				return err
			}
		}
		if held.since.IsZero() {
			held.since = time.Now()
		}
		at, invs, err := d.recordAll(ctx, s, b.batch, b.verdicts)
		if err != nil {
			return err
		}
		for k, i := range at {
			// What Flag and its events need, not the message.
			m := &b.batch[i]
			held.found = append(held.found, mailbox.Message{UID: m.UID, UIDValidity: m.UIDValidity,
				Mailbox: m.Mailbox, ID: m.ID, Flags: m.Flags})
			invs[k].Raw = nil
			held.invs = append(held.invs, invs[k])
		}
		held.messages += len(b.batch)
		held.next = b.next
		held.moved = held.moved || len(b.batch) > 0 || b.next != b.since
		if len(b.batch) == 0 || held.due() {
			if err := flush(); err != nil {
				return err
			}
		}
		if len(b.batch) == 0 {
			return nil
		}
		handled += len(b.batch)
		d.emit(Event{Kind: EventBatch, Account: s.name, Count: len(b.batch)})
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("catch-up ended early") // not reached: the fetcher ends with an empty batch or an error
}

// heldFlags is what catchUp has recorded but not yet flagged, and the
// cursor it may store once they are.
type heldFlags struct {
	found    []mailbox.Message  // invitations to flag (no text)
	invs     []store.Invitation // found's records (no Raw)
	messages int                // messages handled since the last flush
	next     mailbox.Cursor     // the cursor after the last batch
	moved    bool               // next differs from the stored cursor
	since    time.Time          // when the first of them was handled
}

// flushEvery bounds what catchUp holds before it flags and moves the
// cursor: what a crash makes it fetch again, and how long a found
// invitation waits for its keyword during a backfill. A catch-up's last
// (empty) batch flushes whatever is held, so mail that arrives one
// message at a time is flagged at once.
var flushEvery = struct {
	messages, invitations int
	after                 time.Duration
}{2000, 100, 2 * time.Second}

func (h *heldFlags) due() bool {
	return h.messages >= flushEvery.messages || len(h.found) >= flushEvery.invitations ||
		time.Since(h.since) >= flushEvery.after
}

// fetchFunc is mailbox.Mailbox.Fetch's signature.
type fetchFunc func(ctx context.Context, since mailbox.Cursor, firstStart time.Time) ([]mailbox.Message, mailbox.Cursor, error)

// fetchedBatch is one batch on its way through catchUp's pipeline.
type fetchedBatch struct {
	since, next mailbox.Cursor // the cursor it was fetched after, and the one after it
	batch       []mailbox.Message
	verdicts    []classified // set by the classifying stage
	err         error        // the fetch failed; the last item sent
}

// fetchAll fetches batch after batch from cur into out with fetch (s.mb's
// Fetch or FetchUnparsed) until a batch comes back empty or a fetch fails
// (both sent as the last item), or ctx ends.
func (d *Daemon) fetchAll(ctx context.Context, s *accountState, fetch fetchFunc, cur mailbox.Cursor, firstStart time.Time, out chan<- fetchedBatch) {
	for {
		d.expect(s.name, d.opts.OpTimeout)
		octx, cancel := context.WithTimeout(ctx, d.opts.OpTimeout)
		batch, next, err := fetch(octx, cur, firstStart)
		cancel()
		var uv *mailbox.UIDValidityError
		if errors.As(err, &uv) {
			// The mailbox was rebuilt: its UIDs name other messages now.
			// Look again at the since window; known invitations are
			// matched by Message-ID and keep their state.
			s.log.Warn("UIDVALIDITY changed: the server rebuilt the mailbox; looking at recent mail again, matching known invitations by Message-ID",
				"mailbox", uv.Mailbox, "old", uv.Old, "new", uv.New)
			cur = mailbox.Cursor{}
			continue
		}
		select {
		case out <- fetchedBatch{since: cur, next: next, batch: batch, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil || len(batch) == 0 {
			return
		}
		cur = next
	}
}

func mailboxName(m string) string {
	if m == "" {
		return "INBOX"
	}
	return m
}

// closeWithin closes mb, giving up waiting after limit (the connection is
// dropped either way when the process ends).
func closeWithin(mb mailbox.Mailbox, limit time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		mb.Close()
	}()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// backoff is capped exponential backoff with jitter.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	return jitter(b.cur)
}

func (b *backoff) reset() { b.cur = 0 }

// jitter spreads d over [d/2, d), so accounts and machines that failed
// together do not retry together.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(half)
}
