package oauth_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/rsvp-mail/rsvp/internal/testserver/fakeoauth"
	"github.com/rsvp-mail/rsvp/oauth"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// writeClientSecret writes the fake's client_secret.json into a temp dir.
func writeClientSecret(t *testing.T, fake *fakeoauth.Server, kind string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "client_secret.json")
	if err := os.WriteFile(file, fake.ClientSecretJSON(kind), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// signIn runs the whole flow with a simulated browser and returns the token
// file.
func signIn(t *testing.T, fake *fakeoauth.Server) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "tokens", "personal.json")
	_, err := oauth.Authorize(testCtx(t), oauth.FlowOptions{
		ClientSecretFile: writeClientSecret(t, fake, "installed"),
		Scopes:           []string{oauth.ScopeGmailModify},
		TokenFile:        file,
		Out:              new(bytes.Buffer),
		OpenBrowser:      fakeoauth.Browser(nil),
	})
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	return file
}

func TestAuthorizeWithABrowserThatConsentsSavesARefreshToken(t *testing.T) {
	fake := fakeoauth.New(t)
	dir := filepath.Join(t.TempDir(), "state", "rsvp")
	file := filepath.Join(dir, "personal.token.json")
	pages := make(chan fakeoauth.Page, 1)
	var out bytes.Buffer
	tok, err := oauth.Authorize(testCtx(t), oauth.FlowOptions{
		ClientSecretFile: writeClientSecret(t, fake, "installed"),
		Scopes:           []string{oauth.ScopeGmailModify},
		TokenFile:        file,
		Out:              &out,
		OpenBrowser:      fakeoauth.Browser(pages),
	})
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Fatalf("Authorize returned %+v, want access and refresh tokens", tok)
	}

	p := <-pages
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "return to the terminal") {
		t.Errorf("browser page = %v, want 200 telling the user to return to the terminal", p)
	}

	q := fake.LastAuthRequest()
	for key, want := range map[string]string{
		"access_type": "offline", "prompt": "consent", "code_challenge_method": "S256",
		"response_type": "code", "scope": oauth.ScopeGmailModify, "client_id": fake.ClientID,
	} {
		if got := q.Get(key); got != want {
			t.Errorf("authorization request %s = %q, want %q", key, got, want)
		}
	}
	if len(q.Get("state")) < 32 {
		t.Errorf("state = %q, want a long random value", q.Get("state"))
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Hostname() != "127.0.0.1" || redirect.Port() == "0" || redirect.Port() == "" {
		t.Errorf("redirect_uri = %q, want http://127.0.0.1:<random port>/", q.Get("redirect_uri"))
	}
	if !strings.Contains(out.String(), fake.URL+fakeoauth.AuthPath+"?") {
		t.Errorf("Out = %q, want the authorization URL printed", out.String())
	}

	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode = %04o, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("token directory mode = %04o, want 0700", di.Mode().Perm())
	}
	saved, err := oauth.ReadToken(file)
	if err != nil {
		t.Fatalf("ReadToken: %v", err)
	}
	if saved.RefreshToken != tok.RefreshToken || saved.AccessToken != tok.AccessToken {
		t.Errorf("saved token = %+v, want the one Authorize returned", saved)
	}
	if !fake.Valid(saved.AccessToken) {
		t.Errorf("saved access token is not one the server issued")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("token directory holds %v, want only the token file (no temp files left)", entries)
	}
	if fake.Exchanges() != 1 {
		t.Errorf("code exchanges = %d, want 1", fake.Exchanges())
	}

	// The loopback listener is gone once the flow is over.
	if c, err := net.DialTimeout("tcp", redirect.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("the redirect listener %s still accepts connections after Authorize returned", redirect.Host)
	}
}

func TestAuthorizeRefusesACallbackWithTheWrongStateAndKeepsWaiting(t *testing.T) {
	fake := fakeoauth.New(t)
	file := filepath.Join(t.TempDir(), "token.json")
	forged := make(chan fakeoauth.Page, 1)
	real := make(chan fakeoauth.Page, 1)
	var out bytes.Buffer
	_, err := oauth.Authorize(testCtx(t), oauth.FlowOptions{
		Config:    fake.Config(oauth.ScopeGmailModify),
		TokenFile: file,
		Out:       &out,
		OpenBrowser: func(authURL string) error {
			u, _ := url.Parse(authURL)
			redirect, _ := url.Parse(u.Query().Get("redirect_uri"))
			redirect.RawQuery = url.Values{"code": {"4/forged"}, "state": {"not-the-state"}}.Encode()
			forged <- fakeoauth.Get(redirect.String())
			real <- fakeoauth.Get(authURL)
			return nil
		},
	})
	if err != nil {
		t.Fatalf("Authorize after a forged callback: %v", err)
	}
	if p := <-forged; p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "does not belong") {
		t.Errorf("forged callback page = %v, want 400 saying it does not belong to this sign-in", p)
	}
	if p := <-real; p.Status != http.StatusOK {
		t.Errorf("real callback page = %v, want 200", p)
	}
	if !strings.Contains(out.String(), "state does not match") {
		t.Errorf("Out = %q, want a note about the refused callback", out.String())
	}
	if fake.Exchanges() != 1 {
		t.Errorf("code exchanges = %d, want 1 (the forged code must never be exchanged)", fake.Exchanges())
	}
	if _, err := oauth.ReadToken(file); err != nil {
		t.Errorf("ReadToken: %v", err)
	}
}

func TestAuthorizeFails(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*fakeoauth.Server)
		browse  func(authURL string) fakeoauth.Page
		want    error  // matched with errors.Is when not nil
		wantMsg string // in the error text
	}{
		{
			name:    "when the user declines on the consent screen",
			setup:   func(f *fakeoauth.Server) { f.SetDeny(true) },
			want:    oauth.ErrAccessDenied,
			wantMsg: "access_denied",
		},
		{
			name: "when the code challenge was swapped so the verifier does not match",
			browse: func(authURL string) fakeoauth.Page {
				u, _ := url.Parse(authURL)
				q := u.Query()
				q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))
				u.RawQuery = q.Encode()
				return fakeoauth.Get(u.String())
			},
			wantMsg: "invalid_grant",
		},
		{
			name:    "when no refresh token comes back",
			setup:   func(f *fakeoauth.Server) { f.SetOmitRefreshToken(true) },
			want:    oauth.ErrNoRefreshToken,
			wantMsg: "myaccount.google.com/permissions",
		},
		{
			name:    "when the user unticks the Gmail permission",
			setup:   func(f *fakeoauth.Server) { f.SetGrantedScopes([]string{"openid"}) },
			want:    oauth.ErrScopeNotGranted,
			wantMsg: oauth.ScopeGmailModify,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakeoauth.New(t)
			if tt.setup != nil {
				tt.setup(fake)
			}
			browse := tt.browse
			if browse == nil {
				browse = fakeoauth.Get
			}
			pages := make(chan fakeoauth.Page, 1)
			file := filepath.Join(t.TempDir(), "token.json")
			_, err := oauth.Authorize(testCtx(t), oauth.FlowOptions{
				Config:      fake.Config(oauth.ScopeGmailModify),
				TokenFile:   file,
				Out:         new(bytes.Buffer),
				OpenBrowser: func(u string) error { pages <- browse(u); return nil },
			})
			if err == nil {
				t.Fatal("Authorize succeeded, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Authorize error = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Authorize error = %q, want it to mention %q", err, tt.wantMsg)
			}
			if p := <-pages; p.Status == http.StatusOK || !strings.Contains(p.Body, "Return to the terminal") {
				t.Errorf("browser page = %v, want a failure page sending the user to the terminal", p)
			}
			if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("token file after a failed sign-in: stat error %v, want it absent", err)
			}
		})
	}
}

func TestAuthorizeStopsWhenTheContextEnds(t *testing.T) {
	fake := fakeoauth.New(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	redirect := make(chan string, 1)
	_, err := oauth.Authorize(ctx, oauth.FlowOptions{
		Config:    fake.Config(oauth.ScopeIMAP),
		TokenFile: filepath.Join(t.TempDir(), "token.json"),
		OpenBrowser: func(authURL string) error {
			u, _ := url.Parse(authURL)
			redirect <- u.Query().Get("redirect_uri")
			cancel()
			return nil
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Authorize error = %v, want context.Canceled", err)
	}
	u, _ := url.Parse(<-redirect)
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("the redirect listener %s still accepts connections", u.Host)
	}
}

func TestAuthorizeTellsTheUserToOpenTheURLWhenNoBrowserOpens(t *testing.T) {
	fake := fakeoauth.New(t)
	var out bytes.Buffer
	done := make(chan fakeoauth.Page, 1)
	_, err := oauth.Authorize(testCtx(t), oauth.FlowOptions{
		Config:    fake.Config(oauth.ScopeGmailModify),
		TokenFile: filepath.Join(t.TempDir(), "token.json"),
		Out:       &out,
		OpenBrowser: func(u string) error {
			go func() { done <- fakeoauth.Get(u) }() // the user copies the URL by hand
			return errors.New("xdg-open: not found")
		},
	})
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	<-done
	if !strings.Contains(out.String(), "open the URL above yourself") {
		t.Errorf("Out = %q, want a hint to open the URL by hand", out.String())
	}
}

func TestAuthorizeListensOnTheRegisteredPortOfAWebClient(t *testing.T) {
	fake := fakeoauth.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := fake.Config(oauth.ScopeGmailModify)
	cfg.RedirectURL = "http://localhost:" + strconv.Itoa(port) + "/oauth2callback"
	_, err = oauth.Authorize(testCtx(t), oauth.FlowOptions{
		Config:      cfg,
		TokenFile:   filepath.Join(t.TempDir(), "token.json"),
		OpenBrowser: fakeoauth.Browser(nil),
	})
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if got := fake.LastAuthRequest().Get("redirect_uri"); got != cfg.RedirectURL {
		t.Errorf("redirect_uri = %q, want the registered %q", got, cfg.RedirectURL)
	}
}

func TestAuthorizeRefusesAListenAddressThatIsNotLoopback(t *testing.T) {
	fake := fakeoauth.New(t)
	_, err := oauth.Authorize(testCtx(t), oauth.FlowOptions{
		Config: fake.Config(oauth.ScopeGmailModify), TokenFile: filepath.Join(t.TempDir(), "t.json"),
		Out: new(bytes.Buffer), Listen: "0.0.0.0:0",
	})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("Authorize with Listen 0.0.0.0:0: %v, want a loopback error", err)
	}
}
