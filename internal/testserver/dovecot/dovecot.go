// Package dovecot starts a real Dovecot IMAP server for integration tests.
//
// Start writes a throwaway configuration into a private temporary directory,
// picks free loopback ports, runs `dovecot -F -c CONF` as a child process in
// its own process group and stops it (and every process it started) when the
// test ends. Mail is seeded the way it arrives, with `doveadm save`, and
// inspected with `doveadm fetch`, so assertions never go through the IMAP
// code under test.
//
// Dovecot comes from Debian's dovecot-imapd package (which pulls in
// dovecot-core, the only extra package needed):
//
//	apt-get install -y dovecot-imapd
//
// When the dovecot binary is missing, Start skips the test, or fails it when
// CI=true is set in the environment.
//
// The harness works as root and as a normal user:
//
//   - As root, Dovecot refuses to run its login and mail processes as root, so
//     the configuration uses the package's unprivileged users
//     (default_login_user = dovenull, default_internal_user = dovecot, with
//     "nobody" as a fallback for both) and the test mail users get the uid and
//     gid of "nobody". The temporary directory is made world-searchable and the
//     mail directory is owned by "nobody".
//   - As a normal user, Dovecot cannot change users at all, so every process
//     runs as the current user: default_login_user = default_internal_user =
//     current user, the mail users get the current uid and gid, and the login
//     and anvil processes do not chroot.
package dovecot

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InstallHint is the command that installs Dovecot on Debian and Ubuntu.
const InstallHint = "apt-get install -y dovecot-imapd"

// Default credentials of the first test user (Server.User, Server.Password).
const (
	DefaultUser     = "rsvp"
	DefaultPassword = "rsvp-test-password"
)

// Greeting is the text of Dovecot's IMAP greeting in the test configuration.
const Greeting = "rsvp test dovecot ready."

// User is a test account. Names and passwords must not contain ':', spaces
// or control characters (they go into a passwd-file).
type User struct {
	Name     string
	Password string
}

// Options configures a test server. The zero value gives a plain IMAP
// listener on loopback, one user (DefaultUser / DefaultPassword) and a Drafts
// mailbox with the \Drafts special-use attribute.
type Options struct {
	// Users are the accounts. Empty means one user, DefaultUser with
	// DefaultPassword. Server.User and Server.Password are the first one.
	Users []User

	// TLS adds a second listener with implicit TLS (Server.TLSAddr) and
	// offers STARTTLS on the plain listener. The certificate is signed by a
	// throwaway CA generated for this server (Server.CAFile, Server.CAPEM)
	// and is valid for 127.0.0.1, ::1 and localhost.
	TLS bool

	// NoDrafts leaves out the Drafts mailbox and its \Drafts special-use
	// attribute (for the "no Drafts mailbox" fault test). A mailbox called
	// Drafts can still be made with CreateMailbox: it then has no \Drafts
	// attribute, like on servers without SPECIAL-USE.
	NoDrafts bool

	// RefuseKeywords names mailboxes (e.g. "INBOX") where the server refuses
	// keywords: an ACL without the "w" right, so SELECT answers
	// PERMANENTFLAGS (\Deleted \Seen) with no \* and STORE of any other flag
	// or keyword succeeds without changing anything (RFC 3501 behaviour for
	// non-permanent flags). Dovecot has no plain setting that only turns off
	// keywords; the ACL also drops \Answered, \Flagged and \Draft.
	RefuseKeywords []string

	// IdleNotifyInterval is imap_idle_notify_interval: how often Dovecot
	// sends "* OK Still here" during IDLE. Zero means 5 seconds.
	IdleNotifyInterval time.Duration

	// ExtraConfig is appended verbatim to dovecot.conf.
	ExtraConfig string
}

// Server is a running Dovecot.
type Server struct {
	// Addr is host:port of the plain IMAP listener (STARTTLS is offered
	// there when Options.TLS is set).
	Addr string
	// TLSAddr is host:port of the implicit-TLS listener; empty without TLS.
	TLSAddr string
	// CAFile is the PEM file of the CA that signed the server certificate;
	// empty without TLS. CAPEM holds the same bytes.
	CAFile string
	CAPEM  []byte

	// User and Password are the first test user's credentials.
	User     string
	Password string
	// Users are all test users.
	Users []User

	// Dir is the server's private directory, ConfigPath its dovecot.conf and
	// LogPath the file Dovecot logs to.
	Dir        string
	ConfigPath string
	LogPath    string

	doveadm string
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd.Wait returns
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// mode is what differs between running as root and as a normal user.
type mode struct {
	root         bool
	internalUser string // default_internal_user
	internalGrp  string // default_internal_group
	loginUser    string // default_login_user
	mailUID      int    // uid and gid of the mail users (passwd-file)
	mailGID      int
}

// lookPath finds a Dovecot binary, also in the sbin directories that are not
// in a normal user's PATH on Debian. It is a variable for tests.
var lookPath = func(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// Start starts Dovecot for the test and stops it on t.Cleanup. It skips the
// test when Dovecot is not installed, or fails it when CI=true.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	dovecotBin, err1 := lookPath("dovecot")
	doveadmBin, err2 := lookPath("doveadm")
	if err1 != nil || err2 != nil {
		msg := "dovecot (and doveadm) not found; install it with: " + InstallHint +
			" (with sudo when not root)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		} else {
			t.Skip(msg)
		}
		return nil
	}

	users := opts.Users
	if len(users) == 0 {
		users = []User{{Name: DefaultUser, Password: DefaultPassword}}
	}
	for _, u := range users {
		if u.Name == "" || u.Password == "" || strings.ContainsAny(u.Name+u.Password, ": \t\r\n\"\\") {
			t.Fatalf("dovecot: bad test user %q: names and passwords must be non-empty and free of ':', spaces, quotes and backslashes", u.Name)
		}
	}
	for _, mb := range opts.RefuseKeywords {
		if mb == "" || strings.ContainsAny(mb, " \t\r\n*%") {
			t.Fatalf("dovecot: bad RefuseKeywords mailbox %q", mb)
		}
	}

	m, err := detectMode()
	if err != nil {
		t.Fatalf("dovecot: %v", err)
	}

	dir, err := makeDir()
	if err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	// Registered first so that it runs last, after the server has stopped.
	t.Cleanup(func() { os.RemoveAll(dir) })

	s := &Server{
		User:       users[0].Name,
		Password:   users[0].Password,
		Users:      users,
		Dir:        dir,
		ConfigPath: filepath.Join(dir, "dovecot.conf"),
		LogPath:    filepath.Join(dir, "dovecot.log"),
		doveadm:    doveadmBin,
	}
	if err := s.prepare(m, opts); err != nil {
		t.Fatalf("dovecot: %v", err)
	}

	// A free port can be taken by someone else between picking it and
	// Dovecot binding it: retry with new ports when that happens.
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			t.Fatalf("dovecot: %v", err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		s.TLSAddr = ""
		tlsPort := 0
		if opts.TLS {
			tlsPort = ports[1]
			s.TLSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort))
		}
		conf := renderConfig(configParams{
			Dir:                dir,
			Mode:               m,
			Port:               ports[0],
			TLSPort:            tlsPort,
			TLS:                opts.TLS,
			Drafts:             !opts.NoDrafts,
			RefuseKeywords:     opts.RefuseKeywords,
			IdleNotifyInterval: opts.IdleNotifyInterval,
			Extra:              opts.ExtraConfig,
		})
		if err := os.WriteFile(s.ConfigPath, []byte(conf), 0o644); err != nil {
			t.Fatalf("dovecot: %v", err)
		}
		os.Remove(s.LogPath)

		lastErr = s.start(dovecotBin)
		if lastErr == nil {
			t.Cleanup(func() {
				if err := s.Stop(); err != nil {
					t.Errorf("dovecot: stop: %v", err)
				}
				if t.Failed() {
					t.Logf("dovecot log (%s):\n%s", s.LogPath, tail(s.Log(), 60))
				}
			})
			return s
		}
		if !strings.Contains(lastErr.Error()+s.Log(), "Address already in use") {
			break
		}
	}
	t.Fatalf("dovecot: start: %v\nconfig %s\nlog:\n%s", lastErr, s.ConfigPath, tail(s.Log(), 60))
	return nil
}

// detectMode decides how Dovecot runs: as root with the package's
// unprivileged users, or entirely as the current user.
func detectMode() (mode, error) {
	if os.Geteuid() == 0 {
		m := mode{root: true}
		m.internalUser = firstUser("dovecot", "nobody")
		m.loginUser = firstUser("dovenull", "nobody")
		if m.internalUser == "" || m.loginUser == "" {
			return m, errors.New(`running as root needs an unprivileged user for Dovecot's processes: none of "dovecot", "dovenull", "nobody" exists`)
		}
		u, _ := user.Lookup(m.internalUser)
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			return m, fmt.Errorf("group of user %s: %v", m.internalUser, err)
		}
		m.internalGrp = g.Name
		nobody, err := user.Lookup("nobody")
		if err != nil {
			return m, fmt.Errorf(`running as root needs the user "nobody" to own the test mail: %v`, err)
		}
		m.mailUID, _ = strconv.Atoi(nobody.Uid)
		m.mailGID, _ = strconv.Atoi(nobody.Gid)
		return m, nil
	}
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	if err != nil {
		return mode{}, fmt.Errorf("uid %d has no name in the user database; Dovecot needs one for default_internal_user: %v", os.Getuid(), err)
	}
	g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	if err != nil {
		return mode{}, fmt.Errorf("gid %d has no name in the group database; Dovecot needs one for default_internal_group: %v", os.Getgid(), err)
	}
	return mode{
		internalUser: u.Username,
		internalGrp:  g.Name,
		loginUser:    u.Username,
		mailUID:      os.Getuid(),
		mailGID:      os.Getgid(),
	}, nil
}

func firstUser(names ...string) string {
	for _, n := range names {
		if _, err := user.Lookup(n); err == nil {
			return n
		}
	}
	return ""
}

// makeDir makes the server's private directory. It is not t.TempDir():
// Dovecot's unix sockets live under base_dir and a socket path is limited to
// 107 bytes, which long test names would exceed; and as root the directory
// must be reachable by the unprivileged users, which t.TempDir's 0700 parent
// is not.
func makeDir() (string, error) {
	parent := os.TempDir()
	if len(parent) > 40 || strings.ContainsAny(parent, " \t\"#") {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "dovecot-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// prepare writes everything but dovecot.conf: users, mail home, ACL, TLS
// certificate.
func (s *Server) prepare(m mode, opts Options) error {
	for _, d := range []string{"run", "state", "home"} {
		if err := os.Mkdir(filepath.Join(s.Dir, d), 0o755); err != nil {
			return err
		}
	}
	home := filepath.Join(s.Dir, "home")
	if m.root {
		if err := os.Chown(home, m.mailUID, m.mailGID); err != nil {
			return err
		}
	}
	var pw strings.Builder
	for _, u := range s.Users {
		// user:password:uid:gid:gecos:home:shell:extra
		fmt.Fprintf(&pw, "%s:{PLAIN}%s:%d:%d::%s::\n", u.Name, u.Password, m.mailUID, m.mailGID, filepath.Join(home, u.Name))
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "users"), []byte(pw.String()), 0o644); err != nil {
		return err
	}
	if len(opts.RefuseKeywords) > 0 {
		var acl strings.Builder
		for _, mb := range opts.RefuseKeywords {
			// All rights but "w": no flags other than \Seen and \Deleted,
			// no keywords.
			fmt.Fprintf(&acl, "%s owner lrsitekxa\n", mb)
		}
		if err := os.WriteFile(filepath.Join(s.Dir, "global-acl"), []byte(acl.String()), 0o644); err != nil {
			return err
		}
	}
	if opts.TLS {
		caPEM, certPEM, keyPEM, err := makeCert()
		if err != nil {
			return fmt.Errorf("generating TLS certificate: %v", err)
		}
		s.CAPEM = caPEM
		s.CAFile = filepath.Join(s.Dir, "ca.pem")
		for name, data := range map[string][]byte{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM} {
			if err := os.WriteFile(filepath.Join(s.Dir, name), data, 0o600); err != nil {
				return err
			}
		}
		// The CA is public: let tests running as another user read it.
		os.Chmod(s.CAFile, 0o644)
	}
	return nil
}

type configParams struct {
	Dir                string
	Mode               mode
	Port, TLSPort      int
	TLS                bool
	Drafts             bool
	RefuseKeywords     []string
	IdleNotifyInterval time.Duration
	Extra              string
}

// renderConfig writes a complete dovecot.conf that reads nothing from
// /etc/dovecot.
func renderConfig(p configParams) string {
	idle := p.IdleNotifyInterval
	if idle <= 0 {
		idle = 5 * time.Second
	}
	idleSecs := int((idle + time.Second - 1) / time.Second)
	path := func(name string) string { return filepath.Join(p.Dir, name) }

	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Throwaway configuration written by internal/testserver/dovecot.")
	w("base_dir = %s", path("run"))
	w("state_dir = %s", path("state"))
	w("instance_name = rsvp-test")
	w("protocols = imap")
	w("listen = 127.0.0.1")
	w("shutdown_clients = yes")
	w("log_path = %s", path("dovecot.log"))
	w("info_log_path = %s", path("dovecot.log"))
	w("debug_log_path = %s", path("dovecot.log"))
	w("auth_verbose = yes")
	w("login_greeting = %s", Greeting)
	if p.Mode.root {
		w("# Running as root: Dovecot's processes run as unprivileged users.")
	} else {
		w("# Running as a normal user: every process runs as that user.")
	}
	w("default_internal_user = %s", p.Mode.internalUser)
	w("default_internal_group = %s", p.Mode.internalGrp)
	w("default_login_user = %s", p.Mode.loginUser)
	w("first_valid_uid = 1")
	w("first_valid_gid = 0")
	w("")
	w("disable_plaintext_auth = no")
	w("auth_mechanisms = plain login")
	w("# Fail wrong passwords at once instead of after 2 seconds.")
	w("auth_failure_delay = 0")
	w("passdb {")
	w("  driver = passwd-file")
	w("  args = scheme=PLAIN username_format=%%u %s", path("users"))
	w("}")
	w("userdb {")
	w("  driver = passwd-file")
	w("  args = username_format=%%u %s", path("users"))
	w("}")
	w("")
	w("mail_location = maildir:~/Maildir")
	w("mail_fsync = never")
	w("mailbox_idle_check_interval = 1 secs")
	w("namespace inbox {")
	w("  inbox = yes")
	if p.Drafts {
		w("  mailbox Drafts {")
		w("    special_use = \\Drafts")
		w("    auto = subscribe")
		w("  }")
	}
	w("}")
	if len(p.RefuseKeywords) > 0 {
		w("mail_plugins = $mail_plugins acl")
		w("plugin {")
		w("  acl = vfile:%s", path("global-acl"))
		w("  acl_globals_only = yes")
		w("}")
	}
	w("")
	if p.TLS {
		w("ssl = yes")
		w("ssl_cert = <%s", path("cert.pem"))
		w("ssl_key = <%s", path("key.pem"))
	} else {
		w("ssl = no")
	}
	w("")
	w("service imap-login {")
	w("  inet_listener imap {")
	w("    address = 127.0.0.1")
	w("    port = %d", p.Port)
	w("  }")
	w("  inet_listener imaps {")
	if p.TLS {
		w("    address = 127.0.0.1")
		w("    port = %d", p.TLSPort)
		w("    ssl = yes")
	} else {
		w("    port = 0")
	}
	w("  }")
	if !p.Mode.root {
		w("  chroot =")
	}
	w("}")
	w("service anvil {")
	if !p.Mode.root {
		w("  chroot =")
	}
	w("  # No auth penalty: after a failed login Dovecot would otherwise delay")
	w("  # every later login from 127.0.0.1 by up to 15 seconds.")
	w("  unix_listener anvil-auth-penalty {")
	w("    mode = 0")
	w("  }")
	w("}")
	w("protocol imap {")
	w("  mail_max_userip_connections = 1000")
	w("  imap_idle_notify_interval = %d secs", idleSecs)
	w("}")
	if p.Extra != "" {
		w("")
		w("%s", p.Extra)
	}
	return b.String()
}

// start runs dovecot and waits until the plain listener greets.
func (s *Server) start(bin string) error {
	logf, err := os.OpenFile(filepath.Join(s.Dir, "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-F", "-c", s.ConfigPath)
	cmd.Dir = s.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// If the test binary dies without cleanup, take Dovecot's master
		// with it; its children exit when the master is gone.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-s.done:
			s.stop()
			stderr, _ := os.ReadFile(filepath.Join(s.Dir, "stderr.log"))
			return fmt.Errorf("dovecot exited at start (%v): %s", s.waitErr, bytes.TrimSpace(stderr))
		default:
		}
		err := greet(s.Addr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("no IMAP greeting on %s: %v", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// greet connects, waits for the real greeting and logs out. Dovecot first
// answers "* OK Waiting for authentication process to respond.." while its
// auth process starts; the greeting with the capabilities follows.
func greet(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "* OK") {
			return fmt.Errorf("unexpected greeting %q", line)
		}
		if strings.Contains(line, Greeting) {
			break
		}
	}
	fmt.Fprintf(c, "g LOGOUT\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "g ") {
			return nil
		}
	}
}

// PID is the process id of Dovecot's master process, which is also the id of
// its process group.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Stop kills Dovecot and every process it started (SIGKILL to its process
// group, the way a crashed or unplugged server disappears) and waits until
// they are gone. It is called on t.Cleanup; calling it earlier is fine and
// later calls do nothing. (A SIGTERM to the master takes a second and sends
// clients no BYE either; see Kick for a polite disconnect.)
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

// Kick disconnects every IMAP session of the user (doveadm kick), the way a
// server drops long-lived connections: the client reads
// "* BYE Server shutting down." and the connection closes. The server keeps
// running.
func (s *Server) Kick(t testing.TB, userName string) {
	t.Helper()
	s.Doveadm(t, nil, "kick", userName)
}

func (s *Server) stop() error {
	pgid := s.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-s.done
	// The master's children are reparented when it exits: wait until no
	// live process is left in the group.
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := groupMembers(pgid)
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v of dovecot's group %d are still running", left, pgid)
		}
		syscall.Kill(-pgid, syscall.SIGKILL)
		time.Sleep(10 * time.Millisecond)
	}
}

// groupMembers lists the live (not zombie) processes in process group pgid,
// from /proc.
func groupMembers(pgid int) []int {
	var pids []int
	if !eachInGroup(pgid, func(pid int, f []string) {
		if f[0] != "Z" && f[0] != "X" {
			pids = append(pids, pid)
		}
	}) {
		// No /proc: fall back to asking the kernel about the group.
		if syscall.Kill(-pgid, 0) == nil {
			return []int{-pgid}
		}
		return nil
	}
	return pids
}

// eachInGroup calls fn for every process of group pgid, zombies included,
// with the fields of its /proc/PID/stat after "pid (comm)": state ppid pgrp
// … (proc(5)'s fields from 3 on, so f[0] is field 3). It reports false when
// there is no /proc.
func eachInGroup(pgid int, fn func(pid int, f []string)) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, ok := procStat(pid)
		if !ok {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			fn(pid, f)
		}
	}
	return true
}

// procStat returns the fields of /proc/PID/stat after the command name
// (f[0] is the state, proc(5)'s field 3).
func procStat(pid int) ([]string, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, false
	}
	// comm may contain spaces and parentheses: it ends at the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 15 {
		return nil, false
	}
	return f, true
}

// CPU is the user+system CPU time every process of the server has used so
// far: the master leads their process group, so it is the live (and not
// yet reaped) members' own and the time of the children the master has
// reaped. The difference of two readings is what Dovecot spent between
// them.
func (s *Server) CPU() time.Duration { return groupCPU(s.cmd.Process.Pid) }

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat: 100
// on every Linux architecture Go supports (the kernel's ABI, whatever its
// own HZ).
const clockTicks = 100

func groupCPU(pgid int) time.Duration {
	// A member the leader reaps while the group is read would be missed
	// (gone from /proc when its turn comes, after the leader's reaped
	// time was read) or counted twice (the other way round). An imap
	// process exits right after its client logs out, so a reading taken
	// then can lose a whole fetch's CPU. A reading is kept once the
	// leader's reaped time held still across it.
	var total int64
	for range 100 {
		before, ok := reapedTicks(pgid)
		var own int64
		eachInGroup(pgid, func(pid int, f []string) {
			own += statTicks(f, 11) + statTicks(f, 12) // utime, stime
		})
		after, _ := reapedTicks(pgid)
		total = own + after
		if !ok || before == after {
			break
		}
	}
	return time.Duration(total) * time.Second / clockTicks
}

// reapedTicks is the CPU time of the children the leader pgid has reaped:
// cutime and cstime, proc(5)'s fields 16 and 17.
func reapedTicks(pgid int) (int64, bool) {
	f, ok := procStat(pgid)
	if !ok {
		return 0, false
	}
	return statTicks(f, 13) + statTicks(f, 14), true
}

func statTicks(f []string, i int) int64 {
	n, _ := strconv.ParseInt(f[i], 10, 64)
	return n
}

// Running reports whether any process of the server is still alive.
func (s *Server) Running() bool { return len(groupMembers(s.cmd.Process.Pid)) > 0 }

// Log returns what Dovecot has logged so far.
func (s *Server) Log() string {
	data, _ := os.ReadFile(s.LogPath)
	return string(data)
}

// TLSConfig returns a client configuration that trusts only the server's
// throwaway CA. It is nil without Options.TLS.
func (s *Server) TLSConfig() *tls.Config {
	if s.CAPEM == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CAPEM)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// Doveadm runs `doveadm -c CONF ARGS...` with stdin and returns its standard
// output; a failure ends the test with doveadm's output (doveadm writes its
// errors to the server log, which is included).
func (s *Server) Doveadm(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	out, err := s.doveadmRun(stdin, args...)
	if err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	return out
}

func (s *Server) doveadmRun(stdin []byte, args ...string) ([]byte, error) {
	before := len(s.Log())
	cmd := exec.Command(s.doveadm, append([]string{"-c", s.ConfigPath}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		logged := s.Log()
		if len(logged) >= before {
			logged = logged[before:]
		}
		return nil, fmt.Errorf("doveadm %s: %v\n%s%s", strings.Join(args, " "), err, stderr.Bytes(), logged)
	}
	return stdout.Bytes(), nil
}

// Deliver puts a message into a mailbox the way mail arrives (doveadm save:
// no flags, a new UID), creating the mailbox first when it does not exist.
func (s *Server) Deliver(t testing.TB, userName, mailbox string, raw []byte) {
	t.Helper()
	s.CreateMailbox(t, userName, mailbox)
	s.Doveadm(t, raw, "save", "-u", userName, "-m", mailbox)
}

// CreateMailbox creates and subscribes a mailbox unless it exists.
func (s *Server) CreateMailbox(t testing.TB, userName, mailbox string) {
	t.Helper()
	for _, mb := range s.Mailboxes(t, userName) {
		if mb == mailbox {
			return
		}
	}
	s.Doveadm(t, nil, "mailbox", "create", "-u", userName, "-s", mailbox)
}

// Mailboxes lists the user's mailboxes (INBOX and auto-created Drafts
// included).
func (s *Server) Mailboxes(t testing.TB, userName string) []string {
	t.Helper()
	out := s.Doveadm(t, nil, "mailbox", "list", "-u", userName)
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	return names
}

// Message is one message as doveadm fetch sees it.
type Message struct {
	UID       uint32
	Flags     []string          // system flags and keywords, sorted; \Recent left out
	MessageID string            // the Message-ID header, with angle brackets
	Header    map[string]string // headers asked for in Messages, keyed by lower-case name
}

// HasFlag reports whether the message has the flag or keyword, compared
// case-insensitively like IMAP does.
func (m Message) HasFlag(flag string) bool {
	for _, f := range m.Flags {
		if strings.EqualFold(f, flag) {
			return true
		}
	}
	return false
}

// Messages lists every message in the mailbox, by UID, with its flags, its
// Message-ID and the headers named in headers.
func (s *Server) Messages(t testing.TB, userName, mailbox string, headers ...string) []Message {
	t.Helper()
	fields := []string{"uid", "flags", "hdr.message-id"}
	for _, h := range headers {
		fields = append(fields, "hdr."+strings.ToLower(h))
	}
	out := s.Doveadm(t, nil, "-f", "json", "fetch", "-u", userName, strings.Join(fields, " "), "mailbox", mailbox, "ALL")
	var rows []map[string]string
	if len(bytes.TrimSpace(out)) > 0 {
		if err := json.Unmarshal(out, &rows); err != nil {
			t.Fatalf("dovecot: parsing doveadm fetch output: %v\n%s", err, out)
		}
	}
	msgs := make([]Message, 0, len(rows))
	for _, r := range rows {
		uid, err := strconv.ParseUint(r["uid"], 10, 32)
		if err != nil {
			t.Fatalf("dovecot: bad uid in doveadm fetch output %q", r["uid"])
		}
		m := Message{UID: uint32(uid), MessageID: strings.TrimSpace(r["hdr.message-id"]), Header: map[string]string{}}
		for _, f := range strings.Fields(r["flags"]) {
			if f != `\Recent` {
				m.Flags = append(m.Flags, f)
			}
		}
		sort.Strings(m.Flags)
		for _, h := range headers {
			m.Header[strings.ToLower(h)] = strings.TrimSpace(r["hdr."+strings.ToLower(h)])
		}
		msgs = append(msgs, m)
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
	return msgs
}

// Flags maps each UID in the mailbox to its flags and keywords (sorted,
// without \Recent, which depends on the session).
func (s *Server) Flags(t testing.TB, userName, mailbox string) map[uint32][]string {
	t.Helper()
	flags := map[uint32][]string{}
	for _, m := range s.Messages(t, userName, mailbox) {
		flags[m.UID] = m.Flags
	}
	return flags
}

// Raw returns the full text of the message with the UID.
func (s *Server) Raw(t testing.TB, userName, mailbox string, uid uint32) []byte {
	t.Helper()
	out := s.Doveadm(t, nil, "-f", "json", "fetch", "-u", userName, "text", "mailbox", mailbox, "uid", strconv.FormatUint(uint64(uid), 10))
	var rows []map[string]string
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("dovecot: parsing doveadm fetch output: %v\n%s", err, out)
	}
	if len(rows) != 1 {
		t.Fatalf("dovecot: %s of %s has no UID %d", mailbox, userName, uid)
	}
	return []byte(rows[0]["text"])
}

// Status is a mailbox's STATUS.
type Status struct {
	Messages    uint32
	Unseen      uint32
	UIDNext     uint32
	UIDValidity uint32
}

// Status returns the mailbox's message count, unseen count, UIDNEXT and
// UIDVALIDITY.
func (s *Server) Status(t testing.TB, userName, mailbox string) Status {
	t.Helper()
	out := s.Doveadm(t, nil, "-f", "json", "mailbox", "status", "-u", userName, "messages unseen uidnext uidvalidity", mailbox)
	var rows []map[string]string
	if err := json.Unmarshal(out, &rows); err != nil || len(rows) != 1 {
		t.Fatalf("dovecot: parsing doveadm mailbox status output: %v\n%s", err, out)
	}
	num := func(k string) uint32 {
		n, err := strconv.ParseUint(rows[0][k], 10, 32)
		if err != nil {
			t.Fatalf("dovecot: bad %s in doveadm mailbox status output %q", k, rows[0][k])
		}
		return uint32(n)
	}
	return Status{Messages: num("messages"), Unseen: num("unseen"), UIDNext: num("uidnext"), UIDValidity: num("uidvalidity")}
}

// UIDValidity returns the mailbox's UIDVALIDITY.
func (s *Server) UIDValidity(t testing.TB, userName, mailbox string) uint32 {
	t.Helper()
	return s.Status(t, userName, mailbox).UIDValidity
}

// SetUIDValidity changes the mailbox's UIDVALIDITY (doveadm mailbox update),
// as happens when a server rebuilds a mailbox. Verified for new sessions;
// what a session that has the mailbox selected sees is up to Dovecot.
func (s *Server) SetUIDValidity(t testing.TB, userName, mailbox string, v uint32) {
	t.Helper()
	s.Doveadm(t, nil, "mailbox", "update", "-u", userName, "--uid-validity", strconv.FormatUint(uint64(v), 10), mailbox)
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// makeCert makes a throwaway CA and a server certificate it signs, valid for
// 127.0.0.1, ::1 and localhost.
func makeCert() (caPEM, certPEM, keyPEM []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rsvp test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return caPEM, certPEM, keyPEM, nil
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
