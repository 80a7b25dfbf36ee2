//go:build !linux

package sdnotify

// monotonicUsec has no CLOCK_MONOTONIC to read outside Linux, where no
// systemd listens either: Reloading then sends RELOADING=1 alone.
func monotonicUsec() (uint64, bool) { return 0, false }
