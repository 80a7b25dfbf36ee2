package sdnotify

import (
	"syscall"
	"unsafe"
)

// monotonicUsec reads CLOCK_MONOTONIC, the clock systemd's MONOTONIC_USEC
// is in (Go's time package keeps its monotonic reading to itself).
func monotonicUsec() (uint64, bool) {
	const clockMonotonic = 1 // CLOCK_MONOTONIC, <linux/time.h>
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return uint64(ts.Sec)*1e6 + uint64(ts.Nsec)/1e3, true
}
