package e2e

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/internal/testserver/dovecot"
)

// notifySocket is a fake systemd: it collects what rsvp sends to
// $NOTIFY_SOCKET.
type notifySocket struct {
	path string
	mu   sync.Mutex
	got  []string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "rsvp-notify-") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	n := &notifySocket{path: filepath.Join(dir, "notify")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.got = append(n.got, string(buf[:k]))
			n.mu.Unlock()
		}
	}()
	return n
}

func (n *notifySocket) messages() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.got...)
}

func (n *notifySocket) count(prefix string) int {
	c := 0
	for _, m := range n.messages() {
		if strings.HasPrefix(m, prefix) {
			c++
		}
	}
	return c
}

// TestServiceNotifyAndReload is issue 7's check of the service contract:
// READY=1, STATUS= and watchdog pings on a fake NOTIFY_SOCKET; SIGHUP
// applies a new rule to the next message; a broken config on SIGHUP is
// refused with every error logged and the old one kept; SIGTERM says
// STOPPING=1. It also checks the --debug trace never holds the password.
func TestServiceNotifyAndReload(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	mails := corpus(t)
	var lookalike, invite mail
	for _, m := range mails {
		switch {
		case m.name == "dev-01.eml":
			lookalike = m // a colleague asking Alex to review a take-home exercise
		case m.invite && invite.raw == nil:
			invite = m
		}
	}
	if !bytes.Contains(lookalike.raw, []byte("take-home")) {
		t.Fatal("dev-01.eml no longer mentions a take-home exercise; pick another look-alike")
	}
	e := newEnv(t, s, "ask:\n  via: terminal\n")
	cfgPath := filepath.Join(e.home, "config", "rsvp", "config.yaml")
	base, _ := os.ReadFile(cfgPath)

	sock := newNotifySocket(t)
	e.vars = append(e.vars, "NOTIFY_SOCKET="+sock.path, "WATCHDOG_USEC=400000", "JOURNAL_STREAM=8:12345")
	s.Deliver(t, s.User, "INBOX", lookalike.raw)
	s.Deliver(t, s.User, "INBOX", invite.raw)

	d := e.startArgs("run", "--debug")
	waitFor(t, "READY=1", 30*time.Second, func() bool { return sock.count("READY=1") == 1 })
	waitFor(t, "a STATUS line", 10*time.Second, func() bool { return sock.count("STATUS=1 account, ") > 0 })
	waitFor(t, "the invitation", 30*time.Second, func() bool { return len(e.history()) == 1 })
	waitFor(t, "watchdog pings", 10*time.Second, func() bool { return sock.count("WATCHDOG=1") >= 3 })
	waitFor(t, "the status to count the invitation", 10*time.Second, func() bool {
		return strings.Contains(strings.Join(sock.messages(), "\n"), "STATUS=1 account, 1 invitation waiting")
	})

	// A new rule by SIGHUP: the next look-alike is an invitation.
	rule := "detect:\n  rules:\n    - name: TAKE_HOME\n      keywords: [take-home]\n      score: 30\n"
	os.WriteFile(cfgPath, append(append([]byte{}, base...), rule...), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload", 10*time.Second, func() bool { return strings.Contains(d.log(), "config reloaded") })
	waitFor(t, "READY=1 after RELOADING=1", 10*time.Second, func() bool { return sock.count("RELOADING=1") == 1 && sock.count("READY=1") == 2 })
	s.Deliver(t, s.User, "INBOX", withMessageID(lookalike.raw, "again-1"))
	waitFor(t, "the look-alike found by the new rule", 30*time.Second, func() bool { return len(e.history()) == 2 })

	// A broken config: every error logged, the running one kept.
	os.WriteFile(cfgPath, append(append([]byte{}, base...), "detect:\n  threshold: high\n  rules:\n    - name: X\n"...), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the refusal", 10*time.Second, func() bool { return strings.Contains(d.log(), "the running config stays in force") })
	log := d.log()
	for _, want := range []string{"config.yaml:", "detect.threshold", "a rule needs"} {
		if !strings.Contains(log, want) {
			t.Errorf("the refused reload does not log %q", want)
		}
	}
	s.Deliver(t, s.User, "INBOX", withMessageID(lookalike.raw, "again-2"))
	waitFor(t, "the old rule still in force", 30*time.Second, func() bool { return len(e.history()) == 3 })

	d.cmd.Process.Signal(syscall.SIGTERM)
	<-d.done
	if sock.count("STOPPING=1") != 1 {
		t.Errorf("no STOPPING=1 on SIGTERM: %q", sock.messages())
	}
	log = d.log()
	if strings.Contains(log, s.Password) {
		t.Error("the --debug output holds the password")
	}
	if !strings.Contains(log, "LOGIN") || !strings.Contains(log, "UID FETCH") {
		t.Error("the --debug output has no protocol trace")
	}
	// Under journald (JOURNAL_STREAM set) lines carry no timestamp of their own.
	if strings.Contains(log, "time=") {
		t.Error("log lines carry time= under journald")
	}
}

func withMessageID(raw []byte, prefix string) []byte {
	return bytes.Replace(raw, []byte("Message-ID: <"), []byte("Message-ID: <"+prefix+"."), 1)
}
