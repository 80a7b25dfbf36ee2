package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// ErrInvalidGrant means the token endpoint refused the saved refresh token
// (OAuth error invalid_grant): access was revoked, the password changed, the
// token was unused for six months, or the OAuth app is in "Testing" status
// and the token is more than seven days old. Only a new sign-in helps. The
// error is an *InvalidGrantError; test with errors.Is.
var ErrInvalidGrant = errors.New("the saved Google sign-in was refused (invalid_grant)")

// InvalidGrantError reports a refused refresh token. It matches
// ErrInvalidGrant with errors.Is and unwraps to the *oauth2.RetrieveError.
type InvalidGrantError struct {
	TokenFile string
	Account   string // the account name for the hint; "" when not known
	Err       error
}

func (e *InvalidGrantError) Error() string {
	name := e.Account
	if name == "" {
		name = "NAME"
	}
	return fmt.Sprintf("%v (token file %s): access was revoked or has expired "+
		"(refresh tokens of an OAuth app in \"Testing\" status expire after 7 days; publish the app to avoid that); "+
		"run `rsvp auth --account %s` again: %v", ErrInvalidGrant, e.TokenFile, name, e.Err)
}

// Is makes errors.Is(err, ErrInvalidGrant) true.
func (e *InvalidGrantError) Is(target error) bool { return target == ErrInvalidGrant }

// Unwrap returns the token endpoint's error.
func (e *InvalidGrantError) Unwrap() error { return e.Err }

// ReadToken reads a token file written by WriteToken. It refuses a file
// that others may read, and one without a refresh token.
func ReadToken(file string) (*oauth2.Token, error) {
	fi, err := os.Stat(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("OAuth token %s: %w: sign in with `rsvp auth`", file, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("OAuth token: %w", err)
	}
	if err := checkMode(file, fi); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("OAuth token: %w", err)
	}
	var tok oauth2.Token
	if err := json.Unmarshal(data, &tok); err != nil {
		return nil, fmt.Errorf("OAuth token %s: not a token file (%v): sign in again with `rsvp auth`", file, err)
	}
	if tok.RefreshToken == "" {
		return nil, fmt.Errorf("OAuth token %s has no refresh token: sign in again with `rsvp auth`", file)
	}
	return &tok, nil
}

// checkMode refuses a token file readable or writable by group or others.
// Windows has no such mode bits.
func checkMode(file string, fi fs.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("OAuth token %s has mode %04o, so other users may read it: run `chmod 600 %s`", file, perm, file)
	}
	return nil
}

// WriteToken saves tok to file atomically: a temporary file of mode 0600 in
// the same directory, fsync, rename over file, fsync of the directory. The
// directory is created with mode 0700 when missing.
func WriteToken(file string, tok *oauth2.Token) error {
	data, err := json.MarshalIndent(tok, "", "  ")
	if err != nil {
		return fmt.Errorf("encode OAuth token: %w", err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save OAuth token: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(file)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save OAuth token: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes 0600 files already; say so in case a umask or a
	// platform thinks otherwise.
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("save OAuth token: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("save OAuth token to %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("save OAuth token to %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save OAuth token to %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("save OAuth token: %w", err)
	}
	ok = true
	// The rename is durable only once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil && runtime.GOOS != "windows" {
			return fmt.Errorf("save OAuth token: sync %s: %w", dir, err)
		}
	}
	return nil
}

// TokenOptions configures NewTokenSource.
type TokenOptions struct {
	Config    *oauth2.Config // client ID, secret and endpoint
	TokenFile string
	// Account is the account's name in the config, used in the hint of
	// an InvalidGrantError.
	Account string
	Logger  *slog.Logger
	// ForceRefresh makes the first Token call refresh even when the saved
	// access token has not expired: a connection signs in with a fresh
	// token, and a grant revoked meanwhile shows as ErrInvalidGrant rather
	// than as a refused access token.
	ForceRefresh bool
}

// TokenSource is NewTokenSource without an account name.
func TokenSource(ctx context.Context, cfg *oauth2.Config, tokenFile string, logger *slog.Logger) (oauth2.TokenSource, error) {
	return NewTokenSource(ctx, TokenOptions{Config: cfg, TokenFile: tokenFile, Logger: logger})
}

// NewTokenSource reads the token file (see ReadToken) and returns a token
// source that refreshes the access token shortly before it expires and
// saves each new token to the file (WriteToken), keeping the refresh token
// when the token endpoint does not send a new one. ctx carries the HTTP
// client for the token endpoint (oauth2.HTTPClient) for the source's whole
// life. The source is safe for concurrent use; pass it to oauth2.NewClient.
func NewTokenSource(ctx context.Context, o TokenOptions) (oauth2.TokenSource, error) {
	if o.Config == nil {
		return nil, errors.New("oauth: TokenSource needs the OAuth client configuration")
	}
	tok, err := ReadToken(o.TokenFile)
	if err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := *tok
	if o.ForceRefresh && start.RefreshToken != "" {
		start.Expiry = time.Unix(1, 0) // long expired: oauth2 refreshes it
	}
	return &persistingSource{
		src:  o.Config.TokenSource(ctx, &start),
		last: tok,
		opts: o,
		log:  log,
	}, nil
}

type persistingSource struct {
	mu   sync.Mutex
	src  oauth2.TokenSource // oauth2's reusing, refreshing source
	last *oauth2.Token      // what the file holds
	opts TokenOptions
	log  *slog.Logger
}

func (p *persistingSource) Token() (*oauth2.Token, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	tok, err := p.src.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			return nil, &InvalidGrantError{TokenFile: p.opts.TokenFile, Account: p.opts.Account, Err: re}
		}
		return nil, fmt.Errorf("refresh OAuth token from %s: %w", p.opts.TokenFile, err)
	}
	if tok.AccessToken == p.last.AccessToken && (tok.RefreshToken == "" || tok.RefreshToken == p.last.RefreshToken) {
		return tok, nil
	}
	save := *tok
	if save.RefreshToken == "" {
		save.RefreshToken = p.last.RefreshToken
	}
	if err := WriteToken(p.opts.TokenFile, &save); err != nil {
		// The new access token works anyway; a later refresh tries again.
		p.log.Warn("could not save the refreshed OAuth token", "file", p.opts.TokenFile, "err", err)
	} else {
		p.log.Debug("OAuth token refreshed and saved", "file", p.opts.TokenFile, "expiry", save.Expiry,
			"new_refresh_token", save.RefreshToken != p.last.RefreshToken)
	}
	p.last = &save
	return tok, nil
}
