// Package fakeoauth is an OAuth 2.0 authorization server for tests, shaped
// like Google's: an authorization endpoint that consents at once, a token
// endpoint for the authorization_code and refresh_token grants, and a way to
// ask whether an access token is valid, so a fake resource server (package
// fakegmail) can check the bearer tokens it is sent.
//
// It is strict where a real server is strict, so client mistakes fail tests:
//
//   - the authorization request needs client_id, response_type=code, a
//     loopback http redirect_uri, a scope, and a PKCE code_challenge with
//     method S256 (RFC 7636);
//   - a code is single-use and bound to its client and redirect_uri; the
//     token request must repeat that redirect_uri and send a code_verifier
//     whose S256 hash is the challenge, else invalid_grant (RFC 7636 §4.6);
//   - the client authenticates with its secret, in the body or with HTTP
//     Basic, else invalid_client (RFC 6749 §2.3.1);
//   - a refresh token is issued only for access_type=offline, and a refresh
//     answers a new access token without a new refresh token, as Google does.
//
// Test controls make it deny consent, omit the refresh token, grant fewer
// scopes, revoke refresh tokens (invalid_grant), and count exchanges and
// refreshes.
package fakeoauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Paths of the endpoints under Server.URL.
const (
	AuthPath  = "/o/oauth2/auth"
	TokenPath = "/token"
)

// DefaultTokenLifetime is the lifetime of issued access tokens.
const DefaultTokenLifetime = time.Hour

// Server is a running fake authorization server. Its methods are safe for
// concurrent use.
type Server struct {
	URL          string
	ClientID     string
	ClientSecret string

	srv *httptest.Server

	mu       sync.Mutex
	codes    map[string]*grant
	refresh  map[string]*grant // refresh token -> grant; nil value = revoked
	access   map[string]time.Time
	lifetime time.Duration

	deny        bool
	noRefresh   bool
	grantScopes []string
	rotate      bool
	failRefresh string

	exchanges, refreshes int
	lastAuth             url.Values
}

type grant struct {
	clientID, redirect, challenge, scope string
	offline                              bool
	used                                 bool
}

// New starts a server; it stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		ClientID:     "fake-client-" + randomString(6) + ".apps.googleusercontent.example",
		ClientSecret: "fake-secret-" + randomString(12),
		codes:        map[string]*grant{},
		refresh:      map[string]*grant{},
		access:       map[string]time.Time{},
		lifetime:     DefaultTokenLifetime,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+AuthPath, s.authorize)
	mux.HandleFunc("POST "+TokenPath, s.token)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Endpoint is the server's endpoint for an oauth2.Config. The client
// secret goes in the request body, as with Google.
func (s *Server) Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{AuthURL: s.URL + AuthPath, TokenURL: s.URL + TokenPath, AuthStyle: oauth2.AuthStyleInParams}
}

// Config is an oauth2.Config for the server's client.
func (s *Server) Config(scopes ...string) *oauth2.Config {
	return &oauth2.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret, Endpoint: s.Endpoint(), Scopes: scopes}
}

// ClientSecretJSON is a client_secret.json for the server's client as the
// Google Cloud console writes it; kind is "installed" (a Desktop app) or
// "web".
func (s *Server) ClientSecretJSON(kind string) []byte {
	inner := map[string]any{
		"client_id":                   s.ClientID,
		"project_id":                  "rsvp-test",
		"auth_uri":                    s.URL + AuthPath,
		"token_uri":                   s.URL + TokenPath,
		"auth_provider_x509_cert_url": s.URL + "/certs",
		"client_secret":               s.ClientSecret,
		"redirect_uris":               []string{"http://localhost"},
	}
	b, err := json.MarshalIndent(map[string]any{kind: inner}, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// SetDeny makes the authorization endpoint answer as if the user clicked
// Cancel: a redirect with error=access_denied.
func (s *Server) SetDeny(deny bool) { s.mu.Lock(); s.deny = deny; s.mu.Unlock() }

// SetOmitRefreshToken makes code exchanges answer no refresh token.
func (s *Server) SetOmitRefreshToken(omit bool) { s.mu.Lock(); s.noRefresh = omit; s.mu.Unlock() }

// SetGrantedScopes makes the server grant only these scopes, as when the
// user unticks a box on Google's granular consent screen; nil grants what
// was asked.
func (s *Server) SetGrantedScopes(scopes []string) {
	s.mu.Lock()
	s.grantScopes = scopes
	s.mu.Unlock()
}

// SetRotateRefreshTokens makes refreshes answer a new refresh token too,
// invalidating the old one.
func (s *Server) SetRotateRefreshTokens(rotate bool) { s.mu.Lock(); s.rotate = rotate; s.mu.Unlock() }

// SetTokenLifetime sets the lifetime of access tokens issued from now on.
// oauth2 refreshes a token 10 seconds before it expires, so a lifetime
// under that makes every use refresh.
func (s *Server) SetTokenLifetime(d time.Duration) { s.mu.Lock(); s.lifetime = d; s.mu.Unlock() }

// FailRefresh makes every refresh answer this OAuth error code (for
// example "invalid_grant" or "invalid_client") until called with "".
func (s *Server) FailRefresh(code string) { s.mu.Lock(); s.failRefresh = code; s.mu.Unlock() }

// RevokeAll revokes every refresh and access token issued so far, as when
// the user removes the app at myaccount.google.com/permissions.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.refresh {
		s.refresh[k] = nil
	}
	clear(s.access)
}

// Valid reports whether an access token was issued by the server and has
// neither expired nor been revoked.
func (s *Server) Valid(accessToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.access[accessToken]
	return ok && time.Now().Before(exp)
}

// Exchanges is the number of successful authorization_code grants.
func (s *Server) Exchanges() int { s.mu.Lock(); defer s.mu.Unlock(); return s.exchanges }

// Refreshes is the number of successful refresh_token grants.
func (s *Server) Refreshes() int { s.mu.Lock(); defer s.mu.Unlock(); return s.refreshes }

// LastAuthRequest is the query of the last authorization request.
func (s *Server) LastAuthRequest() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAuth
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastAuth = q
	if q.Get("client_id") != s.ClientID {
		http.Error(w, "Error 401: invalid_client. The OAuth client was not found.", http.StatusUnauthorized)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "http" || !loopback(redirect.Hostname()) || redirect.Port() == "" {
		http.Error(w, "Error 400: invalid_request. redirect_uri must be a loopback http URL with a port, got "+q.Get("redirect_uri"), http.StatusBadRequest)
		return
	}
	switch {
	case q.Get("response_type") != "code":
		http.Error(w, "Error 400: unsupported_response_type", http.StatusBadRequest)
		return
	case q.Get("scope") == "":
		http.Error(w, "Error 400: invalid_request. Missing required parameter: scope", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		http.Error(w, "Error 400: invalid_request. This fake requires PKCE with code_challenge_method=S256", http.StatusBadRequest)
		return
	}
	back := url.Values{}
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	if s.deny {
		back.Set("error", "access_denied")
	} else {
		code := "4/" + randomString(24)
		scope := q.Get("scope")
		if s.grantScopes != nil {
			scope = strings.Join(s.grantScopes, " ")
		}
		s.codes[code] = &grant{
			clientID:  s.ClientID,
			redirect:  q.Get("redirect_uri"),
			challenge: q.Get("code_challenge"),
			scope:     scope,
			offline:   q.Get("access_type") == "offline",
		}
		back.Set("code", code)
		back.Set("scope", scope)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != s.ClientID || secret != s.ClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		s.exchange(w, r)
	case "refresh_token":
		s.refreshGrant(w, r)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+gt)
	}
}

func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	g, ok := s.codes[f.Get("code")]
	switch {
	case !ok || g.used:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Malformed auth code.")
		return
	case f.Get("redirect_uri") != g.redirect:
		oauthError(w, http.StatusBadRequest, "redirect_uri_mismatch", "Bad Request")
		return
	case f.Get("code_verifier") == "":
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Missing code verifier.")
		return
	case challenge(f.Get("code_verifier")) != g.challenge:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid code verifier.")
		return
	}
	g.used = true
	s.exchanges++
	resp := s.issue(g)
	if g.offline && !s.noRefresh {
		rt := "1//" + randomString(32)
		s.refresh[rt] = g
		resp["refresh_token"] = rt
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request) {
	rt := r.PostForm.Get("refresh_token")
	g, ok := s.refresh[rt]
	switch {
	case s.failRefresh != "":
		oauthError(w, http.StatusBadRequest, s.failRefresh, "Token has been expired or revoked.")
		return
	case !ok || g == nil:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
		return
	}
	s.refreshes++
	resp := s.issue(g)
	if s.rotate {
		s.refresh[rt] = nil
		nrt := "1//" + randomString(32)
		s.refresh[nrt] = g
		resp["refresh_token"] = nrt
	}
	writeJSON(w, http.StatusOK, resp)
}

// issue makes an access token; s.mu is held.
func (s *Server) issue(g *grant) map[string]any {
	at := "ya29." + randomString(32)
	s.access[at] = time.Now().Add(s.lifetime)
	return map[string]any{
		"access_token": at,
		"expires_in":   max(1, int(s.lifetime.Seconds())),
		"token_type":   "Bearer",
		"scope":        g.scope,
	}
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Browser returns an OpenBrowser function for oauth.FlowOptions that acts
// like a user who opens the URL and consents: it GETs the URL, follows the
// redirect to the loopback listener, and sends the page it ends on to pages
// (when pages is not nil).
func Browser(pages chan<- Page) func(string) error {
	return func(u string) error {
		p := Get(u)
		if pages != nil {
			pages <- p
		}
		return nil
	}
}

// Page is what the simulated browser ended up showing.
type Page struct {
	Status int
	Body   string
	Err    error
}

// Get fetches u like a browser (following redirects) and returns the final
// page.
func Get(u string) Page {
	resp, err := http.Get(u)
	if err != nil {
		return Page{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return Page{Status: resp.StatusCode, Body: string(body), Err: err}
}

// String describes the page for test failures.
func (p Page) String() string {
	if p.Err != nil {
		return "error: " + p.Err.Error()
	}
	return fmt.Sprintf("%d %q", p.Status, p.Body)
}
