// Package imap is the IMAP backend of package mailbox, built on the
// imapclient of go-imap v2.
//
// One Client is one connection to one account. It watches one mailbox
// (INBOX by default), fetches only what is new with BODY.PEEK (so \Seen is
// never set), adds one keyword to invitations, and appends drafts to the
// Drafts mailbox. It never sends STORE other than +FLAGS.SILENT of the
// keyword, and never EXPUNGE, COPY or MOVE.
package imap

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	imap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/rsvp-mail/rsvp/mailbox"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

// Defaults for zero Options fields.
const (
	DefaultMailbox      = "INBOX"
	DefaultDraftsName   = "Drafts"
	DefaultBodyBytes    = 64 << 10
	DefaultBatchSize    = 100
	DefaultPollInterval = time.Minute
	DialTimeout         = 30 * time.Second
	KeepAlive           = 30 * time.Second
	// idleRestart is below the 29 minutes of RFC 2177 and the ~10 minutes
	// after which NAT boxes and some servers drop a silent connection.
	idleRestart = 9 * time.Minute
)

// Version is sent in the IMAP ID command (RFC 2971).
var Version = "dev"

// Options configures Dial. Zero fields take the defaults above.
type Options struct {
	Addr string // host:port
	// Security is "tls" (implicit TLS, port 993), "starttls", or "plain".
	// "plain" is refused unless the host is loopback.
	Security string
	// TLSConfig, when set, is used as is (cloned); else CAFile, when set,
	// is the only trusted CA; else the system roots.
	TLSConfig *tls.Config
	CAFile    string

	Username string
	// Password is called once per Dial, so a password_command runs only
	// when needed and the secret is not kept.
	Password func() (string, error)

	Mailbox    string // watched mailbox
	DraftsName string // used when no mailbox has the \Drafts attribute
	// ReadOnly uses EXAMINE and never flags (rsvp scan). SaveDraft fails.
	ReadOnly bool
	// Flag is the keyword added to invitations, e.g. "$Interview"; "" is off.
	Flag string

	BodyBytes    int // first bytes of the body text fetched per message
	BatchSize    int // messages per Fetch
	PollInterval time.Duration

	// DebugWriter receives the wire trace; the LOGIN exchange is redacted.
	DebugWriter io.Writer
	Logger      *slog.Logger
}

// Client is a connection to one IMAP account. It implements
// mailbox.Mailbox and mailbox.Watcher. Its methods are serialized.
type Client struct {
	opts Options
	log  *slog.Logger
	c    *imapclient.Client

	mu         sync.Mutex
	selected   string // mailbox currently selected ("" when none)
	permFlags  []imap.Flag
	validity   uint32
	uidNext    uint32
	drafts     string
	warnedFlag bool

	newMail chan struct{} // signalled by unilateral EXISTS
}

var (
	_ mailbox.Mailbox = (*Client)(nil)
	_ mailbox.Watcher = (*Client)(nil)
)

// Dial connects, sends ID, and logs in. Wrong credentials give an error
// matching mailbox.ErrAuth.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	opts = withDefaults(opts)
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("imap address %q: %w", opts.Addr, err)
	}
	var tlsConfig *tls.Config
	switch opts.Security {
	case "tls", "starttls":
		if tlsConfig, err = makeTLSConfig(opts, host); err != nil {
			return nil, err
		}
	case "plain":
		if !isLoopback(host) {
			return nil, fmt.Errorf("imap %s: refusing a plaintext connection to a host that is not loopback; use security \"tls\" or \"starttls\"", opts.Addr)
		}
	default:
		return nil, fmt.Errorf("imap %s: unknown security %q (want \"tls\", \"starttls\" or \"plain\")", opts.Addr, opts.Security)
	}
	if opts.Password == nil {
		return nil, fmt.Errorf("imap %s: no password source", opts.Addr)
	}

	cl := &Client{opts: opts, log: opts.Logger, newMail: make(chan struct{}, 1)}
	var redact *redactor
	copts := &imapclient.Options{
		TLSConfig: tlsConfig,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case cl.newMail <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	if opts.DebugWriter != nil {
		redact = &redactor{w: opts.DebugWriter}
		copts.DebugWriter = redact
	}

	dialer := &net.Dialer{Timeout: DialTimeout, KeepAlive: KeepAlive}
	dctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	conn, err := dialer.DialContext(dctx, "tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("imap connect %s: %w", opts.Addr, err)
	}
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	defer stop()

	switch opts.Security {
	case "tls":
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("imap tls %s: %w", opts.Addr, err)
		}
		cl.c = imapclient.New(tc, copts)
	case "starttls":
		c, err := imapclient.NewStartTLS(conn, copts)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("imap starttls %s: %w", opts.Addr, err)
		}
		cl.c = c
	default:
		cl.c = imapclient.New(conn, copts)
	}
	if err := cl.c.WaitGreeting(); err != nil {
		cl.c.Close()
		return nil, fmt.Errorf("imap greeting from %s: %w", opts.Addr, err)
	}
	if cl.c.Caps().Has(imap.CapID) {
		// Informational only (RFC 2971): a failure is not fatal.
		if _, err := cl.c.ID(&imap.IDData{Name: "rsvp", Version: Version}).Wait(); err != nil {
			cl.log.Debug("imap ID failed", "addr", opts.Addr, "err", err)
		}
	}
	if cl.c.Caps().Has(imap.CapLoginDisabled) {
		cl.c.Close()
		return nil, fmt.Errorf("imap %s: server refuses LOGIN on this connection (LOGINDISABLED)", opts.Addr)
	}
	password, err := opts.Password()
	if err != nil {
		cl.c.Close()
		return nil, fmt.Errorf("imap %s: getting the password: %w", opts.Addr, err)
	}
	if redact != nil {
		redact.set(password)
	}
	err = cl.c.Login(opts.Username, password).Wait()
	if redact != nil {
		redact.loginDone()
	}
	if err != nil {
		cl.c.Close()
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return nil, fmt.Errorf("imap login to %s as %q: %w: %s", opts.Addr, opts.Username, mailbox.ErrAuth, ie.Text)
		}
		return nil, fmt.Errorf("imap login to %s: %w", opts.Addr, err)
	}
	return cl, nil
}

func withDefaults(o Options) Options {
	if o.Mailbox == "" {
		o.Mailbox = DefaultMailbox
	}
	if o.DraftsName == "" {
		o.DraftsName = DefaultDraftsName
	}
	if o.BodyBytes <= 0 {
		o.BodyBytes = DefaultBodyBytes
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Security == "" {
		o.Security = "tls"
	}
	return o
}

func makeTLSConfig(o Options, host string) (*tls.Config, error) {
	var cfg *tls.Config
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("imap ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("imap ca_file %s: no PEM certificate in it", o.CAFile)
			}
			cfg.RootCAs = pool
		}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if cfg.NextProtos == nil && o.Security == "tls" {
		cfg.NextProtos = []string{"imap"}
	}
	return cfg, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// guard closes the connection when ctx ends during a command: imapclient
// has no contexts, and a half-read response leaves the connection unusable
// anyway. The caller reconnects.
func (cl *Client) guard(ctx context.Context) (stop func() bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.AfterFunc(ctx, func() { cl.c.Close() }), nil
}

// selectWatched selects (or examines) the watched mailbox.
func (cl *Client) selectWatched() error {
	name := cl.opts.Mailbox
	data, err := cl.c.Select(name, &imap.SelectOptions{ReadOnly: cl.opts.ReadOnly}).Wait()
	if err != nil {
		cl.selected = ""
		return fmt.Errorf("select %q: %w", name, err)
	}
	cl.selected = name
	cl.permFlags = data.PermanentFlags
	cl.validity = data.UIDValidity
	cl.uidNext = uint32(data.UIDNext)
	return nil
}

// Fetch implements mailbox.Mailbox.
func (cl *Client) Fetch(ctx context.Context, since mailbox.Cursor, firstStart time.Time) ([]mailbox.Message, mailbox.Cursor, error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	stop, err := cl.guard(ctx)
	if err != nil {
		return nil, since, err
	}
	defer stop()

	// SELECT every time: it is cheap and it is where a UIDVALIDITY change
	// shows (RFC 9051 §2.3.1.1).
	if err := cl.selectWatched(); err != nil {
		return nil, since, err
	}
	if since.UIDValidity != 0 && since.UIDValidity != cl.validity {
		return nil, mailbox.Cursor{UIDValidity: cl.validity},
			&mailbox.UIDValidityError{Mailbox: cl.opts.Mailbox, Old: since.UIDValidity, New: cl.validity}
	}
	next := mailbox.Cursor{UIDValidity: cl.validity, LastUID: since.LastUID}

	var criteria imap.SearchCriteria
	if since.IsZero() {
		// First start: never the whole history. SINCE has date granularity
		// (RFC 9051 §6.4.4), so mail from earlier on firstStart's day counts.
		criteria.Since = firstStart
	} else {
		var set imap.UIDSet
		set.AddRange(imap.UID(since.LastUID+1), 0) // last+1:*
		criteria.UID = []imap.UIDSet{set}
	}
	sd, err := cl.c.UIDSearch(&criteria, nil).Wait()
	if err != nil {
		return nil, since, fmt.Errorf("search %q: %w", cl.opts.Mailbox, err)
	}
	var uids []imap.UID
	for _, u := range sd.AllUIDs() {
		// "n:*" matches the last message even when its UID is below n.
		if uint32(u) > since.LastUID {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	truncated := len(uids) > cl.opts.BatchSize
	if truncated {
		uids = uids[:cl.opts.BatchSize]
	}
	// On first start, once every match is handed out, move the cursor past
	// all mail that was there at SELECT (UIDNEXT-1), so older mail that
	// SINCE left out is not picked up by the next "n:*".
	if since.IsZero() && !truncated && cl.uidNext > 1 && cl.uidNext-1 > next.LastUID {
		next.LastUID = cl.uidNext - 1
	}
	if len(uids) == 0 {
		return nil, next, nil
	}

	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	text := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Peek: true,
		Partial: &imap.SectionPartial{Offset: 0, Size: int64(cl.opts.BodyBytes)}}
	fo := &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{header, text}}
	bufs, err := cl.c.Fetch(imap.UIDSetNum(uids...), fo).Collect()
	if err != nil {
		return nil, since, fmt.Errorf("fetch from %q: %w", cl.opts.Mailbox, err)
	}
	slices.SortFunc(bufs, func(a, b *imapclient.FetchMessageBuffer) int { return cmp.Compare(a.UID, b.UID) })

	batch := make([]mailbox.Message, 0, len(bufs))
	for _, b := range bufs {
		if uint32(b.UID) <= since.LastUID {
			continue
		}
		raw := append(slices.Clip(b.FindBodySection(header)), b.FindBodySection(text)...)
		m := mailbox.Message{
			UID:          uint32(b.UID),
			UIDValidity:  cl.validity,
			Mailbox:      cl.opts.Mailbox,
			Raw:          raw,
			InternalDate: b.InternalDate,
		}
		for _, f := range b.Flags {
			m.Flags = append(m.Flags, string(f))
		}
		m.Parsed, m.ParseErr = mailmsg.Read(bytes.NewReader(raw), mailmsg.Options{MaxBodyBytes: cl.opts.BodyBytes})
		batch = append(batch, m)
		next.LastUID = max(next.LastUID, m.UID)
	}
	// Messages expunged between SEARCH and FETCH are simply absent; move the
	// cursor past the whole batch so they are not searched for again.
	if last := uint32(uids[len(uids)-1]); last > next.LastUID {
		next.LastUID = last
	}
	return batch, next, nil
}

// Flag implements mailbox.Mailbox: UID STORE +FLAGS.SILENT (keyword), only
// when the keyword is set and PERMANENTFLAGS allows it.
func (cl *Client) Flag(ctx context.Context, m mailbox.Message) error {
	if cl.opts.Flag == "" || cl.opts.ReadOnly {
		return nil
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	stop, err := cl.guard(ctx)
	if err != nil {
		return err
	}
	defer stop()
	if cl.selected != cl.opts.Mailbox {
		if err := cl.selectWatched(); err != nil {
			return err
		}
	}
	if m.UIDValidity != cl.validity {
		return &mailbox.UIDValidityError{Mailbox: cl.opts.Mailbox, Old: m.UIDValidity, New: cl.validity}
	}
	kw := imap.Flag(cl.opts.Flag)
	if !slices.ContainsFunc(cl.permFlags, func(f imap.Flag) bool {
		return f == imap.FlagWildcard || strings.EqualFold(string(f), string(kw))
	}) {
		if !cl.warnedFlag {
			cl.warnedFlag = true
			cl.log.Warn("server does not keep keywords in this mailbox; not flagging invitations",
				"mailbox", cl.opts.Mailbox, "flag", cl.opts.Flag)
		}
		return nil
	}
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{kw}}
	if err := cl.c.Store(imap.UIDSetNum(imap.UID(m.UID)), store, nil).Close(); err != nil {
		return fmt.Errorf("flag UID %d in %q with %s: %w", m.UID, cl.opts.Mailbox, kw, err)
	}
	return nil
}

// findDrafts finds the Drafts mailbox once per connection.
func (cl *Client) findDrafts() (string, error) {
	if cl.drafts != "" {
		return cl.drafts, nil
	}
	var lo *imap.ListOptions
	if caps := cl.c.Caps(); caps.Has(imap.CapSpecialUse) && caps.Has(imap.CapListExtended) {
		lo = &imap.ListOptions{ReturnSpecialUse: true}
	}
	list, err := cl.c.List("", "*", lo).Collect()
	if err != nil {
		return "", fmt.Errorf("list mailboxes: %w", err)
	}
	byName := ""
	for _, l := range list {
		if slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		if slices.Contains(l.Attrs, imap.MailboxAttrDrafts) {
			cl.drafts = l.Mailbox
			return cl.drafts, nil
		}
		if strings.EqualFold(l.Mailbox, cl.opts.DraftsName) && byName == "" {
			byName = l.Mailbox
		}
	}
	if byName == "" {
		return "", fmt.Errorf("%w: no mailbox has the \\Drafts attribute and there is no %q", mailbox.ErrNoDrafts, cl.opts.DraftsName)
	}
	cl.drafts = byName
	return cl.drafts, nil
}

// SaveDraft implements mailbox.Mailbox: APPEND with \Draft and \Seen.
func (cl *Client) SaveDraft(ctx context.Context, messageID string, raw []byte) error {
	if cl.opts.ReadOnly {
		return errors.New("imap: SaveDraft on a read-only connection")
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	stop, err := cl.guard(ctx)
	if err != nil {
		return err
	}
	defer stop()
	drafts, err := cl.findDrafts()
	if err != nil {
		return err
	}
	ac := cl.c.Append(drafts, int64(len(raw)), &imap.AppendOptions{
		Flags: []imap.Flag{imap.FlagDraft, imap.FlagSeen},
		Time:  time.Now(),
	})
	if _, err := ac.Write(raw); err != nil {
		ac.Close()
		return fmt.Errorf("append draft %s to %q: %w", messageID, drafts, err)
	}
	if err := ac.Close(); err != nil {
		return fmt.Errorf("append draft %s to %q: %w", messageID, drafts, err)
	}
	if _, err := ac.Wait(); err != nil {
		return fmt.Errorf("append draft %s to %q: %w", messageID, drafts, err)
	}
	return nil
}

// FindDraft implements mailbox.Mailbox: EXAMINE Drafts, UID SEARCH HEADER
// Message-ID, then select the watched mailbox again.
func (cl *Client) FindDraft(ctx context.Context, messageID string) (bool, error) {
	id := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(messageID), "<"), ">")
	if id == "" {
		return false, errors.New("imap: FindDraft with an empty Message-ID")
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	stop, err := cl.guard(ctx)
	if err != nil {
		return false, err
	}
	defer stop()
	drafts, err := cl.findDrafts()
	if err != nil {
		return false, err
	}
	if _, err := cl.c.Select(drafts, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		cl.selected = ""
		return false, fmt.Errorf("examine %q: %w", drafts, err)
	}
	cl.selected = drafts
	// HEADER is a substring match (RFC 9051 §6.4.4): the angle brackets
	// keep "a@b" from matching "xa@b".
	sd, err := cl.c.UIDSearch(&imap.SearchCriteria{
		Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "<" + id + ">"}},
	}, nil).Wait()
	if err != nil {
		return false, fmt.Errorf("search %q for Message-ID <%s>: %w", drafts, id, err)
	}
	found := len(sd.AllUIDs()) > 0
	if err := cl.selectWatched(); err != nil {
		return found, err
	}
	return found, nil
}

// Wait implements mailbox.Watcher: IDLE (RFC 2177) when the server has it,
// restarted every 9 minutes, else a sleep of PollInterval. Cancelling ctx
// ends IDLE cleanly and keeps the connection.
func (cl *Client) Wait(ctx context.Context) error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if !cl.c.Caps().Has(imap.CapIdle) {
		t := time.NewTimer(cl.opts.PollInterval)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-cl.c.Closed():
			return errors.New("imap: connection closed")
		}
	}
	if cl.selected != cl.opts.Mailbox {
		if err := cl.selectWatched(); err != nil {
			return err
		}
	}
	for {
		idle, err := cl.c.Idle()
		if err != nil {
			return fmt.Errorf("idle: %w", err)
		}
		t := time.NewTimer(idleRestart)
		var result error
		restart := false
		select {
		case <-cl.newMail:
		case <-ctx.Done():
			result = ctx.Err()
		case <-cl.c.Closed():
			t.Stop()
			return errors.New("imap: connection closed during IDLE")
		case <-t.C:
			restart = true
		}
		t.Stop()
		if err := idle.Close(); err != nil {
			return fmt.Errorf("idle done: %w", err)
		}
		if err := idle.Wait(); err != nil {
			return fmt.Errorf("idle: %w", err)
		}
		if !restart {
			return result
		}
	}
}

// Close logs out and closes the connection.
func (cl *Client) Close() error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl.c.Logout().Wait()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	return cl.c.Close()
}

// redactor is the DebugWriter: it hides the LOGIN exchange and, should the
// password show up anywhere else, the password itself.
type redactor struct {
	w        io.Writer
	mu       sync.Mutex
	secret   []byte
	inLogin  atomic.Bool
	reported bool
}

func (r *redactor) set(password string) {
	r.mu.Lock()
	r.secret = []byte(password)
	r.reported = false
	r.mu.Unlock()
	r.inLogin.Store(true)
}

func (r *redactor) loginDone() { r.inLogin.Store(false) }

func (r *redactor) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inLogin.Load() {
		if !r.reported {
			r.reported = true
			io.WriteString(r.w, "[LOGIN exchange redacted]\r\n")
		}
		return len(p), nil
	}
	if len(r.secret) > 0 && bytes.Contains(p, r.secret) {
		r.w.Write(bytes.ReplaceAll(p, r.secret, []byte("<redacted>")))
		return len(p), nil
	}
	r.w.Write(p)
	return len(p), nil
}
