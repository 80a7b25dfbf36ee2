package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// inbox is the demo's mail: a small mixed inbox of invitations,
// look-alikes and ordinary mail, seeded into INBOX in file name order.
// inbox/labels.json (not embedded) says where each file came from and
// what it is.
//
//go:embed inbox/*.eml
var inbox embed.FS

// seed is one message of the embedded inbox.
type seed struct {
	Name string
	Raw  []byte
}

// seedMail returns the embedded inbox in file name order, as a server
// holds it.
func seedMail() ([]seed, error) {
	names, err := fs.Glob(inbox, "inbox/*.eml")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	out := make([]seed, 0, len(names))
	for _, n := range names {
		b, err := inbox.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, seed{Name: path.Base(n), Raw: crlf(b)})
	}
	return out, nil
}

// crlf ends every line with CRLF, as messages are written (RFC 5322
// section 2.1) and as an IMAP server hands them out; some files of the
// inbox end them with LF.
func crlf(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

// The demo account. The password is made up at each start; the server
// listens on loopback only.
const (
	demoUser   = "alex.morgan@example.net"
	mailboxSep = '/' // imapmemserver's hierarchy delimiter
)

// server is an in-process IMAP server: go-imap's imapserver with
// imapmemserver's mailboxes, one user, an INBOX seeded with the demo mail
// and a Drafts mailbox with the \Drafts special-use attribute.
//
// imapmemserver (v2.0.0-beta.8) accepts CREATE's USE option but drops it, so
// its LIST never shows special-use attributes. Each session is wrapped to
// keep them (with the subscriptions LIST also reports) and to answer LIST
// itself; the messages stay imapmemserver's.
type server struct {
	Addr     string // host:port on 127.0.0.1
	Username string
	Password string

	srv  *imapserver.Server
	user *imapmemserver.User
	done chan struct{} // closed when Serve returned

	mu        sync.Mutex // guards mailboxes, and orders changes with the user's
	mailboxes map[string]*mailboxAttrs
}

// mailboxAttrs is what LIST reports about a mailbox besides its name.
type mailboxAttrs struct {
	specialUse []imap.MailboxAttr
	subscribed bool
}

// startServer starts the server on 127.0.0.1 with mail seeded into INBOX,
// arrived (INTERNALDATE) in the minutes before now, in order. log gets the
// server's own complaints at debug level.
func startServer(mail []seed, now time.Time, log *slog.Logger) (*server, error) {
	pw := make([]byte, 12)
	if _, err := rand.Read(pw); err != nil {
		return nil, err
	}
	s := &server{
		Username:  demoUser,
		Password:  hex.EncodeToString(pw),
		mailboxes: map[string]*mailboxAttrs{},
		done:      make(chan struct{}),
	}
	s.user = imapmemserver.NewUser(s.Username, s.Password)
	if err := s.create("INBOX", nil); err != nil {
		return nil, err
	}
	if err := s.create("Drafts", &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrDrafts}}); err != nil {
		return nil, err
	}
	for i, m := range mail {
		when := now.Add(-time.Duration(len(mail)-i) * time.Minute).Truncate(time.Second)
		if _, err := s.user.Append("INBOX", bytes.NewReader(m.Raw), &imap.AppendOptions{Time: when}); err != nil {
			return nil, fmt.Errorf("seed %s: %w", m.Name, err)
		}
	}
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &session{srv: s}, nil, nil
		},
		Caps: imap.CapSet{
			imap.CapIMAP4rev1:        {},
			imap.CapUIDPlus:          {},
			imap.CapListExtended:     {},
			imap.CapSpecialUse:       {},
			imap.CapCreateSpecialUse: {},
		},
		// Loopback only, and the client refuses plain text elsewhere.
		InsecureAuth: true,
		Logger:       printfLogger{log},
		// No DebugWriter: a server-side trace would show the password;
		// --debug traces the client side, which redacts it.
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo IMAP server: %w", err)
	}
	s.Addr = ln.Addr().String()
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server and drops its mail.
func (s *server) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}

// printfLogger hands imapserver's messages (mostly connections that ended
// badly) to slog.
type printfLogger struct{ log *slog.Logger }

func (p printfLogger) Printf(format string, args ...any) {
	p.log.Debug("demo IMAP server: " + strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func trimName(name string) string { return strings.TrimRight(name, string(mailboxSep)) }

// create, remove, rename and subscribe change the user's mailboxes and
// what LIST reports about them together.

func (s *server) create(name string, opts *imap.CreateOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.user.Create(name, opts); err != nil {
		return err
	}
	a := &mailboxAttrs{}
	if opts != nil {
		a.specialUse = slices.Clone(opts.SpecialUse)
	}
	s.mailboxes[trimName(name)] = a
	return nil
}

func (s *server) remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.user.Delete(name); err != nil {
		return err
	}
	delete(s.mailboxes, name)
	return nil
}

func (s *server) rename(from, to string, opts *imap.RenameOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.user.Rename(from, to, opts); err != nil {
		return err
	}
	s.mailboxes[trimName(to)] = s.mailboxes[from]
	delete(s.mailboxes, from)
	return nil
}

func (s *server) subscribe(name string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if on {
		err = s.user.Subscribe(name)
	} else {
		err = s.user.Unsubscribe(name)
	}
	if err != nil {
		return err
	}
	if a := s.mailboxes[name]; a != nil {
		a.subscribed = on
	}
	return nil
}

// list answers LIST and LSUB, with special-use attributes (RFC 6154): always
// (section 2 allows them in a plain LIST, as Dovecot sends them), and as the
// selection when the client asks for SPECIAL-USE mailboxes only.
func (s *server) list(w *imapserver.ListWriter, ref string, patterns []string, opts *imap.ListOptions) error {
	if len(patterns) == 0 {
		// LIST "" "": the hierarchy delimiter (RFC 9051 section 6.3.9).
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: mailboxSep})
	}
	s.mu.Lock()
	var out []imap.ListData
	for name, a := range s.mailboxes {
		if !slices.ContainsFunc(patterns, func(p string) bool { return imapserver.MatchList(name, mailboxSep, ref, p) }) {
			continue
		}
		if opts.SelectSubscribed && !a.subscribed || opts.SelectSpecialUse && len(a.specialUse) == 0 {
			continue
		}
		d := imap.ListData{Mailbox: name, Delim: mailboxSep}
		if a.subscribed {
			d.Attrs = append(d.Attrs, imap.MailboxAttrSubscribed)
		}
		d.Attrs = append(d.Attrs, a.specialUse...)
		out = append(out, d)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b imap.ListData) int { return strings.Compare(a.Mailbox, b.Mailbox) })
	for i := range out {
		if opts.ReturnStatus != nil {
			st, err := s.user.Status(out[i].Mailbox, opts.ReturnStatus)
			if err != nil {
				continue // deleted meanwhile
			}
			out[i].Status = st
		}
		if err := w.WriteList(&out[i]); err != nil {
			return err
		}
	}
	return nil
}

// session is imapmemserver's session for the one user, with the mailbox
// list kept by server.
type session struct {
	*imapmemserver.UserSession // nil until LOGIN
	srv                        *server
}

var _ imapserver.Session = (*session)(nil)

func (s *session) Login(username, password string) error {
	if username != s.srv.Username {
		return imapserver.ErrAuthFailed
	}
	if err := s.srv.user.Login(username, password); err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(s.srv.user)
	return nil
}

func (s *session) Create(name string, opts *imap.CreateOptions) error {
	return s.srv.create(name, opts)
}
func (s *session) Delete(name string) error { return s.srv.remove(name) }
func (s *session) Rename(from, to string, opts *imap.RenameOptions) error {
	return s.srv.rename(from, to, opts)
}
func (s *session) Subscribe(name string) error   { return s.srv.subscribe(name, true) }
func (s *session) Unsubscribe(name string) error { return s.srv.subscribe(name, false) }
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, opts *imap.ListOptions) error {
	return s.srv.list(w, ref, patterns, opts)
}

// stored is one message as the server holds it.
type stored struct {
	UID          uint32
	Flags        []string
	InternalDate time.Time
	Raw          []byte
}

func (m stored) hasFlag(f string) bool {
	return slices.ContainsFunc(m.Flags, func(g string) bool { return strings.EqualFold(f, g) })
}

// messages returns every message of a mailbox, read over IMAP like any
// client would, without changing anything (EXAMINE, BODY.PEEK).
func (s *server) messages(ctx context.Context, mailbox string) ([]stored, error) {
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(s.Username, s.Password).Wait(); err != nil {
		return nil, fmt.Errorf("log in to the demo server: %w", err)
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("examine %s: %w", mailbox, err)
	}
	var out []stored
	if sel.NumMessages > 0 {
		whole := &imap.FetchItemBodySection{Peek: true}
		var all imap.SeqSet
		all.AddRange(1, 0) // 1:*
		bufs, err := c.Fetch(all, &imap.FetchOptions{
			UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{whole},
		}).Collect()
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", mailbox, err)
		}
		for _, b := range bufs {
			m := stored{UID: uint32(b.UID), InternalDate: b.InternalDate, Raw: b.FindBodySection(whole)}
			for _, f := range b.Flags {
				m.Flags = append(m.Flags, string(f))
			}
			out = append(out, m)
		}
		slices.SortFunc(out, func(a, b stored) int { return int(a.UID) - int(b.UID) })
	}
	// Everything was read: a failed goodbye changes nothing.
	_ = c.Logout().Wait()
	return out, nil
}
