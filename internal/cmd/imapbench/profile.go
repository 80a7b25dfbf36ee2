package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/daemon"
	"github.com/rsvp-mail/rsvp/notifier"
	"github.com/rsvp-mail/rsvp/store"
)

// profileRun runs rsvp's daemon in this process, wired as `rsvp run` wires
// it on a machine without a desktop session (questions cannot be shown),
// on the backfill mailbox with a fresh store, under the CPU profiler. It
// writes cpu.pprof and allocs.pprof into dir and returns how long the
// backfill took.
func (b *bench) profileRun(ctx context.Context, cfg *config.Config, lastUID uint32, dir string) (time.Duration, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	st, err := store.Open(filepath.Join(b.tmp, "profile", "state"), nil)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	n := &headless{answers: make(chan notifier.Answer)}
	d, err := daemon.New(daemon.Options{Config: cfg, Store: st, Notifier: n,
		Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		return 0, err
	}
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		return 0, err
	}
	defer cpu.Close()
	runtime.GC()
	if err := pprof.StartCPUProfile(cpu); err != nil {
		return 0, err
	}
	profiling := true
	defer func() {
		if profiling {
			pprof.StopCPUProfile()
		}
	}()
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	t0 := time.Now()
	go func() { done <- d.Run(dctx) }()
	defer func() {
		cancel()
		<-done
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, ok, err := st.Cursor(ctx, "bench", "INBOX")
		if err != nil {
			return 0, err
		}
		if ok && c.LastUID >= lastUID {
			break
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case err := <-done:
			return 0, fmt.Errorf("the daemon stopped before the end of the backfill: %v", err)
		case <-tick.C:
		}
	}
	elapsed := time.Since(t0)
	pprof.StopCPUProfile()
	profiling = false
	allocs, err := os.Create(filepath.Join(dir, "allocs.pprof"))
	if err != nil {
		return 0, err
	}
	defer allocs.Close()
	if err := pprof.Lookup("allocs").WriteTo(allocs, 0); err != nil {
		return 0, err
	}
	return elapsed, nil
}

// headless is the notifier of a machine without a desktop session: every
// question fails as unavailable, as `rsvp run` does there.
type headless struct {
	answers chan notifier.Answer
	once    sync.Once
}

func (h *headless) Ask(context.Context, notifier.Question) error { return notifier.ErrUnavailable }
func (h *headless) Withdraw(context.Context, string) error       { return nil }
func (h *headless) Answers() <-chan notifier.Answer              { return h.answers }
func (h *headless) Close() error {
	h.once.Do(func() { close(h.answers) })
	return nil
}
