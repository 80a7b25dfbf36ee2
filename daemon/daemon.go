package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/mailbox"
	"github.com/rsvp-mail/rsvp/notifier"
	"github.com/rsvp-mail/rsvp/store"
)

// Defaults for zero Options fields.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	DefaultAuthRetry  = 15 * time.Minute
	// DefaultOpTimeout bounds one mailbox call (a FETCH batch, an APPEND):
	// a connection that stays silent longer is closed and reopened.
	DefaultOpTimeout = 2 * time.Minute
)

// OpenFunc opens one account's mailbox. readOnly is for `rsvp scan`.
type OpenFunc func(ctx context.Context, a config.Account, readOnly bool) (mailbox.Mailbox, error)

// Options configure a Daemon.
type Options struct {
	Config *config.Config // required
	Store  *store.Store   // required
	Logger *slog.Logger   // nil: discard

	// Open opens an account's mailbox; nil means the real backends
	// (Backends{}.Open).
	Open OpenFunc
	// DebugWriter receives protocol traces of the default backends, with
	// credentials redacted; nil for none.
	DebugWriter io.Writer

	// Notifier asks the user about each invitation and delivers the
	// answers; nil means answers come only through the store (rsvp decide).
	// Run closes it when it returns.
	Notifier notifier.Notifier

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	MinBackoff, MaxBackoff time.Duration
	AuthRetry              time.Duration // wait after a refused login
	OpTimeout              time.Duration
	StuckGrace             time.Duration // slack before a loop past its bound is stuck

	// OnEvent, when set, is called for each event (synchronously, from the
	// account's goroutine: keep it quick).
	OnEvent func(Event)
}

// EventKind names what happened.
type EventKind string

// Events reported to Options.OnEvent.
const (
	EventConnected EventKind = "connected"  // an account's mailbox is open
	EventFound     EventKind = "found"      // a new invitation was recorded
	EventFlagged   EventKind = "flagged"    // an invitation was flagged
	EventDrafted   EventKind = "drafted"    // a reply draft is in Drafts and recorded
	EventIdle      EventKind = "idle"       // the account caught up and waits
	EventError     EventKind = "error"      // the session failed; Err says why
	EventSkipped   EventKind = "skipped"    // a message could not be read
	EventBatch     EventKind = "batch_done" // a batch of messages was handled
	EventAsked     EventKind = "asked"      // the user was asked (Invitation.AskedCount > 1: a reminder)
)

// Event is one step of the daemon, for observers (tests, the demo, the
// benchmark).
type Event struct {
	Kind       EventKind
	Account    string
	Invitation *store.Invitation // found, flagged (without Raw), drafted
	UID        uint32            // the message concerned, when there is one
	Count      int               // batch_done: messages handled
	Err        error
}

// Daemon runs the accounts of one config.
type Daemon struct {
	opts  Options
	log   *slog.Logger
	cfg   atomic.Pointer[config.Config]
	store *store.Store
	now   func() time.Time
	open  OpenFunc

	mu     sync.Mutex
	status map[string]AccountStatus
	health *health
}

// AccountStatus is what Status reports for one account.
type AccountStatus struct {
	Connected bool
	LastError error
	Since     time.Time // when Connected last changed
}

// New checks opts and returns a Daemon ready to Run.
func New(opts Options) (*Daemon, error) {
	if opts.Config == nil || opts.Store == nil {
		return nil, errors.New("daemon: Config and Store are required")
	}
	if len(opts.Config.Accounts) == 0 {
		return nil, errors.New("no accounts configured: add one under accounts: in the config (see config.example.yaml)")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.AuthRetry <= 0 {
		opts.AuthRetry = DefaultAuthRetry
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	if opts.StuckGrace <= 0 {
		opts.StuckGrace = DefaultStuckGrace
	}
	d := &Daemon{opts: opts, log: opts.Logger, store: opts.Store, now: opts.Now, open: opts.Open,
		status: map[string]AccountStatus{}, health: newHealth(len(opts.Config.Accounts))}
	if d.open == nil {
		d.open = Backends{Logger: opts.Logger, DebugWriter: opts.DebugWriter}.Open
	}
	d.cfg.Store(opts.Config)
	return d, nil
}

// Config returns the config in force.
func (d *Daemon) Config() *config.Config { return d.cfg.Load() }

// Run runs every account until ctx ends, then returns nil. Each account
// retries its own errors forever; Run fails only when it cannot start.
func (d *Daemon) Run(ctx context.Context) error {
	cfg := d.cfg.Load()
	var wg sync.WaitGroup
	for _, a := range cfg.Accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.runAccount(ctx, a.Name)
		}()
	}
	if n := d.opts.Notifier; n != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.runAsker(ctx, n)
		}()
		defer n.Close()
	}
	d.log.Info("rsvp started", "accounts", len(cfg.Accounts), "store", d.store.Path())
	wg.Wait()
	d.log.Info("rsvp stopped")
	return nil
}

// Status returns a copy of each account's status.
func (d *Daemon) Status() map[string]AccountStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]AccountStatus, len(d.status))
	for k, v := range d.status {
		out[k] = v
	}
	return out
}

func (d *Daemon) setStatus(account string, connected bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.status[account]
	if st.Connected != connected || st.Since.IsZero() {
		st.Since = d.now()
	}
	st.Connected, st.LastError = connected, err
	d.status[account] = st
	d.started(account)
}

func (d *Daemon) emit(e Event) {
	if d.opts.OnEvent != nil {
		d.opts.OnEvent(e)
	}
}

// account returns the named account of the config in force.
func (d *Daemon) account(name string) (config.Account, *config.Config, error) {
	cfg := d.cfg.Load()
	for _, a := range cfg.Accounts {
		if a.Name == name {
			return a, cfg, nil
		}
	}
	return config.Account{}, cfg, fmt.Errorf("account %q is not in the config any more", name)
}
