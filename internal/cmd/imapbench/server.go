package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/internal/testserver/dovecot"
)

// The two mail users: one for the latency samples, one for the backfill.
const (
	latencyUser = "latency"
	bulkUser    = "bulk"
	password    = "imapbench-password"
)

type server struct {
	*dovecot.Server
	stop    func() error
	version string
}

func startDovecot() (*server, error) {
	s, stop, err := dovecot.StartServer(dovecot.Options{Users: []dovecot.User{
		{Name: latencyUser, Password: password}, {Name: bulkUser, Password: password},
	}})
	if err != nil {
		return nil, err
	}
	srv := &server{Server: s, stop: stop}
	if _, err := s.RunDoveadm(nil, "mailbox", "status", "-u", latencyUser, "messages", "INBOX"); err != nil {
		stop()
		return nil, fmt.Errorf("dovecot is not answering doveadm: %w", err)
	}
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		bin = "/usr/sbin/dovecot" // not in a normal user's PATH on Debian
	}
	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		srv.version = strings.TrimSpace(string(out))
	}
	return srv, nil
}

// save delivers raw into the user's mailbox with `doveadm save`, like mail
// arriving.
func (s *server) save(user, mailbox string, raw []byte) error {
	cmd := s.DoveadmCommand("save", "-u", user, "-m", mailbox)
	cmd.Stdin = bytes.NewReader(raw)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("doveadm save: %w: %s", err, out)
	}
	return nil
}

// status returns the mailbox's STATUS items (e.g. "messages", "uidnext").
func (s *server) status(user, mailbox string, items ...string) (map[string]uint32, error) {
	out, err := s.RunDoveadm(nil, "-f", "flow", "mailbox", "status", "-u", user, strings.Join(items, " "), mailbox)
	if err != nil {
		return nil, err
	}
	m := map[string]uint32{}
	for _, f := range strings.Fields(string(out)) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			m[k] = uint32(n)
		}
	}
	for _, it := range items {
		if _, ok := m[it]; !ok {
			return nil, fmt.Errorf("doveadm mailbox status %s %s: no %s in %q", user, mailbox, it, out)
		}
	}
	return m, nil
}

// withKeyword counts the mailbox's messages with the keyword.
func (s *server) withKeyword(user, mailbox, keyword string) (int, error) {
	out, err := s.RunDoveadm(nil, "search", "-u", user, "mailbox", mailbox, "keyword", keyword)
	if err != nil {
		return 0, err
	}
	return len(strings.Fields(string(out))) / 2, nil // "<mailbox-guid> <uid>" per message
}

// maildir returns the user's INBOX Maildir and the uid and gid that own
// it (Dovecot's mail processes read it as that user).
func (s *server) maildir(user string) (dir string, uid, gid int, err error) {
	// Any access creates the Maildir.
	if _, err := s.status(user, "INBOX", "messages"); err != nil {
		return "", 0, 0, err
	}
	dir = filepath.Join(s.Dir, "home", user, "Maildir")
	fi, err := os.Stat(filepath.Join(dir, "new"))
	if err != nil {
		return "", 0, 0, fmt.Errorf("the Maildir of %s is not where the harness puts it: %w", user, err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return dir, int(st.Uid), int(st.Gid), nil
}

// writeConfig writes an rsvp config for one account on the server and
// returns its path; the password goes into a 0600 password_file.
func writeConfig(dir, account, user string, s *server) (string, *config.Config, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		return "", nil, err
	}
	host, port, _ := strings.Cut(s.Addr, ":")
	y := fmt.Sprintf(`me:
  name: Alex Morgan
  addresses: [alex.morgan@example.net, alex@morgan.example]
  time_zone: Europe/London
accounts:
  - name: %s
    address: alex.morgan@example.net
    host: %s
    port: %s
    security: plain
    username: %s
    password_file: %s
    since: %dd
`, account, host, port, user, pw, sinceDays)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		return "", nil, err
	}
	cfg, err := config.Parse(path, []byte(y))
	if err != nil {
		return "", nil, fmt.Errorf("rsvp config: %w", err)
	}
	return path, cfg, nil
}
