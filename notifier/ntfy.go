package notifier

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// DefaultNtfyServer is the public ntfy server, used when
// NtfyOptions.Server is empty.
const DefaultNtfyServer = "https://ntfy.sh"

// DefaultNtfyLinkTTL is how long the buttons of a question keep working
// when nobody taps them: long enough for a question left unanswered over a
// holiday, short enough that a link found in an old cache is dead.
const DefaultNtfyLinkTTL = 30 * 24 * time.Hour

// ntfyTimeout bounds each request to the ntfy server, whatever client the
// caller passed, so that a hung server delays an Ask rather than blocking
// the daemon.
const ntfyTimeout = 30 * time.Second

// Bounds of the callback server: it answers tiny requests from a phone.
const (
	callbackHeaderTimeout = 10 * time.Second
	callbackReadTimeout   = 20 * time.Second
	callbackWriteTimeout  = 20 * time.Second
	callbackIdleTimeout   = time.Minute
	callbackMaxHeader     = 8 << 10
	callbackMaxBody       = 1 << 10
	callbackShutdown      = 5 * time.Second
)

// ntfyMaxMessage keeps a message under ntfy's limit (4,096 bytes), above
// which the server turns the message into an attachment.
const ntfyMaxMessage = 3800

// ntfyTitleMax bounds a title: a phone shows one line of it anyway.
const ntfyTitleMax = 250

// ntfyTopicRe is what ntfy accepts as a topic name.
var ntfyTopicRe = regexp.MustCompile(`^[-_A-Za-z0-9]{1,64}$`)

// NtfyOptions configures NewNtfy.
type NtfyOptions struct {
	// Server is the ntfy server's base URL; "" means DefaultNtfyServer.
	Server string
	// Topic is the topic the phone subscribes to. Anyone who knows it can
	// read the questions and answer them unless the server protects it:
	// pick a long random name, or an access-controlled topic and Token.
	Topic string
	// Token is an optional ntfy access token ("tk_…") sent as a Bearer
	// token. It is never logged nor put into an error.
	Token string
	// Listen is the address the answer callbacks are served on, e.g.
	// "127.0.0.1:8517" behind a reverse proxy or "0.0.0.0:8517" on a LAN.
	Listen string
	// PublicURL is the base URL the phone reaches Listen at, e.g.
	// "https://home.example/rsvp" or "http://192.168.1.5:8517"; buttons
	// request PublicURL + "/answer/…". Requests are accepted with or
	// without its path, so a proxy may strip the path or not. "" means
	// http:// and the listening address, which must then not be 0.0.0.0.
	PublicURL string
	// Priority is the ntfy message priority, 1 (min) to 5 (max); 0 leaves
	// the server's default (3).
	Priority int
	// LinkTTL is how long an unused button keeps working; 0 means
	// DefaultNtfyLinkTTL.
	LinkTTL time.Duration
	// HTTPClient publishes to the server; nil means a client with a
	// timeout.
	HTTPClient *http.Client
	// Logger receives what went wrong and what the user did; nil discards.
	Logger *slog.Logger
	// Now is the clock links expire by; nil means time.Now.
	Now func() time.Time
}

// Ntfy asks through an ntfy server (https://ntfy.sh, or a self-hosted
// one): each question is a push message with Decline, Reschedule and
// Ignore buttons, ntfy "http" actions that POST to a small HTTP server
// this notifier runs. Every question gets a fresh random link, usable
// once; a re-ask or Withdraw kills the old one. See the package
// documentation.
type Ntfy struct {
	server    string // base URL, no trailing slash
	topic     string
	token     string
	public    string // PublicURL, no trailing slash
	prefix    string // PublicURL's path, no trailing slash; "" for none
	priority  int
	ttl       time.Duration
	client    *http.Client
	log       *slog.Logger
	now       func() time.Time
	out       *outbox
	srv       *http.Server
	ln        net.Listener
	served    chan struct{}
	bg        context.Context // ends on Close: background requests stop
	cancelBg  context.CancelFunc
	bgWG      sync.WaitGroup
	closeOnce sync.Once

	mu      sync.Mutex
	closed  bool
	refused string                // what the server said when it last refused; "" after a success
	live    map[linkKey]ntfyLink  // links that answer
	gone    map[linkKey]time.Time // used or replaced links: 410 until then
	current map[string]linkKey    // question ID -> its live link
}

// linkKey is the SHA-256 of a link's token. Links are looked up by it, so
// how long a lookup takes says nothing about a stored token.
type linkKey [sha256.Size]byte

type ntfyLink struct {
	id      string
	expires time.Time
}

var (
	_ Notifier = (*Ntfy)(nil)
	_ Alerter  = (*Ntfy)(nil)
)

// NewNtfy checks opts and starts serving answer callbacks on opts.Listen.
// The ntfy server is not contacted until the first question.
func NewNtfy(ctx context.Context, opts NtfyOptions) (*Ntfy, error) {
	n := &Ntfy{
		topic:    opts.Topic,
		token:    opts.Token,
		priority: opts.Priority,
		ttl:      opts.LinkTTL,
		client:   opts.HTTPClient,
		log:      opts.Logger,
		now:      opts.Now,
		live:     map[linkKey]ntfyLink{},
		gone:     map[linkKey]time.Time{},
		current:  map[string]linkKey{},
		served:   make(chan struct{}),
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.now == nil {
		n.now = time.Now
	}
	if n.ttl <= 0 {
		n.ttl = DefaultNtfyLinkTTL
	}
	if n.client == nil {
		n.client = &http.Client{Timeout: ntfyTimeout}
	}
	server := opts.Server
	if server == "" {
		server = DefaultNtfyServer
	}
	var err error
	if n.server, err = baseURL(server); err != nil {
		return nil, fmt.Errorf("notifier: ntfy server %q: %w", redact(server), err)
	}
	if !ntfyTopicRe.MatchString(n.topic) {
		// Not the topic itself: on a public server it is the password.
		return nil, fmt.Errorf("notifier: ntfy topic (%d characters): want 1 to 64 letters, digits, '-' and '_'", len(n.topic))
	}
	for _, c := range n.token {
		if c <= ' ' || c > '~' {
			// Not the token itself: it must not reach a log.
			return nil, errors.New("notifier: the ntfy access token has a space or a character that cannot go in an HTTP header")
		}
	}
	if n.priority < 0 || n.priority > 5 {
		return nil, fmt.Errorf("notifier: ntfy priority %d: want 1 (min) to 5 (max), or 0 for the server's default", n.priority)
	}
	if opts.Listen == "" {
		return nil, errors.New("notifier: ntfy: no address to listen on for the answers (e.g. 127.0.0.1:8517)")
	}
	if opts.PublicURL != "" {
		if n.public, err = baseURL(opts.PublicURL); err != nil {
			return nil, fmt.Errorf("notifier: ntfy public URL %q: %w", redact(opts.PublicURL), err)
		}
	}

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("notifier: ntfy: listen for answers: %w", err)
	}
	if n.public == "" {
		addr, _ := ln.Addr().(*net.TCPAddr)
		if addr == nil || addr.IP.IsUnspecified() {
			ln.Close()
			return nil, fmt.Errorf("notifier: ntfy: listening on %s, no phone can reach that: set the public URL the phone reaches it at", opts.Listen)
		}
		n.public = "http://" + addr.String()
		if addr.IP.IsLoopback() {
			n.log.Warn("ntfy answers are served on a loopback address and no public URL is set: a phone cannot reach it", "listen", addr.String())
		}
	}
	u, _ := url.Parse(n.public)
	n.prefix = u.Path
	n.ln = ln
	n.out = newOutbox()
	n.bg, n.cancelBg = context.WithCancel(context.Background())
	n.srv = &http.Server{
		Handler:           http.HandlerFunc(n.serve),
		ReadHeaderTimeout: callbackHeaderTimeout,
		ReadTimeout:       callbackReadTimeout,
		WriteTimeout:      callbackWriteTimeout,
		IdleTimeout:       callbackIdleTimeout,
		MaxHeaderBytes:    callbackMaxHeader,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelDebug),
	}
	go func() {
		defer close(n.served)
		if err := n.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("ntfy answer server stopped; answer with rsvp decide", "err", err)
		}
	}()
	n.log.Debug("serving ntfy answers", "listen", ln.Addr().String(), "public_url", n.public)
	return n, nil
}

// baseURL checks an http(s) base URL and drops a trailing slash.
func baseURL(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", errors.New("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("want an http:// or https:// URL")
	case u.Host == "":
		return "", errors.New("no host")
	case u.User != nil:
		return "", errors.New("credentials do not go into the URL")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", errors.New("want no query and no fragment")
	}
	return strings.TrimRight(s, "/"), nil
}

// redact hides a password in a URL.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}

// Addr is the address answers are served on (with Listen ":0", the port
// chosen).
func (n *Ntfy) Addr() net.Addr { return n.ln.Addr() }

// Ask publishes q with three buttons behind a new link, and kills the link
// of an earlier question with the same ID. The message carries a sequence
// ID derived from the question ID, so ntfy clients that can (Android, the
// web app; ntfy 2.16 or later) replace the earlier notification in place.
func (n *Ntfy) Ask(ctx context.Context, q Question) error {
	if err := checkID(q.ID); err != nil {
		return err
	}
	token, key, err := newLinkToken()
	if err != nil {
		return fmt.Errorf("notifier: ntfy: %w", err)
	}
	now := n.now()
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	n.prune(now)
	// Live before it is published: a tap may come before Ask returns.
	n.live[key] = ntfyLink{id: q.ID, expires: now.Add(n.ttl)}
	n.mu.Unlock()

	err = n.publish(ctx, n.question(q, token))

	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		delete(n.live, key) // never shown; an earlier link stays good
		return err
	}
	if old, ok := n.current[q.ID]; ok && old != key {
		n.kill(old)
	}
	if _, ok := n.live[key]; ok {
		n.current[q.ID] = key
	}
	n.log.Debug("asked on ntfy", "id", q.ID, "reminder", q.Reminder)
	return nil
}

// Withdraw kills the question's link and clears its notification on the
// phone (best effort: an error is returned, the link is dead anyway).
func (n *Ntfy) Withdraw(ctx context.Context, id string) error {
	n.mu.Lock()
	key, ok := n.current[id]
	if ok {
		n.kill(key)
		delete(n.current, id)
	}
	closed := n.closed
	n.mu.Unlock()
	if !ok || closed {
		return nil
	}
	return n.clear(ctx, id)
}

// Answers delivers the buttons tapped.
func (n *Ntfy) Answers() <-chan Answer { return n.out.ch }

// Close stops serving answers (waiting a little for requests in flight)
// and closes Answers. Links shown on a phone die with it; after a restart
// the daemon asks again, and the new message replaces the old one.
func (n *Ntfy) Close() error {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.closed = true
		n.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), callbackShutdown)
		if err := n.srv.Shutdown(ctx); err != nil {
			n.srv.Close()
		}
		cancel()
		<-n.served
		n.cancelBg()
		n.bgWG.Wait()
		n.out.close()
	})
	return nil
}

// Alert implements Alerter: a message without buttons.
func (n *Ntfy) Alert(ctx context.Context, summary, body string) error {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return n.publish(ctx, ntfyMessage{
		Topic:    n.topic,
		Title:    clip(summary, ntfyTitleMax),
		Message:  clip(body, ntfyMaxMessage),
		Tags:     []string{"warning"},
		Priority: n.priority,
	})
}

// kill makes a live link answer 410 Gone until it would have expired.
// Called with n.mu held.
func (n *Ntfy) kill(key linkKey) {
	if l, ok := n.live[key]; ok {
		delete(n.live, key)
		n.gone[key] = l.expires
	}
}

// prune forgets expired links. Called with n.mu held.
func (n *Ntfy) prune(now time.Time) {
	for k, l := range n.live {
		if !now.Before(l.expires) {
			delete(n.live, k)
			if n.current[l.id] == k {
				delete(n.current, l.id)
			}
		}
	}
	for k, exp := range n.gone {
		if !now.Before(exp) {
			delete(n.gone, k)
		}
	}
}

// newLinkToken is 160 random bits in lower-case base32 (32 characters)
// and the key it is looked up by.
func newLinkToken() (string, linkKey, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", linkKey{}, fmt.Errorf("random link token: %w", err)
	}
	token := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return token, sha256.Sum256([]byte(token)), nil
}

// ntfySequenceID names the notification of a question: the same on every
// re-ask and across restarts, within ntfy's [-_A-Za-z0-9]{1,64}.
func ntfySequenceID(id string) string {
	if len(id) <= 59 {
		return "rsvp-" + id
	}
	sum := sha256.Sum256([]byte(id))
	return "rsvp-" + hex.EncodeToString(sum[:16])
}

// ntfyMessage is ntfy's JSON publishing format (POST to the server root).
type ntfyMessage struct {
	Topic      string       `json:"topic"`
	Title      string       `json:"title,omitempty"`
	Message    string       `json:"message"`
	Tags       []string     `json:"tags,omitempty"`
	Priority   int          `json:"priority,omitempty"`
	Actions    []ntfyAction `json:"actions,omitempty"`
	SequenceID string       `json:"sequence_id,omitempty"`
}

// ntfyAction is an "http" action button.
type ntfyAction struct {
	Action string `json:"action"`
	Label  string `json:"label"`
	URL    string `json:"url"`
	Method string `json:"method,omitempty"`
	Clear  bool   `json:"clear,omitempty"`
}

var ntfyLabels = map[string]string{
	ActionDecline:    "Decline",
	ActionReschedule: "Reschedule",
	ActionIgnore:     "Ignore",
}

// question is the message that asks q, its buttons behind token.
func (n *Ntfy) question(q Question, token string) ntfyMessage {
	body := bodyOf(q, textOptions{}) + "\n" +
		"Decline with a reason: rsvp decide " + q.ID + " decline --reason R"
	m := ntfyMessage{
		Topic:      n.topic,
		Title:      clip(summaryOf(q), ntfyTitleMax),
		Message:    clip(body, ntfyMaxMessage),
		Tags:       []string{"briefcase"},
		Priority:   n.priority,
		SequenceID: ntfySequenceID(q.ID),
	}
	to := q.ReplyTo
	if to == "" {
		to = q.FromAddr
	}
	if from, rt := domainOf(q.FromAddr), domainOf(to); from != "" && rt != "" && !sameOrg(from, rt) {
		m.Tags = append(m.Tags, "warning")
	}
	for _, a := range actions {
		m.Actions = append(m.Actions, ntfyAction{
			Action: "http",
			Label:  ntfyLabels[a],
			URL:    n.public + "/answer/" + token + "/" + a,
			Method: http.MethodPost,
			// Cleared from the phone once rsvp took the answer; a failed
			// request leaves it, so the user sees it did not work.
			Clear: true,
		})
	}
	return m
}

// clip cuts s to at most max bytes on a character boundary.
func clip(s string, max int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= max {
		return s
	}
	s = s[:max-len("…")]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// publish posts m as JSON to the server root.
func (n *Ntfy) publish(ctx context.Context, m ntfyMessage) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("notifier: ntfy: encode message: %w", err)
	}
	return n.do(ctx, http.MethodPost, n.server+"/", body, "publish")
}

// clear dismisses the question's notification on every client that
// supports it (PUT /<topic>/<sequence_id>/clear, ntfy 2.16 or later).
func (n *Ntfy) clear(ctx context.Context, id string) error {
	return n.do(ctx, http.MethodPut, n.server+"/"+n.topic+"/"+ntfySequenceID(id)+"/clear", nil, "clear notification")
}

// clearLater clears the notification of an answered question in the
// background: the phone that answered cleared its own, other clients
// (the web app, a second phone) still show it. The caller has added it to
// n.bgWG.
func (n *Ntfy) clearLater(id string) {
	defer n.bgWG.Done()
	if err := n.clear(n.bg, id); err != nil && n.bg.Err() == nil {
		n.log.Debug("clearing an answered question's notification", "id", id, "err", err)
	}
}

// do sends one request to the ntfy server. A server that cannot be
// reached, fails (5xx) or asks to slow down (429) gives ErrUnavailable;
// one that refuses the request (a bad topic, a missing or wrong token)
// gives a plain error with what the server said.
func (n *Ntfy) do(ctx context.Context, method, target string, body []byte, what string) error {
	ctx, cancel := context.WithTimeout(ctx, ntfyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notifier: ntfy %s: %w", what, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "rsvp")
	if n.token != "" {
		req.Header.Set("Authorization", "Bearer "+n.token)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		// The URL may hold the topic, which on a public server is a
		// password: say which server, not which URL.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%w: ntfy %s at %s: %w", ErrUnavailable, what, n.server, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		n.mu.Lock()
		n.refused = ""
		n.mu.Unlock()
		return nil
	case code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout:
		return fmt.Errorf("%w: ntfy %s at %s: %s", ErrUnavailable, what, n.server, n.serverSaid(resp.Status, reply))
	}
	said := n.serverSaid(resp.Status, reply)
	// Once per refusal, not on every retry.
	n.mu.Lock()
	again := n.refused == said
	n.refused = said
	n.mu.Unlock()
	if !again {
		n.log.Warn("the ntfy server refused a request; check the topic and the access token",
			"request", what, "server", n.server, "status", code, "error", said)
	}
	return fmt.Errorf("notifier: ntfy %s at %s refused: %s (check the topic and the access token)", what, n.server, said)
}

// serverSaid is the status and the error text of a reply: ntfy answers
// errors with {"code":40101,"http":401,"error":"unauthorized",…}.
func (n *Ntfy) serverSaid(status string, reply []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	text := ""
	if json.Unmarshal(reply, &e) == nil && e.Error != "" {
		text = e.Error
	} else {
		text = string(reply)
	}
	if n.token != "" {
		// Some proxy might echo the request.
		text = strings.ReplaceAll(text, n.token, "[token]")
	}
	text = strings.Join(strings.Fields(excerpt(text)), " ")
	if text == "" {
		return status
	}
	return status + ": " + text
}

// serve answers the callbacks: POST [PublicURL path]/answer/<token>/<action>.
// Nothing else is served, and no response repeats anything of the request.
func (n *Ntfy) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	token, action, ok := n.route(r.URL.Path)
	if !ok {
		reply(w, http.StatusNotFound, "not found")
		return
	}
	if r.Method != http.MethodPost {
		h.Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, callbackMaxBody))

	key := linkKey(sha256.Sum256([]byte(token)))
	now := n.now()
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		reply(w, http.StatusServiceUnavailable, "rsvp is stopping; try again later")
		return
	}
	l, live := n.live[key]
	if live && !now.Before(l.expires) {
		delete(n.live, key)
		live = false
	}
	goneUntil, gone := n.gone[key]
	if !live {
		n.mu.Unlock()
		if gone && now.Before(goneUntil) {
			n.log.Info("an ntfy button was tapped on a question already answered, replaced or withdrawn; ignored", "remote", r.RemoteAddr)
			reply(w, http.StatusGone, "This question was already answered or is no longer asked.")
			return
		}
		n.log.Debug("an ntfy answer link that is unknown or expired; ignored", "remote", r.RemoteAddr)
		reply(w, http.StatusNotFound, "not found")
		return
	}
	// Spent: a second tap, a retry, a replay gets 410.
	delete(n.live, key)
	n.gone[key] = l.expires
	if n.current[l.id] == key {
		delete(n.current, l.id)
	}
	n.out.push(Answer{ID: l.id, Action: action})
	n.bgWG.Add(1) // under n.mu, before Close can wait for it
	n.mu.Unlock()

	n.log.Info("answered on ntfy", "id", l.id, "action", action)
	go n.clearLater(l.id)
	reply(w, http.StatusOK, "rsvp: answer recorded, "+ntfyLabels[action]+".")
}

// route splits an answer path into its token and action, with or without
// the public URL's path in front.
func (n *Ntfy) route(path string) (token, action string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/answer/")
	if !ok && n.prefix != "" {
		rest, ok = strings.CutPrefix(path, n.prefix+"/answer/")
	}
	if !ok {
		return "", "", false
	}
	token, action, ok = strings.Cut(rest, "/")
	if !ok || token == "" || len(token) > 128 || ntfyLabels[action] == "" {
		return "", "", false
	}
	return token, action, true
}

func reply(w http.ResponseWriter, code int, text string) {
	w.WriteHeader(code)
	io.WriteString(w, text+"\n")
}
