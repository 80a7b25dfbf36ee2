package oauth_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2/endpoints"

	"github.com/rsvp-mail/rsvp/internal/testserver/fakeoauth"
	"github.com/rsvp-mail/rsvp/oauth"
)

func TestLoadClientSecret(t *testing.T) {
	fake := fakeoauth.New(t)
	for _, kind := range []string{"installed", "web"} {
		t.Run("reads a "+kind+" client", func(t *testing.T) {
			cfg, err := oauth.LoadClientSecret(writeClientSecret(t, fake, kind), oauth.ScopeGmailModify)
			if err != nil {
				t.Fatalf("LoadClientSecret: %v", err)
			}
			if cfg.ClientID != fake.ClientID || cfg.ClientSecret != fake.ClientSecret ||
				cfg.Endpoint.TokenURL != fake.URL+fakeoauth.TokenPath || cfg.Endpoint.AuthURL != fake.URL+fakeoauth.AuthPath {
				t.Errorf("config = %+v, want the fake's client and endpoints", cfg)
			}
			if len(cfg.Scopes) != 1 || cfg.Scopes[0] != oauth.ScopeGmailModify {
				t.Errorf("scopes = %v", cfg.Scopes)
			}
		})
	}
	t.Run("uses Google's endpoints when the file names none and a registered loopback redirect of a web client", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "cs.json")
		os.WriteFile(file, []byte(`{"web":{"client_id":"id","client_secret":"s",
			"redirect_uris":["https://example.com/cb","http://127.0.0.1:8765/cb"]}}`), 0o600)
		cfg, err := oauth.LoadClientSecret(file)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Endpoint.TokenURL != endpoints.Google.TokenURL || cfg.RedirectURL != "http://127.0.0.1:8765/cb" {
			t.Errorf("config = %+v, want Google's token URL and the loopback redirect", cfg)
		}
	})

	bad := []struct {
		name, content, want string
	}{
		{"refuses broken JSON with its line", "{\n \"installed\": {\n  \"client_id\": \"x\",,\n}}", "cs.json:3: not valid JSON"},
		{"refuses a service account key", `{"type":"service_account","client_email":"a@b"}`, "service account key"},
		{"refuses a file with no client", `{"other":{}}`, `neither an "installed" nor a "web"`},
		{"refuses a client without an id", `{"installed":{"client_secret":"s"}}`, "installed.client_id is missing"},
		{"refuses a plain http token endpoint", `{"installed":{"client_id":"i","token_uri":"http://evil.example/token"}}`, "not an https URL"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "cs.json")
			os.WriteFile(file, []byte(tt.content), 0o600)
			_, err := oauth.LoadClientSecret(file)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), file) {
				t.Errorf("LoadClientSecret = %v, want an error naming %s and saying %q", err, file, tt.want)
			}
		})
	}
}

func TestCheckFiles(t *testing.T) {
	fake := fakeoauth.New(t)
	goodSecret := writeClientSecret(t, fake, "installed")
	goodToken := signIn(t, fake)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	loose := filepath.Join(dir, "loose.json")
	data, _ := os.ReadFile(goodToken)
	os.WriteFile(loose, data, 0o640)
	noRefresh := filepath.Join(dir, "norefresh.json")
	os.WriteFile(noRefresh, []byte(`{"access_token":"a","token_type":"Bearer"}`), 0o600)
	garbage := filepath.Join(dir, "garbage.json")
	os.WriteFile(garbage, []byte("not json"), 0o600)

	tests := []struct {
		name          string
		secret, token string
		want          []string // one substring per expected error
	}{
		{"accepts a good pair", goodSecret, goodToken, nil},
		{"reports both files missing", missing, missing, []string{"client secret " + missing + ": the file does not exist", "token " + missing + ": file does not exist"}},
		{"reports a token others can read", goodSecret, loose, []string{"chmod 600 " + loose}},
		{"reports a token without a refresh token", goodSecret, noRefresh, []string{noRefresh + " has no refresh token"}},
		{"reports a token that is not JSON", goodSecret, garbage, []string{garbage + ": not a token file"}},
		{"reports unset paths", "", "", []string{"no OAuth client secret file", "no OAuth token file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := oauth.CheckFiles(tt.secret, tt.token)
			if len(errs) != len(tt.want) {
				t.Fatalf("CheckFiles = %v, want %d errors", errs, len(tt.want))
			}
			for i, want := range tt.want {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i], want)
				}
			}
		})
	}
}

func ExampleCheckFiles() {
	dir, _ := os.MkdirTemp("", "rsvp-example")
	defer os.RemoveAll(dir)
	secret := filepath.Join(dir, "client_secret.json")
	os.WriteFile(secret, []byte(`{"installed":{"client_id":"123.apps.googleusercontent.com","client_secret":"s"}}`), 0o600)
	errs := oauth.CheckFiles(secret, filepath.Join(dir, "token.json"))
	for _, err := range errs {
		fmt.Println(strings.ReplaceAll(err.Error(), dir, "DIR"))
	}
	fmt.Println(errors.Is(errs[0], os.ErrNotExist))
	// Output:
	// OAuth token DIR/token.json: file does not exist: sign in with `rsvp auth`
	// true
}
