package imap

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/rsvp-mail/rsvp/internal/testserver/dovecot"
	"github.com/rsvp-mail/rsvp/internal/testserver/xoauthimap"
	"github.com/rsvp-mail/rsvp/mailbox"
)

const (
	gmailUser = "alex.morgan@gmail.com"
	goodToken = "ya29.a0AfB_good-access-token-for-tests"
	badToken  = "ya29.a0AfB_expired-access-token-for-tests"
	// googleError is what Gmail sends in the challenge when it refuses a
	// token.
	googleError = xoauthimap.GoogleError
)

var xoauth2String = xoauthimap.SASLString

// startOAuthServer starts a server that lets gmailUser in with goodToken
// only, with one message in INBOX.
func startOAuthServer(t *testing.T) *xoauthimap.Server {
	t.Helper()
	s := xoauthimap.Start(t, gmailUser, func(token string) bool { return token == goodToken })
	s.Append(t, "INBOX", corpus(t, 1), time.Now())
	return s
}

// oauthOptions dials srv with XOAUTH2 and token, counting Auth calls.
func oauthOptions(addr, token string, calls *int) Options {
	return Options{Addr: addr, Security: "plain", Username: gmailUser,
		Auth: func(ctx context.Context) (sasl.Client, error) {
			*calls++
			return XOAuth2(gmailUser, token), nil
		}}
}

func TestXOAuth2AgainstAnIMAPServer(t *testing.T) {
	t.Run("a good token logs in with the exact SASL string, fetched anew per Dial", func(t *testing.T) {
		srv := startOAuthServer(t)
		calls := 0
		for i := 1; i <= 2; i++ {
			c, err := Dial(ctx(t), oauthOptions(srv.Addr, goodToken, &calls))
			if err != nil {
				t.Fatalf("Dial %d: %v", i, err)
			}
			batch, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now().AddDate(0, 0, -1))
			if err != nil || len(batch) != 1 {
				t.Fatalf("Fetch after XOAUTH2 = %v, %v; want the one message", uids(batch), err)
			}
			c.Close()
			if calls != i {
				t.Errorf("Auth called %d times after %d Dials", calls, i)
			}
		}
		got := srv.Received()
		want := xoauth2String(gmailUser, goodToken)
		if len(got) != 2 || string(got[0]) != want || string(got[1]) != want {
			t.Fatalf("server received SASL responses %q, want %q once per Dial", got, want)
		}
		if logins := srv.Logins(); logins != 0 {
			t.Errorf("%d LOGIN commands sent, want none", logins)
		}
	})

	t.Run("a refused token is ErrAuth carrying the JSON status", func(t *testing.T) {
		srv := startOAuthServer(t)
		calls := 0
		_, err := Dial(ctx(t), oauthOptions(srv.Addr, badToken, &calls))
		if !errors.Is(err, mailbox.ErrAuth) {
			t.Fatalf("Dial = %v, want ErrAuth", err)
		}
		var xe *XOAuth2Error
		if !errors.As(err, &xe) || xe.Status != "401" || xe.Scope != "https://mail.google.com/" {
			t.Fatalf("Dial = %v (%#v), want an *XOAuth2Error with status 401", err, xe)
		}
		if !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), badToken) {
			t.Errorf("error %q should name status 401 and never the token", err)
		}
		got := srv.Received()
		if len(got) != 2 || string(got[0]) != xoauth2String(gmailUser, badToken) || len(got[1]) != 0 {
			t.Fatalf("server received %q, want the initial response, then an empty one", got)
		}
	})

	t.Run("the trace never holds the token", func(t *testing.T) {
		srv := startOAuthServer(t)
		for _, token := range []string{goodToken, badToken} {
			var trace syncBuffer
			calls := 0
			o := oauthOptions(srv.Addr, token, &calls)
			o.DebugWriter = &trace
			c, err := Dial(ctx(t), o)
			if err == nil {
				if _, _, err := c.Fetch(ctx(t), mailbox.Cursor{}, time.Now()); err != nil {
					t.Fatal(err)
				}
				c.Close()
			}
			tr := trace.String()
			ir := xoauth2String(gmailUser, token)
			for _, secret := range []string{
				token,
				base64.StdEncoding.EncodeToString([]byte(token)),
				base64.StdEncoding.EncodeToString([]byte(ir)),
				base64.StdEncoding.EncodeToString([]byte(googleError)),
			} {
				if strings.Contains(tr, secret) {
					t.Errorf("trace holds %q:\n%s", secret, tr)
				}
			}
			if !strings.Contains(tr, "[AUTHENTICATE exchange redacted]") {
				t.Errorf("trace lacks the redaction note:\n%s", tr)
			}
			if token == goodToken && !strings.Contains(tr, "SEARCH") {
				t.Errorf("trace stops after AUTHENTICATE:\n%s", tr)
			}
		}
	})

	t.Run("an error from Auth is returned and nothing is sent", func(t *testing.T) {
		srv := startOAuthServer(t)
		refresh := errors.New("oauth2: token refresh: invalid_grant")
		_, err := Dial(ctx(t), Options{Addr: srv.Addr, Security: "plain",
			Auth: func(context.Context) (sasl.Client, error) { return nil, refresh }})
		if !errors.Is(err, refresh) || errors.Is(err, mailbox.ErrAuth) {
			t.Fatalf("Dial = %v, want the Auth error, not ErrAuth", err)
		}
		if got := srv.Received(); len(got) != 0 {
			t.Errorf("server received %q", got)
		}
	})
}

func TestXOAuth2Client(t *testing.T) {
	c := XOAuth2("me@gmail.com", "tok")
	mech, ir, err := c.Start()
	if err != nil || mech != "XOAUTH2" || string(ir) != "user=me@gmail.com\x01auth=Bearer tok\x01\x01" {
		t.Fatalf("Start() = %q, %q, %v", mech, ir, err)
	}
	resp, err := c.Next([]byte(googleError))
	if err != nil || resp == nil || len(resp) != 0 {
		t.Fatalf("Next(error JSON) = %q, %v; want an empty response", resp, err)
	}
	if _, err := c.Next([]byte(googleError)); err == nil {
		t.Error("a second challenge was answered")
	}

	c = XOAuth2("me@gmail.com", "a garbled challenge")
	c.Start()
	c.Next([]byte("not json"))
	if f := c.(*xoauth2Client).failure(); f == nil || !strings.Contains(f.Error(), "not json") {
		t.Errorf("failure() = %v, want it to quote the challenge", f)
	}

	for _, bad := range [][2]string{{"me@gmail.com\x01auth=Bearer x", "tok"}, {"me@gmail.com", "tok\x01"}, {"me@gmail.com", ""}} {
		if _, _, err := XOAuth2(bad[0], bad[1]).Start(); err == nil {
			t.Errorf("Start() with user %q, token %q succeeded", bad[0], bad[1])
		}
	}
}

func TestXOAuth2NotOfferedIsErrAuth(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{}) // auth_mechanisms = plain login
	calls := 0
	_, err := Dial(ctx(t), oauthOptions(s.Addr, goodToken, &calls))
	if !errors.Is(err, mailbox.ErrAuth) || !strings.Contains(err.Error(), "AUTH=XOAUTH2") {
		t.Fatalf("Dial = %v, want ErrAuth naming AUTH=XOAUTH2", err)
	}
}
