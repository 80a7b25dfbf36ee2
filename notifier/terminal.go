package notifier

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// TerminalOptions configures NewTerminal.
type TerminalOptions struct {
	// In is where answers are read, one per line; nil means os.Stdin.
	In io.Reader
	// Out is where questions are printed; nil means os.Stdout.
	Out io.Writer
	// Reasons are the decline reasons offered after "d"; empty: none asked.
	Reasons []string
}

// Terminal asks on a terminal, one question at a time, in the order asked.
// The end of In means no more answers: it stops quietly, and questions
// stay pending.
type Terminal struct {
	out     io.Writer
	reasons []string
	answers *outbox
	lines   chan string // closed at the end of In

	mu      sync.Mutex
	closed  bool
	eof     bool
	queue   []Question
	current *termJob

	wake chan struct{}
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

// termJob is the question on screen.
type termJob struct {
	id        string
	withdrawn chan struct{}
}

var _ Notifier = (*Terminal)(nil)

// NewTerminal starts reading In and printing questions to Out.
func NewTerminal(opts TerminalOptions) *Terminal {
	t := &Terminal{
		out:     opts.Out,
		reasons: slices.Clone(opts.Reasons),
		answers: newOutbox(),
		lines:   make(chan string),
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	in := opts.In
	if in == nil {
		in = os.Stdin
	}
	if t.out == nil {
		t.out = os.Stdout
	}
	go t.read(in)
	go t.work()
	return t
}

// Ask queues q; a queued question with the same ID is replaced in place,
// the one on screen is left alone.
func (t *Terminal) Ask(ctx context.Context, q Question) error {
	if err := checkID(q.ID); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return ErrClosed
	case t.eof, t.current != nil && t.current.id == q.ID:
		return nil
	}
	if i := slices.IndexFunc(t.queue, func(o Question) bool { return o.ID == q.ID }); i >= 0 {
		t.queue[i] = q
		return nil
	}
	t.queue = append(t.queue, q)
	select {
	case t.wake <- struct{}{}:
	default:
	}
	return nil
}

// Withdraw drops a queued question, or moves on from the one on screen.
func (t *Terminal) Withdraw(ctx context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.queue = slices.DeleteFunc(t.queue, func(q Question) bool { return q.ID == id })
	if t.current != nil && t.current.id == id {
		close(t.current.withdrawn)
		t.current = nil
	}
	return nil
}

// Answers delivers the answers typed.
func (t *Terminal) Answers() <-chan Answer { return t.answers.ch }

// Close stops asking and closes Answers. A read from In already under way
// cannot be interrupted; it ends with In.
func (t *Terminal) Close() error {
	t.once.Do(func() {
		t.mu.Lock()
		t.closed = true
		t.mu.Unlock()
		close(t.quit)
		<-t.done
		t.answers.close()
	})
	return nil
}

func (t *Terminal) read(in io.Reader) {
	defer close(t.lines)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		select {
		case t.lines <- sc.Text():
		case <-t.quit:
			return
		}
	}
}

// outcome is how a prompt ended.
type outcome int

const (
	gotLine outcome = iota
	gotEOF
	gotWithdrawn
	gotQuit
)

func (t *Terminal) work() {
	defer close(t.done)
	for {
		q, job, ok := t.next()
		if !ok {
			return
		}
		a, res := t.ask(q, job)
		t.mu.Lock()
		if t.current == job {
			t.current = nil
		}
		if res == gotEOF {
			t.eof = true
			t.queue = nil
		}
		t.mu.Unlock()
		switch res {
		case gotLine:
			if a.Action != "" {
				t.answers.push(a)
			}
		case gotWithdrawn:
			fmt.Fprintf(t.out, "(%s was answered elsewhere)\n", q.ID)
		case gotEOF, gotQuit:
			return
		}
	}
}

// next waits for the next question and puts it on screen.
func (t *Terminal) next() (Question, *termJob, bool) {
	for {
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return Question{}, nil, false
		}
		if len(t.queue) > 0 {
			q := t.queue[0]
			t.queue = t.queue[1:]
			job := &termJob{id: q.ID, withdrawn: make(chan struct{})}
			t.current = job
			t.mu.Unlock()
			return q, job, true
		}
		t.mu.Unlock()
		select {
		case <-t.wake:
		case <-t.quit:
			return Question{}, nil, false
		}
	}
}

// ask prints q and reads the answer; an Answer with no Action is a skip.
func (t *Terminal) ask(q Question, job *termJob) (Answer, outcome) {
	fmt.Fprintf(t.out, "\n%s\n%s\nID: %s\n", summaryOf(q), bodyOf(q, textOptions{}), q.ID)
	for {
		fmt.Fprint(t.out, "[d]ecline, [r]eschedule, [i]gnore, [s]kip? ")
		line, res := t.readLine(job)
		if res != gotLine {
			return Answer{}, res
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "d", "decline":
			reason, res := t.askReason(job)
			return Answer{ID: q.ID, Action: ActionDecline, Reason: reason}, res
		case "r", "reschedule":
			return Answer{ID: q.ID, Action: ActionReschedule}, gotLine
		case "i", "ignore":
			return Answer{ID: q.ID, Action: ActionIgnore}, gotLine
		case "s", "skip":
			return Answer{}, gotLine
		}
		fmt.Fprintln(t.out, "Please answer d, r, i or s.")
	}
}

func (t *Terminal) askReason(job *termJob) (string, outcome) {
	if len(t.reasons) == 0 {
		return "", gotLine
	}
	fmt.Fprintln(t.out, "Reason for declining?")
	fmt.Fprintln(t.out, "  0) No reason / default")
	for i, r := range t.reasons {
		fmt.Fprintf(t.out, "  %d) %s\n", i+1, r)
	}
	for {
		fmt.Fprint(t.out, "Reason [0]: ")
		line, res := t.readLine(job)
		if res != gotLine {
			return "", res
		}
		line = strings.TrimSpace(line)
		if line == "" {
			line = "0"
		}
		if n, err := strconv.Atoi(line); err == nil && n >= 0 && n <= len(t.reasons) {
			if n == 0 {
				return "", gotLine
			}
			return t.reasons[n-1], gotLine
		}
		fmt.Fprintf(t.out, "Please choose 0 to %d.\n", len(t.reasons))
	}
}

func (t *Terminal) readLine(job *termJob) (string, outcome) {
	select {
	case line, ok := <-t.lines:
		if !ok {
			fmt.Fprintln(t.out)
			return "", gotEOF
		}
		return line, gotLine
	case <-job.withdrawn:
		fmt.Fprintln(t.out)
		return "", gotWithdrawn
	case <-t.quit:
		return "", gotQuit
	}
}

// Alert implements Alerter: the message is printed.
func (t *Terminal) Alert(_ context.Context, summary, body string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, err := fmt.Fprintf(t.out, "\n%s\n%s\n", summary, body)
	return err
}
