// Package xoauthimap is an in-memory IMAP server for tests that lets its one
// user in the way Gmail does for OAuth: SASL XOAUTH2 only, no LOGIN. It is
// go-imap's imapserver with imapmemserver's mailboxes (INBOX and Drafts).
// A refused token gets Gmail's JSON challenge, then NO once the client has
// answered it (https://developers.google.com/gmail/imap/xoauth2-protocol).
package xoauthimap

import (
	"bytes"
	"io"
	"log"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
)

// GoogleError is the challenge Gmail sends when it refuses a token.
const GoogleError = `{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`

// SASLString is the XOAUTH2 initial response for user and an access token.
func SASLString(user, token string) string {
	return "user=" + user + "\x01auth=Bearer " + token + "\x01\x01"
}

// Server is a running server. Addr is its loopback address (no TLS).
type Server struct {
	Addr string
	User string

	valid func(token string) bool
	mem   *imapmemserver.User

	mu        sync.Mutex
	responses [][]byte // every SASL response received, in order
	logins    int      // LOGIN commands received
}

// Start starts a server for user that accepts the access tokens valid
// accepts; it stops when the test ends.
func Start(t testing.TB, user string, valid func(token string) bool) *Server {
	t.Helper()
	s := &Server{User: user, valid: valid,
		mem: imapmemserver.NewUser(user, "a-password-that-must-not-be-used")}
	for _, name := range []string{"INBOX", "Drafts"} {
		if err := s.mem.Create(name, nil); err != nil {
			t.Fatal(err)
		}
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &session{UserSession: imapmemserver.NewUserSession(s.mem), srv: s}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true, // plain loopback, as in the Dovecot tests
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Append adds a message to mailbox with the given internal date.
func (s *Server) Append(t testing.TB, mailbox string, raw []byte, date time.Time) {
	t.Helper()
	if _, err := s.mem.Append(mailbox, bytes.NewReader(raw), &imap.AppendOptions{Time: date}); err != nil {
		t.Fatal(err)
	}
}

// Received returns every SASL response the server got, in order.
func (s *Server) Received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.responses)
}

// Logins is how many LOGIN commands the server got (all refused).
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// session is imapmemserver's session for the one user, with XOAUTH2 as
// its only way in (imapserver.SessionSASL).
type session struct {
	*imapmemserver.UserSession
	srv *Server
}

var _ imapserver.SessionSASL = (*session)(nil)

func (s *session) Login(username, password string) error {
	s.srv.mu.Lock()
	s.srv.logins++
	s.srv.mu.Unlock()
	return imapserver.ErrAuthFailed
}

func (s *session) AuthenticateMechanisms() []string { return []string{"XOAUTH2"} }

func (s *session) Authenticate(mech string) (sasl.Server, error) {
	if mech != "XOAUTH2" {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "unsupported mechanism"}
	}
	return &xoauth2{srv: s.srv}, nil
}

type xoauth2 struct {
	srv  *Server
	step int
}

func (x *xoauth2) Next(resp []byte) (challenge []byte, done bool, err error) {
	x.srv.mu.Lock()
	x.srv.responses = append(x.srv.responses, bytes.Clone(resp))
	x.srv.mu.Unlock()
	x.step++
	switch {
	case x.step == 1 && x.accepts(string(resp)):
		return nil, true, nil
	case x.step == 1:
		return []byte(GoogleError), false, nil
	default:
		return nil, false, &imap.Error{Type: imap.StatusResponseTypeNo,
			Code: imap.ResponseCodeAuthenticationFailed, Text: "Invalid credentials (Failure)"}
	}
}

// accepts reports whether resp is the server's user with a valid token.
func (x *xoauth2) accepts(resp string) bool {
	prefix, suffix := "user="+x.srv.User+"\x01auth=Bearer ", "\x01\x01"
	if len(resp) < len(prefix)+len(suffix) || resp[:len(prefix)] != prefix || resp[len(resp)-len(suffix):] != suffix {
		return false
	}
	return x.srv.valid(resp[len(prefix) : len(resp)-len(suffix)])
}
