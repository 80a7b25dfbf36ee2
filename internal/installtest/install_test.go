// Package installtest runs `make install` and `make uninstall` the way a
// user does, into a throwaway home, and checks what lands where: the
// binary, the systemd user unit (and that systemd-analyze accepts it), the
// starter config and the state directory; and that `go install ./cmd/rsvp`
// works.
//
// A fake systemctl comes first on PATH: it logs its arguments and plays a
// host with or without a user manager, so no test talks to the real one.
package installtest

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/config"
)

var repoRoot, _ = filepath.Abs(filepath.Join("..", ".."))

// inCI: in CI a missing tool is a failure, never a skip (DESIGN.md).
var inCI = os.Getenv("CI") == "true"

// need returns the path of tool, or skips the test (fails it in CI).
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if inCI {
			t.Fatalf("%s is not installed (CI=true: a missing tool is a failure)", tool)
		}
		t.Skipf("%s is not installed", tool)
	}
	return p
}

// fakeSystemctl logs each call to $FAKE_SYSTEMCTL_LOG. With
// FAKE_USER_MANAGER=yes it answers like a user manager with rsvp stopped;
// otherwise like a host without one (a container, CI, plain SSH).
const fakeSystemctl = `#!/bin/sh
echo "$*" >> "$FAKE_SYSTEMCTL_LOG"
if [ "$FAKE_USER_MANAGER" != yes ]; then
	echo "Failed to connect to bus: No medium found" >&2
	exit 1
fi
case "$*" in
*is-active*) exit 3 ;;
esac
exit 0
`

// userHome is a throwaway home with the environment make runs in.
type userHome struct {
	t          *testing.T
	home       string
	configHome string // where rsvp reads its config and systemd its units
	stateHome  string
	log        string // the fake systemctl's log
	env        []string
}

// keepOut are variables of the test's own environment that must not reach
// make: they would point it at the real home, the real user manager, or
// override the Makefile's paths.
var keepOut = []string{"HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS",
	"SUDO_USER", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "VERSION", "PREFIX", "BINDIR", "UNITDIR", "CONFDIR", "STATEDIR",
	"GO", "SYSTEMCTL", "FAKE_USER_MANAGER", "FAKE_SYSTEMCTL_LOG"}

// newHome makes a home. With xdg, XDG_CONFIG_HOME and XDG_STATE_HOME point
// elsewhere than the defaults, so following them is tested; without, they
// are unset. Extra environment entries come last.
func newHome(t *testing.T, xdg bool, extra ...string) *userHome {
	t.Helper()
	need(t, "make")
	goTool := need(t, "go")
	root := t.TempDir()
	h := &userHome{t: t, home: filepath.Join(root, "home"), log: filepath.Join(root, "systemctl.log")}
	h.configHome = filepath.Join(h.home, ".config")
	h.stateHome = filepath.Join(h.home, ".local", "state")
	fakebin := filepath.Join(root, "fakebin")
	for _, d := range []string{h.home, fakebin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(fakebin, "systemctl"), []byte(fakeSystemctl), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(keepOut, name) && name != "PATH" {
			h.env = append(h.env, kv)
		}
	}
	h.env = append(h.env, "HOME="+h.home, "PATH="+fakebin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"FAKE_SYSTEMCTL_LOG="+h.log)
	if xdg {
		h.configHome = filepath.Join(root, "xdg-config")
		h.stateHome = filepath.Join(root, "xdg-state")
		h.env = append(h.env, "XDG_CONFIG_HOME="+h.configHome, "XDG_STATE_HOME="+h.stateHome)
	}
	// The Go caches stay where they are: a new HOME would otherwise mean
	// a cold build and a module download.
	out, err := exec.Command(goTool, "env", "GOCACHE", "GOMODCACHE", "GOPATH", "GOENV").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	vals := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	for i, name := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOENV"} {
		if i < len(vals) && vals[i] != "" {
			h.env = append(h.env, name+"="+vals[i])
		}
	}
	h.env = append(h.env, extra...)
	return h
}

// The installed files, where a default install puts them.
func (h *userHome) binary() string {
	return filepath.Join(h.home, ".local", "bin", "rsvp")
}

func (h *userHome) unit() string {
	return filepath.Join(h.configHome, "systemd", "user", "rsvp.service")
}

func (h *userHome) config() string {
	return filepath.Join(h.configHome, "rsvp", "config.yaml")
}

func (h *userHome) state() string {
	return filepath.Join(h.stateHome, "rsvp")
}

// make runs make in the repository with args and fails the test if it
// fails; it returns what make printed.
func (h *userHome) make(args ...string) string {
	h.t.Helper()
	out, err := h.run(exec.Command("make", append([]string{"-C", repoRoot}, args...)...))
	if err != nil {
		h.t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (h *userHome) run(cmd *exec.Cmd) (string, error) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Dir, c.Env = cmd.Dir, h.env
	out, err := c.CombinedOutput()
	return string(out), err
}

// systemctlCalls are the fake systemctl's invocations so far.
func (h *userHome) systemctlCalls() []string {
	b, err := os.ReadFile(h.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return fi.Mode()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// verifyUnit runs systemd-analyze --user verify on an installed unit, in
// the home it was installed to (%h is that home), and wants it silent:
// systemd-analyze exits 0 even on unknown keys, only warning about them.
func verifyUnit(t *testing.T, h *userHome, unit string) {
	t.Helper()
	tool := need(t, "systemd-analyze")
	runtime := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "--user", "verify", unit)
	cmd.Env = append(slices.Clone(h.env), "XDG_RUNTIME_DIR="+runtime, "SYSTEMD_PAGER=", "SYSTEMD_LOG_COLOR=0")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze --user verify %s: exit %v, want 0 and no output; it said:\n%s", unit, err, out)
	}
}

func TestMakeInstallForOneUserThenUninstall(t *testing.T) {
	h := newHome(t, true)
	out := h.make("install", "VERSION=installtest-1")

	// The binary, built with the version.
	if m := mode(t, h.binary()); !m.IsRegular() || m.Perm() != 0o755 {
		t.Fatalf("%s has mode %v, want an executable file (0755)", h.binary(), m)
	}
	got, err := h.run(exec.Command(h.binary(), "version"))
	if err != nil || got != "rsvp installtest-1\n" {
		t.Fatalf("rsvp version = %q, %v; want \"rsvp installtest-1\\n\"", got, err)
	}
	// The unit, as it is in the repository.
	want := readFile(t, filepath.Join(repoRoot, "systemd", "rsvp.service"))
	if !bytes.Equal(readFile(t, h.unit()), want) {
		t.Fatalf("%s differs from systemd/rsvp.service", h.unit())
	}
	// The starter config, private, where rsvp looks for it.
	if m := mode(t, h.config()); !m.IsRegular() || m.Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", h.config(), m)
	}
	if !bytes.Equal(readFile(t, h.config()), readFile(t, filepath.Join(repoRoot, "config.example.yaml"))) {
		t.Fatalf("%s differs from config.example.yaml", h.config())
	}
	if m := mode(t, filepath.Dir(h.config())); m.Perm() != 0o700 {
		t.Fatalf("%s has mode %v, want 0700", filepath.Dir(h.config()), m)
	}
	// The state directory, private.
	if m := mode(t, h.state()); !m.IsDir() || m.Perm() != 0o700 {
		t.Fatalf("%s has mode %v, want a directory with mode 0700", h.state(), m)
	}
	// The next steps.
	for _, step := range []string{h.config(), h.binary() + " check-config", "systemctl --user daemon-reload && systemctl --user enable --now rsvp"} {
		if !strings.Contains(out, step) {
			t.Errorf("make install does not say %q; it said:\n%s", step, out)
		}
	}
	// No user manager here: systemctl was asked whether there is one, and
	// nothing else.
	for _, call := range h.systemctlCalls() {
		if call != "--user show-environment" {
			t.Errorf("without a user manager, make install ran systemctl %s", call)
		}
	}
	verifyUnit(t, h, h.unit())

	// A second install replaces the binary but keeps the edited config.
	edited := []byte("# my own config\nme:\n  name: Someone Else\n")
	if err := os.WriteFile(h.config(), edited, 0o600); err != nil {
		t.Fatal(err)
	}
	out = h.make("install", "VERSION=installtest-2")
	if !bytes.Equal(readFile(t, h.config()), edited) {
		t.Fatalf("a second make install changed the edited config:\n%s", readFile(t, h.config()))
	}
	if !strings.Contains(out, "kept your config") {
		t.Errorf("a second make install does not say it kept the config; it said:\n%s", out)
	}
	if got, err := h.run(exec.Command(h.binary(), "version")); err != nil || got != "rsvp installtest-2\n" {
		t.Fatalf("after a second install, rsvp version = %q, %v; want rsvp installtest-2", got, err)
	}

	// As if `systemctl --user enable rsvp` had run, and rsvp had run.
	wants := filepath.Join(filepath.Dir(h.unit()), "default.target.wants", "rsvp.service")
	if err := os.MkdirAll(filepath.Dir(wants), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(h.unit(), wants); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(h.state(), "rsvp.db")
	if err := os.WriteFile(db, []byte("state"), 0o600); err != nil {
		t.Fatal(err)
	}

	out = h.make("uninstall")
	for _, gone := range []string{h.binary(), h.unit(), wants} {
		if exists(gone) {
			t.Errorf("make uninstall left %s", gone)
		}
	}
	if !bytes.Equal(readFile(t, h.config()), edited) {
		t.Errorf("make uninstall changed or removed the config")
	}
	if !bytes.Equal(readFile(t, db), []byte("state")) {
		t.Errorf("make uninstall changed or removed the state")
	}
	if !strings.Contains(out, "Kept your config") {
		t.Errorf("make uninstall does not say it kept config and state; it said:\n%s", out)
	}
}

func TestMakeInstallPutsFilesWhereRsvpLooks(t *testing.T) {
	cases := []struct {
		name string
		xdg  bool
		env  []string
	}{
		{"with XDG_CONFIG_HOME and XDG_STATE_HOME set", true, nil},
		{"without them", false, nil},
		{"with relative ones, which rsvp ignores", false, []string{"XDG_CONFIG_HOME=rel/config", "XDG_STATE_HOME=rel/state"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHome(t, c.xdg, c.env...)
			h.make("install", "VERSION=installtest")
			// Where the config package looks in the same environment.
			for _, kv := range h.env {
				if name, val, _ := strings.Cut(kv, "="); name == "HOME" || strings.HasPrefix(name, "XDG_") {
					t.Setenv(name, val)
				}
			}
			if !c.xdg && c.env == nil {
				t.Setenv("XDG_CONFIG_HOME", "")
				t.Setenv("XDG_STATE_HOME", "")
			}
			if p := config.DefaultPath(); !exists(p) || p != h.config() {
				t.Errorf("rsvp reads its config from %s; make install wrote %s", p, h.config())
			}
			if d := config.StateDir(); !exists(d) || d != h.state() {
				t.Errorf("rsvp keeps its state in %s; make install made %s", d, h.state())
			}
		})
	}
}

func TestMakeInstallWithAnotherBindirPointsTheUnitAtIt(t *testing.T) {
	h := newHome(t, false)
	bindir := filepath.Join(h.home, "opt", "100%", "bin")
	h.make("install", "VERSION=installtest", "BINDIR="+bindir)
	bin := filepath.Join(bindir, "rsvp")
	if got, err := h.run(exec.Command(bin, "version")); err != nil || got != "rsvp installtest\n" {
		t.Fatalf("%s version = %q, %v", bin, got, err)
	}
	if exists(h.binary()) {
		t.Errorf("make install BINDIR=%s also wrote %s", bindir, h.binary())
	}
	// Only ExecStart differs, with % doubled for systemd.
	wantLine := "ExecStart=" + strings.ReplaceAll(bin, "%", "%%") + " run"
	orig := strings.Split(string(readFile(t, filepath.Join(repoRoot, "systemd", "rsvp.service"))), "\n")
	got := strings.Split(string(readFile(t, h.unit())), "\n")
	if len(got) != len(orig) {
		t.Fatalf("installed unit has %d lines, systemd/rsvp.service %d", len(got), len(orig))
	}
	execStarts := 0
	for i := range orig {
		want := orig[i]
		if strings.HasPrefix(want, "ExecStart=") {
			want = wantLine
			execStarts++
		}
		if got[i] != want {
			t.Errorf("installed unit line %d = %q, want %q", i+1, got[i], want)
		}
	}
	if execStarts != 1 {
		t.Errorf("systemd/rsvp.service has %d ExecStart= lines, want 1", execStarts)
	}
	verifyUnit(t, h, h.unit())
	h.make("uninstall", "BINDIR="+bindir)
	if exists(bin) {
		t.Errorf("make uninstall BINDIR=%s left %s", bindir, bin)
	}
}

func TestMakeTalksToTheUserManagerOnlyWhenThereIsOne(t *testing.T) {
	t.Run("with one, install reloads it and uninstall stops and disables rsvp first", func(t *testing.T) {
		h := newHome(t, false, "FAKE_USER_MANAGER=yes")
		h.make("install", "VERSION=installtest")
		if calls := h.systemctlCalls(); !slices.Contains(calls, "--user daemon-reload") {
			t.Fatalf("make install with a user manager ran systemctl %q, want a daemon-reload", calls)
		}
		if err := os.Truncate(h.log, 0); err != nil {
			t.Fatal(err)
		}
		h.make("uninstall")
		calls := h.systemctlCalls()
		stop := slices.Index(calls, "--user disable --now rsvp.service")
		reload := slices.Index(calls, "--user daemon-reload")
		if stop < 0 || reload < stop {
			t.Fatalf("make uninstall ran systemctl %q, want disable --now rsvp.service, then daemon-reload", calls)
		}
	})
	t.Run("with no systemctl at all, install and uninstall still work", func(t *testing.T) {
		h := newHome(t, false)
		none := filepath.Join(t.TempDir(), "no-systemctl")
		h.make("install", "VERSION=installtest", "SYSTEMCTL="+none)
		h.make("uninstall", "SYSTEMCTL="+none)
		if exists(h.binary()) || exists(h.unit()) {
			t.Fatal("make uninstall without systemctl left the binary or the unit")
		}
		if calls := h.systemctlCalls(); len(calls) > 0 {
			t.Fatalf("systemctl on PATH ran %q though SYSTEMCTL named another", calls)
		}
	})
}

func TestMakeInstallRefusesSudo(t *testing.T) {
	h := newHome(t, false, "SUDO_USER=someone")
	out, err := h.run(exec.Command("make", "-C", repoRoot, "install", "VERSION=installtest"))
	if err == nil || !strings.Contains(out, "without sudo") {
		t.Fatalf("make install under sudo = %v, want a refusal saying to run it without sudo:\n%s", err, out)
	}
	if exists(h.binary()) {
		t.Fatal("make install under sudo installed the binary anyway")
	}
}

func TestVersionComesFromGitElseDev(t *testing.T) {
	// A git that fails, as outside a clone (a release tarball).
	h := newHome(t, false)
	nogit := t.TempDir()
	if err := os.WriteFile(filepath.Join(nogit, "git"), []byte("#!/bin/sh\nexit 128\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, kv := range h.env {
		if strings.HasPrefix(kv, "PATH=") {
			h.env[i] = "PATH=" + nogit + string(os.PathListSeparator) + strings.TrimPrefix(kv, "PATH=")
		}
	}
	if got := h.make("-s", "version"); got != "dev\n" {
		t.Errorf("make version without git = %q, want dev", got)
	}
	if got := h.make("-s", "version", "VERSION=v1.2.3"); got != "v1.2.3\n" {
		t.Errorf("make version VERSION=v1.2.3 = %q, want v1.2.3", got)
	}
}

// `go install github.com/rsvp-mail/rsvp/cmd/rsvp@latest` needs the module
// proxy to serve the module; this is the same build from the working tree.
func TestGoInstallBuildsTheCommand(t *testing.T) {
	h := newHome(t, false)
	gobin := t.TempDir()
	h.env = append(h.env, "GOBIN="+gobin)
	cmd := exec.Command(need(t, "go"), "install", "./cmd/rsvp")
	cmd.Dir = repoRoot
	if out, err := h.run(cmd); err != nil {
		t.Fatalf("go install ./cmd/rsvp: %v\n%s", err, out)
	}
	bin := filepath.Join(gobin, "rsvp")
	if got, err := h.run(exec.Command(bin, "version")); err != nil || got != "rsvp dev\n" {
		t.Fatalf("%s version = %q, %v; want rsvp dev (no -ldflags)", bin, got, err)
	}
}
