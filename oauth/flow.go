package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Errors of Authorize that a caller may want to tell apart.
var (
	// ErrAccessDenied means the user declined on the consent screen.
	ErrAccessDenied = errors.New("access was not granted (access_denied)")
	// ErrNoRefreshToken means the token endpoint answered no refresh token,
	// so the daemon could not keep working after the first hour.
	ErrNoRefreshToken = errors.New("Google sent no refresh token")
	// ErrScopeNotGranted means the user unticked a permission rsvp needs.
	ErrScopeNotGranted = errors.New("a needed permission was not granted")
)

// DefaultListen is where Authorize listens for the redirect by default:
// loopback, any free port (RFC 8252 §7.3).
const DefaultListen = "127.0.0.1:0"

// FlowOptions configures Authorize.
type FlowOptions struct {
	// Config is the OAuth client. When nil, it is read from
	// ClientSecretFile with LoadClientSecret.
	Config           *oauth2.Config
	ClientSecretFile string
	// Scopes replace Config.Scopes when not empty (ScopeGmailModify for the
	// Gmail API, ScopeIMAP for IMAP).
	Scopes []string
	// TokenFile is where the token is saved (WriteToken).
	TokenFile string
	// Out receives the sign-in URL and progress for the user.
	Out io.Writer
	// OpenBrowser opens the URL in the user's browser (for example with
	// xdg-open); nil leaves it to the user. It runs in its own goroutine;
	// when it fails, the user is told to open the URL by hand.
	OpenBrowser func(url string) error
	// Listen is the loopback address for the redirect; "" means
	// DefaultListen, or the port of a loopback redirect URL registered
	// for a "web" client (Config.RedirectURL).
	Listen string
	Logger *slog.Logger
}

// Authorize runs the installed-app sign-in: it listens on a loopback port,
// shows (and optionally opens) the consent URL, waits for the browser to be
// sent back with a code, exchanges the code with the PKCE verifier and
// saves the token to TokenFile. A response with the wrong state is refused
// and the wait goes on; access_denied, a failed exchange, a missing refresh
// token or a permission left unticked end it with an error. Cancel ctx to
// give up waiting.
func Authorize(ctx context.Context, o FlowOptions) (*oauth2.Token, error) {
	cfg, err := flowConfig(o)
	if err != nil {
		return nil, err
	}
	if o.TokenFile == "" {
		return nil, errors.New("oauth: no token file to save the sign-in to")
	}
	if o.Out == nil && o.OpenBrowser == nil {
		return nil, errors.New("oauth: nowhere to show the sign-in URL (no Out and no OpenBrowser)")
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	listen, redirect, err := redirectTarget(o.Listen, cfg.RedirectURL)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("listen for the sign-in redirect on %s: %w", listen, err)
	}
	if redirect == nil {
		redirect = &url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/"}
	}
	cfg.RedirectURL = redirect.String()

	state := randomToken()
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL(state, oauth2.AccessTypeOffline, oauth2.ApprovalForce, oauth2.S256ChallengeOption(verifier))

	fl := &flow{
		path:     redirect.Path,
		state:    state,
		results:  make(chan callback),
		refused:  make(chan string, 8),
		finished: make(chan struct{}),
	}
	srv := &http.Server{Handler: fl, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go srv.Serve(ln)
	defer func() {
		close(fl.finished)
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		// Serve may not have started yet, and then Shutdown does not know
		// the listener.
		ln.Close()
	}()

	fmt.Fprintf(out, "Open this URL in your browser and allow rsvp to use your Google account:\n\n  %s\n\n", authURL)
	fmt.Fprintf(out, "Waiting for the browser to come back to %s (Ctrl-C to give up) ...\n", cfg.RedirectURL)
	var browserDone chan error
	if o.OpenBrowser != nil {
		browserDone = make(chan error, 1)
		go func() { browserDone <- o.OpenBrowser(authURL) }()
	}

	refused := func(why string) {
		fmt.Fprintf(out, "Ignored a request to %s: %s. Still waiting ...\n", cfg.RedirectURL, why)
	}
	browserFailed := func(err error) {
		browserDone = nil
		if err != nil {
			fmt.Fprintf(out, "Could not open a browser (%v): open the URL above yourself.\n", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the sign-in: %w", ctx.Err())
		case err := <-browserDone:
			browserFailed(err)
		case why := <-fl.refused:
			refused(why)
		case cb := <-fl.results:
			// A browser that failed to open, and requests refused before
			// this one, are reported first (select picks at random among
			// the channels that are ready).
			select {
			case err := <-browserDone:
				browserFailed(err)
			default:
			}
			for more := true; more; {
				select {
				case why := <-fl.refused:
					refused(why)
				default:
					more = false
				}
			}
			tok, err := finish(ctx, cfg, o, cb, verifier)
			cb.reply <- err
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(out, "Signed in. The token is saved in %s.\n", o.TokenFile)
			log.Info("OAuth sign-in saved", "file", o.TokenFile, "scopes", strings.Join(cfg.Scopes, " "))
			return tok, nil
		}
	}
}

func flowConfig(o FlowOptions) (*oauth2.Config, error) {
	var cfg oauth2.Config
	switch {
	case o.Config != nil:
		cfg = *o.Config
	case o.ClientSecretFile != "":
		c, err := LoadClientSecret(o.ClientSecretFile)
		if err != nil {
			return nil, err
		}
		cfg = *c
	default:
		return nil, errors.New("oauth: no OAuth client: set a client secret file; " + clientSecretHint)
	}
	if len(o.Scopes) > 0 {
		cfg.Scopes = append([]string(nil), o.Scopes...)
	}
	if len(cfg.Scopes) == 0 {
		return nil, errors.New("oauth: no scopes to ask for")
	}
	return &cfg, nil
}

// redirectTarget picks the address to listen on and, when it is fixed in
// advance, the redirect URL.
func redirectTarget(listen, registered string) (string, *url.URL, error) {
	if listen == "" && registered != "" {
		u, err := url.Parse(registered)
		if err != nil {
			return "", nil, fmt.Errorf("oauth: redirect URL %q: %w", registered, err)
		}
		host := u.Hostname()
		if host == "localhost" {
			host = "127.0.0.1"
		}
		if u.Path == "" {
			u.Path = "/"
		}
		listen = net.JoinHostPort(host, u.Port())
		return listen, u, checkLoopback(listen)
	}
	if listen == "" {
		listen = DefaultListen
	}
	return listen, nil, checkLoopback(listen)
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("oauth: listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("oauth: listen address %q is not a loopback IP address; the sign-in redirect must stay on this machine (RFC 8252 §8.3)", addr)
	}
	return nil
}

func finish(ctx context.Context, cfg *oauth2.Config, o FlowOptions, cb callback, verifier string) (*oauth2.Token, error) {
	if cb.err != "" {
		if cb.err == "access_denied" {
			return nil, fmt.Errorf("sign-in: %w: you declined on the consent screen; run `rsvp auth` again and allow access", ErrAccessDenied)
		}
		if cb.desc != "" {
			return nil, fmt.Errorf("sign-in: the authorization server answered %q: %s", cb.err, cb.desc)
		}
		return nil, fmt.Errorf("sign-in: the authorization server answered %q", cb.err)
	}
	tok, err := cfg.Exchange(ctx, cb.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("sign-in: exchanging the authorization code for a token: %w", err)
	}
	if tok.RefreshToken == "" {
		return nil, fmt.Errorf("sign-in: %w; remove rsvp's access at https://myaccount.google.com/permissions and run `rsvp auth` again", ErrNoRefreshToken)
	}
	if granted, ok := tok.Extra("scope").(string); ok && granted != "" {
		have := strings.Fields(granted)
		for _, want := range cfg.Scopes {
			if !slices.Contains(have, want) {
				return nil, fmt.Errorf("sign-in: %w: %s; run `rsvp auth` again and tick every box on the consent screen", ErrScopeNotGranted, want)
			}
		}
	}
	if err := WriteToken(o.TokenFile, tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// flow is the loopback HTTP handler. It hands each callback with the right
// state to Authorize and shows the outcome in the browser.
type flow struct {
	path     string
	state    string
	results  chan callback
	refused  chan string
	finished chan struct{}
}

type callback struct {
	code, err, desc string
	reply           chan error // buffered; Authorize answers every callback it takes
}

func (f *flow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != f.path {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if q.Get("state") != f.state {
		f.refuse("its state does not match this sign-in (a stale tab, or a forged request)")
		page(w, http.StatusBadRequest, "This response does not belong to the sign-in running in your terminal",
			"It was ignored. Use the URL the terminal shows.")
		return
	}
	if q.Get("code") == "" && q.Get("error") == "" {
		f.refuse("it carries neither a code nor an error")
		page(w, http.StatusBadRequest, "Nothing to do here", "Use the URL the terminal shows.")
		return
	}
	cb := callback{code: q.Get("code"), err: q.Get("error"), desc: q.Get("error_description"), reply: make(chan error, 1)}
	select {
	case f.results <- cb:
	case <-f.finished:
		page(w, http.StatusGone, "This sign-in is over", "Return to the terminal.")
		return
	case <-r.Context().Done():
		return
	}
	var err error
	select {
	case err = <-cb.reply:
	case <-r.Context().Done():
		return
	}
	if err != nil {
		page(w, http.StatusBadRequest, "Sign-in failed", "rsvp could not finish the sign-in: "+err.Error()+". Return to the terminal.")
		return
	}
	page(w, http.StatusOK, "rsvp is signed in", "You can close this tab and return to the terminal.")
}

func (f *flow) refuse(why string) {
	select {
	case f.refused <- why:
	default:
	}
}

func page(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>rsvp: %[1]s</title></head>\n"+
		"<body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>%[1]s</h1>\n<p>%[2]s</p></body></html>\n",
		html.EscapeString(title), html.EscapeString(text))
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}
