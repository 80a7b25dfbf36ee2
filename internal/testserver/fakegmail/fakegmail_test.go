package fakegmail_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	gmail "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/rsvp-mail/rsvp/internal/testserver/fakegmail"
)

func service(t *testing.T, s *fakegmail.Server, hc *http.Client) *gmail.Service {
	t.Helper()
	if hc == nil {
		hc = s.Client()
	}
	svc, err := gmail.NewService(context.Background(), option.WithEndpoint(s.Endpoint()), option.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// mail builds a message; headers are "Name: value" lines.
func mail(msgID, subject string, headers ...string) []byte {
	h := strings.Join(append([]string{
		"From: Dana Recruiter <dana@talent.example>",
		"To: alex.morgan@example.net",
		"Subject: " + subject,
		"Date: Mon, 16 Nov 2026 09:00:00 +0000",
		"Message-ID: <" + msgID + ">",
	}, headers...), "\r\n")
	return []byte(h + "\r\n\r\nHello Alex,\r\nbody of " + msgID + "\r\n")
}

func apiCode(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

func TestDeliveredMailIsThreadedByReferencesAndSubject(t *testing.T) {
	s := fakegmail.New(t)
	first, thread := s.Deliver(mail("a@x", "Interview for Backend Engineer"))
	if thread != first {
		t.Errorf("first message thread = %s, want its own id %s", thread, first)
	}
	_, t2 := s.Deliver(mail("b@x", "RE: Interview for  backend engineer", "In-Reply-To: <a@x>", "References: <a@x>"))
	if t2 != thread {
		t.Errorf("reply thread = %s, want %s", t2, thread)
	}
	_, t3 := s.Deliver(mail("c@x", "Something else entirely", "In-Reply-To: <a@x>"))
	if t3 == thread {
		t.Errorf("reply with another subject joined thread %s; Gmail starts a new one", thread)
	}
	_, t4 := s.Deliver(mail("d@x", "Re: Interview for Backend Engineer", "References: <unknown@x> <b@x>"))
	if t4 != thread {
		t.Errorf("message referring to a thread member by References = thread %s, want %s", t4, thread)
	}
}

func TestHistoryListReturnsLaterChangesUntilItIsTrimmed(t *testing.T) {
	s := fakegmail.New(t)
	svc := service(t, s, nil)

	start := s.HistoryID()
	id1, _ := s.Deliver(mail("1@x", "one"))
	s.Insert(mail("2@x", "two"), fakegmail.InsertOptions{LabelIDs: []string{"SENT"}})
	id3, _ := s.Deliver(mail("3@x", "three"))
	label := s.CreateLabel("Follow up")
	if _, err := svc.Users.Messages.Modify("me", id1, &gmail.ModifyMessageRequest{AddLabelIds: []string{label}}).Do(); err != nil {
		t.Fatal(err)
	}

	var got []string
	var ids []uint64
	token := ""
	pages := 0
	for {
		call := svc.Users.History.List("me").StartHistoryId(start).HistoryTypes("messageAdded").LabelId("INBOX").MaxResults(1)
		if token != "" {
			call.PageToken(token)
		}
		resp, err := call.Do()
		if err != nil {
			t.Fatalf("history.list: %v", err)
		}
		pages++
		if resp.HistoryId != s.HistoryID() {
			t.Errorf("response historyId = %d, want the current %d", resp.HistoryId, s.HistoryID())
		}
		for _, h := range resp.History {
			ids = append(ids, h.Id)
			for _, ma := range h.MessagesAdded {
				got = append(got, ma.Message.Id)
			}
		}
		if token = resp.NextPageToken; token == "" {
			break
		}
	}
	if !slices.Equal(got, []string{id1, id3}) || pages != 2 {
		t.Errorf("messageAdded in INBOX = %v over %d pages, want [%s %s] over 2 (SENT-only mail and label changes left out)", got, pages, id1, id3)
	}
	if !slices.IsSorted(ids) || ids[0] <= start {
		t.Errorf("history ids %v are not increasing after %d", ids, start)
	}

	resp, err := svc.Users.History.List("me").StartHistoryId(start).HistoryTypes("labelAdded").Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.History) != 1 || resp.History[0].LabelsAdded[0].LabelIds[0] != label {
		t.Errorf("labelAdded history = %+v, want one record adding %s", resp.History, label)
	}

	s.TrimHistory()
	_, err = svc.Users.History.List("me").StartHistoryId(start).Do()
	if apiCode(err) != http.StatusNotFound {
		t.Errorf("history.list from a trimmed id: %v, want 404", err)
	}
	if _, err := svc.Users.History.List("me").StartHistoryId(s.HistoryID()).Do(); err != nil {
		t.Errorf("history.list from the current id after trimming: %v", err)
	}
}

func TestMessagesListSearches(t *testing.T) {
	s := fakegmail.New(t)
	svc := service(t, s, nil)
	now := time.Now()
	old, _ := s.Insert(mail("old@x", "old"), fakegmail.InsertOptions{InternalDate: now.AddDate(0, 0, -30)})
	mid, _ := s.Insert(mail("mid@x", "mid"), fakegmail.InsertOptions{InternalDate: now.Add(-48 * time.Hour)})
	newer, _ := s.Deliver(mail("new@x", "new"))
	sent, _ := s.Insert(mail("sent@x", "sent"), fakegmail.InsertOptions{LabelIDs: []string{"SENT"}})
	spam, _ := s.Insert(mail("spam@x", "spam"), fakegmail.InsertOptions{LabelIDs: []string{"SPAM"}})

	list := func(q string, labelIDs ...string) ([]string, error) {
		call := svc.Users.Messages.List("me").Q(q)
		if len(labelIDs) > 0 {
			call.LabelIds(labelIDs...)
		}
		resp, err := call.Do()
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, m := range resp.Messages {
			ids = append(ids, m.Id)
		}
		return ids, nil
	}
	tests := []struct {
		q      string
		labels []string
		want   []string
	}{
		{"in:inbox", nil, []string{newer, mid, old}},
		{fmt.Sprintf("in:inbox after:%d", now.Add(-72*time.Hour).Unix()), nil, []string{newer, mid}},
		{fmt.Sprintf("before:%d", now.Add(-72*time.Hour).Unix()), nil, []string{old}},
		{"newer_than:1d", nil, []string{sent, newer}},
		{"rfc822msgid:<mid@x>", nil, []string{mid}},
		{"rfc822msgid:MID@x", nil, []string{mid}},
		{"-in:inbox", nil, []string{sent}},
		{"in:spam", nil, []string{spam}},
		{"", []string{"SENT"}, []string{sent}},
		{"", nil, []string{sent, newer, mid, old}},
	}
	for _, tt := range tests {
		got, err := list(tt.q, tt.labels...)
		if err != nil {
			t.Errorf("list(q=%q labels=%v): %v", tt.q, tt.labels, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("list(q=%q labels=%v) = %v, want %v", tt.q, tt.labels, got, tt.want)
		}
	}
	if _, err := list("interview"); apiCode(err) != http.StatusBadRequest {
		t.Errorf("free-text search: %v, want a 400 (unsupported by the fake)", err)
	}

	resp, err := svc.Users.Messages.List("me").Q("in:inbox").MaxResults(2).Do()
	if err != nil || len(resp.Messages) != 2 || resp.NextPageToken == "" {
		t.Fatalf("first page = %+v, %v; want 2 messages and a next page", resp, err)
	}
	resp, err = svc.Users.Messages.List("me").Q("in:inbox").MaxResults(2).PageToken(resp.NextPageToken).Do()
	if err != nil || len(resp.Messages) != 1 || resp.Messages[0].Id != old || resp.NextPageToken != "" {
		t.Errorf("second page = %+v, %v; want only %s", resp, err, old)
	}
}

func TestMessagesGetServesRawAndMetadata(t *testing.T) {
	s := fakegmail.New(t)
	svc := service(t, s, nil)
	raw := mail("m@x", "=?UTF-8?Q?Entretien_=C3=A0_Paris?=")
	id, thread := s.Deliver(raw)

	m, err := svc.Users.Messages.Get("me", id).Format("raw").Do()
	if err != nil {
		t.Fatal(err)
	}
	got, err := base64.URLEncoding.DecodeString(m.Raw)
	if err != nil || string(got) != string(raw) || m.ThreadId != thread || m.InternalDate == 0 || m.HistoryId == 0 ||
		!slices.Equal(m.LabelIds, []string{"INBOX", "UNREAD"}) {
		t.Errorf("messages.get raw = %+v (decode err %v), want the stored message", m, err)
	}
	m, err = svc.Users.Messages.Get("me", id).Format("metadata").MetadataHeaders("Subject").Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Payload.Headers) != 1 || m.Payload.Headers[0].Value != "=?UTF-8?Q?Entretien_=C3=A0_Paris?=" {
		t.Errorf("metadata headers = %+v, want only Subject", m.Payload.Headers)
	}
	if _, err := svc.Users.Messages.Get("me", "ffff").Format("raw").Do(); apiCode(err) != http.StatusNotFound {
		t.Errorf("get of an unknown id: %v, want 404", err)
	}
	if _, err := svc.Users.Messages.Get("me", id).Do(); apiCode(err) != http.StatusBadRequest {
		t.Errorf("get with format=full: %v, want 400 (not served by the fake)", err)
	}
}

func TestDraftsJoinTheThreadOnlyWithReplyHeaders(t *testing.T) {
	s := fakegmail.New(t)
	svc := service(t, s, nil)
	_, thread := s.Deliver(mail("invite@x", "Interview invitation"))

	create := func(raw []byte, threadID string) *gmail.Draft {
		t.Helper()
		d, err := svc.Users.Drafts.Create("me", &gmail.Draft{Message: &gmail.Message{
			Raw: base64.URLEncoding.EncodeToString(raw), ThreadId: threadID}}).Do()
		if err != nil {
			t.Fatalf("drafts.create: %v", err)
		}
		return d
	}
	good := create(mail("reply@me", "Re: Interview invitation", "In-Reply-To: <invite@x>", "References: <invite@x>"), thread)
	if good.Message.ThreadId != thread {
		t.Errorf("threaded draft is in thread %s, want %s", good.Message.ThreadId, thread)
	}
	bare := create(mail("bare@me", "Re: Interview invitation"), thread)
	if bare.Message.ThreadId == thread {
		t.Errorf("draft without In-Reply-To/References joined thread %s; Gmail would not", thread)
	}
	unasked := create(mail("unasked@me", "Re: Interview invitation", "In-Reply-To: <invite@x>"), "")
	if unasked.Message.ThreadId == thread {
		t.Errorf("draft created without a threadId joined thread %s", thread)
	}
	if _, err := svc.Users.Drafts.Create("me", &gmail.Draft{Message: &gmail.Message{
		Raw: base64.URLEncoding.EncodeToString(mail("x@me", "x")), ThreadId: "123"}}).Do(); apiCode(err) != http.StatusNotFound {
		t.Errorf("draft into an unknown thread: %v, want 404", err)
	}

	resp, err := svc.Users.Drafts.List("me").Q("rfc822msgid:reply@me").Do()
	if err != nil || len(resp.Drafts) != 1 || resp.Drafts[0].Id != good.Id {
		t.Errorf("drafts.list rfc822msgid:reply@me = %+v, %v; want draft %s", resp, err, good.Id)
	}
	resp, err = svc.Users.Drafts.List("me").Q("rfc822msgid:invite@x").Do()
	if err != nil || len(resp.Drafts) != 0 {
		t.Errorf("drafts.list for a received message's id = %+v, %v; want no drafts", resp, err)
	}
	if d := s.Drafts(); len(d) != 3 || !slices.Equal(d[0].Message.LabelIDs, []string{"DRAFT"}) {
		t.Errorf("stored drafts = %+v, want 3 labelled DRAFT", d)
	}
}

func TestLabelsAreCreatedOnceByName(t *testing.T) {
	s := fakegmail.New(t)
	svc := service(t, s, nil)
	l, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "Interview invitations"}).Do()
	if err != nil || !strings.HasPrefix(l.Id, "Label_") || l.Type != "user" {
		t.Fatalf("labels.create = %+v, %v", l, err)
	}
	if _, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "INTERVIEW invitations"}).Do(); apiCode(err) != http.StatusConflict {
		t.Errorf("creating a label whose name differs only in case: %v, want 409", err)
	}
	resp, err := svc.Users.Labels.List("me").Do()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Labels); n != len(s.Labels()) || resp.Labels[n-1].Name != "Interview invitations" {
		t.Errorf("labels.list = %d labels ending %+v", n, resp.Labels[n-1])
	}
	id, _ := s.Deliver(mail("m@x", "m"))
	if _, err := svc.Users.Messages.Modify("me", id, &gmail.ModifyMessageRequest{AddLabelIds: []string{"Label_99"}}).Do(); apiCode(err) != http.StatusBadRequest {
		t.Errorf("modify with an unknown label: %v, want 400", err)
	}
}

func TestRequestsNeedTheBearerToken(t *testing.T) {
	s := fakegmail.New(t)
	for name, hc := range map[string]*http.Client{
		"without a token":      http.DefaultClient,
		"with the wrong token": clientWithToken("ya29.wrong"),
	} {
		_, err := service(t, s, hc).Users.GetProfile("me").Do()
		if apiCode(err) != http.StatusUnauthorized {
			t.Errorf("getProfile %s: %v, want 401", name, err)
		}
	}
	s.SetTokenCheck(func(tok string) bool { return tok == "ya29.other" })
	if _, err := service(t, s, clientWithToken("ya29.other")).Users.GetProfile("me").Do(); err != nil {
		t.Errorf("getProfile with a token the check accepts: %v", err)
	}
	if _, err := service(t, s, clientWithToken("ya29.other")).Users.GetProfile("someone@else.example").Do(); apiCode(err) != http.StatusForbidden {
		t.Errorf("getProfile of another user: %v, want 403", err)
	}
}

type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

func clientWithToken(tok string) *http.Client { return &http.Client{Transport: bearer(tok)} }

func TestFailuresCountersAndUnsupportedRequests(t *testing.T) {
	s := fakegmail.New(t)
	svc := service(t, s, nil)
	id, _ := s.Deliver(mail("m@x", "m"))

	s.FailNext(http.StatusTooManyRequests, 1500*time.Millisecond)
	s.Fail(fakegmail.Failure{Method: "messages.get", Status: http.StatusForbidden, Reason: "userRateLimitExceeded"})
	_, err := svc.Users.GetProfile("me").Do()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != 429 || ge.Header.Get("Retry-After") != "2" || ge.Errors[0].Reason != "rateLimitExceeded" {
		t.Errorf("first request: %#v, want 429 rateLimitExceeded with Retry-After: 2", err)
	}
	if _, err := svc.Users.Labels.List("me").Do(); err != nil {
		t.Errorf("labels.list is not the failing method: %v", err)
	}
	_, err = svc.Users.Messages.Get("me", id).Format("minimal").Do()
	if !errors.As(err, &ge) || ge.Code != 403 || ge.Errors[0].Reason != "userRateLimitExceeded" {
		t.Errorf("messages.get: %v, want 403 userRateLimitExceeded", err)
	}

	// A failure after the effect: the label is added, the answer is 500.
	s.Fail(fakegmail.Failure{Status: http.StatusInternalServerError, AfterEffect: true})
	_, err = svc.Users.Messages.Modify("me", id, &gmail.ModifyMessageRequest{AddLabelIds: []string{"STARRED"}}).Do()
	if apiCode(err) != 500 {
		t.Errorf("modify with an after-effect failure: %v, want 500", err)
	}
	if m, _ := s.Message(id); !slices.Contains(m.LabelIDs, "STARRED") {
		t.Errorf("labels after the after-effect failure = %v, want STARRED added", m.LabelIDs)
	}

	want := map[string]int{"getProfile": 1, "labels.list": 1, "messages.get": 1, "messages.modify": 1}
	if got := s.CallCounts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("CallCounts = %v, want %v", got, want)
	}
	if got := s.QuotaUnits(); got != 1+1+5+5 {
		t.Errorf("QuotaUnits = %d, want 12", got)
	}

	if _, err := svc.Users.Messages.Trash("me", id).Do(); apiCode(err) != http.StatusNotFound {
		t.Errorf("trash: %v, want 404", err)
	}
	if err := svc.Users.Messages.Delete("me", id).Do(); apiCode(err) != http.StatusNotFound {
		t.Errorf("delete: %v, want 404", err)
	}
	if got := s.Unsupported(); len(got) != 2 || !strings.HasPrefix(got[0], "POST ") || !strings.HasPrefix(got[1], "DELETE ") {
		t.Errorf("Unsupported = %v, want the trash and the delete", got)
	}
	if _, ok := s.Message(id); !ok {
		t.Error("the message is gone after an unsupported delete")
	}
	s.ResetCounters()
	if s.QuotaUnits() != 0 || len(s.CallCounts()) != 0 {
		t.Errorf("counters after ResetCounters: %d units, %v", s.QuotaUnits(), s.CallCounts())
	}
}
