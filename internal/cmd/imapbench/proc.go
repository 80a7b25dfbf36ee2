package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// logLine is one line the daemon wrote to stderr, with when it was read.
type logLine struct {
	at     time.Time
	text   string
	fields map[string]string // slog text: time, level, msg, and the attributes
}

func (l logLine) msg() string { return l.fields["msg"] }

// rsvpProc is a running `rsvp run`.
type rsvpProc struct {
	cmd     *exec.Cmd
	started time.Time

	mu      sync.Mutex
	lines   []logLine
	partial []byte
	notify  chan struct{} // a line arrived (capacity 1)

	done    chan struct{} // closed when the process has exited and stderr is drained
	waitErr error
	stopped time.Duration // from SIGTERM to exit, set by stop
}

// startDaemon runs `rsvp run --config cfg` with XDG_STATE_HOME set to
// state. Its stderr is read line by line as it comes.
func startDaemon(bin, cfg, xdgState, xdgConfig string) (*rsvpProc, error) {
	d := &rsvpProc{notify: make(chan struct{}, 1), done: make(chan struct{})}
	cmd := exec.Command(bin, "run", "--config", cfg)
	env := []string{"XDG_STATE_HOME=" + xdgState, "XDG_CONFIG_HOME=" + xdgConfig}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "XDG_STATE_HOME" && k != "XDG_CONFIG_HOME" && k != "JOURNAL_STREAM" {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	cmd.Stderr = d // exec copies the pipe into Write as data arrives
	cmd.Stdout = d
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	d.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s run: %w", bin, err)
	}
	d.cmd = cmd
	go func() {
		d.waitErr = cmd.Wait()
		d.mu.Lock()
		if len(d.partial) > 0 {
			d.lines = append(d.lines, parseLine(time.Now(), string(d.partial)))
			d.partial = nil
		}
		d.mu.Unlock()
		close(d.done)
		d.signal()
	}()
	return d, nil
}

// Write collects output into lines. It never blocks on the benchmark, so the
// daemon never waits for its stderr pipe.
func (d *rsvpProc) Write(p []byte) (int, error) {
	now := time.Now()
	d.mu.Lock()
	d.partial = append(d.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(d.partial, '\n')
		if i < 0 {
			break
		}
		d.lines = append(d.lines, parseLine(now, string(d.partial[:i])))
		d.partial = d.partial[i+1:]
		added = true
	}
	d.partial = bytes.Clone(d.partial)
	d.mu.Unlock()
	if added {
		d.signal()
	}
	return len(p), nil
}

func (d *rsvpProc) signal() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// exited reports whether the process has ended.
func (d *rsvpProc) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// waitFor returns the first line at index from or later that match
// accepts, and the index after it. It fails when the daemon exits, ctx
// ends or limit passes first.
func (d *rsvpProc) waitFor(ctx context.Context, from int, limit time.Duration, what string, match func(logLine) bool) (logLine, int, error) {
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		d.mu.Lock()
		for i := from; i < len(d.lines); i++ {
			if match(d.lines[i]) {
				l := d.lines[i]
				d.mu.Unlock()
				return l, i + 1, nil
			}
		}
		from = len(d.lines)
		d.mu.Unlock()
		if d.exited() {
			return logLine{}, from, fmt.Errorf("rsvp run exited (%v) while waiting for %s; its last lines:\n%s", d.waitErr, what, d.tail(15))
		}
		select {
		case <-ctx.Done():
			return logLine{}, from, ctx.Err()
		case <-t.C:
			return logLine{}, from, fmt.Errorf("no %s from rsvp run within %v; its last lines:\n%s", what, limit, d.tail(15))
		case <-d.notify:
		}
	}
}

// count returns how many lines so far match.
func (d *rsvpProc) count(match func(logLine) bool) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, l := range d.lines {
		if match(l) {
			n++
		}
	}
	return n
}

// problems returns the warnings and errors logged so far.
func (d *rsvpProc) problems() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, l := range d.lines {
		if lv := l.fields["level"]; lv == "WARN" || lv == "ERROR" {
			out = append(out, l.text)
		}
	}
	return out
}

func (d *rsvpProc) tail(n int) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	lines := d.lines[max(0, len(d.lines)-n):]
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  | ")
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// peakRSS reads VmHWM (the resident set's high-water mark) from /proc.
func (d *rsvpProc) peakRSS() (int64, error) {
	return procStatusKB(d.cmd.Process.Pid, "VmHWM")
}

func procStatusKB(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			return n * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}

// stop sends SIGTERM and waits for the exit, killing the process group
// after limit. It reports a failure to stop cleanly (exit status not 0).
func (d *rsvpProc) stop(limit time.Duration) error {
	if d.exited() {
		return d.exitErr()
	}
	t0 := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-d.done:
		d.stopped = time.Since(t0)
		return d.exitErr()
	case <-t.C:
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
		return fmt.Errorf("rsvp run did not stop within %v of SIGTERM; killed. Last lines:\n%s", limit, d.tail(10))
	}
}

// kill ends the daemon at once (cleanup after a failure).
func (d *rsvpProc) kill() {
	if d == nil || d.exited() {
		return
	}
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	<-d.done
}

func (d *rsvpProc) exitErr() error {
	if d.waitErr != nil {
		return fmt.Errorf("rsvp run: %w; last lines:\n%s", d.waitErr, d.tail(10))
	}
	return nil
}

// rusage is the daemon's resource use, known once it has exited.
func (d *rsvpProc) rusage() *syscall.Rusage {
	if !d.exited() || d.cmd.ProcessState == nil {
		return nil
	}
	ru, _ := d.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return ru
}

// parseLine reads a line of slog's text format: key=value pairs, values
// quoted Go-style when they hold spaces or quotes.
func parseLine(at time.Time, s string) logLine {
	l := logLine{at: at, text: s, fields: map[string]string{}}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ")
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			break
		}
		key := s[:eq]
		s = s[eq+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			end := quotedEnd(s)
			if v, err := strconv.Unquote(s[:end]); err == nil {
				val = v
			} else {
				val = s[1 : end-1]
			}
			s = s[end:]
		} else {
			sp := strings.IndexByte(s, ' ')
			if sp < 0 {
				sp = len(s)
			}
			val, s = s[:sp], s[sp:]
		}
		l.fields[key] = val
	}
	return l
}

// quotedEnd returns the index just past the closing quote of the quoted
// string at the start of s (or len(s) when it is not closed).
func quotedEnd(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(s)
}
