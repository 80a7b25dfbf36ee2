package dovecot

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func corpus(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "corpus", name))
	if err != nil {
		t.Fatalf("reading corpus: %v", err)
	}
	return data
}

// client is a minimal IMAP client: one command at a time, no literals.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	n    int
}

func newClient(t *testing.T, conn net.Conn) *client {
	t.Helper()
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	greeting := c.line()
	if !strings.HasPrefix(greeting, "* OK") {
		t.Fatalf("greeting %q", greeting)
	}
	return c
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, conn)
}

func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("reading from IMAP server: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// cmd sends a command and returns the untagged responses and the tagged
// status line; it fails the test unless the status is OK.
func (c *client) cmd(format string, args ...any) (untagged []string, status string) {
	c.t.Helper()
	untagged, status = c.try(format, args...)
	if !strings.HasPrefix(status, "OK") {
		c.t.Fatalf("%s: %s", fmt.Sprintf(format, args...), status)
	}
	return untagged, status
}

func (c *client) try(format string, args ...any) (untagged []string, status string) {
	c.t.Helper()
	c.n++
	tag := "t" + strconv.Itoa(c.n)
	if _, err := fmt.Fprintf(c.conn, "%s %s\r\n", tag, fmt.Sprintf(format, args...)); err != nil {
		c.t.Fatal(err)
	}
	for {
		l := c.line()
		if rest, ok := strings.CutPrefix(l, tag+" "); ok {
			return untagged, rest
		}
		untagged = append(untagged, l)
	}
}

func (c *client) login(user, password string) {
	c.t.Helper()
	c.cmd("LOGIN %s %s", user, password)
}

var (
	reExists      = regexp.MustCompile(`^\* (\d+) EXISTS$`)
	reUIDValidity = regexp.MustCompile(`^\* OK \[UIDVALIDITY (\d+)\]`)
	rePermanent   = regexp.MustCompile(`^\* OK \[PERMANENTFLAGS \(([^)]*)\)\]`)
	reFetch       = regexp.MustCompile(`^\* \d+ FETCH \((?:UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+))\)$`)
)

func find(lines []string, re *regexp.Regexp) []string {
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			return m
		}
	}
	return nil
}

// uidFlags parses UID FETCH 1:* (UID FLAGS) answers, dropping \Recent.
func uidFlags(t *testing.T, lines []string) map[uint32][]string {
	t.Helper()
	flags := map[uint32][]string{}
	for _, l := range lines {
		m := reFetch.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		uidText, flagText := m[1], m[2]
		if uidText == "" {
			uidText, flagText = m[4], m[3]
		}
		uid, _ := strconv.ParseUint(uidText, 10, 32)
		var fs []string
		for _, f := range strings.Fields(flagText) {
			if f != `\Recent` {
				fs = append(fs, f)
			}
		}
		slices.Sort(fs)
		flags[uint32(uid)] = fs
	}
	return flags
}

func equalFlags(a, b map[uint32][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !slices.Equal(v, w) {
			return false
		}
	}
	return true
}

func TestServer(t *testing.T) {
	s := Start(t, Options{TLS: true})
	if s.User != DefaultUser || s.Password != DefaultPassword {
		t.Fatalf("user %q password %q", s.User, s.Password)
	}

	names := []string{"dev-01.eml", "dev-02.eml", "dev-03.eml"}
	var wantIDs []string
	for _, n := range names {
		raw := corpus(t, n)
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		wantIDs = append(wantIDs, msg.Header.Get("Message-Id"))
		s.Deliver(t, s.User, "INBOX", raw)
	}

	t.Run("wrong password", func(t *testing.T) {
		c := dial(t, s.Addr)
		if _, status := c.try("LOGIN %s wrong-password", s.User); !strings.HasPrefix(status, "NO") {
			t.Fatalf("LOGIN with a wrong password: %s", status)
		}
	})

	c := dial(t, s.Addr)
	c.login(s.User, s.Password)

	untagged, _ := c.cmd("SELECT INBOX")
	if m := find(untagged, reExists); m == nil || m[1] != "3" {
		t.Errorf("SELECT INBOX: want 3 EXISTS, got %q", untagged)
	}
	m := find(untagged, reUIDValidity)
	if m == nil {
		t.Fatalf("SELECT INBOX: no UIDVALIDITY in %q", untagged)
	}
	if got := s.UIDValidity(t, s.User, "INBOX"); strconv.FormatUint(uint64(got), 10) != m[1] {
		t.Errorf("UIDValidity helper %d, IMAP %s", got, m[1])
	}
	if p := find(untagged, rePermanent); p == nil || !strings.Contains(p[1], `\*`) {
		t.Errorf("PERMANENTFLAGS should allow keywords: %q", untagged)
	}

	untagged, _ = c.cmd(`LIST "" "*"`)
	var drafts string
	for _, l := range untagged {
		if strings.HasSuffix(l, " Drafts") {
			drafts = l
		}
	}
	if !strings.Contains(drafts, `\Drafts`) {
		t.Errorf("LIST: want Drafts with \\Drafts, got %q", untagged)
	}

	// Change flags over IMAP and compare both views.
	c.cmd(`UID STORE 2 +FLAGS.SILENT ($Interview \Flagged)`)
	c.cmd(`UID STORE 3 +FLAGS.SILENT (\Seen)`)
	untagged, _ = c.cmd("UID FETCH 1:* (UID FLAGS)")
	imapFlags := uidFlags(t, untagged)
	helperFlags := s.Flags(t, s.User, "INBOX")
	if !equalFlags(imapFlags, helperFlags) {
		t.Errorf("Flags helper %v, IMAP %v", helperFlags, imapFlags)
	}
	want := map[uint32][]string{1: nil, 2: {"$Interview", `\Flagged`}, 3: {`\Seen`}}
	if !equalFlags(helperFlags, want) {
		t.Errorf("Flags: got %v, want %v", helperFlags, want)
	}

	msgs := s.Messages(t, s.User, "INBOX", "Subject")
	if len(msgs) != 3 {
		t.Fatalf("Messages: %d, want 3", len(msgs))
	}
	for i, msg := range msgs {
		if msg.UID != uint32(i+1) || msg.MessageID != wantIDs[i] || msg.Header["subject"] == "" {
			t.Errorf("message %d: %+v, want UID %d Message-ID %s", i, msg, i+1, wantIDs[i])
		}
	}
	if !msgs[1].HasFlag("$interview") || msgs[0].HasFlag("$Interview") {
		t.Errorf("HasFlag: %+v", msgs)
	}
	if raw := s.Raw(t, s.User, "INBOX", 1); !bytes.Contains(raw, []byte(wantIDs[0])) {
		t.Errorf("Raw: %q", raw)
	}
	st := s.Status(t, s.User, "INBOX")
	if st.Messages != 3 || st.UIDNext != 4 || st.Unseen != 2 {
		t.Errorf("Status: %+v", st)
	}

	t.Run("deliver creates mailboxes", func(t *testing.T) {
		s.Deliver(t, s.User, "Archive", corpus(t, "dev-04.eml"))
		if mbs := s.Mailboxes(t, s.User); !slices.Contains(mbs, "Archive") {
			t.Fatalf("Mailboxes: %q", mbs)
		}
		s.Deliver(t, s.User, "Archive", corpus(t, "dev-05.eml"))
		if got := len(s.Messages(t, s.User, "Archive")); got != 2 {
			t.Fatalf("Archive has %d messages, want 2", got)
		}
		d := dial(t, s.Addr)
		d.login(s.User, s.Password)
		untagged, _ := d.cmd("STATUS Archive (MESSAGES)")
		if len(untagged) != 1 || !strings.Contains(untagged[0], "MESSAGES 2") {
			t.Fatalf("STATUS Archive: %q", untagged)
		}
	})

	t.Run("UIDVALIDITY change", func(t *testing.T) {
		old := s.UIDValidity(t, s.User, "Archive")
		s.SetUIDValidity(t, s.User, "Archive", old+1000)
		d := dial(t, s.Addr)
		d.login(s.User, s.Password)
		untagged, _ := d.cmd("EXAMINE Archive")
		if m := find(untagged, reUIDValidity); m == nil || m[1] != strconv.FormatUint(uint64(old+1000), 10) {
			t.Fatalf("after SetUIDValidity(%d): %q", old+1000, untagged)
		}
	})

	t.Run("IDLE sees Deliver", func(t *testing.T) {
		s.CreateMailbox(t, s.User, "Watch")
		d := dial(t, s.Addr)
		d.login(s.User, s.Password)
		d.cmd("SELECT Watch")
		fmt.Fprintf(d.conn, "i IDLE\r\n")
		if l := d.line(); !strings.HasPrefix(l, "+") {
			t.Fatalf("IDLE: %q", l)
		}
		start := time.Now()
		s.Deliver(t, s.User, "Watch", corpus(t, "dev-06.eml"))
		d.conn.SetDeadline(time.Now().Add(3 * time.Second))
		for {
			l := d.line()
			if l == "* 1 EXISTS" {
				break
			}
		}
		t.Logf("EXISTS %v after Deliver started", time.Since(start))
		fmt.Fprintf(d.conn, "DONE\r\n")
	})

	t.Run("implicit TLS", func(t *testing.T) {
		if s.TLSAddr == "" || s.CAFile == "" {
			t.Fatalf("TLSAddr %q CAFile %q", s.TLSAddr, s.CAFile)
		}
		// What a client configured with ca_file does.
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatal("CAFile holds no certificate")
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.TLSAddr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err != nil {
			t.Fatalf("TLS with the CA file: %v", err)
		}
		d := newClient(t, conn)
		d.login(s.User, s.Password)
		d.cmd("SELECT INBOX")

		// Without the CA the certificate must not verify.
		_, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.TLSAddr, &tls.Config{ServerName: "127.0.0.1"})
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("TLS without the CA: %v, want an unknown authority error", err)
		}
	})

	t.Run("STARTTLS", func(t *testing.T) {
		d := dial(t, s.Addr)
		untagged, _ := d.cmd("CAPABILITY")
		if len(untagged) == 0 || !strings.Contains(untagged[0], "STARTTLS") {
			t.Fatalf("CAPABILITY: %q", untagged)
		}
		d.cmd("STARTTLS")
		tc := tls.Client(d.conn, s.TLSConfig())
		if err := tc.Handshake(); err != nil {
			t.Fatalf("STARTTLS handshake: %v", err)
		}
		d.conn, d.r = tc, bufio.NewReader(tc)
		d.login(s.User, s.Password)
		d.cmd("EXAMINE INBOX")
	})
}

func TestNoDrafts(t *testing.T) {
	s := Start(t, Options{NoDrafts: true})
	c := dial(t, s.Addr)
	c.login(s.User, s.Password)
	untagged, _ := c.cmd(`LIST "" "*"`)
	for _, l := range untagged {
		if strings.Contains(l, "Drafts") {
			t.Fatalf("LIST: %q", untagged)
		}
	}
	// A Drafts made by hand has no special-use attribute.
	s.CreateMailbox(t, s.User, "Drafts")
	untagged, _ = c.cmd(`LIST "" "*"`)
	if !slices.Contains(untagged, `* LIST (\HasNoChildren) "." Drafts`) {
		t.Fatalf("LIST after CreateMailbox: %q", untagged)
	}
}

func TestRefuseKeywords(t *testing.T) {
	s := Start(t, Options{RefuseKeywords: []string{"INBOX"}, Users: []User{{"alex", "pw-alex"}, {"sam", "pw-sam"}}})
	if s.User != "alex" || s.Password != "pw-alex" {
		t.Fatalf("User %q Password %q", s.User, s.Password)
	}
	s.Deliver(t, "alex", "INBOX", corpus(t, "dev-01.eml"))
	s.Deliver(t, "sam", "INBOX", corpus(t, "dev-02.eml"))

	c := dial(t, s.Addr)
	c.login("alex", "pw-alex")
	untagged, _ := c.cmd("SELECT INBOX")
	p := find(untagged, rePermanent)
	if p == nil || strings.Contains(p[1], `\*`) || strings.Contains(p[1], "$") {
		t.Fatalf("PERMANENTFLAGS should refuse keywords: %q", untagged)
	}
	c.cmd(`UID STORE 1 +FLAGS ($Interview)`)
	if f := s.Flags(t, "alex", "INBOX"); len(f[1]) != 0 {
		t.Fatalf("flags after STORE: %v", f)
	}
	// \Seen is still allowed, and other mailboxes take keywords.
	c.cmd(`UID STORE 1 +FLAGS (\Seen)`)
	if f := s.Flags(t, "alex", "INBOX"); !slices.Equal(f[1], []string{`\Seen`}) {
		t.Fatalf("flags after STORE \\Seen: %v", f)
	}
	untagged, _ = c.cmd("SELECT Drafts")
	if p := find(untagged, rePermanent); p == nil || !strings.Contains(p[1], `\*`) {
		t.Fatalf("Drafts PERMANENTFLAGS: %q", untagged)
	}

	d := dial(t, s.Addr)
	d.login("sam", "pw-sam")
	untagged, _ = d.cmd("SELECT INBOX")
	if m := find(untagged, reExists); m == nil || m[1] != "1" {
		t.Fatalf("sam's INBOX: %q", untagged)
	}
}

func TestCleanupStopsEverything(t *testing.T) {
	var pid int
	var dir string
	t.Run("server", func(t *testing.T) {
		s := Start(t, Options{})
		pid, dir = s.PID(), s.Dir
		// Start an imap process (a grandchild of the test) and leave it
		// logged in and idling.
		c := dial(t, s.Addr)
		c.login(s.User, s.Password)
		c.cmd("SELECT INBOX")
		fmt.Fprintf(c.conn, "i IDLE\r\n")
		if l := c.line(); !strings.HasPrefix(l, "+") {
			t.Fatalf("IDLE: %q", l)
		}
		if n := len(groupMembers(pid)); n < 3 {
			t.Fatalf("only %d processes in dovecot's group", n)
		}
	})
	if pid == 0 {
		t.Fatal("server did not start")
	}
	if left := groupMembers(pid); len(left) != 0 {
		t.Fatalf("processes left in dovecot's group %d: %v", pid, left)
	}
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
		t.Fatalf("dovecot master %d still exists", pid)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("server directory %s left behind: %v", dir, err)
	}
}

func TestStopEarly(t *testing.T) {
	s := Start(t, Options{})
	if !s.Running() {
		t.Fatal("not running")
	}
	c := dial(t, s.Addr)
	c.login(s.User, s.Password)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if s.Running() {
		t.Fatal("still running after Stop")
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if l, err := c.r.ReadString('\n'); err == nil {
		t.Fatalf("connection still open after Stop: %q", l)
	}
	if _, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		t.Fatal("still accepting connections after Stop")
	}
}

func TestKick(t *testing.T) {
	s := Start(t, Options{})
	c := dial(t, s.Addr)
	c.login(s.User, s.Password)
	c.cmd("SELECT INBOX")
	fmt.Fprintf(c.conn, "i IDLE\r\n")
	if l := c.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	s.Kick(t, s.User)
	if l := c.line(); !strings.HasPrefix(l, "* BYE") {
		t.Fatalf("after Kick: %q", l)
	}
	if l, err := c.r.ReadString('\n'); err == nil {
		t.Fatalf("connection still open after Kick: %q", l)
	}
	// The server is still there.
	d := dial(t, s.Addr)
	d.login(s.User, s.Password)
}

// fakeTB records Fatal and Skip instead of ending the real test.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Fatal(args ...any) { f.fatal = fmt.Sprint(args...); runtime.Goexit() }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Skip(args ...any) { f.skip = fmt.Sprint(args...); runtime.Goexit() }
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingDovecot(t *testing.T) {
	saved := lookPath
	t.Cleanup(func() { lookPath = saved })
	lookPath = func(string) (string, error) { return "", os.ErrNotExist }

	for _, ci := range []string{"true", ""} {
		t.Setenv("CI", ci)
		f := &fakeTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Start(f, Options{})
		}()
		<-done
		got := f.skip
		if ci == "true" {
			got = f.fatal
			if f.skip != "" {
				t.Errorf("CI=true: skipped: %s", f.skip)
			}
		} else if f.fatal != "" {
			t.Errorf("no CI: failed: %s", f.fatal)
		}
		if !strings.Contains(got, InstallHint) {
			t.Errorf("CI=%q: message %q lacks %q", ci, got, InstallHint)
		}
	}
}

func TestConfigModes(t *testing.T) {
	root := renderConfig(configParams{Dir: "/tmp/d", Port: 1143, Drafts: true,
		Mode: mode{root: true, internalUser: "dovecot", internalGrp: "dovecot", loginUser: "dovenull", mailUID: 65534, mailGID: 65534}})
	for _, want := range []string{
		"default_internal_user = dovecot\n", "default_internal_group = dovecot\n", "default_login_user = dovenull\n",
		"ssl = no\n", "port = 1143\n", "special_use = \\Drafts\n", "auto = subscribe\n",
		"base_dir = /tmp/d/run\n", "disable_plaintext_auth = no\n", "auth_mechanisms = plain login\n",
		"mail_max_userip_connections = 1000\n", "imap_idle_notify_interval = 5 secs\n",
	} {
		if !strings.Contains(root, want) {
			t.Errorf("root config lacks %q:\n%s", want, root)
		}
	}
	if strings.Contains(root, "chroot =") || strings.Contains(root, "acl") {
		t.Errorf("root config:\n%s", root)
	}

	user := renderConfig(configParams{Dir: "/tmp/d", Port: 1143, TLSPort: 1993, TLS: true,
		RefuseKeywords: []string{"INBOX"}, IdleNotifyInterval: 1500 * time.Millisecond,
		Mode: mode{internalUser: "alex", internalGrp: "staff", loginUser: "alex", mailUID: 1000, mailGID: 1000}})
	for _, want := range []string{
		"default_internal_user = alex\n", "default_internal_group = staff\n", "default_login_user = alex\n", "  chroot =\n",
		"ssl = yes\n", "ssl_cert = </tmp/d/cert.pem\n", "port = 1993\n", "ssl = yes\n",
		"acl = vfile:/tmp/d/global-acl\n", "imap_idle_notify_interval = 2 secs\n",
	} {
		if !strings.Contains(user, want) {
			t.Errorf("user config lacks %q:\n%s", want, user)
		}
	}
	if strings.Contains(user, "Drafts") {
		t.Errorf("config without Drafts:\n%s", user)
	}

	m, err := detectMode()
	if err != nil {
		t.Fatal(err)
	}
	if m.root != (os.Geteuid() == 0) {
		t.Fatalf("detectMode: %+v as uid %d", m, os.Geteuid())
	}
	if !m.root && (m.mailUID != os.Getuid() || m.internalUser != m.loginUser) {
		t.Fatalf("detectMode as a normal user: %+v", m)
	}
	if m.root && (m.mailUID == 0 || m.loginUser == "root" || m.internalUser == "root") {
		t.Fatalf("detectMode as root: %+v", m)
	}
}
