package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// peerKeywords are what the imapfilter config searches for, in the subject
// and in the body: a user's plausible hand-written filter for invitations.
var peerKeywords = []string{"interview", "Vorstellungsgespräch", "entretien", "entrevista", "quick chat", "your availability"}

// peerResult is one imapfilter run.
type peerResult struct {
	elapsed time.Duration
	matched int
	peakRSS int64 // bytes, VmHWM (see watchPeakRSS)
	cpu     time.Duration
	// dovecotCPU is Dovecot's during the run (set by the caller).
	dovecotCPU time.Duration
}

// imapfilterConfig is a read-only imapfilter config: it searches the
// mailbox (server-side SEARCH SUBJECT / BODY, as contain_subject and
// contain_body do) within the since window and prints how many matched.
func imapfilterConfig(host string, port int, user, password, mailbox string, sinceDays int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "options.timeout = 600\noptions.info = false\noptions.create = false\n")
	fmt.Fprintf(&b, "options.subscribe = false\noptions.starttls = false\noptions.charset = 'UTF-8'\n")
	fmt.Fprintf(&b, "local account = IMAP { server = %s, port = %d, username = %s, password = %s }\n",
		luaString(host), port, luaString(user), luaString(password))
	fmt.Fprintf(&b, "local box = account[%s]\n", luaString(mailbox))
	fmt.Fprintf(&b, "local recent = box:is_newer(%d)\n", sinceDays)
	b.WriteString("local hits = ")
	for i, k := range peerKeywords {
		if i > 0 {
			b.WriteString(" + ")
		}
		fmt.Fprintf(&b, "box:contain_subject(%s) + box:contain_body(%s)", luaString(k), luaString(k))
	}
	b.WriteString("\nlocal invitations = recent * hits\n")
	b.WriteString("print('imapbench-matched ' .. #invitations)\n")
	return b.String()
}

func luaString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`)
	return "'" + r.Replace(s) + "'"
}

var matchedRE = regexp.MustCompile(`imapbench-matched (\d+)`)

// runImapfilter runs imapfilter on config with HOME in dir and returns its
// time, its peak RSS (watchPeakRSS) and CPU time (wait4), and the count it
// printed.
func runImapfilter(ctx context.Context, bin, dir, config string) (peerResult, error) {
	var res peerResult
	cfg := filepath.Join(dir, "config.lua")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		return res, err
	}
	cmd := exec.CommandContext(ctx, bin, "-c", cfg)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("imapfilter: %w", err)
	}
	res.peakRSS = watchPeakRSS(cmd.Process.Pid)
	err := cmd.Wait()
	res.elapsed = time.Since(t0)
	if err != nil {
		return res, fmt.Errorf("imapfilter: %w\n%s", err, out.Bytes())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.cpu = tv(ru.Utime) + tv(ru.Stime)
	}
	m := matchedRE.FindSubmatch(out.Bytes())
	if m == nil {
		return res, fmt.Errorf("imapfilter printed no count:\n%s", out.Bytes())
	}
	res.matched, _ = strconv.Atoi(string(m[1]))
	return res, nil
}

// watchPeakRSS reads pid's VmHWM every 20 ms until the process is gone
// and returns the last value read, in bytes. wait4's ru_maxrss cannot be
// used: os/exec starts a child with vfork, and Linux counts the memory of
// the parent (this benchmark, hundreds of megabytes of mail at times) that
// the child shared until its exec.
func watchPeakRSS(pid int) int64 {
	var peak int64
	for {
		b, err := procStatusKB(pid, "VmHWM") // in bytes
		if err != nil || b == 0 {
			return peak // gone, or a zombie
		}
		peak = b
		time.Sleep(20 * time.Millisecond)
	}
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

// selfCPU is this process's user and system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

// threadCPU is the calling thread's user and system CPU time so far
// (RUSAGE_THREAD, Linux); the goroutine must be locked to its thread.
func threadCPU() time.Duration {
	const rusageThread = 1
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return tv(ru.Utime) + tv(ru.Stime)
}
