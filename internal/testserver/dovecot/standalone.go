package dovecot

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// StartServer starts Dovecot outside a test (a benchmark, a demo program),
// exactly as Start does: the same configuration, the same root and
// non-root handling. Where Start would skip or fail the test, StartServer
// returns an error (a missing Dovecot is an error, with the install hint).
//
// stop kills Dovecot and every process it started and removes its
// directory; call it once, also after a failure elsewhere. It returns what
// went wrong while stopping, with the tail of Dovecot's log.
func StartServer(opts Options) (s *Server, stop func() error, err error) {
	r := &runner{}
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if _, ok := v.(runnerAbort); !ok {
			panic(v)
		}
		ferr := r.failure()
		s, stop, err = nil, nil, errors.Join(ferr, r.cleanup())
	}()
	s = Start(r, opts)
	return s, r.cleanup, nil
}

// DoveadmCommand returns, unstarted, `doveadm -c CONF ARGS...` for this
// server, for callers that time or feed doveadm themselves.
func (s *Server) DoveadmCommand(args ...string) *exec.Cmd {
	return exec.Command(s.doveadm, append([]string{"-c", s.ConfigPath}, args...)...)
}

// RunDoveadm is Doveadm without a testing.TB: it returns doveadm's standard
// output, or an error with its standard error and what it logged.
func (s *Server) RunDoveadm(stdin []byte, args ...string) ([]byte, error) {
	return s.doveadmRun(stdin, args...)
}

// runnerAbort is the panic value runner uses to leave Start at a Fatal or
// Skip, the way testing's runtime.Goexit would.
type runnerAbort struct{}

// runner is the testing.TB that StartServer hands to Start. Start uses only
// the methods defined here; the embedded nil TB satisfies the interface's
// unexported method and would panic if anything else were called.
type runner struct {
	testing.TB

	mu       sync.Mutex
	cleanups []func()
	errs     []string
	logs     []string
	failed   bool
}

func (r *runner) Helper() {}

func (r *runner) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *runner) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *runner) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *runner) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(runnerAbort{})
}

func (r *runner) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

func (r *runner) Skip(args ...any) { r.Fatal(args...) }

func (r *runner) Skipf(format string, args ...any) { r.Fatalf(format, args...) }

func (r *runner) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *runner) Log(args ...any) { r.Logf("%s", fmt.Sprint(args...)) }

func (r *runner) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// failure is what Errorf and Fatalf reported so far, or nil.
func (r *runner) failure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) == 0 {
		return nil
	}
	return errors.New("dovecot: " + strings.Join(r.errs, "\n"))
}

// cleanup runs the registered cleanups, last first, once; it returns what
// they reported, with what they logged.
func (r *runner) cleanup() error {
	r.mu.Lock()
	fs := r.cleanups
	r.cleanups = nil
	nerr := len(r.errs)
	r.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) == nerr {
		return nil
	}
	msg := strings.Join(r.errs[nerr:], "\n")
	if len(r.logs) > 0 {
		msg += "\n" + strings.Join(r.logs, "\n")
	}
	return errors.New(msg)
}
