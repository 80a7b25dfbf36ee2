package dovecot

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestGroupCPUCountsMembersAndReapedChildren: a group leader that runs a
// busy child, reaps it and sleeps has used next to nothing itself; the
// child's CPU counts through the leader's reaped-children time. A busy
// member counts through its own.
func TestGroupCPUCountsMembersAndReapedChildren(t *testing.T) {
	const burn = `i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done`
	cmd := exec.Command("sh", "-c", "sh -c '"+burn+"'; echo reaped; sleep 30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	if _, err := out.Read(make([]byte, 16)); err != nil { // "reaped": the child is done and waited for
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	var f []string
	eachInGroup(pid, func(p int, fields []string) {
		if p == pid {
			f = fields
		}
	})
	if f == nil {
		t.Fatal("no /proc/pid/stat for the leader")
	}
	own := ticksAt(t, f, 11) + ticksAt(t, f, 12)
	reaped := ticksAt(t, f, 13) + ticksAt(t, f, 14)
	got := groupCPU(pid)
	if reaped < 5 { // 50 ms: the loop takes ~0.25 s
		t.Fatalf("the leader's reaped children used %d ticks; the busy child should have used more", reaped)
	}
	if want := time.Duration(own+reaped) * time.Second / clockTicks; got < want {
		t.Errorf("groupCPU = %v, want at least the leader's own and reaped children's %v", got, want)
	}
	if other := groupCPU(pid + 1<<20); other != 0 {
		t.Errorf("groupCPU of a group that does not exist = %v, want 0", other)
	}

	busy := exec.Command("sh", "-c", "while :; do :; done")
	busy.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := busy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Process.Kill(); busy.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for groupCPU(busy.Process.Pid) < 100*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("a busy process counted %v after 10 s", groupCPU(busy.Process.Pid))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ticksAt(t *testing.T, f []string, i int) int64 {
	t.Helper()
	var n int64
	for _, c := range f[i] {
		if c < '0' || c > '9' {
			t.Fatalf("field %d of /proc/pid/stat is %q", i, f[i])
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// TestGroupCPUNeverGoesBack: while the leader starts and reaps one short
// busy child after another, as Dovecot's master does with imap processes,
// no reading is lower than the one before it. A reading that raced with a
// reap used to miss that child's time, or count it twice and drop back
// with the next reading.
func TestGroupCPUNeverGoesBack(t *testing.T) {
	const burn = `i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done`
	cmd := exec.Command("sh", "-c", "while :; do sh -c '"+burn+"'; done")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	pid := cmd.Process.Pid
	prev := groupCPU(pid)
	for i := range 3000 {
		got := groupCPU(pid)
		if got < prev {
			t.Fatalf("reading %d: groupCPU went back from %v to %v", i, prev, got)
		}
		prev = got
	}
	if prev == 0 {
		t.Fatal("the busy children counted nothing")
	}
}
