package cli

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	rdebug "runtime/debug"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/daemon"
	"github.com/rsvp-mail/rsvp/internal/sdnotify"
	"github.com/rsvp-mail/rsvp/internal/syncbuf"
	"github.com/rsvp-mail/rsvp/mailbox"
	"github.com/rsvp-mail/rsvp/store"
)

// newLogger logs to w as text; under journald (JOURNAL_STREAM set) without
// the timestamp, which the journal adds itself.
func newLogger(w io.Writer, debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if os.Getenv("JOURNAL_STREAM") != "" {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func openStore() (*store.Store, error) {
	return store.Open(config.StateDir(), nil)
}

func runRun(e *env, args []string) error {
	f := newFlags(e, "run").withConfig()
	debug := f.Bool("debug", false, "log at debug level, with protocol traces (credentials redacted)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"run takes no arguments"}
	}
	cfg, err := f.loadConfig(false)
	if err != nil {
		return err
	}
	// The log and the protocol trace share stderr: one writer, one lock.
	stderr := syncbuf.NewWriter(e.stderr)
	log := newLogger(stderr, *debug)
	st, err := openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	var trace io.Writer
	if *debug {
		trace = stderr
	}
	n, err := newNotifier(e.ctx, cfg, e.stdin, e.stdout, log)
	if err != nil {
		return err
	}
	d, err := daemon.New(daemon.Options{Config: cfg, Store: st, Logger: log, DebugWriter: trace, Notifier: n})
	if err != nil {
		return err
	}
	// A daemon that runs all day should stay small: a soft memory limit
	// makes the garbage collector work harder before the heap grows past
	// it (a backfill of 20,000 messages peaked at 64 MB RSS without it).
	// GOMEMLIMIT in the environment wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		rdebug.SetMemoryLimit(daemonMemoryLimit)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	go reloadOnHangup(ctx, d, cfg.Path, log)
	go serviceManager(ctx, d, st, log)
	err = d.Run(ctx)
	sdnotify.Stopping()
	return err
}

// statusGap is the shortest time between two STATUS= lines sent because
// the store changed.
const statusGap = time.Second

// daemonMemoryLimit is rsvp run's soft memory limit (runtime/debug).
const daemonMemoryLimit = 40 << 20

// reloadOnHangup re-reads the config on SIGHUP (systemctl --user reload
// rsvp). A config with errors is refused, every error logged, and the
// running one stays in force.
func reloadOnHangup(ctx context.Context, d *daemon.Daemon, path string, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// systemd ignores RELOADING=1 while the service starts, and the READY=1
	// after it would end the start early: a SIGHUP waits for READY.
	select {
	case <-ctx.Done():
		return
	case <-d.Ready():
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		sdnotify.Reloading()
		cfg, err := config.Load(path)
		var errs config.Errors
		switch {
		case errors.As(err, &errs):
			for _, e := range errs {
				log.Error("config error", "error", e.Error())
			}
			log.Error("the new config has errors; the running config stays in force", "file", path, "errors", len(errs))
		case err != nil:
			log.Error("cannot reload the config; the running config stays in force", "err", err)
		default:
			for _, note := range d.Reload(cfg) {
				log.Warn(note)
			}
			log.Info("config reloaded", "file", path, "rules", cfg.Classifier.RuleCount())
		}
		sdnotify.Ready()
		if sdnotify.Enabled() {
			sdnotify.Status(d.Summary(ctx))
		}
	}
}

// serviceManager talks to systemd (Type=notify): READY=1 once every
// account is connected or retrying, a STATUS= line, and watchdog pings
// only while no account loop is stuck past its own timeouts. Without a
// service manager ($NOTIFY_SOCKET unset) there is nothing to do.
func serviceManager(ctx context.Context, d *daemon.Daemon, st *store.Store, log *slog.Logger) {
	if !sdnotify.Enabled() {
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-d.Ready():
	}
	if err := sdnotify.Ready(); err != nil {
		log.Warn("cannot notify the service manager", "err", err)
	}
	// The status follows the store (an invitation found or answered), at
	// most once per statusGap (a backfill changes the store every batch),
	// and the connections (checked every 30 s).
	status := time.NewTicker(30 * time.Second)
	defer status.Stop()
	var lastStatus time.Time
	var later <-chan time.Time // a change waiting out statusGap
	update := func() {
		sdnotify.Status(d.Summary(ctx))
		lastStatus, later = time.Now(), nil
	}
	changed := make(chan struct{}, 1)
	seq, err := st.ChangeSeq(ctx) // before the first status: no change is missed
	update()
	go func() {
		for err == nil {
			if seq, err = st.WaitChange(ctx, seq); err == nil {
				select {
				case changed <- struct{}{}:
				default:
				}
			}
		}
	}()
	var ping <-chan time.Time
	if iv, ok := sdnotify.WatchdogInterval(); ok {
		t := time.NewTicker(iv / 2)
		defer t.Stop()
		ping = t.C
		sdnotify.Watchdog()
	}
	reported := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-status.C:
			update()
		case <-later:
			update()
		case <-changed:
			if wait := statusGap - time.Since(lastStatus); wait > 0 {
				if later == nil {
					later = time.After(wait)
				}
				continue
			}
			update()
		case <-ping:
			if stuck := d.Stuck(); len(stuck) > 0 {
				if !reported {
					reported = true
					log.Error("an account loop is stuck; no watchdog ping, so systemd restarts rsvp", "accounts", stuck)
				}
				continue
			}
			reported = false
			sdnotify.Watchdog()
		}
	}
}

func runScan(e *env, args []string) error {
	f := newFlags(e, "scan").withConfig()
	since := f.String("since", "", "look at mail received in this `window` (e.g. 3d, 2w; default: each account's since)")
	only := f.String("account", "", "scan only the account with this `name`")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"scan takes no arguments"}
	}
	window := time.Duration(-1) // each account's own
	if *since != "" {
		if window, err = config.ParseDuration(*since); err != nil {
			return usageError{"--since: " + err.Error()}
		}
	}
	cfg, err := f.loadConfig(false)
	if err != nil {
		return err
	}
	accounts := cfg.Accounts
	if *only != "" {
		accounts = slices.DeleteFunc(slices.Clone(accounts), func(a config.Account) bool { return a.Name != *only })
		if len(accounts) == 0 {
			return fmt.Errorf("no account named %q in %s", *only, cfg.Path)
		}
	}
	if len(accounts) == 0 {
		return fmt.Errorf("no accounts in %s: add one under accounts: (see config.example.yaml)", cfg.Path)
	}
	open := daemon.Backends{Logger: newLogger(e.stderr, false)}.Open
	failed := false
	for _, a := range accounts {
		w := window
		if w < 0 {
			w = time.Duration(a.Since)
		}
		if err := scanAccount(e, cfg, a, w, open); err != nil {
			fmt.Fprintf(e.stderr, "rsvp scan: account %s: %v\n", a.Name, err)
			failed = true
		}
	}
	if failed {
		return exitError{1}
	}
	return nil
}

// scanAccount examines (read-only) one account's mailbox and prints what
// the daemon would flag.
func scanAccount(e *env, cfg *config.Config, a config.Account, window time.Duration, open daemon.OpenFunc) error {
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Minute)
	defer cancel()
	mb, err := open(ctx, a, true)
	if err != nil {
		return err
	}
	defer mb.Close()
	from := time.Now().Add(-window)
	var cur mailbox.Cursor
	seen, found := 0, 0
	for {
		batch, next, err := mb.Fetch(ctx, cur, from)
		if err != nil {
			return err
		}
		for _, m := range batch {
			// SEARCH SINCE has a granularity of days (RFC 9051 §6.4.4).
			if !m.InternalDate.IsZero() && m.InternalDate.Before(from) {
				continue
			}
			seen++
			if m.Parsed == nil {
				fmt.Fprintf(e.stdout, "%s UID %d: cannot be read: %v\n\n", a.Name, m.UID, m.ParseErr)
				continue
			}
			v := cfg.Classifier.Classify(m.Parsed)
			if !v.Invite {
				continue
			}
			found++
			writeHumanVerdict(e.stdout, fmt.Sprintf("%s UID %d", a.Name, m.UID), m.Parsed, v, classifier.Extract(m.Parsed, cfg.ExtractOptions()))
			fmt.Fprintln(e.stdout)
		}
		if len(batch) == 0 {
			break
		}
		cur = next
	}
	flag := "nothing (flag is off)"
	if a.Flag != nil && *a.Flag != "" {
		flag = *a.Flag
	}
	fmt.Fprintf(e.stdout, "%s: %s in %s since %s; %s would be flagged %s. Nothing was changed.\n",
		a.Name, plural(seen, "message", "messages"), mailboxOrInbox(a.Mailbox), from.Format(time.DateOnly),
		plural(found, "invitation", "invitations"), flag)
	return nil
}

func mailboxOrInbox(m string) string {
	if m == "" {
		return "INBOX"
	}
	return m
}

func runPending(e *env, args []string) error {
	f := newFlags(e, "pending").withConfig()
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"pending takes no arguments"}
	}
	// The config is not needed: the store is where it always is, and a
	// config being edited must not hide what is waiting.
	st, err := openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.Pending(e.ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "No invitations waiting for an answer.")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAGE\tCOMPANY\tROLE\tFROM")
	for _, inv := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", inv.ID, age(now, receivedOrFound(inv)),
			orDash(inv.Fields.Company), orDash(inv.Fields.Role), contact(inv))
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "\nAnswer with: rsvp decide ID decline|reschedule|ignore [--reason R]\n")
	return nil
}

func runDecide(e *env, args []string) error {
	f := newFlags(e, "decide").withConfig()
	reason := f.String("reason", "", "decline `reason` (default: reply.default_reason; see rsvp draft --list-reasons)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{"give the invitation ID and an answer"}
	}
	id, action := pos[0], store.Action(strings.ToLower(pos[1]))
	if !action.Valid() {
		return usageError{fmt.Sprintf("%q is not an answer: want decline, reschedule, ignore or ask-compensation", pos[1])}
	}
	if *reason != "" && action != store.ActionDecline && action != store.ActionIgnore {
		return usageError{"--reason goes with decline (or ignore, as a note)"}
	}
	cfg, err := f.loadConfig(true)
	if err != nil {
		return err
	}
	if *reason != "" && action == store.ActionDecline {
		names := []string{}
		ok := false
		for _, r := range cfg.Templates.Reasons() {
			names = append(names, r.Name)
			ok = ok || r.Name == *reason
		}
		if !ok {
			return usageError{fmt.Sprintf("unknown reason %q: want one of %s", *reason, strings.Join(names, ", "))}
		}
	}
	st, err := openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	var inv store.Invitation
	if action == store.ActionIgnore {
		inv, err = st.Ignore(e.ctx, id, *reason)
	} else {
		inv, err = st.Decide(e.ctx, id, action, *reason)
	}
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no invitation %q; see rsvp pending", store.NormalizeID(id))
	}
	if err != nil {
		return err
	}
	what := string(inv.Action)
	if inv.Reason != "" {
		what += " (" + inv.Reason + ")"
	}
	switch inv.State {
	case store.StateIgnored:
		fmt.Fprintf(e.stdout, "%s: ignored; no reply will be written.\n", inv.ID)
	default:
		fmt.Fprintf(e.stdout, "%s: %s; the running daemon writes the draft into Drafts (or the next one started).\n", inv.ID, what)
	}
	return nil
}

func runHistory(e *env, args []string) error {
	f := newFlags(e, "history").withConfig()
	asCSV := f.Bool("csv", false, "print CSV (with a header line) instead of a table")
	since := f.String("since", "", "only invitations received in this `window` (e.g. 30d, 8w)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"history takes no arguments"}
	}
	var filter store.HistoryFilter
	if *since != "" {
		w, err := config.ParseDuration(*since)
		if err != nil {
			return usageError{"--since: " + err.Error()}
		}
		filter.Since = time.Now().Add(-w)
	}
	st, err := openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.History(e.ctx, filter)
	if err != nil {
		return err
	}
	header := []string{"date", "company", "role", "contact", "decision", "reason", "state", "id", "account"}
	row := func(inv store.Invitation) []string {
		decision := string(inv.Action)
		if decision == "" {
			decision = "pending"
		}
		return []string{receivedOrFound(inv).Local().Format(time.DateOnly), inv.Fields.Company, inv.Fields.Role,
			contact(inv), decision, inv.Reason, string(inv.State), inv.ID, inv.Account}
	}
	if *asCSV {
		w := csv.NewWriter(e.stdout)
		w.Write(header)
		for _, inv := range list {
			w.Write(row(inv))
		}
		w.Flush()
		return w.Error()
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "No invitations recorded yet.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(header[:7], "\t")))
	for _, inv := range list {
		r := row(inv)
		for i := range r {
			r[i] = orDash(r[i])
		}
		fmt.Fprintln(tw, strings.Join(r[:7], "\t"))
	}
	return tw.Flush()
}

func receivedOrFound(inv store.Invitation) time.Time {
	if !inv.Received.IsZero() {
		return inv.Received
	}
	return inv.FoundAt
}

// contact is who the reply goes to: the name and the reply address.
func contact(inv store.Invitation) string {
	addr := inv.ReplyTo
	if addr == "" {
		addr = inv.FromAddr
	}
	if inv.FromName != "" {
		return fmt.Sprintf("%s <%s>", inv.FromName, addr)
	}
	return addr
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// age is a short human duration: 5m, 3h, 2d.
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}
