// Package fakegmail is a Gmail API server for tests, with real state, for
// the real client google.golang.org/api/gmail/v1 pointed at it with
// option.WithEndpoint(s.Endpoint()) and option.WithHTTPClient(s.Client()).
//
// It keeps messages (the raw RFC 5322 bytes, id, threadId, labelIds,
// internalDate, historyId), threads, system and user labels, drafts and a
// history log, and serves the methods rsvp uses:
//
//	users.getProfile                      GET  users/{u}/profile
//	users.messages.list (q, labelIds, includeSpamTrash, pageToken, maxResults)
//	users.messages.get (format minimal, metadata, raw)
//	users.messages.modify                 POST users/{u}/messages/{id}/modify
//	users.labels.list, users.labels.create
//	users.history.list (startHistoryId, historyTypes, labelId, pageToken, maxResults)
//	users.drafts.create (message.raw, message.threadId), users.drafts.list (q), users.drafts.get
//
// Any other request (send, trash, delete, batch, format=full, ...) is
// answered 404 or 400 and recorded in Unsupported, so a test can prove a
// client never tried to send, delete or trash mail.
//
// Behaviour follows Gmail where a client can tell the difference:
//
//   - Every request needs "Authorization: Bearer <token>" (AccessToken, or
//     any token SetTokenCheck accepts); else 401 with reason authError.
//   - History ids grow with every change (messageAdded, labelsAdded,
//     labelsRemoved), by more than one at times, as in Gmail; history.list
//     returns records after startHistoryId and the mailbox's current
//     historyId, and answers 404 when startHistoryId is older than the
//     kept history (TrimHistory, SetOldestHistory).
//   - A message joins a thread when its In-Reply-To or References name a
//     message of that thread and the subjects match once "Re:"-style
//     prefixes are removed. A draft joins the thread named by its threadId
//     only under the same conditions (Gmail's rule for drafts.create);
//     otherwise it starts a thread of its own.
//   - messages.list returns newest first; q supports in:, label:, is:,
//     after:, before: (epoch seconds, or yyyy/mm/dd read as UTC midnight;
//     after: is inclusive), newer_than:, older_than: (Nd, Nm, Ny, Nh) and
//     rfc822msgid:, each optionally negated with "-". Any other term is a
//     400, so a client cannot rely on an unchecked search. SPAM and TRASH
//     are left out unless asked for.
//   - Errors have Google's JSON shape ({"error":{"code","message",
//     "errors":[{"reason"}],"status"}}), so googleapi.Error is filled in.
//
// Test controls deliver mail (Deliver, Insert), inject failures (FailNext,
// Fail: 429 or 403 rate limits with Retry-After, 500, 401, optionally after
// the request took effect), and count calls and quota units per method with
// Google's published costs (Units).
package fakegmail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// units are the quota units of each method, from
// https://developers.google.com/workspace/gmail/api/reference/quota.
var units = map[string]int{
	"getProfile":      1,
	"messages.list":   5,
	"messages.get":    5,
	"messages.modify": 5,
	"labels.list":     1,
	"labels.create":   5,
	"history.list":    2,
	"drafts.create":   10,
	"drafts.list":     5,
	"drafts.get":      5,
}

// Units is the quota cost of a method ("messages.get", "history.list", ...)
// as Google publishes it; 0 for a method the fake does not serve.
func Units(method string) int { return units[method] }

// System labels every mailbox has.
var systemLabels = []string{"INBOX", "SENT", "DRAFT", "SPAM", "TRASH", "UNREAD", "STARRED", "IMPORTANT",
	"CATEGORY_PERSONAL", "CATEGORY_SOCIAL", "CATEGORY_PROMOTIONS", "CATEGORY_UPDATES", "CATEGORY_FORUMS"}

// Server is a running fake Gmail API. Its methods are safe for concurrent
// use.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:34567.
	URL string
	// Email is the account's address (users.getProfile); requests may name
	// the user "me" or this address.
	Email string

	t   testing.TB
	srv *httptest.Server

	mu         sync.Mutex
	token      string
	checkToken func(string) bool

	nextMsg   uint64
	historyID uint64
	oldest    uint64 // history.list with a startHistoryId below this is a 404
	msgs      map[string]*message
	all       []*message // in insertion order
	byMsgID   map[string][]*message
	labels    []*label
	nextLabel int
	history   []*record
	drafts    []*draft
	nextDraft int

	failures    []Failure
	hooks       map[string][]func()
	calls       map[string]int
	quota       int
	requests    []Request
	unsupported []string
}

type message struct {
	id, threadID string
	raw          []byte
	labels       []string
	internalDate time.Time
	historyID    uint64

	header     mail.Header
	msgID      string // Message-ID without angle brackets
	inReplyTo  []string
	references []string
	subject    string
}

type label struct {
	id, name, kind string
}

type record struct {
	id        uint64
	kind      string // messageAdded, labelsAdded, labelsRemoved
	msg       *message
	labelIDs  []string // added or removed labels
	msgLabels []string // the message's labels after the change
}

type draft struct {
	id  string
	msg *message
}

// New starts a fake for the account "alex.morgan@example.net"; it stops
// when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		Email:     "alex.morgan@example.net",
		t:         t,
		token:     "ya29.fake-" + randomString(16),
		nextMsg:   0x18c3f00000000000,
		historyID: 94_000,
		oldest:    94_000,
		msgs:      map[string]*message{},
		byMsgID:   map[string][]*message{},
		calls:     map[string]int{},
		nextLabel: 1,
		nextDraft: 1,
	}
	for _, id := range systemLabels {
		s.labels = append(s.labels, &label{id: id, name: id, kind: "system"})
	}
	s.srv = httptest.NewServer(s.routes())
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Endpoint is the value for option.WithEndpoint.
func (s *Server) Endpoint() string { return s.URL + "/" }

// AccessToken is the bearer token the server accepts unless SetTokenCheck
// replaced the check.
func (s *Server) AccessToken() string { s.mu.Lock(); defer s.mu.Unlock(); return s.token }

// SetTokenCheck makes the server accept exactly the bearer tokens ok
// accepts (for example fakeoauth.Server.Valid); nil restores AccessToken.
func (s *Server) SetTokenCheck(ok func(token string) bool) {
	s.mu.Lock()
	s.checkToken = ok
	s.mu.Unlock()
}

// Client is an HTTP client that sends AccessToken as a bearer token.
func (s *Server) Client() *http.Client {
	return oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: s.AccessToken(), TokenType: "Bearer"}))
}

// Message is a stored message as a test sees it.
type Message struct {
	ID, ThreadID string
	LabelIDs     []string
	Raw          []byte
	InternalDate time.Time
	HistoryID    uint64
}

// Draft is a stored draft.
type Draft struct {
	ID      string
	Message Message
}

// Label is a label of the mailbox.
type Label struct {
	ID, Name, Type string // Type is "system" or "user"
}

// Change is one history record.
type Change struct {
	HistoryID uint64
	Kind      string // messageAdded, labelsAdded, labelsRemoved
	MessageID string
	LabelIDs  []string // for labelsAdded and labelsRemoved
}

// Request is one API request the server answered.
type Request struct {
	Method string // "messages.get", ...; "unsupported" for others
	At     time.Time
	Status int
}

// InsertOptions control Insert. Zero fields take Deliver's defaults.
type InsertOptions struct {
	// LabelIDs default to INBOX and UNREAD.
	LabelIDs []string
	// InternalDate defaults to now.
	InternalDate time.Time
	// ThreadID puts the message in this existing thread regardless of its
	// headers (as messages.insert with a threadId does).
	ThreadID string
}

// Deliver adds raw to the inbox as newly arrived mail and returns its
// message and thread ids. The message is stored even when its header does
// not parse, as Gmail stores whatever it receives.
func (s *Server) Deliver(raw []byte) (id, threadID string) {
	return s.Insert(raw, InsertOptions{})
}

// Insert adds raw with the given labels, date or thread.
func (s *Server) Insert(raw []byte, o InsertOptions) (id, threadID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	labels := o.LabelIDs
	if labels == nil {
		labels = []string{"INBOX", "UNREAD"}
	}
	for _, l := range labels {
		if s.label(l) == nil {
			s.t.Fatalf("fakegmail.Insert: no label with id %q", l)
		}
	}
	when := o.InternalDate
	if when.IsZero() {
		when = time.Now()
	}
	m := s.newMessage(raw, labels, when)
	switch {
	case o.ThreadID != "" && s.threadExists(o.ThreadID):
		m.threadID = o.ThreadID
	case o.ThreadID != "":
		s.t.Fatalf("fakegmail.Insert: no thread %q", o.ThreadID)
	default:
		m.threadID = s.threadByHeaders(m, "")
	}
	s.store(m)
	return m.id, m.threadID
}

// CreateLabel adds a user label (as the user would in the web interface)
// and returns its id.
func (s *Server) CreateLabel(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.labelByName(name); l != nil {
		s.t.Fatalf("fakegmail.CreateLabel: %q conflicts with label %s %q", name, l.id, l.name)
	}
	return s.addLabel(name).id
}

// HistoryID is the mailbox's current history id.
func (s *Server) HistoryID() uint64 { s.mu.Lock(); defer s.mu.Unlock(); return s.historyID }

// TrimHistory forgets all history so far: history.list from any earlier
// history id answers 404, as after a week without syncing.
func (s *Server) TrimHistory() { s.SetOldestHistory(s.HistoryID()) }

// SetOldestHistory makes history.list answer 404 for a startHistoryId
// below id.
func (s *Server) SetOldestHistory(id uint64) { s.mu.Lock(); s.oldest = id; s.mu.Unlock() }

// Failure is an error the server answers instead of (or after) serving a
// request.
type Failure struct {
	// Method limits the failure to one method ("drafts.create"); "" is
	// the next request of any method.
	Method string
	Status int
	// Reason is the googleapi error reason; the default depends on Status:
	// 429 and 403 rateLimitExceeded, 401 authError, 5xx backendError.
	Reason string
	// RetryAfter, when positive, is sent as a Retry-After header (whole
	// seconds, rounded up).
	RetryAfter time.Duration
	// AfterEffect serves the request (its change happens) and then answers
	// the error, as when a response is lost on the way back.
	AfterEffect bool
}

// AfterCall runs fn once, at the next request of method, after the server
// has worked out its answer and before the client receives it: for example
// a Deliver then is mail that arrives while the client is busy. fn may call
// the Server's methods.
func (s *Server) AfterCall(method string, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks == nil {
		s.hooks = map[string][]func(){}
	}
	s.hooks[method] = append(s.hooks[method], fn)
}

// FailNext makes the next request fail with status (429, 403, 500, 503,
// 401, ...) and, when retryAfter is positive, a Retry-After header.
// Calls queue up: each failure is used once.
func (s *Server) FailNext(status int, retryAfter time.Duration) {
	s.Fail(Failure{Status: status, RetryAfter: retryAfter})
}

// Fail queues a failure.
func (s *Server) Fail(f Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f)
	s.mu.Unlock()
}

// Calls is how many requests of a method the server received, failed
// ones included.
func (s *Server) Calls(method string) int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls[method] }

// CallCounts is Calls for every method called.
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		m[k] = v
	}
	return m
}

// QuotaUnits is the quota spent: the sum of Units over all requests
// received, failed ones included.
func (s *Server) QuotaUnits() int { s.mu.Lock(); defer s.mu.Unlock(); return s.quota }

// ResetCounters zeroes Calls, QuotaUnits and Requests.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
	s.quota = 0
	s.requests = nil
}

// Requests lists the requests answered so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Unsupported lists requests the fake does not serve ("DELETE
// /gmail/v1/users/me/messages/…"): a client that tried to send, delete or
// trash mail shows up here.
func (s *Server) Unsupported() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.unsupported)
}

// Message returns a stored message or draft message.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[id]
	if !ok {
		return Message{}, false
	}
	return m.export(), true
}

// Messages lists every stored message (drafts included) in the order they
// were added.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.all))
	for _, m := range s.all {
		out = append(out, m.export())
	}
	return out
}

// Drafts lists the drafts in the order they were created.
func (s *Server) Drafts() []Draft {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Draft, 0, len(s.drafts))
	for _, d := range s.drafts {
		out = append(out, Draft{ID: d.id, Message: d.msg.export()})
	}
	return out
}

// Labels lists the labels, system labels first.
func (s *Server) Labels() []Label {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Label, 0, len(s.labels))
	for _, l := range s.labels {
		out = append(out, Label{ID: l.id, Name: l.name, Type: l.kind})
	}
	return out
}

// Changes lists the kept history records, oldest first.
func (s *Server) Changes() []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Change
	for _, r := range s.history {
		out = append(out, Change{HistoryID: r.id, Kind: r.kind, MessageID: r.msg.id, LabelIDs: slices.Clone(r.labelIDs)})
	}
	return out
}

func (m *message) export() Message {
	return Message{ID: m.id, ThreadID: m.threadID, LabelIDs: slices.Clone(m.labels),
		Raw: slices.Clone(m.raw), InternalDate: m.internalDate, HistoryID: m.historyID}
}

// newMessage parses raw's header; s.mu is held. The message is not stored
// yet and has no thread.
func (s *Server) newMessage(raw []byte, labels []string, when time.Time) *message {
	s.nextMsg += 0x1d
	m := &message{
		id:           fmt.Sprintf("%016x", s.nextMsg),
		raw:          slices.Clone(raw),
		labels:       slices.Clone(labels),
		internalDate: when.Truncate(time.Millisecond),
	}
	if pm, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.header = pm.Header
		m.msgID = firstID(pm.Header.Get("Message-Id"))
		m.inReplyTo = msgIDs(pm.Header.Get("In-Reply-To"))
		m.references = msgIDs(pm.Header.Get("References"))
		m.subject = decodeHeader(pm.Header.Get("Subject"))
	}
	return m
}

// store adds m and its messageAdded record; s.mu is held.
func (s *Server) store(m *message) {
	m.historyID = s.bump()
	s.msgs[m.id] = m
	s.all = append(s.all, m)
	if m.msgID != "" {
		s.byMsgID[m.msgID] = append(s.byMsgID[m.msgID], m)
	}
	s.history = append(s.history, &record{id: m.historyID, kind: "messageAdded", msg: m, msgLabels: slices.Clone(m.labels)})
}

// bump advances the history id. Gmail's ids are increasing but not
// consecutive; step by 1 to 3 so a client cannot assume otherwise.
func (s *Server) bump() uint64 {
	s.historyID += 1 + uint64(len(s.history)%3)
	return s.historyID
}

func (s *Server) threadExists(id string) bool {
	return slices.ContainsFunc(s.all, func(m *message) bool { return m.threadID == id })
}

// threadByHeaders finds the thread m belongs to by In-Reply-To and
// References plus a matching subject; when only is not "", only that
// thread may be joined. It returns m.id (a new thread) when none fits.
func (s *Server) threadByHeaders(m *message, only string) string {
	refs := slices.Clone(m.inReplyTo)
	for i := len(m.references) - 1; i >= 0; i-- {
		refs = append(refs, m.references[i])
	}
	subj := normSubject(m.subject)
	for _, ref := range refs {
		for _, o := range s.byMsgID[ref] {
			if o == m || (only != "" && o.threadID != only) {
				continue
			}
			if normSubject(o.subject) == subj {
				return o.threadID
			}
		}
	}
	return m.id
}

func (s *Server) label(id string) *label {
	for _, l := range s.labels {
		if l.id == id {
			return l
		}
	}
	return nil
}

// labelByName matches names as Gmail does: case-insensitively.
func (s *Server) labelByName(name string) *label {
	for _, l := range s.labels {
		if strings.EqualFold(l.name, name) {
			return l
		}
	}
	return nil
}

func (s *Server) addLabel(name string) *label {
	l := &label{id: fmt.Sprintf("Label_%d", s.nextLabel), name: name, kind: "user"}
	s.nextLabel++
	s.labels = append(s.labels, l)
	return l
}

func firstID(v string) string {
	ids := msgIDs(v)
	if len(ids) == 0 {
		return strings.Trim(strings.TrimSpace(v), "<>")
	}
	return ids[0]
}

// msgIDs splits a Message-ID list (RFC 5322 §3.6.4) into bare ids.
func msgIDs(v string) []string {
	var ids []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return ids
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return ids
		}
		if id := strings.TrimSpace(v[i+1 : i+j]); id != "" {
			ids = append(ids, id)
		}
		v = v[i+j+1:]
	}
}

func decodeHeader(v string) string {
	d := mime.WordDecoder{}
	if s, err := d.DecodeHeader(v); err == nil {
		return s
	}
	return v
}

// normSubject drops reply and forward prefixes in the languages of the
// corpus, and folds case and spaces.
func normSubject(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	for {
		trimmed := s
		for _, p := range []string{"re:", "fwd:", "fw:", "aw:", "wg:", "sv:", "tr:", "antw:", "réf:", "rv:"} {
			if strings.HasPrefix(trimmed, p) {
				trimmed = strings.TrimSpace(trimmed[len(p):])
			}
		}
		if trimmed == s {
			return s
		}
		s = trimmed
	}
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
