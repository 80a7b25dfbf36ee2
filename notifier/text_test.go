package notifier

import (
	"strings"
	"testing"
	"time"
)

func TestSummaryDegradesWithWhatIsKnown(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    Question
		want string
	}{
		{"company and role", Question{Company: "Acme", Role: "Go Engineer"}, "Interview invitation — Acme: Go Engineer"},
		{"company only", Question{Company: "Acme"}, "Interview invitation — Acme"},
		{"role only", Question{Role: "Go Engineer"}, "Interview invitation — Go Engineer"},
		{"neither: the sender's name", Question{FromName: "Jane Doe", FromAddr: "jane@acme.example"}, "Interview invitation from Jane Doe"},
		{"neither and no name: the address", Question{FromAddr: "jane@acme.example"}, "Interview invitation from jane@acme.example"},
		{"nothing at all", Question{}, "Interview invitation"},
		{"a reminder says so", Question{Company: "Acme", Reminder: true}, "Reminder: Interview invitation — Acme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := summaryOf(tc.q); got != tc.want {
				t.Errorf("summaryOf(%+v) = %q, want %q", tc.q, got, tc.want)
			}
		})
	}
}

func TestBodyText(t *testing.T) {
	at := func(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		q    Question
		o    textOptions
		want string
	}{
		{
			name: "plain text keeps markup characters as they are",
			q:    Question{FromName: "R&D <Talent>", FromAddr: "jobs@acme.example"},
			want: "From: R&D <Talent> <jobs@acme.example>\nReply goes to: jobs@acme.example",
		},
		{
			name: "markup is escaped for a server that renders it",
			q:    Question{FromName: "R&D <b>Talent</b>", FromAddr: "jobs@acme.example", Why: []string{"a <i>call</i>"}},
			o:    textOptions{markup: true},
			want: "From: R&amp;D &lt;b&gt;Talent&lt;/b&gt; &lt;jobs@acme.example&gt;\nReply goes to: jobs@acme.example\nWhy: a &lt;i&gt;call&lt;/i&gt;",
		},
		{
			name: "a Reply-To on another domain is flagged in plain text",
			q:    Question{FromAddr: "jane@acme.example", ReplyTo: "jane@acme-careers.example"},
			want: "From: jane@acme.example\nReply goes to: jane@acme-careers.example — not the sender's domain (acme.example)!",
		},
		{
			name: "a Reply-To on a subdomain is the same organisation",
			q:    Question{FromAddr: "jane@acme.example", ReplyTo: "jobs@Mail.Acme.example"},
			want: "From: jane@acme.example\nReply goes to: jobs@Mail.Acme.example",
		},
		{
			name: "a look-alike domain is not a subdomain",
			q:    Question{FromAddr: "jane@acme.example", ReplyTo: "jane@acme.example.evil.example"},
			o:    textOptions{markup: true},
			want: "From: jane@acme.example\n<b>Reply goes to: jane@acme.example.evil.example — not the sender's domain (acme.example)!</b>",
		},
		{
			name: "more than three times and reasons are cut, with a count",
			q: Question{
				FromAddr: "jane@acme.example",
				Times:    []time.Time{at(5, 14), at(6, 10), at(9, 9), at(10, 16)},
				Why:      []string{"one", "two", "three", "four"},
			},
			want: "From: jane@acme.example\nReply goes to: jane@acme.example\n" +
				"Proposed: Thu 5 Mar 14:00 UTC; Fri 6 Mar 10:00 UTC; Mon 9 Mar 09:00 UTC (+1 more)\nWhy: one; two; three",
		},
		{
			name: "without buttons the body says how to answer",
			q:    Question{ID: "k3v7qzxa", FromAddr: "jane@acme.example"},
			o:    textOptions{howToAnswer: true},
			want: "From: jane@acme.example\nReply goes to: jane@acme.example\nanswer with: rsvp decide k3v7qzxa decline|reschedule|ignore",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bodyOf(tc.q, tc.o); got != tc.want {
				t.Errorf("bodyOf =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		out                 string
		action, reason, err string
	}{
		{out: "decline\n", action: "decline"},
		{out: "Decline\n", action: "decline"},
		{out: "  RESCHEDULE  ", action: "reschedule"},
		{out: "ignore", action: "ignore"},
		{out: "decline I accepted another offer\n", action: "decline", reason: "I accepted another offer"},
		{out: "decline\tTiming\n", action: "decline", reason: "Timing"},
		{out: `{"action":"decline","reason":"timing"}`, action: "decline", reason: "timing"},
		{out: "{\"action\": \"Reschedule\"}\n", action: "reschedule"},
		{out: "", err: "empty output"},
		{out: "\n\n", err: "empty output"},
		{out: "maybe later", err: `"maybe" is not an answer`},
		{out: "decline\nreschedule\n", err: "want one line"},
		{out: `{"action":"accept"}`, err: `"accept" is not an answer`},
		{out: `{"action":`, err: "unexpected end of JSON"},
	} {
		action, reason, err := parseReply([]byte(tc.out))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseReply(%q) = %q, %q, %v; want an error containing %q", tc.out, action, reason, err, tc.err)
			}
			continue
		}
		if err != nil || action != tc.action || reason != tc.reason {
			t.Errorf("parseReply(%q) = %q, %q, %v; want %q, %q", tc.out, action, reason, err, tc.action, tc.reason)
		}
	}
}

func TestCheckIDRejectsWhatCannotBeAnActionKey(t *testing.T) {
	for _, id := range []string{"", "abc:def", "ABCDEFGH", "abc def", strings.Repeat("a", 65)} {
		if checkID(id) == nil {
			t.Errorf("checkID(%q) = nil, want an error", id)
		}
	}
	if err := checkID("k3v7qzxa"); err != nil {
		t.Errorf("checkID(k3v7qzxa) = %v, want nil", err)
	}
}
