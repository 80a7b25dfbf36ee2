package imap

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
)

// XOAuth2 returns a SASL client for Google's XOAUTH2 mechanism
// (https://developers.google.com/gmail/imap/xoauth2-protocol), for
// Options.Auth. token is an OAuth 2.0 access token for the scope
// https://mail.google.com/.
//
// The initial response is "user=" username "\x01auth=Bearer " token
// "\x01\x01". A server that refuses the token sends a challenge with a JSON
// error instead of NO; the client answers it with an empty response, so the
// server ends the exchange with NO, and Dial's error then carries an
// *XOAuth2Error with the JSON's status.
func XOAuth2(username, token string) sasl.Client {
	return &xoauth2Client{username: username, token: token}
}

// XOAuth2Error is the error a server reports in an XOAUTH2 challenge, e.g.
// {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}.
// Status 401 usually means the access token has expired: fetch a new one.
type XOAuth2Error struct {
	Status  string `json:"status"`
	Schemes string `json:"schemes"`
	Scope   string `json:"scope"`

	raw string // the challenge, when it is not that JSON
}

func (e *XOAuth2Error) Error() string {
	if e.Status == "" {
		return fmt.Sprintf("XOAUTH2 refused: server said %q", e.raw)
	}
	msg := "XOAUTH2 refused: status " + e.Status
	if e.Schemes != "" {
		msg += ", schemes " + e.Schemes
	}
	if e.Scope != "" {
		msg += ", scope " + e.Scope
	}
	return msg
}

type xoauth2Client struct {
	username, token string
	refused         *XOAuth2Error // the server's error challenge, once seen
}

func (c *xoauth2Client) Start() (mech string, ir []byte, err error) {
	// \x01 separates the fields: one inside a value would forge another.
	if strings.ContainsAny(c.username+c.token, "\x01") {
		return "", nil, errors.New("XOAUTH2: user name or token contains a \\x01 byte")
	}
	if c.token == "" {
		return "", nil, errors.New("XOAUTH2: empty access token")
	}
	return "XOAUTH2", []byte("user=" + c.username + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

// Next answers the only challenge XOAUTH2 has, the error report, with an
// empty response: the protocol wants one before the server sends NO.
// (imapclient of go-imap v2.0.0-beta.8 writes an empty continuation
// response as "=", which a strict server may answer with BAD instead;
// Dial reports ErrAuth with this error either way.)
func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	if c.refused != nil {
		return nil, errors.New("XOAUTH2: unexpected second challenge")
	}
	e := &XOAuth2Error{}
	if err := json.Unmarshal(challenge, e); err != nil || e.Status == "" {
		e = &XOAuth2Error{raw: string(challenge)}
	}
	c.refused = e
	return []byte{}, nil
}

// failure is the server's refusal, if it sent one; Dial reports it.
func (c *xoauth2Client) failure() error {
	if c.refused == nil {
		return nil
	}
	return c.refused
}

// secrets is what the redacting DebugWriter must never let through.
func (c *xoauth2Client) secrets() [][]byte { return [][]byte{[]byte(c.token)} }
