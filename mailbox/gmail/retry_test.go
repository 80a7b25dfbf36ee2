package gmail

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/rsvp-mail/rsvp/internal/testserver/fakegmail"
	"github.com/rsvp-mail/rsvp/internal/testserver/fakeoauth"
	"github.com/rsvp-mail/rsvp/mailbox"
	"github.com/rsvp-mail/rsvp/oauth"
)

func TestTransientErrorsAreRetriedInsideTheCall(t *testing.T) {
	tests := []struct {
		name     string
		failures []fakegmail.Failure
	}{
		{"429 with Retry-After, then 500", []fakegmail.Failure{
			{Status: http.StatusTooManyRequests, RetryAfter: time.Second}, {Status: http.StatusInternalServerError}}},
		{"403 rateLimitExceeded and userRateLimitExceeded", []fakegmail.Failure{
			{Status: http.StatusForbidden, Reason: "rateLimitExceeded"}, {Status: http.StatusForbidden, Reason: "userRateLimitExceeded"}}},
		{"503 twice", []fakegmail.Failure{{Status: http.StatusServiceUnavailable}, {Status: http.StatusServiceUnavailable}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			c := open(t, s, nil)
			_, cur := drain(t, c, mailbox.Cursor{}, time.Now().Add(-time.Hour))
			id, _ := s.Deliver(corpus(t, 2))
			for _, f := range tt.failures {
				f.Method = "history.list"
				s.Fail(f)
			}
			s.ResetCounters()
			batch, _, err := c.Fetch(testCtx(t), cur, time.Now().Add(-time.Hour))
			if err != nil || len(batch) != 1 || batch[0].ID != id {
				t.Fatalf("Fetch = %v, %v; want [%s] after the retries", ids(batch), err, id)
			}
			if n := s.Calls("history.list"); n != len(tt.failures)+1 {
				t.Errorf("history.list calls = %d, want %d", n, len(tt.failures)+1)
			}
			// The retry after a Retry-After waited at least that long.
			reqs := s.Requests()
			for i, f := range tt.failures {
				if f.RetryAfter > 0 {
					if gap := reqs[i+1].At.Sub(reqs[i].At); gap < f.RetryAfter {
						t.Errorf("retry %v after a Retry-After of %v", gap, f.RetryAfter)
					}
				}
			}
		})
	}
}

func TestRetriesAreBounded(t *testing.T) {
	s := newFake(t)
	c := open(t, s, func(o *Options) { o.MaxRetries = 2 })
	for range 3 {
		s.Fail(fakegmail.Failure{Method: "getProfile", Status: http.StatusInternalServerError})
	}
	s.ResetCounters()
	_, _, err := c.Fetch(testCtx(t), mailbox.Cursor{}, time.Now())
	if err == nil || errors.Is(err, mailbox.ErrAuth) || !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Fatalf("Fetch = %v, want a server error after 3 attempts", err)
	}
	if n := s.Calls("getProfile"); n != 3 {
		t.Errorf("getProfile calls = %d, want 3", n)
	}
}

func TestALongRetryAfterIsLeftToTheCaller(t *testing.T) {
	s := newFake(t)
	c := open(t, s, func(o *Options) { o.MaxRetryAfter = time.Second })
	s.FailNext(http.StatusTooManyRequests, time.Hour)
	start := time.Now()
	_, _, err := c.Fetch(testCtx(t), mailbox.Cursor{}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "asks to wait 1h0m0s") {
		t.Fatalf("Fetch = %v, want the long Retry-After reported", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Fetch waited %v for an hour-long Retry-After instead of returning", time.Since(start))
	}
}

func TestRefusedCredentialsAreErrAuth(t *testing.T) {
	t.Run("a 401 is not retried", func(t *testing.T) {
		s := newFake(t)
		c := open(t, s, nil)
		s.FailNext(http.StatusUnauthorized, 0)
		s.ResetCounters()
		_, _, err := c.Fetch(testCtx(t), mailbox.Cursor{}, time.Now())
		if !errors.Is(err, mailbox.ErrAuth) {
			t.Fatalf("Fetch after a 401 = %v, want ErrAuth", err)
		}
		if n := s.Calls("getProfile"); n != 1 {
			t.Errorf("getProfile calls = %d, want 1", n)
		}
	})
	t.Run("a wrong token fails Open", func(t *testing.T) {
		s := newFake(t)
		hc := oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.stolen"}))
		_, err := Open(testCtx(t), Options{HTTPClient: hc, Endpoint: s.Endpoint()})
		if !errors.Is(err, mailbox.ErrAuth) {
			t.Errorf("Open with a wrong token = %v, want ErrAuth", err)
		}
	})
	t.Run("a 403 for a missing scope", func(t *testing.T) {
		s := newFake(t)
		c := open(t, s, nil)
		s.Fail(fakegmail.Failure{Status: http.StatusForbidden, Reason: "insufficientPermissions"})
		_, _, err := c.Fetch(testCtx(t), mailbox.Cursor{}, time.Now())
		if !errors.Is(err, mailbox.ErrAuth) {
			t.Errorf("Fetch after 403 insufficientPermissions = %v, want ErrAuth", err)
		}
	})
}

// TestARevokedSignInIsErrAuth runs the real token path: oauth.Authorize
// against the fake authorization server, the refreshing token source in
// an oauth2 client, and the fake Gmail checking each bearer token with the
// authorization server.
func TestARevokedSignInIsErrAuth(t *testing.T) {
	fo := fakeoauth.New(t)
	fo.SetTokenLifetime(time.Second) // under oauth2's 10 s margin: every request refreshes
	tokenFile := filepath.Join(t.TempDir(), "work.json")
	_, err := oauth.Authorize(testCtx(t), oauth.FlowOptions{
		Config: fo.Config(oauth.ScopeGmailModify), TokenFile: tokenFile,
		Out: new(bytes.Buffer), OpenBrowser: fakeoauth.Browser(nil),
	})
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	ts, err := oauth.NewTokenSource(testCtx(t), oauth.TokenOptions{Config: fo.Config(), TokenFile: tokenFile, Account: "work"})
	if err != nil {
		t.Fatal(err)
	}
	s := newFake(t)
	s.SetTokenCheck(fo.Valid)
	s.Deliver(corpus(t, 2))
	c, err := Open(testCtx(t), Options{HTTPClient: oauth2.NewClient(testCtx(t), ts), Endpoint: s.Endpoint(),
		RetryBase: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open with the signed-in token: %v", err)
	}
	batch, _, err := c.Fetch(testCtx(t), mailbox.Cursor{}, time.Now().Add(-time.Hour))
	if err != nil || len(batch) != 1 {
		t.Fatalf("Fetch = %v, %v", ids(batch), err)
	}
	if fo.Refreshes() == 0 {
		t.Fatalf("the token was never refreshed; the test does not exercise the refresh path")
	}

	fo.RevokeAll()
	s.ResetCounters()
	_, _, err = c.Fetch(testCtx(t), mailbox.Cursor{}, time.Now().Add(-time.Hour))
	if !errors.Is(err, mailbox.ErrAuth) || !errors.Is(err, oauth.ErrInvalidGrant) {
		t.Fatalf("Fetch after revocation = %v, want ErrAuth and ErrInvalidGrant", err)
	}
	if !strings.Contains(err.Error(), "rsvp auth --account work") {
		t.Errorf("error %q does not tell the user to sign in again", err)
	}
	if n := s.QuotaUnits(); n != 0 {
		t.Errorf("%d quota units spent with a refused token, want 0 (no request reaches Gmail)", n)
	}
}

func TestDebugWriterTracesRequestsWithoutTheToken(t *testing.T) {
	s := newFake(t)
	var trace logBuffer
	c := open(t, s, func(o *Options) { o.DebugWriter = &trace })
	if _, _, err := c.Fetch(testCtx(t), mailbox.Cursor{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	out := trace.String()
	if !strings.Contains(out, "GET "+s.URL+"/gmail/v1/users/me/profile") || !strings.Contains(out, "200 OK") {
		t.Errorf("trace = %q, want request lines with status", out)
	}
	if strings.Contains(out, s.AccessToken()) || strings.Contains(out, "Bearer") {
		t.Errorf("trace %q leaks the token", out)
	}
}
