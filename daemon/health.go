package daemon

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rsvp-mail/rsvp/config"
)

// DefaultStuckGrace is added to every bound before an account loop counts
// as stuck: the bound is the loop's own timeout, this is slack for a busy
// machine.
const DefaultStuckGrace = time.Minute

// health knows, for each account loop, the time by which it must have
// moved on: each blocking step (a mailbox call, IDLE, a backoff sleep)
// declares its own bound before it starts.
type health struct {
	mu      sync.Mutex
	until   map[string]time.Time
	started map[string]bool
	ready   chan struct{}
	want    int
}

func newHealth(accounts int) *health {
	return &health{until: map[string]time.Time{}, started: map[string]bool{}, ready: make(chan struct{}), want: accounts}
}

// expect records that account's loop will move on within d.
func (d *Daemon) expect(account string, dur time.Duration) {
	h := d.health
	h.mu.Lock()
	defer h.mu.Unlock()
	h.until[account] = d.now().Add(dur + d.opts.StuckGrace)
}

// started records that account's first connection attempt is over
// (connected or retrying).
func (d *Daemon) started(account string) {
	h := d.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started[account] {
		return
	}
	h.started[account] = true
	if len(h.started) == h.want {
		close(h.ready)
	}
}

// Ready is closed when every account is connected or retrying: the moment
// a service manager may call the daemon started.
func (d *Daemon) Ready() <-chan struct{} { return d.health.ready }

// Stuck returns the accounts whose loop is past its own bound: a watchdog
// pings only while it is empty.
func (d *Daemon) Stuck() []string {
	h := d.health
	h.mu.Lock()
	defer h.mu.Unlock()
	now := d.now()
	var out []string
	for name, until := range h.until {
		if now.After(until) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Summary is a one-line status: accounts, connections, questions waiting.
func (d *Daemon) Summary(ctx context.Context) string {
	st := d.Status()
	connected := 0
	for _, s := range st {
		if s.Connected {
			connected++
		}
	}
	n := len(d.cfg.Load().Accounts)
	line := plural(n, "account", "accounts")
	if connected < n {
		line += fmt.Sprintf(" (%d connected)", connected)
	}
	if pending, err := d.store.PendingCount(ctx); err == nil {
		line += ", " + plural(pending, "invitation", "invitations") + " waiting"
	}
	return line
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Reload puts cfg in force: rules, templates and reply settings apply from
// the next message. Accounts and how the user is asked are read at start:
// a change to them is reported and waits for a restart.
func (d *Daemon) Reload(cfg *config.Config) []string {
	old := d.cfg.Load()
	var notes []string
	if !sameAccounts(old.Accounts, cfg.Accounts) {
		notes = append(notes, "the accounts changed: restart rsvp (systemctl --user restart rsvp) for that")
		// Keep the running accounts' connection settings; take the rest.
		merged := *cfg
		merged.Accounts = old.Accounts
		cfg = &merged
	}
	if old.Ask.Via != cfg.Ask.Via || !slices.Equal(old.Ask.Command, cfg.Ask.Command) {
		notes = append(notes, "ask.via or ask.command changed: restart rsvp for that")
	}
	d.cfg.Store(cfg)
	return notes
}

func sameAccounts(a, b []config.Account) bool {
	return slices.EqualFunc(a, b, func(x, y config.Account) bool {
		return x.Name == y.Name && x.Backend == y.Backend && x.Host == y.Host && x.Port == y.Port &&
			x.Security == y.Security && x.Username == y.Username && x.Auth == y.Auth &&
			x.Mailbox == y.Mailbox && x.Address == y.Address && x.TokenFile == y.TokenFile &&
			x.Password == y.Password && x.PasswordFile == y.PasswordFile && slices.Equal(x.PasswordCommand, y.PasswordCommand)
	})
}
