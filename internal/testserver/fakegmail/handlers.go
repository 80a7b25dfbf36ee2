package fakegmail

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	gmail "google.golang.org/api/gmail/v1"
)

const prefix = "/gmail/v1/users/{user}"

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/profile", s.api("getProfile", s.getProfile))
	mux.HandleFunc("GET "+prefix+"/messages", s.api("messages.list", s.listMessages))
	mux.HandleFunc("GET "+prefix+"/messages/{id}", s.api("messages.get", s.getMessage))
	mux.HandleFunc("POST "+prefix+"/messages/{id}/modify", s.api("messages.modify", s.modifyMessage))
	mux.HandleFunc("GET "+prefix+"/labels", s.api("labels.list", s.listLabels))
	mux.HandleFunc("POST "+prefix+"/labels", s.api("labels.create", s.createLabel))
	mux.HandleFunc("GET "+prefix+"/history", s.api("history.list", s.listHistory))
	mux.HandleFunc("POST "+prefix+"/drafts", s.api("drafts.create", s.createDraft))
	mux.HandleFunc("GET "+prefix+"/drafts", s.api("drafts.list", s.listDrafts))
	mux.HandleFunc("GET "+prefix+"/drafts/{id}", s.api("drafts.get", s.getDraft))
	mux.HandleFunc("/", s.unsupportedRequest)
	return mux
}

// apiError is an error in Google's JSON error format.
type apiError struct {
	code               int
	status, reason     string
	message            string
	retryAfter         time.Duration
	wwwAuthenticateErr bool
}

func (e *apiError) write(w http.ResponseWriter) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.retryAfter.Seconds()))))
	}
	if e.code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
	}
	domain := "global"
	if strings.HasSuffix(e.reason, "RateLimitExceeded") || e.reason == "rateLimitExceeded" {
		domain = "usageLimits"
	}
	body := map[string]any{"error": map[string]any{
		"code":    e.code,
		"message": e.message,
		"errors":  []map[string]string{{"message": e.message, "domain": domain, "reason": e.reason}},
		"status":  e.status,
	}}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.code)
	json.NewEncoder(w).Encode(body)
}

func errorFor(code int, reason, message string) *apiError {
	e := &apiError{code: code, reason: reason, message: message}
	switch code {
	case http.StatusBadRequest:
		e.status = "INVALID_ARGUMENT"
		e.reason = cmp.Or(e.reason, "invalidArgument")
		e.message = cmp.Or(e.message, "Invalid argument")
	case http.StatusUnauthorized:
		e.status = "UNAUTHENTICATED"
		e.reason = cmp.Or(e.reason, "authError")
		e.message = cmp.Or(e.message, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
	case http.StatusForbidden:
		e.status = "PERMISSION_DENIED"
		e.reason = cmp.Or(e.reason, "rateLimitExceeded")
		e.message = cmp.Or(e.message, "User-rate limit exceeded.")
	case http.StatusNotFound:
		e.status = "NOT_FOUND"
		e.reason = cmp.Or(e.reason, "notFound")
		e.message = cmp.Or(e.message, "Requested entity was not found.")
	case http.StatusConflict:
		e.status = "ALREADY_EXISTS"
		e.reason = cmp.Or(e.reason, "alreadyExists")
		e.message = cmp.Or(e.message, "Label name exists or conflicts")
	case http.StatusTooManyRequests:
		e.status = "RESOURCE_EXHAUSTED"
		e.reason = cmp.Or(e.reason, "rateLimitExceeded")
		e.message = cmp.Or(e.message, "Too many concurrent requests for user.")
	default:
		if code >= 500 {
			e.status = "INTERNAL"
			if code == http.StatusServiceUnavailable {
				e.status = "UNAVAILABLE"
			}
			e.reason = cmp.Or(e.reason, "backendError")
			e.message = cmp.Or(e.message, "Backend Error")
		}
	}
	return e
}

type handler func(r *http.Request) (any, *apiError)

// api wraps a method: it counts the call and its quota, applies a queued
// failure, checks the bearer token and the user, serves the request under
// s.mu, runs the AfterCall hooks with s.mu released, and writes the JSON
// answer.
func (s *Server) api(method string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		resp, e, hooks := s.serve(method, h, r)
		for _, fn := range hooks {
			fn()
		}
		status := http.StatusOK
		if e != nil {
			status = e.code
			e.write(w)
		} else {
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			json.NewEncoder(w).Encode(resp)
		}
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: method, At: time.Now(), Status: status})
		s.mu.Unlock()
	}
}

func (s *Server) serve(method string, h handler, r *http.Request) (any, *apiError, []func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
	s.quota += units[method]
	var fail *Failure
	for i, f := range s.failures {
		if f.Method == "" || f.Method == method {
			fail = &f
			s.failures = slices.Delete(s.failures, i, i+1)
			break
		}
	}
	if fail != nil && !fail.AfterEffect {
		return nil, failure(*fail), nil
	}
	if e := s.authorize(r); e != nil {
		return nil, e, nil
	}
	resp, e := h(r)
	hooks := s.hooks[method]
	delete(s.hooks, method)
	if fail != nil {
		return nil, failure(*fail), hooks
	}
	return resp, e, hooks
}

func failure(f Failure) *apiError {
	e := errorFor(f.Status, f.Reason, "")
	e.retryAfter = f.RetryAfter
	return e
}

func (s *Server) authorize(r *http.Request) *apiError {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	valid := ok && strings.EqualFold(scheme, "Bearer") && tok != ""
	if valid {
		if s.checkToken != nil {
			valid = s.checkToken(tok)
		} else {
			valid = tok == s.token
		}
	}
	if !valid {
		return errorFor(http.StatusUnauthorized, "", "")
	}
	if u := r.PathValue("user"); u != "me" && !strings.EqualFold(u, s.Email) {
		return errorFor(http.StatusForbidden, "forbidden", "Delegation denied for "+s.Email)
	}
	return nil
}

func (s *Server) unsupportedRequest(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.unsupported = append(s.unsupported, r.Method+" "+r.URL.Path)
	s.requests = append(s.requests, Request{Method: "unsupported", At: time.Now(), Status: http.StatusNotFound})
	s.mu.Unlock()
	errorFor(http.StatusNotFound, "notFound", "fakegmail does not serve "+r.Method+" "+r.URL.Path).write(w)
}

func (s *Server) getProfile(r *http.Request) (any, *apiError) {
	threads := map[string]bool{}
	n := 0
	for _, m := range s.all {
		if !slices.Contains(m.labels, "DRAFT") {
			n++
			threads[m.threadID] = true
		}
	}
	return &gmail.Profile{EmailAddress: s.Email, MessagesTotal: int64(n), ThreadsTotal: int64(len(threads)), HistoryId: s.historyID}, nil
}

// page cuts list at the page token and maxResults (default 100, at most
// 500, as in Gmail).
func page[T any](r *http.Request, list []T) ([]T, string, *apiError) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, "", errorFor(http.StatusBadRequest, "", "Invalid maxResults: "+v)
		}
		limit = min(n, 500)
	}
	off := 0
	if v := q.Get("pageToken"); v != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(v, "p"))
		if err != nil || !strings.HasPrefix(v, "p") || n < 0 || n > len(list) {
			return nil, "", errorFor(http.StatusBadRequest, "", "Invalid pageToken")
		}
		off = n
	}
	end := min(off+limit, len(list))
	next := ""
	if end < len(list) {
		next = "p" + strconv.Itoa(end)
	}
	return list[off:end], next, nil
}

// newestFirst sorts as messages.list does.
func newestFirst(ms []*message) {
	slices.SortStableFunc(ms, func(a, b *message) int {
		if c := b.internalDate.Compare(a.internalDate); c != 0 {
			return c
		}
		return strings.Compare(b.id, a.id)
	})
}

func (s *Server) listMessages(r *http.Request) (any, *apiError) {
	q := r.URL.Query()
	qu, err := s.parseQuery(q.Get("q"), time.Now())
	if err != nil {
		return nil, errorFor(http.StatusBadRequest, "", err.Error())
	}
	want := q["labelIds"]
	spamTrash := q.Get("includeSpamTrash") == "true" || qu.spamTrash ||
		slices.Contains(want, "SPAM") || slices.Contains(want, "TRASH")
	var found []*message
	for _, m := range s.all {
		if !spamTrash && (slices.Contains(m.labels, "SPAM") || slices.Contains(m.labels, "TRASH")) {
			continue
		}
		if !containsAll(m.labels, want) || !qu.match(m) {
			continue
		}
		found = append(found, m)
	}
	newestFirst(found)
	pg, next, e := page(r, found)
	if e != nil {
		return nil, e
	}
	resp := &gmail.ListMessagesResponse{NextPageToken: next, ResultSizeEstimate: int64(len(found))}
	for _, m := range pg {
		resp.Messages = append(resp.Messages, &gmail.Message{Id: m.id, ThreadId: m.threadID})
	}
	return resp, nil
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func (s *Server) getMessage(r *http.Request) (any, *apiError) {
	m, ok := s.msgs[r.PathValue("id")]
	if !ok {
		return nil, errorFor(http.StatusNotFound, "", "")
	}
	return render(m, r)
}

// render writes a message in the format the request asks for.
func render(m *message, r *http.Request) (*gmail.Message, *apiError) {
	q := r.URL.Query()
	out := &gmail.Message{Id: m.id, ThreadId: m.threadID, LabelIds: slices.Clone(m.labels),
		HistoryId: m.historyID, InternalDate: m.internalDate.UnixMilli(), SizeEstimate: int64(len(m.raw))}
	switch f := cmp.Or(q.Get("format"), "full"); f {
	case "minimal":
	case "raw":
		out.Raw = base64.URLEncoding.EncodeToString(m.raw)
	case "metadata":
		names := q["metadataHeaders"]
		out.Payload = &gmail.MessagePart{MimeType: mimeType(m)}
		for _, kv := range orderedHeader(m.raw) {
			if len(names) == 0 || slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, kv[0]) }) {
				out.Payload.Headers = append(out.Payload.Headers, &gmail.MessagePartHeader{Name: kv[0], Value: kv[1]})
			}
		}
	default:
		return nil, errorFor(http.StatusBadRequest, "", "fakegmail serves format minimal, metadata or raw, not "+f)
	}
	return out, nil
}

func mimeType(m *message) string {
	if m.header == nil {
		return "text/plain"
	}
	ct := m.header.Get("Content-Type")
	if ct == "" {
		return "text/plain"
	}
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// orderedHeader lists the header fields in order, unfolded, with their
// values as they are (encoded words stay encoded, as in Gmail's payload).
func orderedHeader(raw []byte) [][2]string {
	var out [][2]string
	text := string(raw)
	if i := strings.Index(text, "\r\n\r\n"); i >= 0 {
		text = text[:i]
	} else if i := strings.Index(text, "\n\n"); i >= 0 {
		text = text[:i]
	}
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(out) > 0 {
			out[len(out)-1][1] += " " + strings.TrimSpace(line)
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			out = append(out, [2]string{k, strings.TrimSpace(v)})
		}
	}
	return out
}

type modifyRequest struct {
	AddLabelIDs    []string `json:"addLabelIds"`
	RemoveLabelIDs []string `json:"removeLabelIds"`
}

func (s *Server) modifyMessage(r *http.Request) (any, *apiError) {
	m, ok := s.msgs[r.PathValue("id")]
	if !ok {
		return nil, errorFor(http.StatusNotFound, "", "")
	}
	var req modifyRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return nil, errorFor(http.StatusBadRequest, "", "Invalid JSON payload: "+err.Error())
	}
	for _, id := range append(slices.Clone(req.AddLabelIDs), req.RemoveLabelIDs...) {
		if s.label(id) == nil || id == "DRAFT" || id == "SENT" {
			return nil, errorFor(http.StatusBadRequest, "", "Invalid label: "+id)
		}
	}
	var added, removed []string
	for _, id := range req.AddLabelIDs {
		if !slices.Contains(m.labels, id) {
			m.labels = append(m.labels, id)
			added = append(added, id)
		}
	}
	for _, id := range req.RemoveLabelIDs {
		if i := slices.Index(m.labels, id); i >= 0 {
			m.labels = slices.Delete(m.labels, i, i+1)
			removed = append(removed, id)
		}
	}
	if len(added) > 0 {
		m.historyID = s.bump()
		s.history = append(s.history, &record{id: m.historyID, kind: "labelsAdded", msg: m, labelIDs: added, msgLabels: slices.Clone(m.labels)})
	}
	if len(removed) > 0 {
		m.historyID = s.bump()
		s.history = append(s.history, &record{id: m.historyID, kind: "labelsRemoved", msg: m, labelIDs: removed, msgLabels: slices.Clone(m.labels)})
	}
	return &gmail.Message{Id: m.id, ThreadId: m.threadID, LabelIds: slices.Clone(m.labels)}, nil
}

func (s *Server) listLabels(r *http.Request) (any, *apiError) {
	resp := &gmail.ListLabelsResponse{}
	for _, l := range s.labels {
		gl := &gmail.Label{Id: l.id, Name: l.name, Type: l.kind}
		if l.kind == "user" {
			gl.LabelListVisibility, gl.MessageListVisibility = "labelShow", "show"
		}
		resp.Labels = append(resp.Labels, gl)
	}
	return resp, nil
}

func (s *Server) createLabel(r *http.Request) (any, *apiError) {
	var req gmail.Label
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return nil, errorFor(http.StatusBadRequest, "", "Invalid JSON payload: "+err.Error())
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		return nil, errorFor(http.StatusBadRequest, "", "Invalid label name")
	}
	if s.labelByName(name) != nil {
		return nil, errorFor(http.StatusConflict, "", "")
	}
	l := s.addLabel(name)
	return &gmail.Label{Id: l.id, Name: l.name, Type: l.kind,
		LabelListVisibility:   cmp.Or(req.LabelListVisibility, "labelShow"),
		MessageListVisibility: cmp.Or(req.MessageListVisibility, "show")}, nil
}

var historyTypes = []string{"messageAdded", "messageDeleted", "labelAdded", "labelRemoved"}

func (s *Server) listHistory(r *http.Request) (any, *apiError) {
	q := r.URL.Query()
	start, err := strconv.ParseUint(q.Get("startHistoryId"), 10, 64)
	if err != nil {
		return nil, errorFor(http.StatusBadRequest, "", "Invalid startHistoryId: "+q.Get("startHistoryId"))
	}
	if start < s.oldest {
		return nil, errorFor(http.StatusNotFound, "", "")
	}
	types := q["historyTypes"]
	for _, t := range types {
		if !slices.Contains(historyTypes, t) {
			return nil, errorFor(http.StatusBadRequest, "", "Invalid historyTypes: "+t)
		}
	}
	labelID := q.Get("labelId")
	kindOf := map[string]string{"messageAdded": "messageAdded", "labelsAdded": "labelAdded", "labelsRemoved": "labelRemoved"}
	var found []*record
	for _, rec := range s.history {
		if rec.id <= start {
			continue
		}
		if len(types) > 0 && !slices.Contains(types, kindOf[rec.kind]) {
			continue
		}
		if labelID != "" && !slices.Contains(rec.msgLabels, labelID) {
			continue
		}
		found = append(found, rec)
	}
	pg, next, e := page(r, found)
	if e != nil {
		return nil, e
	}
	resp := &gmail.ListHistoryResponse{HistoryId: s.historyID, NextPageToken: next}
	for _, rec := range pg {
		msg := &gmail.Message{Id: rec.msg.id, ThreadId: rec.msg.threadID, LabelIds: slices.Clone(rec.msgLabels)}
		h := &gmail.History{Id: rec.id, Messages: []*gmail.Message{{Id: rec.msg.id, ThreadId: rec.msg.threadID}}}
		switch rec.kind {
		case "messageAdded":
			h.MessagesAdded = []*gmail.HistoryMessageAdded{{Message: msg}}
		case "labelsAdded":
			h.LabelsAdded = []*gmail.HistoryLabelAdded{{Message: msg, LabelIds: slices.Clone(rec.labelIDs)}}
		case "labelsRemoved":
			h.LabelsRemoved = []*gmail.HistoryLabelRemoved{{Message: msg, LabelIds: slices.Clone(rec.labelIDs)}}
		}
		resp.History = append(resp.History, h)
	}
	return resp, nil
}

func decodeRaw(v string) ([]byte, error) {
	v = strings.TrimRight(v, "=")
	if b, err := base64.RawURLEncoding.DecodeString(v); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(v)
}

func (s *Server) createDraft(r *http.Request) (any, *apiError) {
	var req gmail.Draft
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return nil, errorFor(http.StatusBadRequest, "", "Invalid JSON payload: "+err.Error())
	}
	if req.Message == nil || req.Message.Raw == "" {
		return nil, errorFor(http.StatusBadRequest, "", "Missing draft message")
	}
	raw, err := decodeRaw(req.Message.Raw)
	if err != nil {
		return nil, errorFor(http.StatusBadRequest, "", "Invalid value for ByteString: "+err.Error())
	}
	m := s.newMessage(raw, []string{"DRAFT"}, time.Now())
	if want := req.Message.ThreadId; want != "" {
		if !s.threadExists(want) {
			return nil, errorFor(http.StatusNotFound, "", "")
		}
		// Gmail's rule: the draft joins the thread only when its
		// References/In-Reply-To name a message of it and the subjects
		// match; otherwise it starts a new thread.
		m.threadID = s.threadByHeaders(m, want)
	} else {
		m.threadID = m.id
	}
	s.store(m)
	d := &draft{id: "r" + strconv.Itoa(7_000_000+s.nextDraft), msg: m}
	s.nextDraft++
	s.drafts = append(s.drafts, d)
	return &gmail.Draft{Id: d.id, Message: &gmail.Message{Id: m.id, ThreadId: m.threadID, LabelIds: slices.Clone(m.labels)}}, nil
}

func (s *Server) listDrafts(r *http.Request) (any, *apiError) {
	qu, err := s.parseQuery(r.URL.Query().Get("q"), time.Now())
	if err != nil {
		return nil, errorFor(http.StatusBadRequest, "", err.Error())
	}
	var found []*draft
	for _, d := range s.drafts {
		if qu.match(d.msg) {
			found = append(found, d)
		}
	}
	slices.Reverse(found) // newest first
	pg, next, e := page(r, found)
	if e != nil {
		return nil, e
	}
	resp := &gmail.ListDraftsResponse{NextPageToken: next, ResultSizeEstimate: int64(len(found))}
	for _, d := range pg {
		resp.Drafts = append(resp.Drafts, &gmail.Draft{Id: d.id, Message: &gmail.Message{Id: d.msg.id, ThreadId: d.msg.threadID}})
	}
	return resp, nil
}

func (s *Server) getDraft(r *http.Request) (any, *apiError) {
	for _, d := range s.drafts {
		if d.id == r.PathValue("id") {
			m, e := render(d.msg, r)
			if e != nil {
				return nil, e
			}
			return &gmail.Draft{Id: d.id, Message: m}, nil
		}
	}
	return nil, errorFor(http.StatusNotFound, "", "")
}
