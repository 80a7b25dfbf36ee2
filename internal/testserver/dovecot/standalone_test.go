package dovecot

import (
	"os"
	"strings"
	"testing"
)

func TestStartServerRunsOutsideATestAndStopCleansUp(t *testing.T) {
	if _, err := lookPath("dovecot"); err != nil && os.Getenv("CI") != "true" {
		t.Skip("dovecot not installed; install it with: " + InstallHint)
	}
	s, stop, err := StartServer(Options{})
	if err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	raw := "From: a@example.com\r\nSubject: hello\r\nMessage-ID: <standalone@example.com>\r\n\r\nhi\r\n"
	if _, err := s.RunDoveadm([]byte(raw), "save", "-u", s.User, "-m", "INBOX"); err != nil {
		t.Fatalf("RunDoveadm save: %v", err)
	}
	out, err := s.DoveadmCommand("mailbox", "status", "-u", s.User, "messages", "INBOX").Output()
	if err != nil || !strings.Contains(string(out), "messages=1") {
		t.Fatalf("DoveadmCommand mailbox status = %q, %v; want messages=1", out, err)
	}
	if msgs := s.Messages(t, s.User, "INBOX"); len(msgs) != 1 || msgs[0].MessageID != "<standalone@example.com>" {
		t.Fatalf("Messages = %+v, want the one saved", msgs)
	}
	stopped = true
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if s.Running() {
		t.Error("dovecot still running after stop")
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("server directory %s still there after stop (%v)", s.Dir, err)
	}
}

func TestStartServerReportsABadOptionAsAnError(t *testing.T) {
	if _, err := lookPath("dovecot"); err != nil {
		t.Skip("dovecot not installed")
	}
	s, stop, err := StartServer(Options{Users: []User{{Name: "bad:name", Password: "x"}}})
	if err == nil {
		stop()
		t.Fatalf("StartServer with a bad user = %v, nil; want an error", s)
	}
	if !strings.Contains(err.Error(), "bad test user") {
		t.Errorf("StartServer error = %v, want it to name the bad user", err)
	}
}
