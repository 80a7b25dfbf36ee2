package notifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
)

// DefaultCommandTimeout is how long a command may take to answer: long
// enough to read an invitation, short enough that a forgotten dialog does
// not hold up the questions behind it.
const DefaultCommandTimeout = 10 * time.Minute

// CommandOptions configures NewCommand.
type CommandOptions struct {
	// Argv is the program and its arguments, run without a shell.
	Argv []string
	// Timeout bounds one run; 0 means DefaultCommandTimeout.
	Timeout time.Duration
	// Logger receives why a run gave no answer; nil discards.
	Logger *slog.Logger
}

// Command asks by running a program once per question, one at a time (a
// queue, not a burst of dialogs). See the package documentation for the
// protocol.
type Command struct {
	argv    []string
	timeout time.Duration
	log     *slog.Logger
	out     *outbox

	mu      sync.Mutex
	closed  bool
	queue   []Question
	running *job

	wake chan struct{}
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

// job is the question whose command runs.
type job struct {
	id        string
	cancel    context.CancelFunc
	withdrawn bool
}

var _ Notifier = (*Command)(nil)

// NewCommand checks that the program exists and starts the worker that
// runs it.
func NewCommand(opts CommandOptions) (*Command, error) {
	if len(opts.Argv) == 0 || opts.Argv[0] == "" {
		return nil, errors.New("notifier: no command to ask with")
	}
	if _, err := exec.LookPath(opts.Argv[0]); err != nil {
		return nil, fmt.Errorf("notifier: command %q: %w", opts.Argv[0], err)
	}
	c := &Command{
		argv:    slices.Clone(opts.Argv),
		timeout: opts.Timeout,
		log:     opts.Logger,
		out:     newOutbox(),
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if c.timeout <= 0 {
		c.timeout = DefaultCommandTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	go c.work()
	return c, nil
}

// Ask queues q. A queued question with the same ID is replaced in place; a
// running one is left alone (its dialog is on screen already).
func (c *Command) Ask(ctx context.Context, q Question) error {
	if err := checkID(q.ID); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.running != nil && c.running.id == q.ID {
		return nil
	}
	if i := slices.IndexFunc(c.queue, func(o Question) bool { return o.ID == q.ID }); i >= 0 {
		c.queue[i] = q
		return nil
	}
	c.queue = append(c.queue, q)
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// Withdraw drops a queued question, or kills the command asking it.
func (c *Command) Withdraw(ctx context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queue = slices.DeleteFunc(c.queue, func(q Question) bool { return q.ID == id })
	if c.running != nil && c.running.id == id {
		c.running.withdrawn = true
		c.running.cancel()
	}
	return nil
}

// Answers delivers what the command answered.
func (c *Command) Answers() <-chan Answer { return c.out.ch }

// Close kills a running command, drops the queue and closes Answers.
func (c *Command) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.queue = nil
		if c.running != nil {
			c.running.cancel()
		}
		c.mu.Unlock()
		close(c.quit)
		<-c.done
		c.out.close()
	})
	return nil
}

func (c *Command) work() {
	defer close(c.done)
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 {
			c.mu.Unlock()
			select {
			case <-c.wake:
			case <-c.quit:
			}
			continue
		}
		q := c.queue[0]
		c.queue = c.queue[1:]
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		j := &job{id: q.ID, cancel: cancel}
		c.running = j
		c.mu.Unlock()

		c.ask(ctx, j, q)
		cancel()

		c.mu.Lock()
		c.running = nil
		c.mu.Unlock()
	}
}

// ask runs the command for q and delivers its answer, if it gave one.
func (c *Command) ask(ctx context.Context, j *job, q Question) {
	in, err := json.Marshal(wireOf(q))
	if err != nil {
		c.log.Error("encode question for the notify command", "id", q.ID, "error", err)
		return
	}
	stdout := &capped{max: 64 << 10}
	stderr := &capped{max: 64 << 10}
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Stdin = bytes.NewReader(append(in, '\n'))
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.Env = append(os.Environ(),
		"RSVP_ID="+q.ID,
		"RSVP_SUMMARY="+summaryOf(q),
		"RSVP_BODY="+bodyOf(q, textOptions{}))
	// Its own process group, so that a timeout kills the dialog a wrapper
	// script started too, not just the script.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A child that keeps stdout open must not keep Wait waiting.
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	if cmd.Process != nil {
		// Whatever the program left running in its group goes with it.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}

	c.mu.Lock()
	withdrawn, closed := j.withdrawn, c.closed
	c.mu.Unlock()
	log := c.log.With("id", q.ID, "command", c.argv[0])
	switch {
	case closed:
		return
	case withdrawn:
		log.Debug("notify command stopped: the question was answered elsewhere")
		return
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		log.Warn("notify command gave no answer in time and was killed; the question stays pending",
			"timeout", c.timeout, "stderr", stderr.excerpt())
		return
	case err != nil:
		log.Warn("notify command failed; the question stays pending",
			"error", err, "stderr", stderr.excerpt())
		return
	}
	action, reason, err := parseReply(stdout.buf.Bytes())
	if err != nil {
		log.Warn("notify command gave no usable answer; the question stays pending",
			"error", err, "stderr", stderr.excerpt())
		return
	}
	log.Info("answered", "action", action, "reason", reason, "after", time.Since(start).Round(time.Second))
	c.out.push(Answer{ID: q.ID, Action: action, Reason: reason})
}

// wireQuestion is the JSON a command reads on stdin.
type wireQuestion struct {
	ID       string   `json:"id"`
	Account  string   `json:"account"`
	Company  string   `json:"company"`
	Role     string   `json:"role"`
	FromName string   `json:"from_name"`
	FromAddr string   `json:"from_addr"`
	ReplyTo  string   `json:"reply_to"`
	Subject  string   `json:"subject"`
	Received string   `json:"received"` // RFC 3339, "" when unknown
	Times    []string `json:"times"`    // RFC 3339
	Why      []string `json:"why"`
	Reminder bool     `json:"reminder"`
}

func wireOf(q Question) wireQuestion {
	w := wireQuestion{
		ID: q.ID, Account: q.Account, Company: q.Company, Role: q.Role,
		FromName: q.FromName, FromAddr: q.FromAddr, ReplyTo: q.ReplyTo, Subject: q.Subject,
		Times: []string{}, Why: []string{}, Reminder: q.Reminder,
	}
	if !q.Received.IsZero() {
		w.Received = q.Received.Format(time.RFC3339)
	}
	for _, t := range q.Times {
		w.Times = append(w.Times, t.Format(time.RFC3339))
	}
	w.Why = append(w.Why, q.Why...)
	return w
}

// parseReply reads a command's answer: one line "ACTION [REASON...]" or a
// JSON object {"action":…,"reason":…}.
func parseReply(out []byte) (action, reason string, err error) {
	s := strings.TrimSpace(string(out))
	if s == "" {
		return "", "", errors.New("empty output (dialog cancelled?)")
	}
	if strings.HasPrefix(s, "{") {
		var r struct {
			Action string `json:"action"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			return "", "", fmt.Errorf("output %q: %v", excerpt(s), err)
		}
		action, reason = r.Action, r.Reason
	} else {
		if strings.Contains(s, "\n") {
			return "", "", fmt.Errorf("output %q: want one line, ACTION [REASON]", excerpt(s))
		}
		action, reason = s, ""
		if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
			action, reason = s[:i], s[i:]
		}
	}
	action = strings.ToLower(strings.TrimSpace(action))
	if !slices.Contains(actions, action) {
		return "", "", fmt.Errorf("output %q: %q is not an answer: want decline, reschedule or ignore", excerpt(s), action)
	}
	return action, strings.TrimSpace(reason), nil
}

// capped keeps the first max bytes written and swallows the rest, so a
// chatty program neither fills memory nor gets EPIPE.
type capped struct {
	buf bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// excerpt is the end of what was written: where error messages are.
func (c *capped) excerpt() string { return excerpt(c.buf.String()) }

func excerpt(s string) string {
	s = strings.TrimSpace(s)
	const max = 400
	if len(s) > max {
		s = "…" + s[len(s)-max:]
	}
	return strings.ToValidUTF8(s, "?")
}
