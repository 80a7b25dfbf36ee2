package sdnotify

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeManager listens where systemd would and points NOTIFY_SOCKET at it.
// name is a path, or "@name" for an abstract socket.
func fakeManager(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen on %s: %v", name, err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return conn
}

// receive returns the next datagram; the deadline only keeps a broken
// sender from hanging the test.
func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return string(buf[:n])
}

// sockets are the two kinds of NOTIFY_SOCKET systemd hands out.
func sockets(t *testing.T) map[string]func(t *testing.T) string {
	m := map[string]func(t *testing.T) string{
		"a socket file": func(t *testing.T) string { return filepath.Join(t.TempDir(), "notify") },
	}
	if runtime.GOOS == "linux" {
		m["an abstract socket"] = func(t *testing.T) string {
			return fmt.Sprintf("@rsvp-sdnotify-test/%d/%d", os.Getpid(), rand.Uint64())
		}
	}
	return m
}

func TestEachHelperSendsExactlyItsDatagram(t *testing.T) {
	cases := []struct {
		name string
		send func() error
		want string
	}{
		{"Ready says READY=1", Ready, "READY=1"},
		{"Stopping says STOPPING=1", Stopping, "STOPPING=1"},
		{"Watchdog says WATCHDOG=1", Watchdog, "WATCHDOG=1"},
		{"Status sends the text as is", func() error { return Status("2 accounts: personal connected, work retrying") },
			"STATUS=2 accounts: personal connected, work retrying"},
		{"Status turns newlines into spaces so they cannot start an assignment", func() error { return Status("one\ntwo\r\nthree\rREADY=1") },
			"STATUS=one two three READY=1"},
		{"Notify sends several assignments in one datagram", func() error { return Notify("READY=1\nSTATUS=watching 1 account") },
			"READY=1\nSTATUS=watching 1 account"},
	}
	for kind, addr := range sockets(t) {
		t.Run("to "+kind, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					conn := fakeManager(t, addr(t))
					if !Enabled() {
						t.Fatal("Enabled() = false with NOTIFY_SOCKET set")
					}
					if err := c.send(); err != nil {
						t.Fatalf("send: %v", err)
					}
					if got := receive(t, conn); got != c.want {
						t.Fatalf("datagram = %q, want %q", got, c.want)
					}
				})
			}
		})
	}
}

var reloadingRE = regexp.MustCompile(`^RELOADING=1\nMONOTONIC_USEC=([0-9]+)$`)

func TestReloadingCarriesTheMonotonicClock(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("CLOCK_MONOTONIC is read on Linux only")
	}
	conn := fakeManager(t, filepath.Join(t.TempDir(), "notify"))
	before, _ := monotonicUsec()
	if err := Reloading(); err != nil {
		t.Fatalf("Reloading: %v", err)
	}
	after, _ := monotonicUsec()
	got := receive(t, conn)
	m := reloadingRE.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("datagram = %q, want RELOADING=1 and MONOTONIC_USEC=N on the next line", got)
	}
	usec, _ := strconv.ParseUint(m[1], 10, 64)
	if usec < before || usec > after {
		t.Fatalf("MONOTONIC_USEC=%d, want between %d and %d, the clock read around the call", usec, before, after)
	}
}

func TestMonotonicUsecIsCLOCK_MONOTONIC(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("CLOCK_MONOTONIC is read on Linux only")
	}
	// Go's own monotonic clock is CLOCK_MONOTONIC on Linux: a stretch of
	// it must contain the same stretch of ours.
	start := time.Now()
	a, ok := monotonicUsec()
	if !ok {
		t.Fatal("monotonicUsec failed")
	}
	for time.Since(start) < 20*time.Millisecond {
		runtime.Gosched()
	}
	b, _ := monotonicUsec()
	outer := time.Since(start)
	if d := time.Duration(b-a) * time.Microsecond; d < 20*time.Millisecond-time.Microsecond || d > outer {
		t.Fatalf("our clock advanced %v while Go's advanced at least 20ms and at most %v", d, outer)
	}
	// And it counts from boot, not from 1970: never past the time since
	// boot (CLOCK_BOOTTIME, in /proc/uptime, which adds suspended time).
	raw, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Skipf("no /proc/uptime to compare with: %v", err)
	}
	up, err := strconv.ParseFloat(strings.Fields(string(raw))[0], 64)
	if err != nil {
		t.Fatalf("/proc/uptime = %q: %v", raw, err)
	}
	if limit := uint64((up+0.01)*1e6) + 1; b > limit {
		t.Fatalf("MONOTONIC_USEC %d is past the uptime (%d µs): not CLOCK_MONOTONIC", b, limit)
	}
}

func TestWithoutNotifySocketEveryCallIsANoOp(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if Enabled() {
		t.Error("Enabled() with NOTIFY_SOCKET unset = true")
	}
	for name, send := range map[string]func() error{
		"Notify": func() error { return Notify("READY=1") }, "Ready": Ready, "Status": func() error { return Status("x") },
		"Stopping": Stopping, "Reloading": Reloading, "Watchdog": Watchdog,
	} {
		if err := send(); err != nil {
			t.Errorf("%s with NOTIFY_SOCKET unset = %v, want nil", name, err)
		}
	}
}

func TestNotifyReportsWhyNothingWasSent(t *testing.T) {
	t.Run("a relative NOTIFY_SOCKET is refused", func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "notify.sock")
		err := Ready()
		if err == nil || !strings.Contains(err.Error(), `"notify.sock"`) {
			t.Fatalf("Ready() = %v, want an error naming the bad NOTIFY_SOCKET", err)
		}
	})
	t.Run("a socket that is not there is fs.ErrNotExist", func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "gone"))
		if err := Ready(); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Ready() = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("a socket nobody listens on any more is refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "notify")
		conn := fakeManager(t, path)
		conn.Close()
		if err := Ready(); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Ready() = %v, want connection refused", err)
		}
	})
}

func TestWatchdogInterval(t *testing.T) {
	me := strconv.Itoa(os.Getpid())
	cases := []struct {
		name      string
		usec, pid string
		want      time.Duration
		wantOK    bool
	}{
		{"no WATCHDOG_USEC means no watchdog", "", "", 0, false},
		{"WATCHDOG_USEC alone is for this process", "300000000", "", 5 * time.Minute, true},
		{"WATCHDOG_PID naming this process enables it", "300000000", me, 5 * time.Minute, true},
		{"WATCHDOG_PID naming another process (our parent's watchdog) disables it", "300000000", strconv.Itoa(os.Getpid() + 1), 0, false},
		{"a WATCHDOG_PID that is not a number disables it", "300000000", "self", 0, false},
		{"WATCHDOG_USEC=0 disables it", "0", me, 0, false},
		{"a negative WATCHDOG_USEC disables it", "-5", me, 0, false},
		{"a WATCHDOG_USEC with a unit disables it", "5min", me, 0, false},
		{"a WATCHDOG_USEC beyond time.Duration disables it", "18446744073709551615", me, 0, false},
		{"microseconds are kept", "1500", me, 1500 * time.Microsecond, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("WATCHDOG_USEC", c.usec)
			t.Setenv("WATCHDOG_PID", c.pid)
			got, ok := WatchdogInterval()
			if got != c.want || ok != c.wantOK {
				t.Fatalf("WatchdogInterval() = %v, %v with WATCHDOG_USEC=%q WATCHDOG_PID=%q; want %v, %v",
					got, ok, c.usec, c.pid, c.want, c.wantOK)
			}
		})
	}
}
