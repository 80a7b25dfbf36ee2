package dovecot

import (
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// AppendAt puts raw into the default user's INBOX with the INTERNALDATE
// when, through IMAP APPEND (doveadm save cannot set the date): mail that
// arrived long ago, for first-start tests.
func (s *Server) AppendAt(t testing.TB, raw []byte, when time.Time) {
	t.Helper()
	s.AppendAllAt(t, [][]byte{raw}, when)
}

// AppendAllAt is AppendAt of each of raws in turn, on one connection: a
// doveadm save each takes ~0.2 s.
func (s *Server) AppendAllAt(t testing.TB, raws [][]byte, when time.Time) {
	t.Helper()
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(s.User, s.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, raw := range raws {
		ac := c.Append("INBOX", int64(len(raw)), &goimap.AppendOptions{Time: when})
		if _, err := ac.Write(raw); err != nil {
			t.Fatal(err)
		}
		if err := ac.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := ac.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}
