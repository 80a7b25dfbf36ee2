package demo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/daemon"
	"github.com/rsvp-mail/rsvp/internal/syncbuf"
	"github.com/rsvp-mail/rsvp/notifier"
	"github.com/rsvp-mail/rsvp/store"
)

// Options configure Run.
type Options struct {
	// Stdin is where answers are read, one per line; nil means no input
	// (every question stays unanswered). Unused with Yes.
	Stdin io.Reader
	// Stdout gets the questions, each draft as it is saved and the
	// summary; Stderr the logs. Nil discards.
	Stdout, Stderr io.Writer
	// Yes answers every invitation "decline", with the default reason, as
	// soon as it is asked.
	Yes bool
	// Desktop asks with desktop notifications (the freedesktop D-Bus
	// service) instead of on the terminal; when no notification server
	// answers, it says so and asks on the terminal after all. Unused with
	// Yes.
	Desktop bool
	// Debug logs at debug level, with the IMAP client's protocol trace
	// (password redacted); otherwise only warnings and errors are logged.
	Debug bool

	// server, when set, is used instead of starting one, and left running
	// (tests look at it afterwards).
	server *server
}

// Summary is what a run did.
type Summary struct {
	// Messages is how many messages the daemon read in INBOX.
	Messages int
	// Invitations are the invitations found, in the order they arrived.
	Invitations []Outcome
	// Drafted, Ignored and Unanswered count Invitations by outcome.
	Drafted, Ignored, Unanswered int
	// Drafts is how many messages Drafts holds at the end.
	Drafts int
	// Flag is the keyword invitations get; Flagged counts the INBOX
	// messages that gained it.
	Flag    string
	Flagged int
	// InboxChanges lists every change to INBOX other than the keyword on an
	// invitation (there should be none).
	InboxChanges []string
	// InputEnded: Stdin ended with invitations still unanswered.
	InputEnded bool
	// Interrupted: ctx ended before every invitation was answered.
	Interrupted bool
}

// Outcome is what became of one invitation.
type Outcome struct {
	ID        string // what `rsvp decide` takes
	MessageID string // the invitation's
	Subject   string
	ReplyTo   string
	State     store.State
	Action    store.Action
	Reason    string
	// Draft is the reply as saved in Drafts; nil when none was written.
	Draft []byte
}

//go:embed config.yaml
var configYAML string

// quietAfterInput is how long the run must have been still, after Stdin
// ended, before the invitations left are declared unanswered: the answer
// typed last may still be on its way to the store.
const quietAfterInput = 750 * time.Millisecond

// Run runs the demo: an IMAP server in this process with the embedded
// inbox, the real daemon on it with a throwaway store, the user asked
// (on Stdin/Stdout, or answered automatically with Yes), each draft
// printed as it is saved, then a summary. It returns when every
// invitation is answered and its reply drafted (or it is ignored), when
// Stdin ends with questions left, or when ctx ends. Nothing is read from
// or written to the user's real config, state or mail.
func Run(ctx context.Context, opts Options) (*Summary, error) {
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.Stdin == nil {
		opts.Stdin = strings.NewReader("")
	}
	// The logs, the protocol trace and the terminal write from several
	// goroutines: one write at a time to each of Stdout and Stderr.
	out := syncbuf.NewWriter(opts.Stdout)
	opts.Stderr = syncbuf.NewWriter(opts.Stderr)
	level := slog.LevelWarn
	var trace io.Writer
	if opts.Debug {
		level, trace = slog.LevelDebug, opts.Stderr
	}
	// dctx is the daemon's: it ends with ctx, or when the demo is over.
	dctx, stopDaemon := context.WithCancel(ctx)
	defer stopDaemon()
	log := slog.New(quietStop{slog.NewTextHandler(opts.Stderr, &slog.HandlerOptions{Level: level}), dctx})

	mail, err := seedMail()
	if err != nil {
		return nil, fmt.Errorf("demo inbox: %w", err)
	}
	srv := opts.server
	if srv == nil {
		if srv, err = startServer(mail, time.Now(), log); err != nil {
			return nil, err
		}
		defer srv.Close()
	}
	cfg, err := demoConfig(srv)
	if err != nil {
		return nil, err
	}
	before, err := srv.messages(ctx, "INBOX")
	if err != nil {
		if ctx.Err() != nil {
			io.WriteString(out, "Interrupted.\n")
			return &Summary{Interrupted: true}, nil
		}
		return nil, fmt.Errorf("demo server: %w", err)
	}

	dir, err := os.MkdirTemp("", "rsvp-demo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(dir, &store.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	defer st.Close()

	w := newWatch()
	intro(out, cfg, len(before), opts)
	n, via := askWith(ctx, dctx, opts, cfg, w, out, log)
	asker := observe(n, w.answered) // the daemon closes it when it stops
	d, err := daemon.New(daemon.Options{
		Config: cfg, Store: st, Logger: log, DebugWriter: trace,
		Notifier:   asker,
		OnEvent:    w.event,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second,
	})
	if err != nil {
		asker.Close()
		return nil, err
	}

	done := make(chan struct{})
	var runErr error // set before done is closed
	go func() {
		defer close(done)
		runErr = d.Run(dctx)
	}()
	go pokeOnChange(dctx, st, w)

	r := &runner{out: out, srv: srv, st: st, w: w, via: via, printed: map[string]bool{}}
	sum, err := r.loop(ctx, done)
	stopDaemon()
	<-done
	if runErr != nil {
		err = errors.Join(err, fmt.Errorf("%w: %w", errDaemon, runErr))
	}
	if err != nil {
		return nil, err
	}
	// Read the outcome after the daemon stopped, so nothing moves under it.
	bg := context.WithoutCancel(ctx)
	if err := r.finish(bg, sum, cfg, before); err != nil {
		return nil, err
	}
	printSummary(out, sum)
	return sum, nil
}

// askWith makes the notifier the user is asked through, and says how each
// question was put when it was not on the terminal right above its reply
// ("" when it was).
func askWith(ctx, dctx context.Context, opts Options, cfg *config.Config, w *watch, out io.Writer, log *slog.Logger) (notifier.Notifier, func(id string) string) {
	onTerminal := func(string) string { return "" }
	if opts.Yes {
		return newAutoDecline(), func(string) string { return "--yes" }
	}
	terminal := func() notifier.Notifier {
		return notifier.NewTerminal(notifier.TerminalOptions{
			In:      &eofReader{r: opts.Stdin, onEOF: w.inputEnded},
			Out:     &pacedWriter{w: w, out: out, ctx: dctx},
			Reasons: cfg.AskReasonLabels(),
		})
	}
	if !opts.Desktop {
		return terminal(), onTerminal
	}
	// The desktop notifier warns of a missing server, which the demo
	// handles and says itself.
	dlog := log
	if !opts.Debug {
		dlog = slog.New(slog.NewTextHandler(opts.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	d, err := notifier.NewDesktop(ctx, notifier.DesktopOptions{Reasons: cfg.AskReasonLabels(), Logger: dlog, AppName: "rsvp demo"})
	if err != nil {
		fmt.Fprintf(out, "\nNo desktop session to show notifications on (%v): asking here instead.\n", err)
		return terminal(), onTerminal
	}
	df := newDesktopFirst(d, terminal, out)
	return df, func(id string) string {
		if df.onDesktop(id) {
			return "on the desktop"
		}
		return ""
	}
}

// demoConfig is the embedded config.yaml for srv, through the real parser
// and validator.
func demoConfig(srv *server) (*config.Config, error) {
	_, port, err := splitPort(srv.Addr)
	if err != nil {
		return nil, err
	}
	y := strings.NewReplacer("${PORT}", strconv.Itoa(port), "${PASSWORD}", srv.Password).Replace(configYAML)
	cfg, err := config.Parse("demo/config.yaml", []byte(y))
	if err != nil {
		return nil, fmt.Errorf("the demo's own config does not load (a bug): %w", err)
	}
	return cfg, nil
}

func splitPort(addr string) (string, int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("address %q has no port", addr)
	}
	port, err := strconv.Atoi(addr[i+1:])
	return addr[:i], port, err
}

// pokeOnChange wakes the run whenever the store changes (an answer was
// recorded, a draft written), until ctx ends.
func pokeOnChange(ctx context.Context, st *store.Store, w *watch) {
	seq, err := st.ChangeSeq(ctx)
	for err == nil {
		if seq, err = st.WaitChange(ctx, seq); err == nil {
			w.poke(nil)
		}
	}
}

// eofReader reports the end of its reader (or any error: no more answers
// will come either way).
type eofReader struct {
	r     io.Reader
	onEOF func()
	ended bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !e.ended {
		e.ended = true
		e.onEOF()
	}
	return n, err
}

// quietStop drops what is logged about a cancellation once the daemon is
// being stopped (stopping is done): that is the demo ending, not a
// problem to show the user.
type quietStop struct {
	slog.Handler
	stopping context.Context
}

func (h quietStop) Handle(ctx context.Context, r slog.Record) error {
	if h.stopping.Err() != nil && cancelled(r) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietStop) WithAttrs(as []slog.Attr) slog.Handler {
	return quietStop{h.Handler.WithAttrs(as), h.stopping}
}

func (h quietStop) WithGroup(name string) slog.Handler {
	return quietStop{h.Handler.WithGroup(name), h.stopping}
}

// cancelled reports whether r carries an error that is a cancellation.
func cancelled(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			found = true
		}
		return !found
	})
	return found
}

// errDaemon marks a failure of the daemon against the demo's own server:
// it cannot be the user's fault, so the demo stops rather than retries.
var errDaemon = errors.New("the daemon failed on the demo server")
