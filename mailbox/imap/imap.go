// Package imap is the IMAP backend of package mailbox, built on the
// imapclient of go-imap v2.
//
// One Client is one connection to one account. It watches one mailbox
// (INBOX by default), fetches only what is new with BODY.PEEK (so \Seen is
// never set), adds one keyword to invitations, and appends drafts to the
// Drafts mailbox. It never sends STORE other than +FLAGS.SILENT of the
// keyword, and never EXPUNGE, COPY or MOVE.
//
// It logs in with LOGIN and Options.Password, or with a SASL mechanism from
// Options.Auth; XOAuth2 is the one Gmail wants.
//
// Every wait for the server is bounded, so a connection that died without a
// word (a NAT box that forgot it, a hung server) is found: a command's
// context closes the connection when it ends, and so does
// Options.ReplyTimeout of silence while a reply is due, including the reply
// to the DONE that ends IDLE. TCP keepalive probes a connection that sits in
// IDLE. A closed connection stays closed: every later call fails at once and
// the caller dials again.
package imap

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
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
	"github.com/emersion/go-sasl"

	"github.com/rsvp-mail/rsvp/internal/bufpool"
	"github.com/rsvp-mail/rsvp/internal/workers"
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
	// DefaultReplyTimeout is as long as imapclient waits for the rest of a
	// response once it has begun.
	DefaultReplyTimeout = 30 * time.Second
	// DefaultIdleRestart is below the 29 minutes of RFC 2177 and the ~10
	// minutes after which NAT boxes and some servers drop a silent
	// connection.
	DefaultIdleRestart = 9 * time.Minute
)

// ErrTimeout means the server did not answer in time: it stayed silent for
// Options.ReplyTimeout while a reply was due, or Dial took longer than
// DialTimeout. The connection has been closed.
var ErrTimeout = errors.New("imap server did not answer in time")

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
	// Auth, when set, is used instead of LOGIN and Password: it is called
	// once per Dial, with Dial's context, so an OAuth token is fresh each
	// time; its SASL client runs AUTHENTICATE, e.g. XOAuth2 for Gmail. A NO
	// from the server is mailbox.ErrAuth; an error from Auth is returned
	// as is (wrapped).
	Auth func(ctx context.Context) (sasl.Client, error)

	Mailbox    string // watched mailbox
	DraftsName string // used when no mailbox has the \Drafts attribute
	// ReadOnly uses EXAMINE and never flags (rsvp scan). SaveDraft fails.
	ReadOnly bool
	// Flag is the keyword added to invitations, e.g. "$Interview"; "" is off.
	Flag string

	BodyBytes int // first bytes of the body text fetched per message
	BatchSize int // messages per Fetch
	// PollInterval is how long Wait sleeps on a server without IDLE.
	PollInterval time.Duration
	// ReplyTimeout is how long the server may stay silent (no byte read or
	// written) while a reply is due before the connection is closed and the
	// call fails with ErrTimeout. Progress resets it, so a slow but moving
	// FETCH is not cut.
	ReplyTimeout time.Duration
	// IdleRestart is how often Wait ends IDLE with DONE and starts it again.
	IdleRestart time.Duration

	// DebugWriter receives the wire trace; the LOGIN and AUTHENTICATE
	// exchanges are redacted.
	DebugWriter io.Writer
	Logger      *slog.Logger
}

// Client is a connection to one IMAP account. It implements
// mailbox.Mailbox and mailbox.Watcher. Its methods are serialized.
type Client struct {
	opts Options
	log  *slog.Logger
	c    *imapclient.Client
	conn *trackedConn

	abortMu  sync.Mutex
	abortErr error // why this side closed the connection, if it did

	mu         sync.Mutex
	selected   string // mailbox currently selected ("" when none)
	permFlags  []imap.Flag
	validity   uint32
	uidNext    uint32
	drafts     string
	warnedFlag bool

	// A catch-up SEARCHes once and hands the result out batch by batch:
	// pending are the UIDs not handed out yet, valid while the mailbox
	// stays selected (epoch counts SELECTs) and the caller continues from
	// pendingAfter. pendingFirst: they came from a first start's SEARCH.
	epoch        uint64
	pending      []imap.UID
	pendingAfter uint32
	pendingEpoch uint64
	pendingFirst bool
	// ahead is the FETCH of the batch after the one Fetch last returned,
	// sent before that one was read (see fetch), nil when none is.
	ahead *fetching

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
	if opts.Password == nil && opts.Auth == nil {
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

	// Keepalive probes find a peer that vanished while the connection sits
	// in IDLE with nothing to send: about 30 s + 3 × 30 s.
	dialer := &net.Dialer{Timeout: DialTimeout, KeepAlive: KeepAlive,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: KeepAlive, Interval: KeepAlive, Count: 3}}
	dctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	raw, err := dialer.DialContext(dctx, "tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("imap connect %s: %w", opts.Addr, err)
	}
	conn := newTrackedConn(raw)
	cl.conn = conn
	// Until Dial returns, its context bounds every wait (greeting, TLS,
	// login).
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	defer stop()
	// dialErr says why the connection was closed under err, if it was.
	dialErr := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		if dctx.Err() != nil {
			return fmt.Errorf("%w: login not done within %v (%v)", ErrTimeout, DialTimeout, err)
		}
		return err
	}

	switch opts.Security {
	case "tls":
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("imap tls %s: %w", opts.Addr, dialErr(err))
		}
		cl.c = imapclient.New(tc, copts)
	case "starttls":
		c, err := imapclient.NewStartTLS(conn, copts)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("imap starttls %s: %w", opts.Addr, dialErr(err))
		}
		cl.c = c
	default:
		cl.c = imapclient.New(conn, copts)
	}
	if err := cl.c.WaitGreeting(); err != nil {
		cl.c.Close()
		return nil, fmt.Errorf("imap greeting from %s: %w", opts.Addr, dialErr(err))
	}
	if cl.c.Caps().Has(imap.CapID) {
		// Informational only (RFC 2971): a failure is not fatal.
		if _, err := cl.c.ID(&imap.IDData{Name: "rsvp", Version: Version}).Wait(); err != nil {
			cl.log.Debug("imap ID failed", "addr", opts.Addr, "err", err)
		}
	}
	if opts.Auth != nil {
		err = cl.authenticate(dctx, redact)
	} else {
		err = cl.login(redact)
	}
	if err != nil {
		cl.c.Close()
		if dctx.Err() != nil && !errors.Is(err, mailbox.ErrAuth) {
			return nil, dialErr(err)
		}
		return nil, err
	}
	return cl, nil
}

// login logs in with LOGIN and the password.
func (cl *Client) login(redact *redactor) error {
	opts := cl.opts
	if cl.c.Caps().Has(imap.CapLoginDisabled) {
		return fmt.Errorf("imap %s: server refuses LOGIN on this connection (LOGINDISABLED)", opts.Addr)
	}
	password, err := opts.Password()
	if err != nil {
		return fmt.Errorf("imap %s: getting the password: %w", opts.Addr, err)
	}
	if redact != nil {
		redact.begin("LOGIN", []byte(password))
	}
	err = cl.c.Login(opts.Username, password).Wait()
	if redact != nil {
		redact.end()
	}
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return fmt.Errorf("imap login to %s as %q: %w: %s", opts.Addr, opts.Username, mailbox.ErrAuth, ie.Text)
		}
		return fmt.Errorf("imap login to %s: %w", opts.Addr, err)
	}
	return nil
}

// authenticate logs in with AUTHENTICATE (RFC 9051 §6.2.2) and the SASL
// client from Options.Auth.
func (cl *Client) authenticate(ctx context.Context, redact *redactor) error {
	opts := cl.opts
	sc, err := opts.Auth(ctx)
	if err != nil {
		return fmt.Errorf("imap %s: getting SASL credentials: %w", opts.Addr, err)
	}
	mech, ir, err := sc.Start()
	if err != nil {
		return fmt.Errorf("imap %s: starting SASL: %w", opts.Addr, err)
	}
	if !hasCap(cl.c.Caps(), "AUTH="+mech) {
		return fmt.Errorf("imap %s: %w: the server does not offer AUTH=%s", opts.Addr, mailbox.ErrAuth, mech)
	}
	rec := &saslRecorder{Client: sc, mech: mech, ir: ir, redact: redact}
	if redact != nil {
		secrets := [][]byte{ir}
		if s, ok := sc.(interface{ secrets() [][]byte }); ok {
			secrets = append(secrets, s.secrets()...)
		}
		redact.begin("AUTHENTICATE", secrets...)
	}
	err = cl.c.Authenticate(rec)
	if redact != nil {
		redact.end()
	}
	if err == nil {
		return nil
	}
	who := opts.Addr
	if opts.Username != "" {
		who = fmt.Sprintf("%s as %q", opts.Addr, opts.Username)
	}
	// A mechanism that reports failure in a challenge (XOAUTH2 sends JSON)
	// has refused the credentials, whatever the tagged reply says.
	if f, ok := sc.(interface{ failure() error }); ok && f.failure() != nil {
		return fmt.Errorf("imap authenticate to %s with %s: %w: %w", who, mech, mailbox.ErrAuth, f.failure())
	}
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
		return fmt.Errorf("imap authenticate to %s with %s: %w: %s", who, mech, mailbox.ErrAuth, ie.Text)
	}
	return fmt.Errorf("imap authenticate to %s with %s: %w", who, mech, err)
}

func hasCap(caps imap.CapSet, want string) bool {
	for c := range caps {
		if strings.EqualFold(string(c), want) {
			return true
		}
	}
	return false
}

// saslRecorder runs a SASL client whose Start has already been called and
// hands every response to the redactor before it is sent.
type saslRecorder struct {
	sasl.Client
	mech   string
	ir     []byte
	redact *redactor
}

func (r *saslRecorder) Start() (string, []byte, error) { return r.mech, r.ir, nil }

func (r *saslRecorder) Next(challenge []byte) ([]byte, error) {
	resp, err := r.Client.Next(challenge)
	if r.redact != nil {
		r.redact.add(resp)
	}
	return resp, err
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
	if o.ReplyTimeout <= 0 {
		o.ReplyTimeout = DefaultReplyTimeout
	}
	if o.IdleRestart <= 0 {
		o.IdleRestart = DefaultIdleRestart
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

// begin starts a call that talks to the server: it fails at once when ctx
// has ended or the connection is gone, and else watches the exchange (see
// watch) until stop is called.
func (cl *Client) begin(ctx context.Context) (stop func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := cl.usable(); err != nil {
		return nil, err
	}
	return cl.watch(ctx), nil
}

// watch closes the connection when ctx ends or when nothing has moved on it
// for ReplyTimeout while a reply is due: imapclient has no contexts and
// waits for a reply forever, and a half-read response leaves the connection
// unusable anyway. The caller reconnects. stop ends the watch and returns
// once it is over, so a close it started has finished.
func (cl *Client) watch(ctx context.Context) (stop func()) {
	done, over := make(chan struct{}), make(chan struct{})
	started := time.Now()
	limit := cl.opts.ReplyTimeout
	go func() {
		defer close(over)
		t := time.NewTimer(limit)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				cl.abort(ctx.Err())
				return
			case <-t.C:
				silent := min(cl.conn.silence(), time.Since(started))
				if silent >= limit {
					cl.abort(fmt.Errorf("%w: nothing from it for %v", ErrTimeout, limit))
					return
				}
				t.Reset(limit - silent)
			}
		}
	}()
	return func() {
		close(done)
		<-over
	}
}

// abort closes the connection and remembers why; the first reason wins.
func (cl *Client) abort(reason error) {
	cl.abortMu.Lock()
	if cl.abortErr == nil {
		cl.abortErr = reason
	}
	cl.abortMu.Unlock()
	cl.c.Close()
}

// why returns the reason this side closed the connection during the
// current call, in place of err (what imapclient saw of the close), or err.
func (cl *Client) why(err error) error {
	cl.abortMu.Lock()
	defer cl.abortMu.Unlock()
	if cl.abortErr != nil {
		return fmt.Errorf("%w (connection closed)", cl.abortErr)
	}
	return err
}

// usable fails when the connection is gone. An earlier call's reason is
// only quoted, not wrapped: a context that ended back then must not make
// this call look cancelled.
func (cl *Client) usable() error {
	select {
	case <-cl.c.Closed():
	default:
		return nil
	}
	cl.abortMu.Lock()
	defer cl.abortMu.Unlock()
	if cl.abortErr != nil {
		return fmt.Errorf("imap: connection closed earlier (%v): %w", cl.abortErr, net.ErrClosed)
	}
	return fmt.Errorf("imap: connection lost: %w", net.ErrClosed)
}

// selectWatched selects (or examines) the watched mailbox.
func (cl *Client) selectWatched() error {
	name := cl.opts.Mailbox
	cl.newEpoch()
	data, err := cl.c.Select(name, &imap.SelectOptions{ReadOnly: cl.opts.ReadOnly}).Wait()
	if err != nil {
		cl.selected = ""
		return fmt.Errorf("select %q: %w", name, cl.why(err))
	}
	cl.selected = name
	cl.permFlags = data.PermanentFlags
	cl.validity = data.UIDValidity
	cl.uidNext = uint32(data.UIDNext)
	return nil
}

// firstStartToken is the Cursor.Token of a first start still in progress.
const firstStartToken = "first-start"

// Fetch implements mailbox.Mailbox. The batch is parsed after the
// connection is free again, so a Flag waits only for the FETCH itself.
func (cl *Client) Fetch(ctx context.Context, since mailbox.Cursor, firstStart time.Time) ([]mailbox.Message, mailbox.Cursor, error) {
	batch, next, err := cl.fetch(ctx, since, firstStart)
	if err == nil {
		workers.Each(len(batch), func(i int) { cl.Parse(&batch[i]) })
	}
	return batch, next, err
}

var _ mailbox.Unparsed = (*Client)(nil)

// FetchUnparsed implements mailbox.Unparsed.
func (cl *Client) FetchUnparsed(ctx context.Context, since mailbox.Cursor, firstStart time.Time) ([]mailbox.Message, mailbox.Cursor, error) {
	return cl.fetch(ctx, since, firstStart)
}

// Parse implements mailbox.Unparsed.
func (cl *Client) Parse(m *mailbox.Message) {
	m.Parsed, m.ParseErr = mailmsg.Read(bytes.NewReader(m.Raw), mailmsg.Options{MaxBodyBytes: cl.opts.BodyBytes})
}

var _ mailbox.Recycler = (*Client)(nil)

var _ mailbox.ReadAhead = (*Client)(nil)

// ReadsAhead implements mailbox.ReadAhead: it does (see fetch).
func (cl *Client) ReadsAhead() bool { return true }

// Recycle implements mailbox.Recycler: the next batches are fetched into
// m.Raw's buffer (Parsed never refers to it: mailmsg copies what it
// keeps), and the next messages' texts are written into m.Parsed's.
func (cl *Client) Recycle(m *mailbox.Message) {
	bufpool.Put(m.Raw)
	if m.Parsed != nil {
		mailmsg.Recycle(m.Parsed)
	}
	m.Raw, m.Parsed = nil, nil
}

// fetch is Fetch but for parsing.
func (cl *Client) fetch(ctx context.Context, since mailbox.Cursor, firstStart time.Time) ([]mailbox.Message, mailbox.Cursor, error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	stop, err := cl.begin(ctx)
	if err != nil {
		return nil, since, err
	}
	defer stop()

	var uids []imap.UID
	firstSearch := false
	if len(cl.pending) > 0 && cl.pendingEpoch == cl.epoch && cl.selected == cl.opts.Mailbox &&
		since.UIDValidity == cl.validity && since.LastUID == cl.pendingAfter {
		// The next batch of this catch-up: no SELECT, no SEARCH. (A new
		// SELECT per batch makes the server walk the mailbox again each
		// time: 7× the fetch time on 20,000 messages.)
		uids, firstSearch = cl.pending, cl.pendingFirst
	} else {
		// A catch-up starts with SELECT: it is where a UIDVALIDITY change
		// shows (RFC 9051 §2.3.1.1).
		if err := cl.selectWatched(); err != nil {
			return nil, since, err
		}
		if since.UIDValidity != 0 && since.UIDValidity != cl.validity {
			return nil, mailbox.Cursor{UIDValidity: cl.validity},
				&mailbox.UIDValidityError{Mailbox: cl.opts.Mailbox, Old: since.UIDValidity, New: cl.validity}
		}
		var criteria imap.SearchCriteria
		if since.IsZero() || since.Token == firstStartToken {
			// First start, or one that was cut short (a crash, a lost
			// connection): never the whole history. SINCE has date
			// granularity (RFC 9051 §6.4.4), so mail from earlier on
			// firstStart's day counts.
			criteria.Since = firstStart
			firstSearch = true
		}
		if !since.IsZero() {
			var set imap.UIDSet
			set.AddRange(imap.UID(since.LastUID+1), 0) // last+1:*
			criteria.UID = []imap.UIDSet{set}
		}
		sd, err := cl.c.UIDSearch(&criteria, nil).Wait()
		if err != nil {
			return nil, since, fmt.Errorf("search %q: %w", cl.opts.Mailbox, cl.why(err))
		}
		for _, u := range sd.AllUIDs() {
			// "n:*" matches the last message even when its UID is below n.
			if uint32(u) > since.LastUID {
				uids = append(uids, u)
			}
		}
		slices.Sort(uids)
	}
	next := mailbox.Cursor{UIDValidity: cl.validity, LastUID: since.LastUID}
	cl.pending = nil
	truncated := len(uids) > cl.opts.BatchSize
	if truncated {
		cl.pending = uids[cl.opts.BatchSize:]
		uids = uids[:cl.opts.BatchSize]
		cl.pendingAfter, cl.pendingEpoch, cl.pendingFirst = uint32(uids[len(uids)-1]), cl.epoch, firstSearch
	}
	// On first start, once every match is handed out, move the cursor past
	// all mail that was there at SELECT (UIDNEXT-1), so older mail that
	// SINCE left out is not picked up by the next "n:*".
	if firstSearch && !truncated && cl.uidNext > 1 && cl.uidNext-1 > next.LastUID {
		next.LastUID = cl.uidNext - 1
	}
	// Until a first start's search comes back empty, the cursors stored
	// along the way say so, and a new connection goes on with SINCE: mail
	// left out of the window keeps being left out, even when it has
	// higher UIDs (imported or moved in) than where the first start
	// stopped.
	if firstSearch && len(uids) > 0 {
		next.Token = firstStartToken
	}
	if len(uids) == 0 {
		return nil, next, nil
	}

	// While this batch is read, the next one's FETCH is already queued at
	// the server, which goes on with it at once instead of waiting for
	// this call to return and the next to ask: over a real link that is a
	// round trip a batch (BenchmarkCatchUpOverASlowLink), and in a backfill
	// the caller, busy classifying, asks late.
	cur := cl.takeAhead(uids)
	if cur == nil {
		cur = cl.startFetch(uids)
	}
	if len(cl.pending) > 0 {
		cl.ahead = cl.startFetch(cl.pending[:min(len(cl.pending), cl.opts.BatchSize)])
	}
	<-cur.done
	bufs, err := cur.bufs, cur.err
	if err != nil {
		return nil, since, fmt.Errorf("fetch from %q: %w", cl.opts.Mailbox, cl.why(err))
	}
	header, text := cl.sections()
	slices.SortFunc(bufs, func(a, b *imapclient.FetchMessageBuffer) int { return cmp.Compare(a.UID, b.UID) })

	batch := make([]mailbox.Message, 0, len(bufs))
	for _, b := range bufs {
		if uint32(b.UID) <= since.LastUID {
			continue
		}
		raw := joined(b.FindBodySection(header), b.FindBodySection(text))
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

// joined is the header followed by the text: h extended over t when t
// already follows h in memory (collect reads them so), with the capacity
// of h's buffer (Recycle hands it back), else a copy.
func joined(h, t []byte) []byte {
	if len(t) == 0 {
		return slices.Clip(h)
	}
	if follows(h, t) {
		return h[:len(h)+len(t)]
	}
	return append(slices.Clip(h), t...)
}

// follows reports whether the non-empty t starts where h ends, in h's
// buffer.
func follows(h, t []byte) bool {
	return len(h) < cap(h) && cap(h)-len(h) >= len(t) && &h[:len(h)+1][len(h)] == &t[0]
}

// sections are the two parts of each message a batch fetches: the header
// and the first BodyBytes of the text.
func (cl *Client) sections() (header, text *imap.FetchItemBodySection) {
	return &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true},
		&imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Peek: true,
			Partial: &imap.SectionPartial{Offset: 0, Size: int64(cl.opts.BodyBytes)}}
}

// fetching is a UID FETCH of a batch on its way. A goroutine reads its
// answer as it comes (collect) and closes done once it has, setting bufs
// and err. Two can be on the way at once (see fetch): go-imap hands each
// message to the command whose UID set holds it, and the server may
// interleave the two answers, so each needs its own reader.
type fetching struct {
	uids []imap.UID
	done chan struct{}
	bufs []*imapclient.FetchMessageBuffer
	err  error
}

// startFetch sends a UID FETCH of uids, the messages' UID, FLAGS,
// INTERNALDATE and sections, and starts reading its answer.
func (cl *Client) startFetch(uids []imap.UID) *fetching {
	header, text := cl.sections()
	fo := &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{header, text}}
	f := &fetching{uids: uids, done: make(chan struct{})}
	cmd := cl.c.Fetch(imap.UIDSetNum(uids...), fo)
	go func() {
		defer close(f.done)
		f.bufs, f.err = cl.collect(cmd)
	}()
	return f
}

// takeAhead returns the FETCH sent ahead when it is the one of uids (it
// was sent under the current SELECT: newEpoch drops it); any other is
// dropped.
func (cl *Client) takeAhead(uids []imap.UID) *fetching {
	f := cl.ahead
	if f == nil {
		return nil
	}
	cl.ahead = nil
	if slices.Equal(f.uids, uids) {
		return f
	}
	f.drop()
	return nil
}

// drop waits until the FETCH's answer is read, which the server sends
// before it answers any later command, and hands back its memory.
func (f *fetching) drop() {
	<-f.done
	for _, b := range f.bufs {
		for i, s := range b.BodySection {
			// A text read into its header's buffer goes back with it.
			if i == 0 || len(s.Bytes) == 0 || !follows(b.BodySection[i-1].Bytes, s.Bytes) {
				bufpool.Put(s.Bytes)
			}
		}
	}
	f.bufs = nil
}

// newEpoch is called before every SELECT or EXAMINE: a FETCH sent ahead
// is dropped, its UIDs may mean other messages afterwards.
func (cl *Client) newEpoch() {
	if cl.ahead != nil {
		cl.ahead.drop()
		cl.ahead = nil
	}
	cl.epoch++
}

// maxPrealloc is the largest literal collect allocates in full before
// reading it.
const maxPrealloc = bufpool.MaxSize

// collect reads a FETCH's responses as FetchCommand.Collect does, except
// when a literal is cut short (the connection broke inside it): then it
// drops the connection and waits for go-imap's reader goroutine to end
// before returning. Collect would read that literal again to discard it
// while the reader goroutine reads on from the same buffer, a data race in
// go-imap v2.0.0-beta.8 (found by the race detector in
// TestCutMidFetchLosesNothing).
func (cl *Client) collect(cmd *imapclient.FetchCommand) ([]*imapclient.FetchMessageBuffer, error) {
	var out []*imapclient.FetchMessageBuffer
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		buf := &imapclient.FetchMessageBuffer{SeqNum: msg.SeqNum}
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				buf.UID = it.UID
			case imapclient.FetchItemDataFlags:
				buf.Flags = it.Flags
			case imapclient.FetchItemDataInternalDate:
				buf.InternalDate = it.Time
			case imapclient.FetchItemDataBodySection:
				var b []byte
				if it.Literal != nil {
					var err error
					if size := it.Literal.Size(); size <= maxPrealloc {
						// One buffer of the size announced (see
						// bufpool.Get), not io.ReadAll's doubling. (A
						// larger size, announced by a server, is
						// not trusted with memory until it is
						// sent.) A section that follows another
						// (the text after the header) is read right
						// after it, in a copy of it, so the message
						// is one slice (see joined).
						var prev []byte
						if n := len(buf.BodySection); n > 0 {
							prev = buf.BodySection[n-1].Bytes
						}
						if len(prev) > 0 && size > 0 && int64(len(prev))+size <= maxPrealloc {
							both := bufpool.Get(len(prev) + int(size))
							copy(both, prev)
							bufpool.Put(prev)
							buf.BodySection[len(buf.BodySection)-1].Bytes = both[:len(prev)]
							b = both[len(prev):]
						} else {
							b = bufpool.Get(int(size))
						}
						var n int
						n, err = io.ReadFull(it.Literal, b)
						b = b[:n]
					} else {
						b, err = io.ReadAll(it.Literal)
						if err == nil && int64(len(b)) < size {
							err = io.ErrUnexpectedEOF
						}
					}
					if err != nil {
						cl.conn.Close()
						t := time.NewTimer(cl.opts.ReplyTimeout)
						defer t.Stop()
						select {
						case <-cl.c.Closed():
						case <-t.C:
						}
						return nil, fmt.Errorf("connection lost inside a message: %w", err)
					}
				}
				buf.BodySection = append(buf.BodySection, imapclient.FetchBodySectionBuffer{Section: it.Section, Bytes: b})
			}
		}
		out = append(out, buf)
	}
	return out, cmd.Close()
}

// Flag implements mailbox.Mailbox: UID STORE +FLAGS.SILENT (keyword), only
// when the keyword is set and PERMANENTFLAGS allows it.
func (cl *Client) Flag(ctx context.Context, msgs ...mailbox.Message) error {
	if cl.opts.Flag == "" || cl.opts.ReadOnly || len(msgs) == 0 {
		return nil
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	stop, err := cl.begin(ctx)
	if err != nil {
		return err
	}
	defer stop()
	if cl.selected != cl.opts.Mailbox {
		if err := cl.selectWatched(); err != nil {
			return err
		}
	}
	var uids imap.UIDSet
	for _, m := range msgs {
		if m.UIDValidity != cl.validity {
			return &mailbox.UIDValidityError{Mailbox: cl.opts.Mailbox, Old: m.UIDValidity, New: cl.validity}
		}
		uids.AddNum(imap.UID(m.UID))
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
	if err := cl.c.Store(uids, store, nil).Close(); err != nil {
		return fmt.Errorf("flag UID %v in %q with %s: %w", uids, cl.opts.Mailbox, kw, cl.why(err))
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
		return "", fmt.Errorf("list mailboxes: %w", cl.why(err))
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
	stop, err := cl.begin(ctx)
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
		return fmt.Errorf("append draft %s to %q: %w", messageID, drafts, cl.why(err))
	}
	if err := ac.Close(); err != nil {
		return fmt.Errorf("append draft %s to %q: %w", messageID, drafts, cl.why(err))
	}
	if _, err := ac.Wait(); err != nil {
		return fmt.Errorf("append draft %s to %q: %w", messageID, drafts, cl.why(err))
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
	stop, err := cl.begin(ctx)
	if err != nil {
		return false, err
	}
	defer stop()
	drafts, err := cl.findDrafts()
	if err != nil {
		return false, err
	}
	cl.newEpoch()
	if _, err := cl.c.Select(drafts, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		cl.selected = ""
		return false, fmt.Errorf("examine %q: %w", drafts, cl.why(err))
	}
	cl.selected = drafts
	// HEADER is a substring match (RFC 9051 §6.4.4): the angle brackets
	// keep "a@b" from matching "xa@b".
	sd, err := cl.c.UIDSearch(&imap.SearchCriteria{
		Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: "<" + id + ">"}},
	}, nil).Wait()
	if err != nil {
		return false, fmt.Errorf("search %q for Message-ID <%s>: %w", drafts, id, cl.why(err))
	}
	found := len(sd.AllUIDs()) > 0
	if err := cl.selectWatched(); err != nil {
		return found, err
	}
	return found, nil
}

// Wait implements mailbox.Watcher: IDLE (RFC 2177) when the server has it,
// restarted every IdleRestart, else a sleep of PollInterval. Cancelling ctx
// ends IDLE with DONE and keeps the connection, unless the server does not
// answer DONE within ReplyTimeout: then the connection is closed and Wait
// fails with ErrTimeout, as it does when a restart goes unanswered.
func (cl *Client) Wait(ctx context.Context) error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := cl.usable(); err != nil {
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
			return fmt.Errorf("imap: connection lost: %w", net.ErrClosed)
		}
	}
	// Cancelling Wait is routine (the daemon has a draft to write), so the
	// commands here are bounded by the silence limit only: a cancel that
	// lands before "+ idling" must not cost the connection.
	if cl.selected != cl.opts.Mailbox {
		stop := cl.watch(context.Background())
		err := cl.selectWatched()
		stop()
		if err != nil {
			return err
		}
	}
	for {
		stop := cl.watch(context.Background())
		idle, err := cl.c.Idle()
		stop()
		if err != nil {
			return fmt.Errorf("idle: %w", cl.why(err))
		}
		t := time.NewTimer(cl.opts.IdleRestart)
		var result error
		restart := false
		select {
		case <-cl.newMail:
		case <-ctx.Done():
			result = ctx.Err()
		case <-cl.c.Closed():
			t.Stop()
			return fmt.Errorf("imap: connection lost during IDLE: %w", net.ErrClosed)
		case <-t.C:
			restart = true
		}
		t.Stop()
		// Whatever ended the wait, the server must answer DONE in time; ctx
		// may be over already, so only the silence limit applies.
		stop = cl.watch(context.Background())
		err = idle.Close()
		if err == nil {
			err = idle.Wait()
		}
		stop()
		if err != nil {
			if result != nil {
				return fmt.Errorf("%w; then idle done: %w", result, cl.why(err))
			}
			return fmt.Errorf("idle done: %w", cl.why(err))
		}
		if !restart {
			return result
		}
	}
}

// Close logs out and closes the connection. A connection already lost is
// just released.
func (cl *Client) Close() error {
	select {
	case <-cl.c.Closed():
		cl.c.Close()
		return nil
	default:
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl.c.Logout().Wait()
	}()
	t := time.NewTimer(min(cl.opts.ReplyTimeout, 5*time.Second))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	return cl.c.Close()
}

// trackedConn notes when a byte last moved either way, for watch, and
// reads ahead (see readAhead). Reads come from one goroutine at a time
// (go-imap's reader, or crypto/tls's under its lock).
type trackedConn struct {
	net.Conn
	start time.Time
	last  atomic.Int64 // time.Since(start) at the last read or write

	buf  []byte // read ahead: buf[r:w] is not read yet
	r, w int
	err  error // what the read that filled buf returned with its bytes
}

func newTrackedConn(c net.Conn) *trackedConn { return &trackedConn{Conn: c, start: time.Now()} }

// readAhead is the least a read of the connection asks the kernel for. A
// backfill receives hundreds of megabytes, and go-imap reads as little as
// its 4 KB buffer or the rest of a literal: 31,000 reads of 10 KB on
// average for the benchmark's 315 MB, each a system call and, as the
// receive window opens, often an ACK.
const readAhead = 64 << 10

func (c *trackedConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil // as net.Conn: no reading ahead for nothing
	}
	if c.r == c.w {
		if err := c.err; err != nil {
			c.err = nil
			return 0, err
		}
		if len(p) >= readAhead {
			n, err := c.Conn.Read(p)
			c.moved(n)
			return n, err
		}
		if c.buf == nil {
			c.buf = make([]byte, readAhead)
		}
		n, err := c.Conn.Read(c.buf)
		c.moved(n)
		if n == 0 {
			return 0, err
		}
		c.r, c.w, c.err = 0, n, err
	}
	n := copy(p, c.buf[c.r:c.w])
	c.r += n
	return n, nil
}

func (c *trackedConn) moved(n int) {
	if n > 0 {
		c.last.Store(int64(time.Since(c.start)))
	}
}

func (c *trackedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.moved(n)
	return n, err
}

// silence is how long no byte has moved.
func (c *trackedConn) silence() time.Duration {
	return time.Since(c.start) - time.Duration(c.last.Load())
}

// redactor is the DebugWriter: it hides the LOGIN and AUTHENTICATE
// exchanges and, should a secret show up anywhere else, the secret itself.
type redactor struct {
	w       io.Writer
	mu      sync.Mutex
	secrets [][]byte
	hiding  string // the exchange being hidden, "" when none
}

// begin hides everything from now until end, and the secrets for good.
func (r *redactor) begin(exchange string, secrets ...[]byte) {
	r.mu.Lock()
	r.hiding = exchange
	r.mu.Unlock()
	for _, s := range secrets {
		r.add(s)
	}
	r.mu.Lock()
	fmt.Fprintf(r.w, "[%s exchange redacted]\r\n", exchange)
	r.mu.Unlock()
}

func (r *redactor) end() {
	r.mu.Lock()
	r.hiding = ""
	r.mu.Unlock()
}

// add adds a secret and its base64 form (the way SASL sends it).
func (r *redactor) add(secret []byte) {
	if len(secret) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = append(r.secrets, bytes.Clone(secret), []byte(base64.StdEncoding.EncodeToString(secret)))
}

func (r *redactor) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hiding != "" {
		return len(p), nil
	}
	out := p
	for _, s := range r.secrets {
		if bytes.Contains(out, s) {
			out = bytes.ReplaceAll(out, s, []byte("<redacted>"))
		}
	}
	r.w.Write(out)
	return len(p), nil
}
