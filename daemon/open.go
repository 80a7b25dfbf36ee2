package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"golang.org/x/oauth2"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/mailbox"
	"github.com/rsvp-mail/rsvp/mailbox/gmail"
	"github.com/rsvp-mail/rsvp/mailbox/imap"
	"github.com/rsvp-mail/rsvp/oauth"
)

// passwordCommandTimeout bounds a password_command (a locked password
// store may prompt: give the user time, but not forever).
const passwordCommandTimeout = 2 * time.Minute

// Backends opens accounts with the real mailbox backends.
type Backends struct {
	Logger      *slog.Logger
	DebugWriter io.Writer
	// GmailEndpoint replaces Google's API address (tests point it at a
	// fake); "" is Google.
	GmailEndpoint string
}

// Open implements OpenFunc.
func (b Backends) Open(ctx context.Context, a config.Account, readOnly bool) (mailbox.Mailbox, error) {
	log := b.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch a.Backend {
	case "", "imap":
		flag := ""
		if a.Flag != nil {
			flag = *a.Flag
		}
		username := a.Username
		if username == "" {
			username = a.Address
		}
		opts := imap.Options{
			Addr:         net.JoinHostPort(a.Host, strconv.Itoa(a.Port)),
			Security:     a.Security,
			CAFile:       config.ExpandHome(a.CAFile),
			Username:     username,
			Password:     func() (string, error) { return Password(ctx, a) },
			Mailbox:      a.Mailbox,
			DraftsName:   a.Drafts,
			ReadOnly:     readOnly,
			Flag:         flag,
			PollInterval: time.Duration(a.PollInterval),
			DebugWriter:  b.DebugWriter,
			Logger:       log.With("account", a.Name),
		}
		if a.Auth == "xoauth2" {
			ts, err := tokenSource(a, oauth.ScopeIMAP, log)
			if err != nil {
				return nil, err
			}
			opts.Password = nil
			opts.Auth = func(context.Context) (sasl.Client, error) {
				tok, err := ts.Token() // refreshed when it is about to expire
				if err != nil {
					return nil, err
				}
				return imap.XOAuth2(username, tok.AccessToken), nil
			}
		}
		return imap.Dial(ctx, opts)
	case "gmail":
		ts, err := tokenSource(a, oauth.ScopeGmailModify, log)
		if err != nil {
			return nil, err
		}
		label := ""
		if a.Label != nil {
			label = *a.Label
		}
		return gmail.Open(ctx, gmail.Options{
			// The token source outlives ctx (one dial's deadline).
			HTTPClient:   oauth2.NewClient(context.Background(), ts),
			Endpoint:     b.GmailEndpoint,
			Label:        label,
			NoFlag:       label == "",
			ReadOnly:     readOnly,
			PollInterval: time.Duration(a.PollInterval),
			Logger:       log.With("account", a.Name),
			DebugWriter:  b.DebugWriter,
		})
	default:
		return nil, fmt.Errorf("account %q: backend %q is not supported by this build", a.Name, a.Backend)
	}
}

// tokenSource is the account's OAuth token source: refreshed tokens are
// saved; a revoked or expired grant is an oauth.ErrInvalidGrant.
func tokenSource(a config.Account, scope string, log *slog.Logger) (oauth2.TokenSource, error) {
	cfg, err := oauth.LoadClientSecret(a.ClientSecretFile, scope)
	if err != nil {
		return nil, err
	}
	// Refreshes happen long after this dial: not under its context.
	return oauth.NewTokenSource(context.Background(), oauth.TokenOptions{
		Config: cfg, TokenFile: a.TokenFile, Account: a.Name, Logger: log,
		// Each connection signs in with a fresh token (and learns at once
		// when the grant was revoked).
		ForceRefresh: true,
	})
}

// Password returns an account's password from where the config says:
// password_command (run without a shell; its first line), password_file
// (only when mode 0600; its first line), or password.
func Password(ctx context.Context, a config.Account) (string, error) {
	switch {
	case len(a.PasswordCommand) > 0:
		ctx, cancel := context.WithTimeout(ctx, passwordCommandTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, a.PasswordCommand[0], a.PasswordCommand[1:]...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			msg := strings.TrimSpace(stderr.String())
			if len(msg) > 200 {
				msg = msg[:200] + "…"
			}
			if msg != "" {
				return "", fmt.Errorf("password_command %q: %w: %s", a.PasswordCommand[0], err, msg)
			}
			return "", fmt.Errorf("password_command %q: %w", a.PasswordCommand[0], err)
		}
		pw := firstLine(out)
		if pw == "" {
			return "", fmt.Errorf("password_command %q printed nothing", a.PasswordCommand[0])
		}
		return pw, nil
	case a.PasswordFile != "":
		path := config.ExpandHome(a.PasswordFile)
		fi, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("password_file: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("password_file %s: other users can read it (mode %04o); run: chmod 600 %s", path, fi.Mode().Perm(), path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("password_file: %w", err)
		}
		pw := firstLine(b)
		if pw == "" {
			return "", fmt.Errorf("password_file %s is empty", path)
		}
		return pw, nil
	case a.Password != "":
		return a.Password, nil
	}
	return "", errors.New("no password configured: set password_command, password_file or password")
}

func firstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimRight(s, "\r")
}
