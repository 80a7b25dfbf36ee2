package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/rsvp-mail/rsvp/notifier"
)

// desktopFirst asks with desktop notifications. When no notification
// server answers on the session bus, it says so once and asks on the
// terminal from then on, so that the demo never waits for a desktop that
// is not there.
type desktopFirst struct {
	desktop  *notifier.Desktop
	terminal func() notifier.Notifier // called once, at the first fallback
	out      io.Writer

	answers chan notifier.Answer
	quit    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	mu       sync.Mutex
	fallback notifier.Notifier // nil while the desktop works
	shown    []string          // questions on the desktop
}

var _ notifier.Notifier = (*desktopFirst)(nil)

func newDesktopFirst(d *notifier.Desktop, terminal func() notifier.Notifier, out io.Writer) *desktopFirst {
	n := &desktopFirst{desktop: d, terminal: terminal, out: out,
		answers: make(chan notifier.Answer), quit: make(chan struct{})}
	n.forward(d.Answers())
	return n
}

func (n *desktopFirst) forward(ch <-chan notifier.Answer) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for a := range ch {
			select {
			case n.answers <- a:
			case <-n.quit:
				return
			}
		}
	}()
}

func (n *desktopFirst) Ask(ctx context.Context, q notifier.Question) error {
	n.mu.Lock()
	fb := n.fallback
	n.mu.Unlock()
	if fb == nil {
		err := n.desktop.Ask(ctx, q)
		if err == nil {
			n.mu.Lock()
			if !slices.Contains(n.shown, q.ID) {
				n.shown = append(n.shown, q.ID)
				fmt.Fprintf(n.out, "\nInvitation %s: %q\n  asked on the desktop: Decline, Reschedule or Ignore\n", q.ID, q.Subject)
			}
			n.mu.Unlock()
			return nil
		}
		if !errors.Is(err, notifier.ErrUnavailable) {
			return err
		}
		fb = n.useTerminal()
	}
	return fb.Ask(ctx, q)
}

// useTerminal switches to the terminal, once.
func (n *desktopFirst) useTerminal() notifier.Notifier {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fallback == nil {
		io.WriteString(n.out, "\nNo notification server answers on the desktop: asking here instead.\n")
		n.fallback = n.terminal()
		n.forward(n.fallback.Answers())
	}
	return n.fallback
}

// onDesktop reports whether question id was shown on the desktop.
func (n *desktopFirst) onDesktop(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Contains(n.shown, id)
}

func (n *desktopFirst) Withdraw(ctx context.Context, id string) error {
	n.mu.Lock()
	fb := n.fallback
	n.mu.Unlock()
	err := n.desktop.Withdraw(ctx, id)
	if fb != nil {
		err = errors.Join(err, fb.Withdraw(ctx, id))
	}
	return err
}

func (n *desktopFirst) Answers() <-chan notifier.Answer { return n.answers }

// Close takes the demo's questions off the desktop (they die with the
// demo's store) and stops.
func (n *desktopFirst) Close() error {
	var err error
	n.once.Do(func() {
		close(n.quit)
		n.mu.Lock()
		shown, fb := slices.Clone(n.shown), n.fallback
		n.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, id := range shown {
			n.desktop.Withdraw(ctx, id) // answered ones are gone already
		}
		err = n.desktop.Close()
		if fb != nil {
			err = errors.Join(err, fb.Close())
		}
		n.wg.Wait()
		close(n.answers)
	})
	return err
}
