package notifier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Question is one invitation to ask about.
type Question struct {
	ID                 string // invitation id (8 chars a-z2-7); action keys derive from it
	Account            string
	Company, Role      string // may be ""
	FromName, FromAddr string
	ReplyTo            string // where the reply will go; shown so a spoofed Reply-To is visible
	Subject            string
	Received           time.Time
	Times              []time.Time // interview times the invitation proposed, may be empty
	Why                []string    // top rules that fired, human readable, best first
	Reminder           bool        // asked again after no answer: say so ("Reminder: ...")
}

// Answer is the user's choice. Action is "decline", "reschedule" or
// "ignore"; Reason "" means the configured default.
type Answer struct{ ID, Action, Reason string }

// The actions an Answer carries.
const (
	ActionDecline    = "decline"
	ActionReschedule = "reschedule"
	ActionIgnore     = "ignore"
)

// actions are the choices offered, in the order they are offered.
var actions = []string{ActionDecline, ActionReschedule, ActionIgnore}

// Notifier asks questions and delivers answers asynchronously (seconds,
// hours, or never).
type Notifier interface {
	// Ask shows q, replacing an earlier question with the same ID rather
	// than stacking. It returns once q is shown or handed over; an error
	// (errors.Is ErrUnavailable when no notification server runs) means it
	// was not shown and the caller will ask again later.
	Ask(ctx context.Context, q Question) error
	// Withdraw removes a shown question (answered elsewhere, e.g. `rsvp
	// decide`). No-op if unknown.
	Withdraw(ctx context.Context, id string) error
	// Answers delivers the answers; it is closed by Close.
	Answers() <-chan Answer
	// Close stops the notifier. Answers not yet received are dropped: their
	// questions are still pending and will be asked again.
	Close() error
}

// ErrUnavailable means there is nobody to ask right now (no notification
// server, no session bus); asking again later may work.
var ErrUnavailable = errors.New("notifier: no notification service available")

// ErrClosed is returned by a Notifier used after Close.
var ErrClosed = errors.New("notifier: closed")

// checkID rejects IDs that cannot be embedded in an action key. Store IDs
// are 8 characters of lower-case base32.
func checkID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("notifier: bad question ID %q: want 1 to 64 lower-case letters and digits", id)
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return fmt.Errorf("notifier: bad question ID %q: want 1 to 64 lower-case letters and digits", id)
		}
	}
	return nil
}

// outbox delivers answers on a channel without ever blocking the sender:
// an answer found by a signal handler or a worker must not wait for the
// caller to read the previous one.
type outbox struct {
	ch      chan Answer
	mu      sync.Mutex
	queue   []Answer
	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func newOutbox() *outbox {
	o := &outbox{
		ch:      make(chan Answer),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go o.run()
	return o
}

func (o *outbox) push(a Answer) {
	o.mu.Lock()
	o.queue = append(o.queue, a)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) run() {
	defer close(o.stopped)
	defer close(o.ch)
	for {
		o.mu.Lock()
		if len(o.queue) == 0 {
			o.mu.Unlock()
			select {
			case <-o.wake:
				continue
			case <-o.done:
				return
			}
		}
		a := o.queue[0]
		o.mu.Unlock()
		select {
		case o.ch <- a:
			o.mu.Lock()
			o.queue = o.queue[1:]
			o.mu.Unlock()
		case <-o.done:
			return
		}
	}
}

// close stops delivery and closes the channel.
func (o *outbox) close() {
	o.once.Do(func() { close(o.done) })
	<-o.stopped
}

// Alerter is implemented by a Notifier that can also show a message
// without a question (an account that needs the user: run rsvp auth).
type Alerter interface {
	Alert(ctx context.Context, summary, body string) error
}
