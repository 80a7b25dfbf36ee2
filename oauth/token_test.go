package oauth_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/rsvp-mail/rsvp/internal/testserver/fakeoauth"
	"github.com/rsvp-mail/rsvp/oauth"
)

// expire rewrites the token file so its access token has expired.
func expire(t *testing.T, file string) *oauth2.Token {
	t.Helper()
	tok, err := oauth.ReadToken(file)
	if err != nil {
		t.Fatal(err)
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	if err := oauth.WriteToken(file, tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokenSourceRefreshesAndSavesTheNewAccessToken(t *testing.T) {
	fake := fakeoauth.New(t)
	file := signIn(t, fake)
	old := expire(t, file)

	ts, err := oauth.TokenSource(testCtx(t), fake.Config(oauth.ScopeGmailModify), file, nil)
	if err != nil {
		t.Fatalf("TokenSource: %v", err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok.AccessToken == old.AccessToken || !fake.Valid(tok.AccessToken) {
		t.Fatalf("Token() = %q, want a fresh access token from the server", tok.AccessToken)
	}
	if fake.Refreshes() != 1 {
		t.Errorf("refreshes = %d, want 1", fake.Refreshes())
	}
	saved, err := oauth.ReadToken(file)
	if err != nil {
		t.Fatalf("ReadToken after refresh: %v", err)
	}
	if saved.AccessToken != tok.AccessToken {
		t.Errorf("file holds access token %q, want the new %q", saved.AccessToken, tok.AccessToken)
	}
	if saved.RefreshToken != old.RefreshToken {
		t.Errorf("file holds refresh token %q, want the old %q kept (the refresh answer has none)", saved.RefreshToken, old.RefreshToken)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode after refresh = %04o, want 0600", fi.Mode().Perm())
	}

	// A valid token is reused, not refreshed again.
	again, err := ts.Token()
	if err != nil || again.AccessToken != tok.AccessToken || fake.Refreshes() != 1 {
		t.Errorf("second Token() = %v, %v with %d refreshes; want the same token and no new refresh", again, err, fake.Refreshes())
	}
}

func TestTokenSourceSavesARotatedRefreshToken(t *testing.T) {
	fake := fakeoauth.New(t)
	file := signIn(t, fake)
	old := expire(t, file)
	fake.SetRotateRefreshTokens(true)
	ts, err := oauth.TokenSource(testCtx(t), fake.Config(), file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); err != nil {
		t.Fatalf("Token: %v", err)
	}
	saved, _ := oauth.ReadToken(file)
	if saved.RefreshToken == old.RefreshToken || saved.RefreshToken == "" {
		t.Errorf("file holds refresh token %q, want the rotated one", saved.RefreshToken)
	}
	// The saved one works in a new process; the old one no longer would.
	expire(t, file)
	ts2, err := oauth.TokenSource(testCtx(t), fake.Config(), file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts2.Token(); err != nil {
		t.Errorf("Token with the saved rotated refresh token: %v", err)
	}
}

func TestTokenSourceReportsARevokedSignInAsErrInvalidGrant(t *testing.T) {
	fake := fakeoauth.New(t)
	file := signIn(t, fake)
	expire(t, file)
	before, _ := os.ReadFile(file)
	fake.RevokeAll()

	ts, err := oauth.NewTokenSource(testCtx(t), oauth.TokenOptions{Config: fake.Config(), TokenFile: file, Account: "personal"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.Token()
	if !errors.Is(err, oauth.ErrInvalidGrant) {
		t.Fatalf("Token after revocation: %v, want ErrInvalidGrant", err)
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("error %v does not unwrap to the token endpoint's invalid_grant", err)
	}
	for _, want := range []string{"rsvp auth --account personal", "Testing", file} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Errorf("token file changed after a failed refresh")
	}
}

func TestTokenSourceDoesNotCallOtherRefreshErrorsInvalidGrant(t *testing.T) {
	fake := fakeoauth.New(t)
	file := signIn(t, fake)
	expire(t, file)
	fake.FailRefresh("invalid_client")
	ts, err := oauth.TokenSource(testCtx(t), fake.Config(), file, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.Token()
	if err == nil || errors.Is(err, oauth.ErrInvalidGrant) {
		t.Fatalf("Token with invalid_client: %v, want an error that is not ErrInvalidGrant", err)
	}
}

func TestTokenFilesMustNotBeReadableByOthers(t *testing.T) {
	fake := fakeoauth.New(t)
	file := signIn(t, fake)
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := oauth.TokenSource(testCtx(t), fake.Config(), file, nil)
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+file) {
		t.Fatalf("TokenSource on a 0644 file: %v, want a refusal with the chmod hint", err)
	}
}

func TestWriteTokenReplacesTheFileAtomically(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	file := filepath.Join(dir, "token.json")
	first := &oauth2.Token{AccessToken: "at1", RefreshToken: "rt1", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour).Round(time.Second)}
	if err := oauth.WriteToken(file, first); err != nil {
		t.Fatalf("WriteToken: %v", err)
	}
	// An existing file with loose permissions is replaced, not rewritten in
	// place, so the result is 0600 again.
	os.Chmod(file, 0o644)
	second := &oauth2.Token{AccessToken: "at2", RefreshToken: "rt2", TokenType: "Bearer"}
	if err := oauth.WriteToken(file, second); err != nil {
		t.Fatalf("WriteToken over an existing file: %v", err)
	}
	got, err := oauth.ReadToken(file)
	if err != nil {
		t.Fatalf("ReadToken: %v", err)
	}
	if got.AccessToken != "at2" || got.RefreshToken != "rt2" {
		t.Errorf("ReadToken = %+v, want the second token", got)
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("created directory mode = %04o, want 0700", di.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1 (no temp files)", len(entries))
	}
}

func TestForceRefreshGetsAFreshTokenAtOnce(t *testing.T) {
	fake := fakeoauth.New(t)
	file := signIn(t, fake)
	saved, _ := oauth.ReadToken(file)
	ts, err := oauth.NewTokenSource(testCtx(t), oauth.TokenOptions{Config: fake.Config(), TokenFile: file, ForceRefresh: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil || tok.AccessToken == saved.AccessToken || fake.Refreshes() != 1 {
		t.Fatalf("Token() = %v, %v after %d refreshes; want a new token from one refresh", tok, err, fake.Refreshes())
	}
	// Revoked meanwhile: the first Token says so, although the saved
	// access token had not expired.
	fake.RevokeAll()
	ts, _ = oauth.NewTokenSource(testCtx(t), oauth.TokenOptions{Config: fake.Config(), TokenFile: file, Account: "g", ForceRefresh: true})
	if _, err := ts.Token(); !errors.Is(err, oauth.ErrInvalidGrant) {
		t.Fatalf("Token() after revocation = %v, want ErrInvalidGrant", err)
	}
}
