package sdnotify

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// With NotifyAccess=main, systemd takes a message only when the sender
// credentials the kernel attaches (SO_PASSCRED) name the main PID: the
// datagram must come from this process, not from a helper it starts.
func TestTheDatagramCarriesThisProcessCredentials(t *testing.T) {
	conn := fakeManager(t, filepath.Join(t.TempDir(), "notify"))
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1)
	}); err != nil || serr != nil {
		t.Fatalf("SO_PASSCRED: %v %v", err, serr)
	}
	if err := Watchdog(); err != nil {
		t.Fatalf("Watchdog: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf, oob := make([]byte, 64), make([]byte, syscall.CmsgSpace(syscall.SizeofUcred))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if got := string(buf[:n]); got != "WATCHDOG=1" {
		t.Fatalf("datagram = %q, want WATCHDOG=1", got)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages = %v, %v; want one with credentials", msgs, err)
	}
	cred, err := syscall.ParseUnixCredentials(&msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if int(cred.Pid) != os.Getpid() || int(cred.Uid) != os.Getuid() {
		t.Fatalf("sender pid %d uid %d, want this process: pid %d uid %d", cred.Pid, cred.Uid, os.Getpid(), os.Getuid())
	}
}
