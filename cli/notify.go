package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/notifier"
)

// newNotifier makes the notifier ask.via names.
func newNotifier(ctx context.Context, cfg *config.Config, stdin io.Reader, stdout io.Writer, log *slog.Logger) (notifier.Notifier, error) {
	reasons := cfg.AskReasonLabels()
	switch cfg.Ask.Via {
	case "command":
		return notifier.NewCommand(notifier.CommandOptions{Argv: cfg.Ask.Command,
			Timeout: time.Duration(cfg.Ask.CommandTimeout), Logger: log})
	case "ntfy":
		n := cfg.Ask.Ntfy
		return notifier.NewNtfy(ctx, notifier.NtfyOptions{Server: n.Server, Topic: n.Topic, Token: n.Token,
			Listen: n.Listen, PublicURL: n.PublicURL, Priority: n.Priority, LinkTTL: time.Duration(n.LinkTTL), Logger: log})
	case "terminal":
		return notifier.NewTerminal(notifier.TerminalOptions{In: stdin, Out: stdout, Reasons: reasons}), nil
	default:
		return &lazyDesktop{ctx: ctx, log: log, answers: make(chan notifier.Answer), opts: notifier.DesktopOptions{
			Reasons: reasons, Logger: log, StateFile: filepath.Join(config.StateDir(), "notifications.json"),
		}}, nil
	}
}

// lazyDesktop connects to the session bus when it first has something to
// show, and again after a failure: a user service may start before the
// desktop session, and the session may come and go.
type lazyDesktop struct {
	ctx     context.Context
	log     *slog.Logger
	opts    notifier.DesktopOptions
	answers chan notifier.Answer

	mu       sync.Mutex
	inner    *notifier.Desktop
	reported bool
	closed   bool
}

func (l *lazyDesktop) get(ctx context.Context) (*notifier.Desktop, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, notifier.ErrClosed
	}
	if l.inner != nil {
		return l.inner, nil
	}
	d, err := notifier.NewDesktop(ctx, l.opts)
	if err != nil {
		if !l.reported {
			l.reported = true
			l.log.Info("no desktop session bus: questions wait; answer with rsvp pending and rsvp decide", "err", err)
		}
		if !errors.Is(err, notifier.ErrUnavailable) {
			err = errors.Join(notifier.ErrUnavailable, err)
		}
		return nil, err
	}
	l.reported = false
	l.inner = d
	go func() {
		for a := range d.Answers() {
			select {
			case l.answers <- a:
			case <-l.ctx.Done():
				return
			}
		}
	}()
	return d, nil
}

func (l *lazyDesktop) Ask(ctx context.Context, q notifier.Question) error {
	d, err := l.get(ctx)
	if err != nil {
		return err
	}
	return d.Ask(ctx, q)
}

func (l *lazyDesktop) Withdraw(ctx context.Context, id string) error {
	l.mu.Lock()
	d := l.inner
	l.mu.Unlock()
	if d == nil {
		return nil
	}
	return d.Withdraw(ctx, id)
}

func (l *lazyDesktop) Answers() <-chan notifier.Answer { return l.answers }

func (l *lazyDesktop) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.inner != nil {
		return l.inner.Close()
	}
	return nil
}
