package cli_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/cli"
	"github.com/rsvp-mail/rsvp/internal/testserver/fakeoauth"
)

// TestAuthSignsInAndCheckConfigSeesTheToken runs rsvp auth against a fake
// authorization server, the test playing the browser with the printed URL.
func TestAuthSignsInAndCheckConfigSeesTheToken(t *testing.T) {
	fo := fakeoauth.New(t)
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	secret := filepath.Join(dir, "client_secret.json")
	os.WriteFile(secret, fo.ClientSecretJSON("installed"), 0o600)
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("oauth:\n  client_secret_file: "+secret+"\naccounts:\n  - name: g\n    backend: gmail\n    address: alex@gmail.example\n"), 0o600)

	out, _, code := run(t, "check-config", "--config", cfg)
	if code != 1 || !strings.Contains(out, "account g:") || !strings.Contains(out, "g.json") {
		t.Errorf("check-config before signing in: exit %d\n%s", code, out)
	}

	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var errOut strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		done <- cli.Run(ctx, []string{"auth", "--config", cfg, "--account", "g"}, strings.NewReader(""), pw, &errOut)
		pw.Close()
	}()
	var printed strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		printed.WriteString(line + "\n")
		if u := strings.TrimSpace(line); strings.HasPrefix(u, "http") {
			// The browser runs beside: rsvp prints while it answers it.
			go func() {
				if p := fakeoauth.Get(u); p.Err != nil {
					t.Errorf("browser: %v", p.Err)
				}
			}()
		}
	}
	if c := <-done; c != 0 {
		t.Fatalf("rsvp auth: exit %d\n%s%s", c, printed.String(), errOut.String())
	}
	if !strings.Contains(printed.String(), "Signed in") {
		t.Errorf("output:\n%s", printed.String())
	}
	token := filepath.Join(dir, "state", "rsvp", "tokens", "g.json")
	fi, err := os.Stat(token)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if out, _, code = run(t, "check-config", "--config", cfg); code != 0 {
		t.Errorf("check-config after signing in: exit %d\n%s", code, out)
	}
	os.Chmod(token, 0o644)
	if out, _, code = run(t, "check-config", "--config", cfg); code != 1 || !strings.Contains(out, "chmod 600") {
		t.Errorf("check-config with a readable token: exit %d\n%s", code, out)
	}
}
