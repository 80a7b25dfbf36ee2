package drafter

import (
	"strings"
	"testing"
	"time"
)

const busyICS = "BEGIN:VCALENDAR\r\n" +
	"VERSION:2.0\r\n" +
	"PRODID:-//Example//Calendar//EN\r\n" +
	"BEGIN:VTIMEZONE\r\n" +
	"TZID:Europe/Berlin\r\n" +
	"BEGIN:STANDARD\r\n" +
	"DTSTART:19701025T030000\r\n" +
	"TZOFFSETFROM:+0200\r\n" +
	"TZOFFSETTO:+0100\r\n" +
	"END:STANDARD\r\n" +
	"END:VTIMEZONE\r\n" +
	"BEGIN:VEVENT\r\n" +
	"SUMMARY:Stand-up (UTC)\r\n" +
	"DTSTART:20261124T090000Z\r\n" +
	"DTEND:20261124T091500Z\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"SUMMARY:Dentist\\, with a folded\r\n" +
	"  summary line\r\n" +
	"DTSTART;TZID=Europe/Berlin:20261125T140000\r\n" +
	"DTEND;TZID=Europe/Berlin:20261125T150000\r\n" +
	"BEGIN:VALARM\r\n" +
	"TRIGGER:-PT15M\r\n" +
	"DTSTART:20000101T000000Z\r\n" +
	"END:VALARM\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"SUMMARY:Outlook meeting\r\n" +
	"DTSTART;TZID=\"W. Europe Standard Time\":20261126T100000\r\n" +
	"DURATION:PT1H30M\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"SUMMARY:Public holiday\r\n" +
	"DTSTART;VALUE=DATE:20261225\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"SUMMARY:Floating lunch\r\n" +
	"DTSTART:20261127T120000\r\n" +
	"DTEND:20261127T130000\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"SUMMARY:Focus time (shown as free)\r\n" +
	"TRANSP:TRANSPARENT\r\n" +
	"DTSTART:20261130T080000Z\r\n" +
	"DTEND:20261130T160000Z\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"SUMMARY:Cancelled\r\n" +
	"STATUS:CANCELLED\r\n" +
	"DTSTART:20261201T080000Z\r\n" +
	"DTEND:20261201T160000Z\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"SUMMARY:Conference\r\n" +
	"DTSTART;VALUE=DATE:20261207\r\n" +
	"DURATION:P2D\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VFREEBUSY\r\n" +
	"FREEBUSY;FBTYPE=BUSY:20261202T100000Z/20261202T110000Z,20261202T150000Z/PT30M\r\n" +
	"FREEBUSY;FBTYPE=FREE:20261203T100000Z/PT8H\r\n" +
	"END:VFREEBUSY\r\n" +
	"END:VCALENDAR\r\n"

func TestParseBusyICS(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	busy, err := ParseBusyICS(strings.NewReader(busyICS))
	if err != nil {
		t.Fatalf("ParseBusyICS: %v", err)
	}
	type want struct {
		start, end string
		floating   bool
		summary    string
	}
	wants := []want{
		{"2026-11-24T09:00:00Z", "2026-11-24T09:15:00Z", false, "Stand-up (UTC)"},
		{"2026-11-25T14:00:00+01:00", "2026-11-25T15:00:00+01:00", false, "Dentist, with a folded summary line"},
		{"2026-11-26T10:00:00+01:00", "2026-11-26T11:30:00+01:00", false, "Outlook meeting"},
		{"2026-12-25T00:00:00Z", "2026-12-26T00:00:00Z", true, "Public holiday"},
		{"2026-11-27T12:00:00Z", "2026-11-27T13:00:00Z", true, "Floating lunch"},
		{"2026-12-07T00:00:00Z", "2026-12-09T00:00:00Z", true, "Conference"},
		{"2026-12-02T10:00:00Z", "2026-12-02T11:00:00Z", false, ""},
		{"2026-12-02T15:00:00Z", "2026-12-02T15:30:00Z", false, ""},
	}
	if len(busy) != len(wants) {
		for _, b := range busy {
			t.Logf("got %v–%v floating=%v %q", b.Start, b.End, b.Floating, b.Summary)
		}
		t.Fatalf("ParseBusyICS returned %d busy times, want %d (transparent and cancelled events and FBTYPE=FREE left out)", len(busy), len(wants))
	}
	for i, w := range wants {
		b := busy[i]
		if b.Start.Format(time.RFC3339) != w.start || b.End.Format(time.RFC3339) != w.end || b.Floating != w.floating || b.Summary != w.summary {
			t.Errorf("busy[%d] = %s–%s floating=%v %q\nwant %s–%s floating=%v %q", i,
				b.Start.Format(time.RFC3339), b.End.Format(time.RFC3339), b.Floating, b.Summary, w.start, w.end, w.floating, w.summary)
		}
	}
	if busy[1].Start.Location().String() != berlin.String() || busy[2].Start.Location().String() != berlin.String() {
		t.Errorf("TZID zones: %v, %v", busy[1].Start.Location(), busy[2].Start.Location())
	}
}

func TestParseBusyICSErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"not a calendar", "hello\n", "not an iCalendar file"},
		{"bad start", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:2026-11-24\nEND:VEVENT\nEND:VCALENDAR\n", "line 3: DTSTART: bad DATE-TIME"},
		{"ends before it starts", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261124T100000Z\nDTEND:20261124T090000Z\nEND:VEVENT\nEND:VCALENDAR\n", "line 2: VEVENT ends before it starts"},
		{"truncated", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261124T100000Z\n", "never closed"},
		{"bad duration", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261124T100000Z\nDURATION:1H\nEND:VEVENT\nEND:VCALENDAR\n", "line 4: DURATION: bad DURATION"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBusyICS(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseBusyICS = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestParseBusyICSUnknownZone: a TZID rsvp cannot resolve is read as the
// user's local time, not as UTC.
func TestParseBusyICSUnknownZone(t *testing.T) {
	busy := mustICS(t, "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=My Custom Zone:20261124T100000\nDTEND;TZID=My Custom Zone:20261124T110000\nEND:VEVENT\nEND:VCALENDAR\n")
	if len(busy) != 1 || !busy[0].Floating {
		t.Errorf("unknown TZID: %+v, want one floating busy time", busy)
	}
}

func FuzzParseBusyICS(f *testing.F) {
	f.Add(busyICS)
	f.Add(holidaysICS)
	f.Add("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=\"a:b\";VALUE=DATE:20261124\nDURATION:-P1W2DT3H4M5S\nEND:VEVENT\nEND:VCALENDAR")
	f.Fuzz(func(t *testing.T, s string) {
		busy, _ := ParseBusyICS(strings.NewReader(s))
		for _, b := range busy {
			if b.End.Before(b.Start) {
				t.Fatalf("busy time ends before it starts: %+v", b)
			}
		}
	})
}
