package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/internal/testserver/fakegmail"
	"github.com/rsvp-mail/rsvp/internal/testserver/fakeoauth"
	"github.com/rsvp-mail/rsvp/internal/testserver/xoauthimap"
	"github.com/rsvp-mail/rsvp/oauth"
	"github.com/rsvp-mail/rsvp/store"
)

// signIn runs the real OAuth flow against fo for scope and saves the token.
func signIn(t *testing.T, fo *fakeoauth.Server, tokenFile, scope string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := oauth.Authorize(ctx, oauth.FlowOptions{Config: fo.Config(scope), TokenFile: tokenFile,
		Out: new(bytes.Buffer), OpenBrowser: fakeoauth.Browser(nil)}); err != nil {
		t.Fatalf("sign in: %v", err)
	}
}

// signedIn starts a fake authorization server, writes its client secret
// into a new directory dir and signs in for scope: the files an OAuth
// account's config names.
func signedIn(t *testing.T, scope string) (fo *fakeoauth.Server, dir, secret, tokenFile string) {
	t.Helper()
	fo = fakeoauth.New(t)
	dir = t.TempDir()
	secret = filepath.Join(dir, "client_secret.json")
	if err := os.WriteFile(secret, fo.ClientSecretJSON("installed"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile = filepath.Join(dir, "token.json")
	signIn(t, fo, tokenFile, scope)
	return fo, dir, secret, tokenFile
}

// TestGmailAccountEndToEnd runs the daemon's Gmail path with the real
// gmail/v1 client and oauth token source against fake servers: invitations
// labelled, drafts in the invitation's thread, nothing drafted twice
// across a restart, and a revoked sign-in stopping the account until
// rsvp auth saves a new token.
func TestGmailAccountEndToEnd(t *testing.T) {
	old := tokenPoll
	tokenPoll = 20 * time.Millisecond
	t.Cleanup(func() { tokenPoll = old })

	fo, dir, secret, tokenFile := signedIn(t, oauth.ScopeGmailModify)
	fg := fakegmail.New(t)
	fg.SetTokenCheck(fo.Valid)

	files, raw, invites := corpusMail(t)
	gmailID := map[string]string{} // corpus file → Gmail message id
	threadOf := map[string]string{}
	for _, f := range files {
		gmailID[f], threadOf[f] = fg.Deliver(raw[f])
	}
	cfg, err := config.Parse(filepath.Join(dir, "config.yaml"), []byte(fmt.Sprintf(`me:
  name: Alex Morgan
oauth:
  client_secret_file: %s
accounts:
  - name: gmail
    backend: gmail
    address: alex.morgan@example.net
    token_file: %s
    poll_interval: 100ms
`, secret, tokenFile)))
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, t.TempDir())
	opener := func(o *Options) { o.Open = Backends{GmailEndpoint: fg.Endpoint()}.Open }
	r := start(t, cfg, st, opener)
	waitFor(t, "every invitation found", 30*time.Second, func() bool { return r.ev.count(EventFound) == len(invites) })
	waitFor(t, "every invitation labelled", 30*time.Second, func() bool { return r.ev.count(EventFlagged) >= len(invites) })

	var labelID string
	for _, l := range fg.Labels() {
		if l.Name == "Interview invitations" {
			labelID = l.ID
		}
	}
	if labelID == "" {
		t.Fatalf("no label \"Interview invitations\" among %v", fg.Labels())
	}
	for _, f := range files {
		m, _ := fg.Message(gmailID[f])
		_, invite := invites[f]
		if got := slices.Contains(m.LabelIDs, labelID); got != invite {
			t.Errorf("%s: labelled %v, want %v", f, got, invite)
		}
		if !slices.Contains(m.LabelIDs, "INBOX") || slices.Contains(m.LabelIDs, "UNREAD") != slices.Contains(labelsAtDelivery(), "UNREAD") {
			t.Errorf("%s: labels %v changed beyond the invitation label", f, m.LabelIDs)
		}
	}

	for _, inv := range invitations(t, st) {
		if _, err := st.Decide(context.Background(), inv.ID, store.ActionDecline, ""); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every draft", 30*time.Second, func() bool { return r.ev.count(EventDrafted) == len(invites) })
	checkGmailDrafts(t, fg, raw, invites, threadOf)

	// A restart drafts nothing again.
	r.stop(t)
	r = start(t, cfg, st, opener)
	waitFor(t, "idle after restart", 30*time.Second, func() bool { return r.ev.count(EventIdle) > 0 })
	if n := len(fg.Drafts()); n != len(invites) {
		t.Errorf("%d drafts after a restart, want %d", n, len(invites))
	}

	// Revoked: the account stops with a clear message, until a new sign-in.
	fo.RevokeAll()
	waitFor(t, "the sign-in problem logged", 30*time.Second, func() bool {
		return strings.Contains(r.logs.String(), "sign-in expired or was revoked") && strings.Contains(r.logs.String(), "rsvp auth --account gmail")
	})
	time.Sleep(300 * time.Millisecond) // several poll intervals: it must not retry on its own
	if n := strings.Count(r.logs.String(), "sign-in expired or was revoked"); n != 1 {
		t.Errorf("the revoked sign-in was logged %d times, want once", n)
	}
	signIn(t, fo, tokenFile, oauth.ScopeGmailModify)
	waitFor(t, "the account back", 30*time.Second, func() bool { return strings.Contains(r.logs.String(), "a new sign-in was saved") })
	_, id2 := fg.Deliver(bytes.ReplaceAll(raw[firstInvite(invites)], []byte("Message-ID: <"), []byte("Message-ID: <again.")))
	_ = id2
	waitFor(t, "mail after the new sign-in", 30*time.Second, func() bool { return r.ev.count(EventFound) == 1 })
}

func labelsAtDelivery() []string { return []string{"INBOX", "UNREAD"} }

func firstInvite(invites map[string]label) string {
	var names []string
	for n := range invites {
		names = append(names, n)
	}
	slices.Sort(names)
	return names[0]
}

func checkGmailDrafts(t *testing.T, fg *fakegmail.Server, raw map[string][]byte, invites map[string]label, threadOf map[string]string) {
	t.Helper()
	drafts := fg.Drafts()
	if len(drafts) != len(invites) {
		t.Errorf("%d drafts, want %d", len(drafts), len(invites))
	}
	byThread := map[string]int{}
	for _, d := range drafts {
		byThread[d.Message.ThreadID]++
	}
	for name, l := range invites {
		th := threadOf[name]
		if byThread[th] != 1 {
			t.Errorf("%s: %d drafts in its thread, want 1", name, byThread[th])
		}
		id := messageID(t, raw[name])
		for _, d := range drafts {
			if d.Message.ThreadID != th {
				continue
			}
			s := string(d.Message.Raw)
			if !strings.Contains(s, "In-Reply-To: <"+id+">") || !strings.Contains(strings.ToLower(s), strings.ToLower(l.ReplyTo)) {
				t.Errorf("%s: the draft lacks In-Reply-To <%s> or the reply address %s", name, id, l.ReplyTo)
			}
		}
	}
}

// TestDebugOutputHoldsNoToken runs a Gmail account with the protocol trace
// and debug logs on, and greps them for the tokens.
func TestDebugOutputHoldsNoToken(t *testing.T) {
	fo, dir, secret, tokenFile := signedIn(t, oauth.ScopeGmailModify)
	fg := fakegmail.New(t)
	fg.SetTokenCheck(fo.Valid)
	_, raw, invites := corpusMail(t)
	fg.Deliver(raw[firstInvite(invites)])
	cfg, err := config.Parse(filepath.Join(dir, "config.yaml"), []byte(fmt.Sprintf(
		"oauth:\n  client_secret_file: %s\naccounts:\n  - name: g\n    backend: gmail\n    address: a@example.net\n    token_file: %s\n", secret, tokenFile)))
	if err != nil {
		t.Fatal(err)
	}
	trace := &syncBuffer{}
	r := start(t, cfg, openStore(t, t.TempDir()), func(o *Options) {
		o.Open = Backends{GmailEndpoint: fg.Endpoint(), DebugWriter: trace}.Open
	})
	waitFor(t, "the invitation", 30*time.Second, func() bool { return r.ev.count(EventFound) == 1 })
	r.stop(t)
	tok, err := oauth.ReadToken(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	out := trace.String() + r.logs.String()
	if !strings.Contains(trace.String(), "GET ") {
		t.Fatalf("no protocol trace:\n%s", trace.String())
	}
	for what, secret := range map[string]string{"access token": tok.AccessToken, "refresh token": tok.RefreshToken, "client secret": fo.ClientSecret} {
		if secret != "" && strings.Contains(out, secret) {
			t.Errorf("the debug output holds the %s", what)
		}
	}
}

// TestGmailOverIMAPWithXOAuth2 runs an IMAP account with auth: xoauth2
// against a server that, like Gmail, lets the user in with XOAUTH2 only:
// the daemon signs in with the access token from `rsvp auth`, refreshed for
// each connection, never tries LOGIN, and finds the invitation. Once the
// grant is revoked, the next connection is refused before any AUTHENTICATE.
func TestGmailOverIMAPWithXOAuth2(t *testing.T) {
	fo, dir, secret, tokenFile := signedIn(t, oauth.ScopeIMAP)
	const user = "alex.morgan@gmail.com"
	srv := xoauthimap.Start(t, user, fo.Valid)
	_, raw, invites := corpusMail(t)
	srv.Append(t, "INBOX", raw[firstInvite(invites)], time.Now())
	host, port, _ := strings.Cut(srv.Addr, ":")
	cfg, err := config.Parse(filepath.Join(dir, "config.yaml"), []byte(fmt.Sprintf(`me:
  name: Alex Morgan
oauth:
  client_secret_file: %s
accounts:
  - name: gmail-imap
    address: %s
    host: %s
    port: %s
    security: plain
    auth: xoauth2
    token_file: %s
    poll_interval: 100ms
`, secret, user, host, port, tokenFile)))
	if err != nil {
		t.Fatal(err)
	}
	refreshed := fo.Refreshes()
	st := openStore(t, t.TempDir())
	r := start(t, cfg, st, nil) // the real backends
	waitFor(t, "the invitation found", 30*time.Second, func() bool { return r.ev.count(EventFound) == 1 })

	got := srv.Received()
	if len(got) == 0 {
		t.Fatal("no XOAUTH2 exchange reached the server")
	}
	prefix := "user=" + user + "\x01auth=Bearer "
	for _, resp := range got {
		tok := strings.TrimSuffix(strings.TrimPrefix(string(resp), prefix), "\x01\x01")
		if !strings.HasPrefix(string(resp), prefix) || !fo.Valid(tok) {
			t.Errorf("SASL response %q: want the user and a token the authorization server issued", resp)
		}
	}
	if n := srv.Logins(); n != 0 {
		t.Errorf("%d LOGIN commands, want none", n)
	}
	if fo.Refreshes() <= refreshed {
		t.Errorf("no token refresh for the connection (refreshes %d before, %d after)", refreshed, fo.Refreshes())
	}

	// Revoked: the account's next connection stops at the token refresh
	// and says to run rsvp auth again; nothing more reaches the server.
	r.stop(t)
	fo.RevokeAll()
	before := len(srv.Received())
	r = start(t, cfg, st, nil)
	waitFor(t, "the revoked grant reported", 30*time.Second, func() bool {
		return strings.Contains(r.logs.String(), "sign-in expired or was revoked") &&
			strings.Contains(r.logs.String(), "rsvp auth --account gmail-imap")
	})
	if n := len(srv.Received()); n != before {
		t.Errorf("%d more AUTHENTICATE exchanges after the grant was revoked, want none", n-before)
	}
}
