package notifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/notifier"
)

const (
	ntfyTopic = "rsvp_Test-topic"
	// ntfyToken must never show in a log or an error.
	ntfyToken = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
)

// fakeNtfy is an ntfy server that records what it is sent and checks
// credentials the way ntfy does.
type fakeNtfy struct {
	*httptest.Server

	mu     sync.Mutex
	reqs   []ntfyRequest
	status int    // reply to publishes; 0 means 200
	reply  string // body of an error reply
}

type ntfyRequest struct {
	Method, Path, Auth, ContentType string
	Msg                             ntfyMsg // for a publish
	DecodeErr                       error
}

// ntfyMsg is ntfy's JSON publishing format, as documented; an unknown
// field fails the decoding.
type ntfyMsg struct {
	Topic      string       `json:"topic"`
	Title      string       `json:"title"`
	Message    string       `json:"message"`
	Tags       []string     `json:"tags"`
	Priority   int          `json:"priority"`
	Actions    []ntfyAction `json:"actions"`
	Click      string       `json:"click"`
	Markdown   bool         `json:"markdown"`
	SequenceID string       `json:"sequence_id"`
}

type ntfyAction struct {
	Action  string            `json:"action"`
	Label   string            `json:"label"`
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Clear   bool              `json:"clear"`
}

func startFakeNtfy(t *testing.T) *fakeNtfy {
	t.Helper()
	f := &fakeNtfy{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := ntfyRequest{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type")}
		if r.Method == http.MethodPost && r.URL.Path == "/" {
			dec := json.NewDecoder(r.Body)
			dec.DisallowUnknownFields()
			req.DecodeErr = dec.Decode(&req.Msg)
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		status, reply := f.status, f.reply
		f.mu.Unlock()
		if req.Auth != "Bearer "+ntfyToken {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"code":40101,"http":401,"error":"unauthorized","link":"https://ntfy.sh/docs/publish/#authentication"}`)
			return
		}
		if status != 0 && r.URL.Path == "/" {
			w.WriteHeader(status)
			io.WriteString(w, reply)
			return
		}
		io.WriteString(w, `{"id":"xE73Iyuabi","time":1673542291,"event":"message","topic":"`+ntfyTopic+`"}`)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeNtfy) setReply(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.reply = status, body
}

func (f *fakeNtfy) requests() []ntfyRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// published is what was published, in order.
func (f *fakeNtfy) published() []ntfyRequest {
	var out []ntfyRequest
	for _, r := range f.requests() {
		if r.Method == http.MethodPost && r.Path == "/" {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeNtfy) state() string {
	var b strings.Builder
	for _, r := range f.requests() {
		b.WriteString(r.Method + " " + r.Path + "\n")
	}
	return b.String()
}

// waitPublished waits for the n-th publish and returns it, checked.
func (f *fakeNtfy) waitPublished(t *testing.T, n int) ntfyMsg {
	t.Helper()
	waitUntil(t, "a publish to ntfy", func() bool { return len(f.published()) >= n }, f.state)
	r := f.published()[n-1]
	if r.DecodeErr != nil {
		t.Fatalf("published JSON does not decode as ntfy's format: %v", r.DecodeErr)
	}
	if r.Auth != "Bearer "+ntfyToken {
		t.Errorf("Authorization = %q, want the Bearer access token", r.Auth)
	}
	if r.ContentType != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", r.ContentType)
	}
	return r.Msg
}

// waitCleared waits for the notification of question id to be cleared.
func (f *fakeNtfy) waitCleared(t *testing.T, id string) {
	t.Helper()
	path := "/" + ntfyTopic + "/rsvp-" + id + "/clear"
	waitUntil(t, "PUT "+path, func() bool {
		return slices.ContainsFunc(f.requests(), func(r ntfyRequest) bool {
			return r.Method == http.MethodPut && r.Path == path && r.Auth == "Bearer "+ntfyToken
		})
	}, f.state)
}

func startNtfy(t *testing.T, f *fakeNtfy, opts notifier.NtfyOptions) (*notifier.Ntfy, *logBuffer) {
	t.Helper()
	logger, lb := newLogger()
	opts.Logger = logger
	if opts.Server == "" {
		opts.Server = f.URL
	}
	if opts.Topic == "" {
		opts.Topic = ntfyTopic
	}
	if opts.Token == "" {
		opts.Token = ntfyToken
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	n, err := notifier.NewNtfy(bg, opts)
	if err != nil {
		t.Fatalf("NewNtfy: %v", err)
	}
	t.Cleanup(func() {
		n.Close()
		if t.Failed() {
			t.Logf("notifier log:\n%s", lb.String())
		}
	})
	return n, lb
}

// link is the URL of the button labelled label.
func link(t *testing.T, m ntfyMsg, label string) string {
	t.Helper()
	for _, a := range m.Actions {
		if a.Label == label {
			return a.URL
		}
	}
	t.Fatalf("no %q button in %+v", label, m.Actions)
	return ""
}

// tap requests u the way the ntfy app does for an "http" action.
func tap(t *testing.T, method, u string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func wantTap(t *testing.T, u string, want int) string {
	t.Helper()
	code, body := tap(t, http.MethodPost, u)
	if code != want {
		t.Fatalf("POST %s = %d %q, want %d", u, code, body, want)
	}
	return body
}

var linkRe = regexp.MustCompile(`^(http://127\.0\.0\.1:[0-9]+)/answer/([a-z2-7]{32})/(decline|reschedule|ignore)$`)

func TestNtfyPublishesTheQuestionWithThreeButtons(t *testing.T) {
	f := startFakeNtfy(t)
	n, _ := startNtfy(t, f, notifier.NtfyOptions{Priority: 4})

	q := sampleQuestion(qid)
	q.ReplyTo = "talent@recruit-fast.example"
	ask(t, n, q)
	m := f.waitPublished(t, 1)

	if m.Topic != ntfyTopic {
		t.Errorf("topic = %q, want %q", m.Topic, ntfyTopic)
	}
	if want := "Interview invitation — Acme: Go Engineer"; m.Title != want {
		t.Errorf("title = %q, want %q", m.Title, want)
	}
	// Plain text: nothing escaped, the other domain said in words.
	wantMessage := "From: Jane Doe <jane@acme.example>\n" +
		"Reply goes to: talent@recruit-fast.example — not the sender's domain (acme.example)!\n" +
		"Proposed: Thu 5 Mar 14:00 UTC; Fri 6 Mar 10:30 UTC\n" +
		"Why: asks for a call; names a role; recruiter signature\n" +
		"Decline with a reason: rsvp decide " + qid + " decline --reason R"
	if m.Message != wantMessage {
		t.Errorf("message =\n%s\nwant\n%s", m.Message, wantMessage)
	}
	if want := []string{"briefcase", "warning"}; !slices.Equal(m.Tags, want) {
		t.Errorf("tags = %q, want %q (warning: the reply goes to another domain)", m.Tags, want)
	}
	if m.Priority != 4 || m.Markdown || m.Click != "" {
		t.Errorf("priority %d markdown %v click %q, want 4, false, none", m.Priority, m.Markdown, m.Click)
	}
	if want := "rsvp-" + qid; m.SequenceID != want {
		t.Errorf("sequence_id = %q, want %q", m.SequenceID, want)
	}

	if len(m.Actions) != 3 {
		t.Fatalf("%d actions, want 3 (ntfy's limit): %+v", len(m.Actions), m.Actions)
	}
	base := "http://" + n.Addr().String()
	token := ""
	for i, want := range []struct{ label, action string }{
		{"Decline", "decline"}, {"Reschedule", "reschedule"}, {"Ignore", "ignore"},
	} {
		a := m.Actions[i]
		if a.Action != "http" || a.Label != want.label || a.Method != "POST" || !a.Clear || a.Body != "" || a.Headers != nil {
			t.Errorf("action %d = %+v, want an http POST labelled %s that clears the notification", i, a, want.label)
		}
		sub := linkRe.FindStringSubmatch(a.URL)
		if sub == nil || sub[1] != base || sub[3] != want.action {
			t.Fatalf("action %d URL = %q, want %s/answer/<32 base32 characters>/%s", i, a.URL, base, want.action)
		}
		if token == "" {
			token = sub[2]
		} else if sub[2] != token {
			t.Errorf("action %d token differs from the first's: one link per question, want the same", i)
		}
	}
}

func TestNtfyAnswersOnceThroughEachButton(t *testing.T) {
	for _, tc := range []struct{ label, action string }{
		{"Decline", "decline"}, {"Reschedule", "reschedule"}, {"Ignore", "ignore"},
	} {
		t.Run("tapping "+tc.label+" answers "+tc.action+" once", func(t *testing.T) {
			f := startFakeNtfy(t)
			n, _ := startNtfy(t, f, notifier.NtfyOptions{})
			ask(t, n, sampleQuestion(qid))
			m := f.waitPublished(t, 1)

			u := link(t, m, tc.label)
			if body := wantTap(t, u, http.StatusOK); strings.Contains(body, linkRe.FindStringSubmatch(u)[2]) {
				t.Errorf("reply %q repeats the token", body)
			}
			wantAnswer(t, n, notifier.Answer{ID: qid, Action: tc.action})
			// Other clients (the web app, a second phone) are told too.
			f.waitCleared(t, qid)

			// A second tap, on the same or another button, is spent.
			wantTap(t, u, http.StatusGone)
			wantTap(t, link(t, m, "Ignore"), http.StatusGone)
			noAnswer(t, n)
		})
	}
}

func TestNtfyRefusesLinksItDidNotGive(t *testing.T) {
	f := startFakeNtfy(t)
	n, lb := startNtfy(t, f, notifier.NtfyOptions{})
	ask(t, n, sampleQuestion(qid))
	m := f.waitPublished(t, 1)
	good := link(t, m, "Decline")
	sub := linkRe.FindStringSubmatch(good)
	base, token := sub[1], sub[2]
	offByOne := token[:31] + "a"
	if token[31] == 'a' {
		offByOne = token[:31] + "b"
	}

	for _, tc := range []struct {
		name, method, path string
		want               int
	}{
		{"a made-up token", "POST", "/answer/" + strings.Repeat("a", 32) + "/decline", http.StatusNotFound},
		{"a token one character off", "POST", "/answer/" + offByOne + "/decline", http.StatusNotFound},
		{"a missing token", "POST", "/answer//decline", http.StatusNotFound},
		{"an unknown action", "POST", "/answer/" + token + "/accept", http.StatusNotFound},
		{"an upper-case action", "POST", "/answer/" + token + "/DECLINE", http.StatusNotFound},
		{"extra path", "POST", "/answer/" + token + "/decline/x", http.StatusNotFound},
		{"the root", "GET", "/", http.StatusNotFound},
		{"the answer directory", "GET", "/answer/", http.StatusNotFound},
		{"a GET of a good link", "GET", "/answer/" + token + "/decline", http.StatusMethodNotAllowed},
		{"a PUT of a good link", "PUT", "/answer/" + token + "/decline", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name+" gets "+http.StatusText(tc.want), func(t *testing.T) {
			code, body := tap(t, tc.method, base+tc.path)
			if code != tc.want {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.path, code, tc.want)
			}
			if strings.Contains(body, token) || strings.Contains(body, "answer/") || strings.Contains(body, "<") {
				t.Errorf("reply %q repeats the request or is markup", body)
			}
		})
	}
	noAnswer(t, n)

	// None of that spent the link.
	wantTap(t, good, http.StatusOK)
	wantAnswer(t, n, notifier.Answer{ID: qid, Action: "decline"})
	if strings.Contains(lb.String(), token) {
		t.Errorf("the answer token is in the log:\n%s", lb.String())
	}
}

func TestNtfyWithdrawKillsTheLinkAndClearsTheNotification(t *testing.T) {
	f := startFakeNtfy(t)
	n, _ := startNtfy(t, f, notifier.NtfyOptions{})
	ask(t, n, sampleQuestion(qid))
	ask(t, n, sampleQuestion("otherq22"))
	m := f.waitPublished(t, 1)
	other := f.waitPublished(t, 2)

	if err := n.Withdraw(bg, qid); err != nil {
		t.Fatalf("Withdraw = %v, want nil", err)
	}
	f.waitCleared(t, qid)
	wantTap(t, link(t, m, "Decline"), http.StatusGone)
	noAnswer(t, n)

	// Only that question: the other still answers.
	wantTap(t, link(t, other, "Reschedule"), http.StatusOK)
	wantAnswer(t, n, notifier.Answer{ID: "otherq22", Action: "reschedule"})

	// Withdrawing what is not asked does nothing, and asks ntfy nothing.
	before := len(f.requests())
	if err := n.Withdraw(bg, "unknown1"); err != nil {
		t.Fatalf("Withdraw(unknown) = %v, want nil", err)
	}
	if after := len(f.requests()); after != before {
		t.Errorf("Withdraw(unknown) sent %d requests to ntfy, want none", after-before)
	}
}

func TestNtfyReaskReplacesTheQuestion(t *testing.T) {
	f := startFakeNtfy(t)
	n, _ := startNtfy(t, f, notifier.NtfyOptions{})
	ask(t, n, sampleQuestion(qid))
	first := f.waitPublished(t, 1)
	q := sampleQuestion(qid)
	q.Reminder = true
	ask(t, n, q)
	second := f.waitPublished(t, 2)

	if second.SequenceID != first.SequenceID {
		t.Errorf("re-ask sequence_id = %q, want the first's %q so clients replace the notification", second.SequenceID, first.SequenceID)
	}
	if want := "Reminder: Interview invitation — Acme: Go Engineer"; second.Title != want {
		t.Errorf("reminder title = %q, want %q", second.Title, want)
	}
	oldURL, newURL := link(t, first, "Decline"), link(t, second, "Decline")
	if oldURL == newURL {
		t.Fatalf("re-ask reused the link %s, want a new one", oldURL)
	}
	wantTap(t, oldURL, http.StatusGone)
	noAnswer(t, n)
	wantTap(t, link(t, second, "Ignore"), http.StatusOK)
	wantAnswer(t, n, notifier.Answer{ID: qid, Action: "ignore"})
}

func TestNtfyServerTroubleIsUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		down   bool
	}{
		{name: "the server is down", down: true},
		{name: "the server fails", status: http.StatusBadGateway, body: "<html>bad gateway</html>"},
		{name: "the server is overloaded", status: http.StatusServiceUnavailable},
		{name: "the server rate-limits", status: http.StatusTooManyRequests, body: `{"code":42901,"http":429,"error":"limit reached: too many requests"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startFakeNtfy(t)
			n, _ := startNtfy(t, f, notifier.NtfyOptions{})
			if tc.down {
				f.Close()
			} else {
				f.setReply(tc.status, tc.body)
			}
			err := n.Ask(bg, sampleQuestion(qid))
			if !errors.Is(err, notifier.ErrUnavailable) {
				t.Fatalf("Ask = %v, want ErrUnavailable", err)
			}
			if strings.Contains(err.Error(), ntfyTopic) {
				t.Errorf("error %q names the topic", err)
			}
			if tc.down {
				return
			}
			// The links of a message the server did not take are dead.
			m := f.waitPublished(t, 1)
			wantTap(t, link(t, m, "Decline"), http.StatusNotFound)
			noAnswer(t, n)
		})
	}
}

func TestNtfyRefusalIsAnErrorWithoutTheToken(t *testing.T) {
	f := startFakeNtfy(t)
	// The fake server answers 401 to any other token.
	const wrong = "tk_wrongwrongwrongwrongwrongwro"
	n, lb := startNtfy(t, f, notifier.NtfyOptions{Token: wrong})

	err := n.Ask(bg, sampleQuestion(qid))
	if err == nil || errors.Is(err, notifier.ErrUnavailable) {
		t.Fatalf("Ask = %v, want an error that is not ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "unauthorized") {
		t.Errorf("error %q does not say what the server said (401 unauthorized)", err)
	}
	lb.waitLog(t, "unauthorized")
	if f.published()[0].Auth != "Bearer "+wrong {
		t.Errorf("Authorization = %q, want the configured token", f.published()[0].Auth)
	}
	// Asking again does not log the same refusal again.
	if err := n.Ask(bg, sampleQuestion(qid)); err == nil {
		t.Fatal("second Ask = nil, want the refusal again")
	}
	if got := lb.Count("refused"); got != 1 {
		t.Errorf("refusal logged %d times, want once:\n%s", got, lb.String())
	}
	for _, where := range []string{lb.String(), err.Error()} {
		if strings.Contains(where, wrong) || strings.Contains(where, "tk_") {
			t.Errorf("the access token leaked:\n%s", where)
		}
	}
}

func TestNtfyLinksExpire(t *testing.T) {
	f := startFakeNtfy(t)
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	n, _ := startNtfy(t, f, notifier.NtfyOptions{Now: clock})

	ask(t, n, sampleQuestion("aaaaaaaa"))
	ask(t, n, sampleQuestion("bbbbbbbb"))
	a, b := f.waitPublished(t, 1), f.waitPublished(t, 2)

	advance(29 * 24 * time.Hour)
	wantTap(t, link(t, a, "Decline"), http.StatusOK)
	wantAnswer(t, n, notifier.Answer{ID: "aaaaaaaa", Action: "decline"})

	advance(2 * 24 * time.Hour) // 31 days
	wantTap(t, link(t, b, "Decline"), http.StatusNotFound)
	wantTap(t, link(t, a, "Decline"), http.StatusNotFound) // spent, and now forgotten
	noAnswer(t, n)
}

func TestNtfyServesUnderThePublicURLPath(t *testing.T) {
	f := startFakeNtfy(t)
	// A reverse proxy that passes /rsvp/... through unchanged.
	var target *url.URL
	var mu sync.Mutex
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		mu.Lock()
		defer mu.Unlock()
		r.SetURL(target)
	}})
	t.Cleanup(proxy.Close)
	n, _ := startNtfy(t, f, notifier.NtfyOptions{PublicURL: proxy.URL + "/rsvp/"})
	mu.Lock()
	target = &url.URL{Scheme: "http", Host: n.Addr().String()}
	mu.Unlock()

	ask(t, n, sampleQuestion(qid))
	m := f.waitPublished(t, 1)
	u := link(t, m, "Reschedule")
	if !strings.HasPrefix(u, proxy.URL+"/rsvp/answer/") {
		t.Fatalf("link %s, want it under %s/rsvp/answer/", u, proxy.URL)
	}
	wantTap(t, u, http.StatusOK)
	wantAnswer(t, n, notifier.Answer{ID: qid, Action: "reschedule"})

	// A proxy that strips the path reaches the same link at /answer/...
	ask(t, n, sampleQuestion("cccccccc"))
	m = f.waitPublished(t, 2)
	stripped := strings.Replace(link(t, m, "Ignore"), proxy.URL+"/rsvp", "http://"+n.Addr().String(), 1)
	wantTap(t, stripped, http.StatusOK)
	wantAnswer(t, n, notifier.Answer{ID: "cccccccc", Action: "ignore"})
}

func TestNtfyAlert(t *testing.T) {
	f := startFakeNtfy(t)
	n, _ := startNtfy(t, f, notifier.NtfyOptions{})
	if err := n.Alert(bg, "rsvp: sign in again", "Account work: run rsvp auth --account work"); err != nil {
		t.Fatalf("Alert = %v", err)
	}
	m := f.waitPublished(t, 1)
	if m.Title != "rsvp: sign in again" || m.Message != "Account work: run rsvp auth --account work" || len(m.Actions) != 0 || m.SequenceID != "" {
		t.Errorf("alert = %+v, want the title and message, no buttons, no sequence", m)
	}
}

func TestNtfyClose(t *testing.T) {
	f := startFakeNtfy(t)
	n, _ := startNtfy(t, f, notifier.NtfyOptions{})
	ask(t, n, sampleQuestion(qid))
	m := f.waitPublished(t, 1)
	if err := n.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	select {
	case a, ok := <-n.Answers():
		if ok {
			t.Fatalf("got answer %+v after Close, want Answers closed", a)
		}
	case <-time.After(waitLimit):
		t.Fatal("Answers not closed after Close")
	}
	if _, err := http.Post(link(t, m, "Decline"), "", nil); err == nil {
		t.Error("the answer server still answers after Close")
	}
	if err := n.Ask(bg, sampleQuestion(qid)); !errors.Is(err, notifier.ErrClosed) {
		t.Errorf("Ask after Close = %v, want ErrClosed", err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestNtfyRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts notifier.NtfyOptions
		want string // in the error
	}{
		{"no topic", notifier.NtfyOptions{Listen: "127.0.0.1:0"}, "topic"},
		{"a topic with a slash", notifier.NtfyOptions{Topic: "a/b", Listen: "127.0.0.1:0"}, "topic"},
		{"a topic too long", notifier.NtfyOptions{Topic: strings.Repeat("t", 65), Listen: "127.0.0.1:0"}, "topic"},
		{"a server that is not http", notifier.NtfyOptions{Server: "ftp://ntfy.example", Topic: "t", Listen: "127.0.0.1:0"}, "http"},
		{"a server with credentials", notifier.NtfyOptions{Server: "https://u:p@ntfy.example", Topic: "t", Listen: "127.0.0.1:0"}, "credentials"},
		{"a token with a space", notifier.NtfyOptions{Topic: "t", Token: "tk_abc def", Listen: "127.0.0.1:0"}, "token"},
		{"a token with a newline", notifier.NtfyOptions{Topic: "t", Token: "tk_abc\r\nX-Evil: 1", Listen: "127.0.0.1:0"}, "token"},
		{"a bad priority", notifier.NtfyOptions{Topic: "t", Priority: 6, Listen: "127.0.0.1:0"}, "priority"},
		{"no listen address", notifier.NtfyOptions{Topic: "t"}, "listen"},
		{"an address nobody can listen on", notifier.NtfyOptions{Topic: "t", Listen: "127.0.0.1:99999"}, "listen"},
		{"a public URL with a query", notifier.NtfyOptions{Topic: "t", Listen: "127.0.0.1:0", PublicURL: "https://home.example/rsvp?x=1"}, "query"},
		{"a relative public URL", notifier.NtfyOptions{Topic: "t", Listen: "127.0.0.1:0", PublicURL: "/rsvp"}, "public URL"},
		{"all interfaces and no public URL", notifier.NtfyOptions{Topic: "t", Listen: "0.0.0.0:0"}, "public URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := notifier.NewNtfy(bg, tc.opts)
			if err == nil {
				n.Close()
				t.Fatalf("NewNtfy(%+v) = nil error, want one about %s", tc.opts, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewNtfy error %q, want it to mention %q", err, tc.want)
			}
			if tc.opts.Token != "" && strings.Contains(err.Error(), tc.opts.Token) {
				t.Errorf("error %q repeats the token", err)
			}
		})
	}
}

func TestNtfyAskBoundsItsWait(t *testing.T) {
	f := startFakeNtfy(t)
	n, _ := startNtfy(t, f, notifier.NtfyOptions{})
	ctx, cancel := context.WithCancel(bg)
	cancel()
	err := n.Ask(ctx, sampleQuestion(qid))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Ask with a cancelled context = %v, want context.Canceled", err)
	}
	if len(f.published()) != 0 {
		t.Errorf("published %d messages with a cancelled context, want none", len(f.published()))
	}
}
