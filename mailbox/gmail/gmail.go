package gmail

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gmail "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/rsvp-mail/rsvp/mailbox"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

// Defaults for zero Options fields.
const (
	DefaultUser         = "me"
	DefaultLabel        = "Interview invitations"
	DefaultBodyBytes    = 64 << 10
	DefaultBatchSize    = 100
	DefaultPollInterval = 30 * time.Second
	DefaultMaxRetries   = 5
	DefaultRetryBase    = time.Second
	DefaultMaxBackoff   = 32 * time.Second
	// DefaultMaxRetryAfter is the longest Retry-After waited for inside a
	// call; a longer one is returned to the caller at once.
	DefaultMaxRetryAfter = 2 * time.Minute
)

// Inbox is the mailbox name set on every Message.
const Inbox = "INBOX"

// Page sizes: the largest Gmail allows, so a poll is one request.
const (
	listPageSize    = 500
	historyPageSize = 500
	threadCacheSize = 4096
)

// Options configures Open. Zero fields take the defaults above.
type Options struct {
	// HTTPClient sends the requests and carries the OAuth token, e.g.
	// oauth2.NewClient(ctx, tokenSource). Required: the client never
	// looks for credentials itself.
	HTTPClient *http.Client
	// Endpoint is the API's base URL; "" is Google's
	// (https://gmail.googleapis.com/). Tests point it at a fake.
	Endpoint string
	// User is the userId of every call: "me" or the account's address.
	User string
	// Label is added to invitations (created when missing).
	Label string
	// NoFlag turns flagging off (config flag: "").
	NoFlag bool
	// ReadOnly never changes the mailbox (rsvp scan): Flag does nothing
	// and SaveDraft fails.
	ReadOnly bool

	BodyBytes    int // bytes of body kept after the header
	BatchSize    int // messages per Fetch
	PollInterval time.Duration

	// Retries inside one call; see the package doc. MaxRetries below
	// zero means none.
	MaxRetries    int
	RetryBase     time.Duration // first backoff
	MaxBackoff    time.Duration
	MaxRetryAfter time.Duration

	Logger *slog.Logger
	// DebugWriter receives one line per HTTP request and response
	// (method, URL, status, time); never headers or bodies.
	DebugWriter io.Writer
}

func withDefaults(o Options) Options {
	if o.User == "" {
		o.User = DefaultUser
	}
	if o.Label == "" {
		o.Label = DefaultLabel
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
	if o.MaxRetries < 0 {
		o.MaxRetries = 0
	} else if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.RetryBase <= 0 {
		o.RetryBase = DefaultRetryBase
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Client is one Gmail account. It implements mailbox.Mailbox and
// mailbox.Watcher. Its methods are serialized, except Wait.
type Client struct {
	opts  Options
	log   *slog.Logger
	svc   *gmail.Service
	email string

	mu      sync.Mutex
	closed  bool
	labelID string   // cached id of opts.Label
	listing *listing // the inbox listing being handed out
	threads *threadCache
}

var (
	_ mailbox.Mailbox = (*Client)(nil)
	_ mailbox.Watcher = (*Client)(nil)
)

// Open makes a client and checks the credentials with users.getProfile.
// Refused credentials give an error matching mailbox.ErrAuth.
func Open(ctx context.Context, opts Options) (*Client, error) {
	opts = withDefaults(opts)
	if opts.HTTPClient == nil {
		return nil, errors.New("gmail: Options.HTTPClient is required (an OAuth client, e.g. from oauth.TokenSource)")
	}
	hc := opts.HTTPClient
	if opts.DebugWriter != nil {
		copied := *hc
		copied.Transport = &debugTransport{base: hc.Transport, w: opts.DebugWriter}
		hc = &copied
	}
	copts := []option.ClientOption{option.WithHTTPClient(hc)}
	if opts.Endpoint != "" {
		ep := opts.Endpoint
		if !strings.HasSuffix(ep, "/") {
			ep += "/"
		}
		copts = append(copts, option.WithEndpoint(ep))
	}
	svc, err := gmail.NewService(ctx, copts...)
	if err != nil {
		return nil, fmt.Errorf("gmail: %w", err)
	}
	c := &Client{opts: opts, log: opts.Logger, svc: svc, threads: newThreadCache(threadCacheSize)}
	var prof *gmail.Profile
	err = c.call(ctx, "users.getProfile", func() (err error) {
		prof, err = svc.Users.GetProfile(opts.User).Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("gmail open: %w", err)
	}
	c.email = prof.EmailAddress
	c.log.Debug("gmail account opened", "address", c.email, "history_id", prof.HistoryId)
	return c, nil
}

// Address is the account's email address, as users.getProfile reports it.
func (c *Client) Address() string { return c.email }

// position is a parsed cursor Token; see the package doc.
type position struct {
	history uint64
	newest  int64 // Unix seconds of the newest internalDate handed out; 0 = unknown
	listing bool
	after   int64 // listing: internalDate lower bound, Unix seconds
	done    int   // listing: messages of the listing handed out
}

func (p position) cursor() mailbox.Cursor {
	if p.listing {
		return mailbox.Cursor{Token: fmt.Sprintf("sync:%d:%d:%d", p.history, p.after, p.done)}
	}
	return mailbox.Cursor{Token: fmt.Sprintf("%d:%d", p.history, p.newest)}
}

func parseToken(tok string) (position, error) {
	bad := fmt.Errorf("gmail: cursor token %q is not one this backend wrote (want \"HISTORYID:UNIXTIME\" or \"sync:HISTORYID:UNIXTIME:COUNT\")", tok)
	if rest, ok := strings.CutPrefix(tok, "sync:"); ok {
		f := strings.Split(rest, ":")
		if len(f) != 3 {
			return position{}, bad
		}
		h, err1 := strconv.ParseUint(f[0], 10, 64)
		a, err2 := strconv.ParseInt(f[1], 10, 64)
		n, err3 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || err3 != nil || n < 0 {
			return position{}, bad
		}
		return position{listing: true, history: h, after: a, done: n}, nil
	}
	hs, ts, _ := strings.Cut(tok, ":")
	h, err := strconv.ParseUint(hs, 10, 64)
	if err != nil {
		return position{}, bad
	}
	p := position{history: h}
	if ts != "" {
		if p.newest, err = strconv.ParseInt(ts, 10, 64); err != nil {
			return position{}, bad
		}
	}
	return p, nil
}

// listing is an inbox listing held in memory while it is handed out.
type listing struct {
	key    string   // "H:A" of the cursor it belongs to
	ids    []string // oldest first
	newest int64    // Unix seconds of the newest message handed out
}

// Fetch implements mailbox.Mailbox.
func (c *Client) Fetch(ctx context.Context, since mailbox.Cursor, firstStart time.Time) ([]mailbox.Message, mailbox.Cursor, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, since, errors.New("gmail: Fetch on a closed client")
	}
	if since.Token == "" {
		if !since.IsZero() {
			c.log.Warn("gmail: the stored cursor has no history id (was this account IMAP before?); starting as on first start",
				"first_start", firstStart)
		}
		return c.startListing(ctx, since, unixOrZero(firstStart))
	}
	pos, err := parseToken(since.Token)
	if err != nil {
		return nil, since, err
	}
	if pos.listing {
		return c.continueListing(ctx, since, pos)
	}
	return c.fetchHistory(ctx, since, pos, firstStart)
}

func unixOrZero(t time.Time) int64 { return max(0, t.Unix()) }

// startListing records the current history id, then lists the inbox from
// after on.
func (c *Client) startListing(ctx context.Context, since mailbox.Cursor, after int64) ([]mailbox.Message, mailbox.Cursor, error) {
	var prof *gmail.Profile
	err := c.call(ctx, "users.getProfile", func() (err error) {
		prof, err = c.svc.Users.GetProfile(c.opts.User).Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, since, err
	}
	c.listing = nil
	return c.continueListing(ctx, since, position{listing: true, history: prof.HistoryId, after: after})
}

func (c *Client) continueListing(ctx context.Context, since mailbox.Cursor, pos position) ([]mailbox.Message, mailbox.Cursor, error) {
	key := fmt.Sprintf("%d:%d", pos.history, pos.after)
	if c.listing == nil || c.listing.key != key {
		ids, err := c.listInbox(ctx, pos.after)
		if err != nil {
			return nil, since, err
		}
		if pos.done > 0 {
			c.log.Info("gmail: resuming an interrupted inbox listing from its start; messages handled before may come again",
				"after", time.Unix(pos.after, 0).UTC(), "handled_before", pos.done)
		}
		c.listing = &listing{key: key, ids: ids, newest: pos.after}
		pos.done = 0
	}
	l := c.listing
	start := min(pos.done, len(l.ids))
	end := min(start+c.opts.BatchSize, len(l.ids))
	batch, newest, err := c.fetchMessages(ctx, l.ids[start:end])
	if err != nil {
		return nil, since, err
	}
	l.newest = max(l.newest, newest)
	if end < len(l.ids) {
		pos.done = end
		return batch, pos.cursor(), nil
	}
	c.listing = nil
	return batch, position{history: pos.history, newest: l.newest}.cursor(), nil
}

// listInbox lists the ids of inbox messages from after on, oldest first.
func (c *Client) listInbox(ctx context.Context, after int64) ([]string, error) {
	q := fmt.Sprintf("in:inbox after:%d", after)
	var ids []string
	seen := map[string]bool{}
	pageToken := ""
	for {
		var resp *gmail.ListMessagesResponse
		err := c.call(ctx, "users.messages.list", func() (err error) {
			call := c.svc.Users.Messages.List(c.opts.User).Q(q).MaxResults(listPageSize).Context(ctx)
			if pageToken != "" {
				call.PageToken(pageToken)
			}
			resp, err = call.Do()
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, m := range resp.Messages {
			if !seen[m.Id] {
				seen[m.Id] = true
				ids = append(ids, m.Id)
			}
		}
		if resp.NextPageToken == "" {
			break
		}
		pageToken = resp.NextPageToken
	}
	slices.Reverse(ids) // the API lists newest first
	return ids, nil
}

// fetchHistory hands out what the history since pos added to the inbox.
func (c *Client) fetchHistory(ctx context.Context, since mailbox.Cursor, pos position, firstStart time.Time) ([]mailbox.Message, mailbox.Cursor, error) {
	var ids []string
	seen := map[string]bool{}
	last := pos.history // id of the last history record taken whole
	var current uint64
	complete := false
	pageToken := ""
pages:
	for {
		var resp *gmail.ListHistoryResponse
		err := c.call(ctx, "users.history.list", func() (err error) {
			call := c.svc.Users.History.List(c.opts.User).StartHistoryId(pos.history).
				HistoryTypes("messageAdded").LabelId(Inbox).MaxResults(historyPageSize).Context(ctx)
			if pageToken != "" {
				call.PageToken(pageToken)
			}
			resp, err = call.Do()
			return err
		})
		if isNotFound(err) {
			return c.resync(ctx, since, pos, firstStart)
		}
		if err != nil {
			return nil, since, err
		}
		current = resp.HistoryId
		for _, h := range resp.History {
			var add []string
			for _, ma := range h.MessagesAdded {
				if m := ma.Message; m != nil && !seen[m.Id] && !ours(m.LabelIds) {
					add = append(add, m.Id)
				}
			}
			if len(ids) > 0 && len(ids)+len(add) > c.opts.BatchSize {
				break pages
			}
			for _, id := range add {
				seen[id] = true
			}
			ids = append(ids, add...)
			last = max(last, h.Id)
		}
		if resp.NextPageToken == "" {
			complete = true
			break
		}
		pageToken = resp.NextPageToken
	}
	batch, newest, err := c.fetchMessages(ctx, ids)
	if err != nil {
		return nil, since, err
	}
	next := position{history: last, newest: max(pos.newest, newest)}
	if complete {
		// Everything up to the mailbox's current id is seen; moving there
		// also keeps an idle account's id from expiring.
		next.history = max(next.history, current)
	}
	return batch, next.cursor(), nil
}

// resync lists the inbox again after the history id expired.
func (c *Client) resync(ctx context.Context, since mailbox.Cursor, pos position, firstStart time.Time) ([]mailbox.Message, mailbox.Cursor, error) {
	after := unixOrZero(firstStart)
	from := "first start"
	if pos.newest > 0 {
		// One second back: a message in the same second as the newest
		// seen may not have been seen.
		after, from = pos.newest-1, "newest message seen"
	}
	c.log.Warn("gmail: history id has expired; listing the inbox again (messages may repeat)",
		"history_id", pos.history, "after", time.Unix(after, 0).UTC(), "from", from)
	return c.startListing(ctx, since, after)
}

// ours reports labels of mail rsvp must not hand out: drafts (its own
// replies among them) and the user's sent mail.
func ours(labels []string) bool {
	return slices.Contains(labels, "DRAFT") || slices.Contains(labels, "SENT")
}

// fetchMessages gets each message with format=raw, in the order given,
// skipping those gone meanwhile and those that are ours. newest is the
// newest internalDate handed out, in Unix seconds.
func (c *Client) fetchMessages(ctx context.Context, ids []string) (batch []mailbox.Message, newest int64, err error) {
	for _, id := range ids {
		var gm *gmail.Message
		err := c.call(ctx, "users.messages.get", func() (err error) {
			gm, err = c.svc.Users.Messages.Get(c.opts.User, id).Format("raw").Context(ctx).Do()
			return err
		})
		if isNotFound(err) {
			c.log.Debug("gmail: message gone before it was fetched", "id", id)
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		if ours(gm.LabelIds) {
			continue
		}
		m := c.message(gm)
		batch = append(batch, m)
		newest = max(newest, m.InternalDate.Unix())
	}
	slices.SortStableFunc(batch, func(a, b mailbox.Message) int { return a.InternalDate.Compare(b.InternalDate) })
	return batch, newest, nil
}

func (c *Client) message(gm *gmail.Message) mailbox.Message {
	m := mailbox.Message{
		Mailbox:      Inbox,
		ID:           gm.Id,
		ThreadID:     gm.ThreadId,
		Flags:        slices.Clone(gm.LabelIds),
		InternalDate: time.UnixMilli(gm.InternalDate),
	}
	raw, err := decodeRaw(gm.Raw)
	if err != nil {
		m.ParseErr = fmt.Errorf("gmail message %s: raw is not base64url: %w", gm.Id, err)
		return m
	}
	m.Raw = truncateBody(raw, c.opts.BodyBytes)
	m.Parsed, m.ParseErr = mailmsg.Read(bytes.NewReader(m.Raw), mailmsg.Options{MaxBodyBytes: c.opts.BodyBytes})
	if m.Parsed != nil && m.Parsed.MessageID != "" {
		c.threads.put(m.Parsed.MessageID, gm.ThreadId)
	}
	return m
}

func decodeRaw(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// truncateBody keeps the header and the first n bytes of the body, like
// the IMAP backend's BODY.PEEK[TEXT]<0.n>.
func truncateBody(raw []byte, n int) []byte {
	end := len(raw)
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		end = i + 4
	} else if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		end = i + 2
	}
	if len(raw)-end > n {
		return raw[:end+n]
	}
	return raw
}

// Flag implements mailbox.Mailbox: messages.modify adding the label. A
// message that already has it costs nothing.
func (c *Client) Flag(ctx context.Context, msgs ...mailbox.Message) error {
	if c.opts.NoFlag || c.opts.ReadOnly {
		return nil
	}
	for _, m := range msgs {
		if m.ID == "" {
			return errors.New("gmail: Flag of a message without a Gmail id")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("gmail: Flag on a closed client")
	}
	// One users.messages.modify (5 units) a message: batchModify costs 50
	// units a call, more than a batch of a few invitations.
	for _, m := range msgs {
		if err := c.flagOne(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// flagOne labels one message; c.mu is held.
func (c *Client) flagOne(ctx context.Context, m mailbox.Message) error {
	for attempt := 0; ; attempt++ {
		id, err := c.ensureLabel(ctx)
		if err != nil {
			return err
		}
		if slices.Contains(m.Flags, id) {
			return nil
		}
		err = c.call(ctx, "users.messages.modify", func() error {
			_, err := c.svc.Users.Messages.Modify(c.opts.User, m.ID, &gmail.ModifyMessageRequest{AddLabelIds: []string{id}}).Context(ctx).Do()
			return err
		})
		switch {
		case err == nil:
			return nil
		case isNotFound(err):
			c.log.Warn("gmail: the invitation is gone; not flagging it", "id", m.ID)
			return nil
		case isStatus(err, http.StatusBadRequest) && attempt == 0:
			// The label was deleted since it was looked up.
			c.labelID = ""
			continue
		}
		return fmt.Errorf("flag message %s with %q: %w", m.ID, c.opts.Label, err)
	}
}

// ensureLabel finds the label by name, case-insensitively, or creates it.
func (c *Client) ensureLabel(ctx context.Context) (string, error) {
	if c.labelID != "" {
		return c.labelID, nil
	}
	for attempt := 0; ; attempt++ {
		var resp *gmail.ListLabelsResponse
		err := c.call(ctx, "users.labels.list", func() (err error) {
			resp, err = c.svc.Users.Labels.List(c.opts.User).Context(ctx).Do()
			return err
		})
		if err != nil {
			return "", fmt.Errorf("find label %q: %w", c.opts.Label, err)
		}
		for _, l := range resp.Labels {
			if strings.EqualFold(l.Name, c.opts.Label) {
				c.labelID = l.Id
				return l.Id, nil
			}
		}
		var created *gmail.Label
		err = c.call(ctx, "users.labels.create", func() (err error) {
			created, err = c.svc.Users.Labels.Create(c.opts.User, &gmail.Label{
				Name: c.opts.Label, LabelListVisibility: "labelShow", MessageListVisibility: "show",
			}).Context(ctx).Do()
			return err
		})
		if isStatus(err, http.StatusConflict) && attempt == 0 {
			continue // made by someone else meanwhile: list again
		}
		if err != nil {
			return "", fmt.Errorf("create label %q: %w", c.opts.Label, err)
		}
		c.log.Info("gmail: created the label for invitations", "label", created.Name, "label_id", created.Id)
		c.labelID = created.Id
		return created.Id, nil
	}
}

// SaveDraft implements mailbox.Mailbox: drafts.create in the thread of the
// message the draft answers (its In-Reply-To, else the last References
// entry). raw's Message-ID must be messageID, or FindDraft could never
// find the draft.
func (c *Client) SaveDraft(ctx context.Context, messageID string, raw []byte) error {
	if c.opts.ReadOnly {
		return errors.New("gmail: SaveDraft on a read-only client")
	}
	id := bareID(messageID)
	if id == "" {
		return errors.New("gmail: SaveDraft with an empty Message-ID")
	}
	parsed, err := mailmsg.Read(bytes.NewReader(raw), mailmsg.Options{})
	if err != nil {
		return fmt.Errorf("gmail: draft <%s> does not parse: %w", id, err)
	}
	if parsed.MessageID != id {
		return fmt.Errorf("gmail: draft's Message-ID header is <%s>, want <%s>", parsed.MessageID, id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("gmail: SaveDraft on a closed client")
	}
	parent := ""
	if len(parsed.InReplyTo) > 0 {
		parent = parsed.InReplyTo[0]
	} else if len(parsed.References) > 0 {
		parent = parsed.References[len(parsed.References)-1]
	}
	threadID := ""
	if parent != "" {
		if threadID, err = c.threadOf(ctx, parent); err != nil {
			return fmt.Errorf("save draft <%s>: %w", id, err)
		}
		if threadID == "" {
			c.log.Warn("gmail: the message a draft answers is not in the mailbox; saving the draft outside its thread",
				"draft", id, "in_reply_to", parent)
		}
	}
	d := &gmail.Draft{Message: &gmail.Message{Raw: base64.URLEncoding.EncodeToString(raw), ThreadId: threadID}}
	err = c.callOnce(ctx, "users.drafts.create", func() error {
		_, err := c.svc.Users.Drafts.Create(c.opts.User, d).Context(ctx).Do()
		return err
	}, func() (bool, error) { return c.findDraft(ctx, id, false) })
	if err != nil {
		return fmt.Errorf("save draft <%s>: %w", id, err)
	}
	return nil
}

// threadOf finds the thread of the message with this Message-ID; "" when
// there is none.
func (c *Client) threadOf(ctx context.Context, msgID string) (string, error) {
	if t, ok := c.threads.get(msgID); ok {
		return t, nil
	}
	var resp *gmail.ListMessagesResponse
	err := c.call(ctx, "users.messages.list", func() (err error) {
		resp, err = c.svc.Users.Messages.List(c.opts.User).Q("rfc822msgid:" + msgID).MaxResults(10).Context(ctx).Do()
		return err
	})
	if err != nil {
		return "", fmt.Errorf("find the thread of <%s>: %w", msgID, err)
	}
	for _, m := range resp.Messages {
		c.threads.put(msgID, m.ThreadId)
		return m.ThreadId, nil
	}
	return "", nil
}

// FindDraft implements mailbox.Mailbox: drafts.list q=rfc822msgid:<id>.
func (c *Client) FindDraft(ctx context.Context, messageID string) (bool, error) {
	id := bareID(messageID)
	if id == "" {
		return false, errors.New("gmail: FindDraft with an empty Message-ID")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false, errors.New("gmail: FindDraft on a closed client")
	}
	return c.findDraft(ctx, id, true)
}

func (c *Client) findDraft(ctx context.Context, id string, retry bool) (bool, error) {
	var resp *gmail.ListDraftsResponse
	fn := func() (err error) {
		resp, err = c.svc.Users.Drafts.List(c.opts.User).Q("rfc822msgid:" + id).MaxResults(1).Context(ctx).Do()
		return err
	}
	var err error
	if retry {
		err = c.call(ctx, "users.drafts.list", fn)
	} else {
		err = c.classified("users.drafts.list", fn())
	}
	if err != nil {
		return false, fmt.Errorf("find draft <%s>: %w", id, err)
	}
	return len(resp.Drafts) > 0, nil
}

func bareID(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "<"), ">")
}

// Wait implements mailbox.Watcher: the Gmail API has no push without Cloud
// Pub/Sub, so it sleeps PollInterval.
func (c *Client) Wait(ctx context.Context) error {
	t := time.NewTimer(c.opts.PollInterval)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close implements mailbox.Mailbox. There is no connection to log out of;
// later calls fail.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.listing = nil
	c.mu.Unlock()
	return nil
}

func isStatus(err error, code int) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == code
}

func isNotFound(err error) bool { return isStatus(err, http.StatusNotFound) }

// threadCache maps Message-IDs of handed-out messages to their thread ids,
// so SaveDraft rarely needs a search. It forgets the oldest entries.
type threadCache struct {
	m     map[string]string
	order []string
	size  int
}

func newThreadCache(size int) *threadCache {
	return &threadCache{m: make(map[string]string), size: size}
}

func (tc *threadCache) get(k string) (string, bool) { v, ok := tc.m[k]; return v, ok }

func (tc *threadCache) put(k, v string) {
	if _, ok := tc.m[k]; !ok {
		tc.order = append(tc.order, k)
		if len(tc.order) > tc.size {
			delete(tc.m, tc.order[0])
			tc.order = tc.order[1:]
		}
	}
	tc.m[k] = v
}
