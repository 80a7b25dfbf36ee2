package drafter

import (
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

// apology is the short-notice sentence of a late decline, per language.
var apology = map[string]string{
	"en": "I'm sorry to let you know at such short notice.",
	"de": "Entschuldigen Sie bitte die kurzfristige Absage.",
	"fr": "Toutes mes excuses de vous prévenir si tard.",
	"es": "Disculpa que te avise con tan poca antelación.",
}

// TestLateDecline: a decline less than 48 hours before the interview
// apologises for the short notice; otherwise it does not.
func TestLateDecline(t *testing.T) {
	now := fixedNow
	d := newTestDrafter(t, Options{Now: clockAt(now)})
	m, err := mailmsg.Read(strings.NewReader("From: Sam <sam@acme.example>\r\nTo: alex@example.net\r\nSubject: Interview\r\nMessage-ID: <late@acme.example>\r\n\r\nSee you then.\r\n"), mailmsg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	me := Me{Name: "Alex Morgan", Address: "alex@example.net", Zone: time.UTC}
	tests := []struct {
		name  string
		times []time.Time
		late  bool
	}{
		{"tomorrow morning", []time.Time{now.Add(24 * time.Hour)}, true},
		{"47 hours ahead", []time.Time{now.Add(47 * time.Hour)}, true},
		{"49 hours ahead", []time.Time{now.Add(49 * time.Hour)}, false},
		{"next week", []time.Time{now.Add(7 * 24 * time.Hour)}, false},
		{"already past", []time.Time{now.Add(-2 * time.Hour)}, false},
		{"no time known", nil, false},
		{"options, one soon and one later", []time.Time{now.Add(20 * time.Hour), now.Add(72 * time.Hour)}, false},
		{"options, both soon", []time.Time{now.Add(20 * time.Hour), now.Add(30 * time.Hour)}, true},
	}
	for _, tc := range tests {
		for _, lang := range languages {
			t.Run(tc.name+"/"+lang, func(t *testing.T) {
				inv := Invitation{Message: m, FirstName: "Sam", Lang: lang, Times: tc.times, Formality: Formal}
				if lang == "es" {
					inv.Formality = Informal
				}
				for _, r := range Reasons() {
					rep, err := d.Reply(inv, me, Request{Action: ActionDecline, Reason: r.Name})
					if err != nil {
						t.Fatalf("Reply(%s): %v", r.Name, err)
					}
					if rep.Late != tc.late {
						t.Errorf("Late = %v, want %v", rep.Late, tc.late)
					}
					if got := strings.Contains(rep.Body, apology[lang]); got != tc.late {
						t.Errorf("decline (%s) contains the apology: %v, want %v:\n%s", r.Name, got, tc.late, rep.Body)
					}
				}
			})
		}
	}
}

// TestLateFromCalendar: without Times, the calendar entry's start counts.
func TestLateFromCalendar(t *testing.T) {
	d := newTestDrafter(t, Options{})
	raw := "From: Sam <sam@acme.example>\r\nTo: alex@example.net\r\nSubject: Interview\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nConfirmed.\r\n" +
		"--b\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n" +
		"DTSTART:20261123T100000Z\r\nDTEND:20261123T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n--b--\r\n"
	m, err := mailmsg.Read(strings.NewReader(raw), mailmsg.Options{})
	if err != nil || m.Calendar == nil {
		t.Fatalf("read: %v, calendar %v", err, m.Calendar)
	}
	r, err := d.Reply(Invitation{Message: m}, Me{Address: "alex@example.net"}, Request{Action: ActionDecline})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Late || !strings.Contains(r.Body, apology["en"]) {
		t.Errorf("decline 25 hours before a calendar entry: Late %v, body:\n%s", r.Late, r.Body)
	}
	r, err = d.Reply(Invitation{Message: m}, Me{Address: "alex@example.net"}, Request{Action: ActionReschedule})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Body, "I can't make Monday 23 November at 10:00 UTC") {
		t.Errorf("reschedule does not name the calendar time:\n%s", r.Body)
	}
	for _, s := range r.Slots {
		if s.End.Sub(s.Start) != time.Hour {
			t.Errorf("slot %v–%v: want the calendar entry's length, 1 hour", s.Start, s.End)
		}
	}
}
