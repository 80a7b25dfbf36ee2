// Package sdnotify tells the service manager how the daemon is doing, with
// the sd_notify protocol (sd_notify(3)): one datagram of newline-separated
// VAR=VALUE assignments sent to the AF_UNIX socket named by $NOTIFY_SOCKET,
// a path, or an abstract socket when it starts with "@".
//
// Everything is a no-op returning nil when NOTIFY_SOCKET is unset, so a
// daemon started from a terminal calls the same functions. Each call opens
// its own socket: safe from any goroutine. It is written against the
// protocol, without libsystemd or cgo.
//
// Under NotifyAccess=main systemd accepts a message only from the service's
// main process, so send from the daemon itself (any goroutine), never
// through a helper such as systemd-notify.
package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Notify sends state, one or more VAR=VALUE lines, to $NOTIFY_SOCKET.
func Notify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	// sd_notify(3) knows paths and abstract sockets ("@name"); Go's
	// net package turns a leading "@" into the abstract namespace's NUL.
	if addr[0] != '/' && addr[0] != '@' {
		return fmt.Errorf("sd_notify: NOTIFY_SOCKET=%q is neither an absolute path nor an abstract socket", addr)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	// A datagram goes whole or not at all.
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: send %q: %w", firstLine(state), err)
	}
	return nil
}

// Enabled reports whether a service manager listens ($NOTIFY_SOCKET is
// set): without one every call is a no-op, and what it would send need not
// be worked out.
func Enabled() bool { return os.Getenv("NOTIFY_SOCKET") != "" }

// Ready says start-up is over (Type=notify units count as started only
// now), or, after Reloading, that the reload is done.
func Ready() error { return Notify("READY=1") }

// Status sets the one-line status shown by `systemctl --user status`.
// A newline would start a new assignment, so newlines become spaces.
func Status(s string) error {
	return Notify("STATUS=" + strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}

// Stopping says the daemon is shutting down.
func Stopping() error { return Notify("STOPPING=1") }

// Reloading says the daemon has begun reloading its configuration; send
// Ready when done. MONOTONIC_USEC lets systemd 253 and later (Type=
// notify-reload) tell this reload from an earlier one; systemd 252 ignores
// the field.
func Reloading() error {
	usec, ok := monotonicUsec()
	if !ok {
		return Notify("RELOADING=1")
	}
	return Notify("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatUint(usec, 10))
}

// Watchdog is the keep-alive ping; see WatchdogInterval for how often.
func Watchdog() error { return Notify("WATCHDOG=1") }

// WatchdogInterval reports the WatchdogSec= of the unit, from
// $WATCHDOG_USEC, when the watchdog is meant for this process: when
// $WATCHDOG_PID is unset or names it (sd_watchdog_enabled(3)). Ping at
// half of it.
func WatchdogInterval() (time.Duration, bool) {
	s := os.Getenv("WATCHDOG_USEC")
	if s == "" {
		return 0, false
	}
	usec, err := strconv.ParseUint(s, 10, 64)
	if err != nil || usec == 0 || usec > uint64(maxDuration/time.Microsecond) {
		return 0, false
	}
	if p := os.Getenv("WATCHDOG_PID"); p != "" {
		pid, err := strconv.Atoi(p)
		if err != nil || pid != os.Getpid() {
			return 0, false
		}
	}
	return time.Duration(usec) * time.Microsecond, true
}

const maxDuration = time.Duration(1<<63 - 1)

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
