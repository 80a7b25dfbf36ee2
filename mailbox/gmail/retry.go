package gmail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/rsvp-mail/rsvp/mailbox"
)

type errKind int

const (
	permanent   errKind = iota
	transient           // retry after a backoff
	authFailure         // mailbox.ErrAuth
)

// classify sorts an API error and returns the wait the server asked for.
func classify(err error) (errKind, time.Duration) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return permanent, 0
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		reasons := make([]string, 0, len(ge.Errors))
		for _, e := range ge.Errors {
			reasons = append(reasons, e.Reason)
		}
		has := func(rs ...string) bool {
			return slices.ContainsFunc(rs, func(r string) bool { return slices.Contains(reasons, r) })
		}
		switch {
		case ge.Code == http.StatusUnauthorized:
			return authFailure, 0
		case ge.Code == http.StatusTooManyRequests:
			return transient, retryAfter(ge.Header)
		case ge.Code == http.StatusForbidden && has("rateLimitExceeded", "userRateLimitExceeded"):
			return transient, retryAfter(ge.Header)
		case ge.Code == http.StatusForbidden && has("insufficientPermissions", "authError", "accessNotConfigured"):
			// The token lacks the scope, or the API is off for the
			// project: a new sign-in (or setup) is needed.
			return authFailure, 0
		case ge.Code >= 500:
			return transient, retryAfter(ge.Header)
		}
		return permanent, 0
	}
	// The token endpoint refused the refresh token (invalid_grant,
	// invalid_client, ...): only a new sign-in helps. Its 5xx are
	// passing trouble.
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil && re.Response.StatusCode >= 500 {
			return transient, 0
		}
		return authFailure, 0
	}
	// Transport trouble: refused or reset connections, timeouts, EOF.
	var ue *url.Error
	if errors.As(err, &ue) {
		return transient, 0
	}
	return permanent, 0
}

// retryAfter reads Retry-After: seconds or an HTTP date (RFC 9110 §10.2.3).
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}

// classified wraps a final error with the method name, and with
// mailbox.ErrAuth when the credentials are at fault.
func (c *Client) classified(method string, err error) error {
	if err == nil {
		return nil
	}
	if k, _ := classify(err); k == authFailure {
		return fmt.Errorf("gmail %s: %w: %w", method, mailbox.ErrAuth, err)
	}
	return fmt.Errorf("gmail %s: %w", method, err)
}

// call runs fn, retrying transient failures.
func (c *Client) call(ctx context.Context, method string, fn func() error) error {
	return c.callOnce(ctx, method, fn, nil)
}

// callOnce runs fn, retrying transient failures with jittered exponential
// backoff. For a request that must not happen twice, done is asked before
// every retry whether the earlier attempt took effect after all; its own
// failure counts as a failed attempt, and fn is not repeated until done has
// answered false.
func (c *Client) callOnce(ctx context.Context, method string, fn func() error, done func() (bool, error)) error {
	check := false
	for attempt := 0; ; attempt++ {
		var err error
		if check {
			var ok bool
			if ok, err = done(); err == nil {
				if ok {
					c.log.Info("gmail: an earlier attempt succeeded after all", "method", method)
					return nil
				}
				check = false
				err = fn()
			}
		} else {
			err = fn()
		}
		if err == nil {
			return nil
		}
		kind, wait := classify(err)
		if kind != transient {
			return c.classified(method, err)
		}
		if attempt >= c.opts.MaxRetries {
			return fmt.Errorf("gmail %s: giving up after %d attempts: %w", method, attempt+1, err)
		}
		if wait > c.opts.MaxRetryAfter {
			return fmt.Errorf("gmail %s: the server asks to wait %v: %w", method, wait, err)
		}
		d := max(c.backoff(attempt), wait)
		c.log.Debug("gmail: request failed; retrying", "method", method, "attempt", attempt+1, "wait", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("gmail %s: %w (last error: %v)", method, ctx.Err(), err)
		case <-t.C:
		}
		check = done != nil
	}
}

// backoff is RetryBase doubled per attempt, at most MaxBackoff, with
// "equal jitter": a random point in its upper half.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.MaxBackoff
	if attempt < 30 {
		d = min(d, c.opts.RetryBase<<attempt)
	}
	half := d / 2
	return half + rand.N(half+1)
}

// debugTransport writes one line per request to DebugWriter. It logs no
// header (the bearer token) and no body (the mail).
type debugTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	w    io.Writer
}

func (d *debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := d.base
	if base == nil {
		base = http.DefaultTransport
	}
	start := time.Now()
	resp, err := base.RoundTrip(req)
	took := time.Since(start).Round(time.Millisecond)
	d.mu.Lock()
	defer d.mu.Unlock()
	u := *req.URL
	u.User = nil
	if err != nil {
		fmt.Fprintf(d.w, "gmail: %s %s -> error %v (%v)\n", req.Method, u.String(), err, took)
	} else {
		fmt.Fprintf(d.w, "gmail: %s %s -> %s (%v)\n", req.Method, u.String(), resp.Status, took)
	}
	return resp, err
}
