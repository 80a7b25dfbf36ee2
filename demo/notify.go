package demo

import (
	"context"
	"io"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/rsvp-mail/rsvp/daemon"
	"github.com/rsvp-mail/rsvp/notifier"
)

// watch is what the run knows as it goes: the daemon's events not handled
// yet, the answers given, the outcomes printed. Every change wakes whoever
// waits on changed.
type watch struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	events  []daemon.Event
	answers map[string]notifier.Answer
	settled map[string]bool // the outcome of the answer is on screen
	holding bool            // a question is held back (pacedWriter)
	eof     bool            // Stdin ended
	last    time.Time       // last answer, outcome or end of input
}

func newWatch() *watch {
	return &watch{changed: make(chan struct{}), answers: map[string]notifier.Answer{}, settled: map[string]bool{}}
}

// poke runs f (if any) under the lock and wakes the waiters.
func (w *watch) poke(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f != nil {
		f()
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// wake returns a channel closed at the next change.
func (w *watch) wake() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed
}

func (w *watch) event(e daemon.Event) { w.poke(func() { w.events = append(w.events, e) }) }

func (w *watch) takeEvents() []daemon.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	ev := w.events
	w.events = nil
	return ev
}

func (w *watch) answered(a notifier.Answer) {
	w.poke(func() { w.answers[a.ID], w.last = a, time.Now() })
}

func (w *watch) settle(id string) { w.poke(func() { w.settled[id], w.last = true, time.Now() }) }

func (w *watch) inputEnded() { w.poke(func() { w.eof, w.last = true, time.Now() }) }

// still reports whether Stdin ended and, since, nothing has moved for
// quietAfterInput: no question held back, every answer's outcome shown.
func (w *watch) still(now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.eof || w.holding || now.Sub(w.last) < quietAfterInput {
		return false
	}
	for id := range w.answers {
		if !w.settled[id] {
			return false
		}
	}
	return true
}

// Bounds of waitOutcome. The answer to a question is handed over before
// the terminal shows the next one, so it arrives at once; a question
// skipped never gets one.
const (
	answerGrace  = 500 * time.Millisecond
	outcomeLimit = 30 * time.Second
)

// waitOutcome returns once the outcome of the answer to question id is on
// screen, or there is no answer (skipped), or it is taking too long.
func (w *watch) waitOutcome(ctx context.Context, id string) {
	w.poke(func() { w.holding = true })
	defer w.poke(func() { w.holding = false })
	start := time.Now()
	for {
		w.mu.Lock()
		_, answered := w.answers[id]
		done, ch := w.settled[id], w.changed
		w.mu.Unlock()
		limit := start.Add(outcomeLimit)
		if !answered {
			limit = start.Add(answerGrace)
		}
		if done || !time.Now().Before(limit) {
			return
		}
		t := time.NewTimer(time.Until(limit))
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

// pacedWriter is the terminal's output. It holds a question back until the
// reply to the previous one is printed, so that a draft never lands
// between a question and its prompt.
type pacedWriter struct {
	w       *watch
	out     io.Writer
	ctx     context.Context
	current string // the question on screen
}

// questionID finds the "ID: …" line that ends a question as
// notifier.Terminal prints it.
var questionID = regexp.MustCompile(`(?m)^ID: ([a-z0-9]+)\s*$`)

func (p *pacedWriter) Write(b []byte) (int, error) {
	if m := questionID.FindSubmatch(b); m != nil {
		if p.current != "" {
			p.w.waitOutcome(p.ctx, p.current)
		}
		p.current = string(m[1])
	}
	return p.out.Write(b)
}

// observed passes a notifier's answers on, telling onAnswer about each
// first.
type observed struct {
	notifier.Notifier
	answers chan notifier.Answer
	quit    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func observe(n notifier.Notifier, onAnswer func(notifier.Answer)) *observed {
	o := &observed{Notifier: n, answers: make(chan notifier.Answer),
		quit: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(o.stopped)
		defer close(o.answers)
		for a := range n.Answers() {
			onAnswer(a)
			select {
			case o.answers <- a:
			case <-o.quit:
				return
			}
		}
	}()
	return o
}

func (o *observed) Answers() <-chan notifier.Answer { return o.answers }

func (o *observed) Close() error {
	o.once.Do(func() { close(o.quit) })
	err := o.Notifier.Close()
	<-o.stopped
	return err
}

// autoDecline answers every question "decline", with the default reason,
// as soon as it is asked (rsvp demo --yes).
type autoDecline struct {
	mu     sync.Mutex
	queue  []notifier.Answer
	closed bool

	wake    chan struct{}
	ch      chan notifier.Answer
	quit    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

var _ notifier.Notifier = (*autoDecline)(nil)

func newAutoDecline() *autoDecline {
	a := &autoDecline{wake: make(chan struct{}, 1), ch: make(chan notifier.Answer),
		quit: make(chan struct{}), stopped: make(chan struct{})}
	go a.run()
	return a
}

// Ask queues the answer; asking again before it was taken changes nothing.
func (a *autoDecline) Ask(ctx context.Context, q notifier.Question) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return notifier.ErrClosed
	}
	if slices.ContainsFunc(a.queue, func(x notifier.Answer) bool { return x.ID == q.ID }) {
		return nil
	}
	a.queue = append(a.queue, notifier.Answer{ID: q.ID, Action: notifier.ActionDecline})
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return nil
}

// Withdraw drops an answer not taken yet.
func (a *autoDecline) Withdraw(ctx context.Context, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.queue = slices.DeleteFunc(a.queue, func(x notifier.Answer) bool { return x.ID == id })
	return nil
}

func (a *autoDecline) Answers() <-chan notifier.Answer { return a.ch }

func (a *autoDecline) Close() error {
	a.once.Do(func() {
		a.mu.Lock()
		a.closed = true
		a.mu.Unlock()
		close(a.quit)
	})
	<-a.stopped
	return nil
}

func (a *autoDecline) run() {
	defer close(a.stopped)
	defer close(a.ch)
	for {
		a.mu.Lock()
		var next notifier.Answer
		ok := len(a.queue) > 0
		if ok {
			next = a.queue[0]
		}
		a.mu.Unlock()
		if !ok {
			select {
			case <-a.wake:
				continue
			case <-a.quit:
				return
			}
		}
		select {
		case a.ch <- next:
			a.mu.Lock()
			a.queue = slices.DeleteFunc(a.queue, func(x notifier.Answer) bool { return x.ID == next.ID })
			a.mu.Unlock()
		case <-a.wake:
			// Withdrawn meanwhile, perhaps: look again.
		case <-a.quit:
			return
		}
	}
}
