// Package dbusnotify runs a private D-Bus session bus and a scriptable
// freedesktop notification server on it, for tests that talk the real
// protocol (https://specifications.freedesktop.org/notification-spec/).
//
// StartBus runs `dbus-daemon --nofork --print-address` with a throwaway
// session configuration in a private temporary directory: one unix socket,
// EXTERNAL authentication (the bus and its clients run as the same user, root
// or not), a policy that allows everything and no service directories, so
// nothing is ever auto-started on it (not even a notification daemon that
// happens to be installed). The daemon runs in its own process group and is
// killed when the test ends.
//
// StartServer owns org.freedesktop.Notifications on its own connection to
// that bus, records every Notify call, and lets the test click (Invoke) and
// dismiss (Close) notifications: the signals come from the server's
// connection, as from a real server. Stop releases the name and disconnects,
// so a restart is simulated by starting another server on the same bus.
//
// dbus-daemon comes from Debian's dbus-daemon package (pulled in by dbus):
//
//	apt-get install -y dbus-daemon
//
// When it is missing, StartBus skips the test, or fails it when CI=true.
package dbusnotify

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// InstallHint is the command that installs dbus-daemon on Debian and Ubuntu.
const InstallHint = "apt-get install -y dbus-daemon"

// D-Bus names of the notification service.
const (
	BusName   = "org.freedesktop.Notifications"
	Path      = dbus.ObjectPath("/org/freedesktop/Notifications")
	Interface = "org.freedesktop.Notifications"
)

// Reasons a notification closes, as NotificationClosed reports them.
const (
	ClosedExpired   uint32 = 1
	ClosedDismissed uint32 = 2
	ClosedByCall    uint32 = 3
	ClosedUndefined uint32 = 4
)

// DefaultCapabilities is what a server started without
// ServerOptions.Capabilities reports from GetCapabilities.
var DefaultCapabilities = []string{"actions", "body", "body-markup", "persistence"}

// waitTimeout bounds every wait of the helpers: long enough for a loaded
// machine, short enough that a broken test fails rather than hangs.
const waitTimeout = 15 * time.Second

// Bus is a running private session bus.
type Bus struct {
	// Address is the bus address, for dbus.Connect or
	// DBUS_SESSION_BUS_ADDRESS.
	Address string
	// Dir holds the configuration, the socket and dbus-daemon's stderr.
	Dir string

	cmd  *exec.Cmd
	done chan struct{}
}

const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

func lookPath() (string, error) {
	if p, err := exec.LookPath("dbus-daemon"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/dbus-daemon", "/bin/dbus-daemon"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// StartBus starts a private bus for the test and kills it on t.Cleanup. It
// skips the test when dbus-daemon is not installed, or fails it when CI=true.
func StartBus(t testing.TB) *Bus {
	t.Helper()
	bin, err := lookPath()
	if err != nil {
		msg := "dbus-daemon not found; install it with: " + InstallHint + " (with sudo when not root)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir, err := makeDir()
	if err != nil {
		t.Fatalf("dbusnotify: %v", err)
	}
	// Registered first so that it runs last, after the bus has stopped.
	t.Cleanup(func() { os.RemoveAll(dir) })

	conf := filepath.Join(dir, "session.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(busConfig, filepath.Join(dir, "bus"))), 0o600); err != nil {
		t.Fatalf("dbusnotify: %v", err)
	}
	stderr, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatalf("dbusnotify: %v", err)
	}
	defer stderr.Close()

	cmd := exec.Command(bin, "--config-file="+conf, "--nofork", "--print-address")
	cmd.Dir = dir
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("dbusnotify: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("dbusnotify: start %s: %v", bin, err)
	}
	b := &Bus{Dir: dir, cmd: cmd, done: make(chan struct{})}

	addr := make(chan string, 1)
	go func() {
		// The first line is the address; the rest (nothing) is drained so
		// the daemon never blocks on a full pipe.
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			addr <- strings.TrimSpace(sc.Text())
		}
		close(addr)
		for sc.Scan() {
		}
		cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(b.stop)

	select {
	case a, ok := <-addr:
		if !ok || a == "" {
			b.stop()
			t.Fatalf("dbusnotify: dbus-daemon printed no address; stderr:\n%s", b.Stderr())
		}
		b.Address = a
	case <-time.After(waitTimeout):
		b.stop()
		t.Fatalf("dbusnotify: dbus-daemon printed no address within %v; stderr:\n%s", waitTimeout, b.Stderr())
	}
	return b
}

// makeDir creates the private directory. A unix socket path is limited to
// about 100 bytes, so it lives directly under the temporary directory rather
// than under t.TempDir's long per-test path.
func makeDir() (string, error) {
	base := os.TempDir()
	if len(base) > 60 {
		base = "/tmp"
	}
	return os.MkdirTemp(base, "rsvp-dbus-")
}

func (b *Bus) stop() {
	syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	<-b.done
}

// Stderr returns what dbus-daemon has written to its standard error.
func (b *Bus) Stderr() string {
	data, _ := os.ReadFile(filepath.Join(b.Dir, "stderr.log"))
	return string(data)
}

// Connect opens a new connection to the bus (delivering signals in order)
// and closes it on t.Cleanup.
func (b *Bus) Connect(t testing.TB) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(b.Address, dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
	if err != nil {
		t.Fatalf("dbusnotify: connect to %s: %v", b.Address, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// ServerOptions configures a test notification server.
type ServerOptions struct {
	// Capabilities answers GetCapabilities; nil means DefaultCapabilities.
	Capabilities []string
	// IgnoreResident closes every notification after an action is invoked,
	// even one with the "resident" hint, as servers without that hint do.
	IgnoreResident bool
}

// Notification is one recorded Notify call.
type Notification struct {
	ID         uint32 // what Notify returned
	Sender     string // unique bus name of the caller
	App        string
	ReplacesID uint32
	Icon       string
	Summary    string
	Body       string
	Actions    []string // key, label, key, label, ...
	Hints      map[string]dbus.Variant
	Expire     int32
}

// ActionKeys returns the action keys in order, without their labels.
func (n Notification) ActionKeys() []string {
	var keys []string
	for i := 0; i+1 < len(n.Actions); i += 2 {
		keys = append(keys, n.Actions[i])
	}
	return keys
}

// Label returns the label of the action key, or "" when there is none.
func (n Notification) Label(key string) string {
	for i := 0; i+1 < len(n.Actions); i += 2 {
		if n.Actions[i] == key {
			return n.Actions[i+1]
		}
	}
	return ""
}

// Hint returns the value of a hint, or nil when it is absent.
func (n Notification) Hint(name string) any {
	v, ok := n.Hints[name]
	if !ok {
		return nil
	}
	return v.Value()
}

// Server is a running test notification server.
type Server struct {
	// Name is the unique bus name of the server's connection: the sender
	// of its signals.
	Name string

	conn *dbus.Conn
	opts ServerOptions

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	nextID   uint32
	calls    []Notification
	open     map[uint32]Notification
	closes   []uint32 // CloseNotification arguments, in order
	stopOnce sync.Once
}

// StartServer starts a notification server on its own connection to bus and
// stops it on t.Cleanup. It fails the test when another connection already
// owns org.freedesktop.Notifications.
func StartServer(t testing.TB, bus *Bus, opts ServerOptions) *Server {
	t.Helper()
	if opts.Capabilities == nil {
		opts.Capabilities = DefaultCapabilities
	}
	conn, err := dbus.Connect(bus.Address)
	if err != nil {
		t.Fatalf("dbusnotify: connect to %s: %v", bus.Address, err)
	}
	s := &Server{
		Name:    conn.Names()[0],
		conn:    conn,
		opts:    opts,
		changed: make(chan struct{}),
		open:    map[uint32]Notification{},
	}
	t.Cleanup(s.Stop)
	if err := conn.Export(object{s}, Path, Interface); err != nil {
		t.Fatalf("dbusnotify: export: %v", err)
	}
	reply, err := conn.RequestName(BusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		t.Fatalf("dbusnotify: request %s: %v", BusName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("dbusnotify: %s is already owned (RequestName reply %d)", BusName, reply)
	}
	return s
}

// Stop releases org.freedesktop.Notifications and disconnects, the way a
// notification daemon that quits or crashes disappears. Later calls do
// nothing.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.conn.ReleaseName(BusName)
		s.conn.Close()
	})
}

// changedLocked wakes everyone waiting for a change; s.mu is held.
func (s *Server) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Notifications returns every Notify call so far, in order.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CloseCalls returns the arguments of every CloseNotification call so far.
func (s *Server) CloseCalls() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.closes)
}

// IsOpen reports whether notification id is shown.
func (s *Server) IsOpen(id uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.open[id]
	return ok
}

// WaitFor waits until cond, called with every Notify call so far, returns
// true, and fails the test after a while naming what, with the calls seen.
func (s *Server) WaitFor(t testing.TB, what string, cond func([]Notification) bool) []Notification {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		calls := slices.Clone(s.calls)
		changed := s.changed
		s.mu.Unlock()
		if cond(calls) {
			return calls
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("dbusnotify: waited %v for %s; Notify calls:\n%s", waitTimeout, what, describe(calls))
			return nil
		}
	}
}

// WaitNotify waits for the n-th Notify call (1 is the first) and returns it.
func (s *Server) WaitNotify(t testing.TB, n int) Notification {
	t.Helper()
	calls := s.WaitFor(t, fmt.Sprintf("Notify call #%d", n), func(c []Notification) bool { return len(c) >= n })
	return calls[n-1]
}

// WaitClosed waits until CloseNotification(id) has been called.
func (s *Server) WaitClosed(t testing.TB, id uint32) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		done := slices.Contains(s.closes, id)
		closes := slices.Clone(s.closes)
		changed := s.changed
		s.mu.Unlock()
		if done {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("dbusnotify: waited %v for CloseNotification(%d); got CloseNotification calls %v", waitTimeout, id, closes)
			return
		}
	}
}

// Invoke clicks action key of notification id: the server emits
// ActionInvoked and, unless the notification is resident (and the server
// honours that), closes it as dismissed.
func (s *Server) Invoke(id uint32, key string) error {
	s.mu.Lock()
	n, ok := s.open[id]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("notification %d is not open", id)
	}
	if !slices.Contains(n.ActionKeys(), key) {
		return fmt.Errorf("notification %d has no action %q (it has %q)", id, key, n.ActionKeys())
	}
	if err := s.conn.Emit(Path, Interface+".ActionInvoked", id, key); err != nil {
		return err
	}
	if resident, _ := n.Hint("resident").(bool); !resident || s.opts.IgnoreResident {
		return s.Close(id, ClosedDismissed)
	}
	return nil
}

// Close closes notification id for reason (ClosedExpired, ClosedDismissed,
// ...) and emits NotificationClosed.
func (s *Server) Close(id uint32, reason uint32) error {
	s.mu.Lock()
	_, ok := s.open[id]
	delete(s.open, id)
	s.changedLocked()
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("notification %d is not open", id)
	}
	return s.conn.Emit(Path, Interface+".NotificationClosed", id, reason)
}

// object is what the server exports: the methods of
// org.freedesktop.Notifications.
type object struct{ s *Server }

func (o object) Notify(sender dbus.Sender, app string, replacesID uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, expire int32) (uint32, *dbus.Error) {
	if len(actions)%2 != 0 {
		return 0, dbus.MakeFailedError(fmt.Errorf("actions must be key, label pairs; got %d strings", len(actions)))
	}
	s := o.s
	s.mu.Lock()
	defer s.mu.Unlock()
	id := replacesID
	if _, ok := s.open[id]; !ok || id == 0 {
		s.nextID++
		id = s.nextID
	}
	n := Notification{
		ID: id, Sender: string(sender), App: app, ReplacesID: replacesID, Icon: icon,
		Summary: summary, Body: body, Actions: actions, Hints: hints, Expire: expire,
	}
	s.calls = append(s.calls, n)
	s.open[id] = n
	s.changedLocked()
	return id, nil
}

func (o object) CloseNotification(id uint32) *dbus.Error {
	s := o.s
	s.mu.Lock()
	s.closes = append(s.closes, id)
	_, ok := s.open[id]
	delete(s.open, id)
	s.changedLocked()
	s.mu.Unlock()
	if ok {
		s.conn.Emit(Path, Interface+".NotificationClosed", id, ClosedByCall)
	}
	return nil
}

func (o object) GetCapabilities() ([]string, *dbus.Error) {
	return slices.Clone(o.s.opts.Capabilities), nil
}

func (o object) GetServerInformation() (name, vendor, version, specVersion string, err *dbus.Error) {
	return "rsvp-test", "rsvp", "1", "1.2", nil
}

func describe(calls []Notification) string {
	if len(calls) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	for i, n := range calls {
		fmt.Fprintf(&b, "  #%d id=%d replaces=%d summary=%q actions=%q\n      body=%q\n", i+1, n.ID, n.ReplacesID, n.Summary, n.Actions, n.Body)
	}
	return b.String()
}
