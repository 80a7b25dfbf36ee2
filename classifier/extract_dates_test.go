package classifier_test

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below must resolve on any test host

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestExtractTimes(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	paris := mustZone(t, "Europe/Paris")
	madrid := mustZone(t, "Europe/Madrid")
	// Monday 23 March 2026, 09:00 in Berlin; the EU switches to summer
	// time on Sunday 29 March, the US did on 8 March.
	sent := time.Date(2026, 3, 23, 9, 0, 0, 0, time.FixedZone("+0100", 3600))

	tests := []struct {
		name string
		body string
		zone *time.Location
		date time.Time // zero: sent
		cal  time.Time
		want []time.Time
	}{
		{
			name: "an English ordinal date after the summer-time switch is read in the user's zone",
			body: "They've offered Tuesday 31st March at 10am or Wednesday 1st April at 2pm.",
			zone: berlin,
			want: []time.Time{utc("2026-03-31 08:00"), utc("2026-04-01 12:00")},
		},
		{
			name: "the same date before the switch is an hour later in UTC",
			body: "Would Thursday 26th March at 10am suit you?",
			zone: berlin,
			want: []time.Time{utc("2026-03-26 09:00")},
		},
		{
			name: "a day without a month takes the month from its weekday and the zone from the Date header",
			body: "• Wednesday 25th – 12:30\n• Thursday 26th – 09:00 or 16:00\n• Friday 27th – any time after 11",
			want: []time.Time{utc("2026-03-25 11:30"), utc("2026-03-26 08:00"), utc("2026-03-26 15:00")},
		},
		{
			name: "an abbreviated date with a range under an all-times-UK note is in London time",
			body: "Could you do one of these? All times UK.\n\n  Tue 24 Mar  14:00–15:15\n  Tue 31 Mar  10:00–11:15",
			want: []time.Time{utc("2026-03-24 14:00"), utc("2026-03-31 09:00")},
		},
		{
			name: "a date line followed by a GMT range",
			body: "Monday, 30 March 2026\n10:30 – 11:30 GMT\nInterviewer: Nadia Brooks",
			want: []time.Time{utc("2026-03-30 10:30")},
		},
		{
			name: "a US date with a Time line in Eastern time is in daylight time in late March",
			body: "Date: Tuesday, March 31, 2026\nTime: 2:00 PM – 3:30 PM Eastern (7:00 PM – 8:30 PM BST)\nFormat: Teams",
			want: []time.Time{utc("2026-03-31 18:00")},
		},
		{
			name: "a schedule under a date heading is one interview starting at its first session",
			body: "Thursday, March 26, 2026 (Eastern Time)\n\n10:00 – 10:45 AM   Coding\n10:50 – 11:35 AM   System design\n11:35 AM – 12:05 PM   Break\n12:05 – 12:50 PM   Deep dive",
			want: []time.Time{utc("2026-03-26 14:00")},
		},
		{
			name: "German numeric dates with Uhr under a deutsche Zeit note, across the switch",
			body: "Folgende Termine könnten wir Ihnen anbieten (jeweils deutsche Zeit):\n\n  - Donnerstag, 26.03., 10:00 Uhr\n  - Dienstag, 31.03., 15:30 Uhr",
			want: []time.Time{utc("2026-03-26 09:00"), utc("2026-03-31 13:30")},
		},
		{
			name: "a German spelled-out date with am and um",
			body: "Passt Ihnen am Montag, den 30. März 2026 um 14 Uhr?",
			zone: berlin,
			want: []time.Time{utc("2026-03-30 12:00")},
		},
		{
			name: "a French date with h-notation in Paris time",
			body: "Seriez-vous disponible jeudi 26 mars à 14h30 (heure de Paris) ?",
			want: []time.Time{utc("2026-03-26 13:30")},
		},
		{
			name: "a French ordinal date with a bare hour in the user's zone",
			body: "Je vous propose mercredi 1er avril à 9h ou à 11h.",
			zone: paris,
			want: []time.Time{utc("2026-04-01 07:00"), utc("2026-04-01 09:00")},
		},
		{
			name: "a Spanish date in peninsular time",
			body: "¿Te vendría bien el martes 31 de marzo a las 10:00 (hora peninsular)?",
			want: []time.Time{utc("2026-03-31 08:00")},
		},
		{
			name: "a Spanish date with a year and a las h",
			body: "Te propongo el jueves 26 de marzo de 2026 a las 16h.",
			zone: madrid,
			want: []time.Time{utc("2026-03-26 15:00")},
		},
		{
			name: "a time written before its date",
			body: "Could we do 3pm on Friday 27 March? BST isn't until the Sunday after.",
			zone: mustZone(t, "Europe/London"),
			want: []time.Time{utc("2026-03-27 15:00")},
		},
		{
			name: "a weekday alone with a time is the coming one",
			body: "Are you free Wednesday at 4:30pm CET?",
			want: []time.Time{utc("2026-03-25 15:30")},
		},
		{
			name: "tomorrow with a time is the day after the message",
			body: "Would tomorrow at 11am work?",
			zone: berlin,
			want: []time.Time{utc("2026-03-24 10:00")},
		},
		{
			name: "a year-less date early in January after a December message is next year's",
			body: "How about Monday 4 January at 11:00?",
			date: time.Date(2026, 12, 28, 9, 0, 0, 0, time.UTC),
			want: []time.Time{utc("2027-01-04 11:00")},
		},
		{
			name: "a year-less date a few days before the message stays in this year",
			body: "Further to our call on Friday 20 March at 10:00, here are the details.",
			want: []time.Time{utc("2026-03-20 09:00")},
		},
		{
			name: "an ISO date with an offset zone",
			body: "Slot: 2026-03-30 16:00 UTC+2",
			want: []time.Time{utc("2026-03-30 14:00")},
		},
		{
			name: "a calendar start comes first and the same instant in the text is not repeated",
			body: "Date: Thursday 26 March 2026\nTime: 11:00 - 12:00\nAlternatively Friday 27 March 2026 at 11:00.",
			zone: mustZone(t, "Europe/London"),
			cal:  utc("2026-03-26 11:00"),
			want: []time.Time{utc("2026-03-26 11:00"), utc("2026-03-27 11:00")},
		},
		{
			name: "a deadline is not a proposal",
			body: "Date: Wednesday 25 March 2026\nTime: 10:15 (please arrive by 10:00)\nPlease email your slides by 12:00 on Tuesday 24 March.",
			want: []time.Time{utc("2026-03-25 09:15")},
		},
		{
			name: "a cancelled slot is not a proposal",
			body: "New time:   Monday, March 30, 2026, 4:00 PM – 5:30 PM BST\nPreviously: Thursday, March 26, 2026, 2:00 PM GMT (cancelled)",
			want: []time.Time{utc("2026-03-30 15:00")},
		},
		{
			name: "a calendar program's spelled-out zone on the next line",
			body: "miércoles, 25 de marzo de 2026 · 11:00 – 12:00\nHora estándar de Europa central - Madrid",
			want: []time.Time{utc("2026-03-25 10:00")},
		},
		{
			name: "dates without times, durations, phone numbers and versions are no proposals",
			body: "Please reply by Tuesday, March 24. It takes 45 minutes, about 1.5 hours with a break.\nCall 020 7946 0418 or +44 161 496 0312. Release 2.10.30 is out. Ratio 16:9.\nWe are free in the afternoon of Friday 27 March.",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &mailmsg.Message{Text: tt.body, Date: sent, Subject: "Interview"}
			if !tt.date.IsZero() {
				m.Date = tt.date
			}
			if !tt.cal.IsZero() {
				m.Calendar = &mailmsg.Calendar{Start: tt.cal}
			}
			got := classifier.Extract(m, classifier.ExtractOptions{Zone: tt.zone}).Times
			if !sameInstants(got, tt.want) {
				t.Errorf("Times = %s, want %s", instants(got), instants(tt.want))
			}
		})
	}
}

func TestExtractTimesSkipsAnAllDayCalendarEvent(t *testing.T) {
	m := &mailmsg.Message{
		Text:     "See you then.",
		Date:     time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC),
		Calendar: &mailmsg.Calendar{Start: utc("2026-11-24 00:00"), AllDay: true},
	}
	if got := classifier.Extract(m, classifier.ExtractOptions{}).Times; len(got) != 0 {
		t.Errorf("Times = %s, want none for an all-day event", instants(got))
	}
}

// The parser looks ahead a bounded number of tokens at each token, so a
// body full of near-misses stays fast.
func TestExtractTimesIsLinearOnHostileText(t *testing.T) {
	var b strings.Builder
	for b.Len() < 64<<10 {
		b.WriteString("Tuesday 1st 10: 24.11 a las ( 12:3 - – or GMT+ Monday, ")
	}
	m := &mailmsg.Message{Text: b.String(), Date: time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)}
	start := time.Now()
	classifier.Extract(m, classifier.ExtractOptions{})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Extract on 64 KB of near-misses took %v", d)
	}
}

// FuzzExtractTimes checks the time parser never panics and only returns
// instants near the message date.
func FuzzExtractTimes(f *testing.F) {
	for _, s := range []string{
		"Tuesday 1st December at 10am or Wednesday 2nd December at 2pm",
		"Dienstag, 24.11., 10:00 Uhr", "jeudi 3 décembre à 14h30", "el martes 1 de diciembre a las 10:00",
		"Thursday, December 3, 2026 (Eastern Time)\n\n10:00 – 10:45 AM Coding\n10:50 – 11:35 AM",
		"Date: Tuesday, December 1, 2026\nTime: 2:00 PM – 3:30 PM Eastern (7:00 PM – 8:30 PM GMT)",
		"2026-11-24 16:00 UTC+2", "a las", "GMT+", "24.11.", "Mar 24", "12:55 – 1:25 PM",
	} {
		f.Add(s)
	}
	sent := time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		m := &mailmsg.Message{Text: s, Date: sent}
		for _, got := range classifier.Extract(m, classifier.ExtractOptions{}).Times {
			if got.Year() < 1990 || got.Year() > 2101 {
				t.Errorf("Times has %v for %q", got, s)
			}
		}
	})
}

func sameInstants(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func instants(ts []time.Time) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.UTC().Format("2006-01-02 15:04Z"))
	}
	return "[" + strings.Join(s, ", ") + "]"
}
