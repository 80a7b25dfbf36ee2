package drafter

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func mustICS(t testing.TB, s string) []Busy {
	t.Helper()
	b, err := ParseBusyICS(strings.NewReader(s))
	if err != nil {
		t.Fatalf("ParseBusyICS: %v", err)
	}
	return b
}

const holidaysICS = `BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
SUMMARY:Christmas
DTSTART;VALUE=DATE:20261224
DTEND;VALUE=DATE:20261226
END:VEVENT
END:VCALENDAR
`

const thanksgivingICS = `BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
SUMMARY:Thanksgiving
DTSTART;VALUE=DATE:20261126
END:VEVENT
BEGIN:VEVENT
SUMMARY:Day after
DTSTART;VALUE=DATE:20261127
END:VEVENT
END:VCALENDAR
`

func TestProposeSlots(t *testing.T) {
	berlin, london := mustZone(t, "Europe/Berlin"), mustZone(t, "Europe/London")
	ny, la := mustZone(t, "America/New_York"), mustZone(t, "America/Los_Angeles")
	with := func(z *time.Location, f func(*Availability)) Availability {
		a := DefaultAvailability()
		a.Zone = z
		if f != nil {
			f(&a)
		}
		return a
	}
	split, _ := ParseHours("09:00-12:00, 13:30-17:00")
	tuesdays, _ := ParseDays("Tue")
	tests := []struct {
		name   string
		avail  Availability
		now    time.Time
		length time.Duration
		avoid  []time.Time
		want   []string // RFC 3339 starts, in the zone
		check  func(t *testing.T, slots []Slot)
	}{
		{
			name:  "Berlin after the spring-forward Sunday keeps 10:00 wall clock (CEST)",
			avail: with(berlin, nil),
			now:   time.Date(2027, 3, 25, 10, 0, 0, 0, berlin),
			want:  []string{"2027-03-29T10:00:00+02:00", "2027-03-30T14:00:00+02:00", "2027-03-31T11:00:00+02:00"},
		},
		{
			name:  "Berlin across the fall-back Sunday keeps 10:00 wall clock (CET)",
			avail: with(berlin, nil),
			now:   time.Date(2026, 10, 22, 11, 0, 0, 0, berlin),
			want:  []string{"2026-10-26T10:00:00+01:00", "2026-10-27T14:00:00+01:00", "2026-10-28T11:00:00+01:00"},
		},
		{
			name:  "New York across the November change (EDT to EST)",
			avail: with(ny, nil),
			now:   time.Date(2026, 10, 30, 15, 0, 0, 0, ny),
			want:  []string{"2026-11-03T10:00:00-05:00", "2026-11-04T14:00:00-05:00", "2026-11-05T11:00:00-05:00"},
		},
		{
			name:  "New York across the March change (EST to EDT), one lead day",
			avail: with(ny, func(a *Availability) { a.LeadDays = 1 }),
			now:   time.Date(2027, 3, 11, 12, 0, 0, 0, ny),
			want:  []string{"2027-03-12T10:00:00-05:00", "2027-03-15T14:00:00-04:00", "2027-03-16T11:00:00-04:00"},
		},
		{
			name: "the skipped hour of the spring-forward night is never proposed",
			avail: with(berlin, func(a *Availability) {
				a.Days, _ = ParseDays("Mon-Sun")
				a.Hours, _ = ParseHours("01:00-04:00")
				a.LeadDays = 0
			}),
			now: time.Date(2027, 3, 27, 12, 0, 0, 0, berlin),
			check: func(t *testing.T, slots []Slot) {
				for _, s := range slots {
					if s.Start.Hour() == 2 {
						t.Errorf("slot at %v: 02:00–03:00 does not exist that night", s.Start)
					}
					if s.End.Sub(s.Start) != 30*time.Minute {
						t.Errorf("slot %v–%v is not 30 minutes long", s.Start, s.End)
					}
				}
				if d := slots[0].Start; d.Day() != 28 {
					t.Errorf("first slot %v, want the night of the change", d)
				}
			},
		},
		{
			name:  "a Friday afternoon skips the weekend",
			avail: with(london, nil),
			now:   time.Date(2026, 11, 20, 16, 0, 0, 0, london),
			want:  []string{"2026-11-24T10:00:00Z", "2026-11-25T14:00:00Z", "2026-11-26T11:00:00Z"},
		},
		{
			name:  "all-day holidays (Berlin) block their local days",
			avail: with(berlin, func(a *Availability) { a.Busy = mustICS(t, holidaysICS) }),
			now:   time.Date(2026, 12, 21, 9, 0, 0, 0, berlin),
			want:  []string{"2026-12-23T10:00:00+01:00", "2026-12-28T14:00:00+01:00", "2026-12-29T11:00:00+01:00"},
		},
		{
			name:  "all-day holidays (Los Angeles) block their local days",
			avail: with(la, func(a *Availability) { a.Busy = mustICS(t, thanksgivingICS); a.LeadDays = 1 }),
			now:   time.Date(2026, 11, 23, 9, 0, 0, 0, la),
			want:  []string{"2026-11-24T10:00:00-08:00", "2026-11-25T14:00:00-08:00", "2026-11-30T11:00:00-08:00"},
		},
		{
			name: "busy meetings and a lunch break are avoided",
			avail: with(berlin, func(a *Availability) {
				a.Hours = split
				a.LeadDays = 1
				a.Busy = []Busy{{Start: time.Date(2026, 11, 24, 10, 0, 0, 0, berlin), End: time.Date(2026, 11, 24, 11, 0, 0, 0, berlin)}}
			}),
			now:  time.Date(2026, 11, 23, 8, 0, 0, 0, berlin),
			want: []string{"2026-11-24T09:30:00+01:00", "2026-11-25T14:00:00+01:00", "2026-11-26T11:00:00+01:00"},
		},
		{
			name:  "with no lead days the first slot is later today, never earlier",
			avail: with(london, func(a *Availability) { a.LeadDays = 0 }),
			now:   time.Date(2026, 11, 23, 15, 10, 0, 0, london),
			want:  []string{"2026-11-23T15:30:00Z", "2026-11-24T14:00:00Z", "2026-11-25T11:00:00Z"},
		},
		{
			name:   "a 90-minute interview fits the working day",
			avail:  with(london, nil),
			now:    time.Date(2026, 11, 23, 9, 0, 0, 0, london),
			length: 90 * time.Minute,
			want:   []string{"2026-11-25T10:00:00Z", "2026-11-26T14:00:00Z", "2026-11-27T11:00:00Z"},
			check: func(t *testing.T, slots []Slot) {
				for _, s := range slots {
					if s.End.Sub(s.Start) != 90*time.Minute {
						t.Errorf("slot %v–%v, want 90 minutes", s.Start, s.End)
					}
				}
			},
		},
		{
			name:  "the day of a time the user cannot make is used last",
			avail: with(london, nil),
			now:   time.Date(2026, 11, 20, 16, 0, 0, 0, london),
			avoid: []time.Time{time.Date(2026, 11, 25, 14, 0, 0, 0, london)},
			want:  []string{"2026-11-24T10:00:00Z", "2026-11-26T14:00:00Z", "2026-11-27T11:00:00Z"},
		},
		{
			name:  "one working day a week: a second slot on the same day, not back to back",
			avail: with(london, func(a *Availability) { a.Days = tuesdays; a.HorizonDays = 2 }),
			now:   time.Date(2026, 11, 20, 16, 0, 0, 0, london),
			want:  []string{"2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z", "2026-12-08T14:00:00Z"},
		},
		{
			name:  "the default availability is Monday to Friday, 09:30 to 17:00",
			avail: Availability{Zone: london},
			now:   time.Date(2026, 11, 22, 9, 0, 0, 0, london),
			want:  []string{"2026-11-24T10:00:00Z", "2026-11-25T14:00:00Z", "2026-11-26T11:00:00Z"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			slots, err := ProposeSlots(tc.avail, tc.now, tc.length, tc.avoid...)
			if err != nil {
				t.Fatalf("ProposeSlots: %v", err)
			}
			if tc.want != nil {
				var got []string
				for _, s := range slots {
					got = append(got, s.Start.Format(time.RFC3339))
				}
				if strings.Join(got, " ") != strings.Join(tc.want, " ") {
					t.Errorf("ProposeSlots = %v\nwant %v", got, tc.want)
				}
			}
			a := tc.avail.withDefaults(nil)
			for _, s := range slots {
				if !s.Start.After(tc.now) {
					t.Errorf("slot %v is not after now %v", s.Start, tc.now)
				}
				if s.Start.Location() != a.Zone {
					t.Errorf("slot %v is in %v, want %v", s.Start, s.Start.Location(), a.Zone)
				}
				checkInHours(t, s, a)
			}
			if tc.check != nil {
				tc.check(t, slots)
			}
		})
	}
}

func TestProposeSlotsFailsWhenNothingIsFree(t *testing.T) {
	london := mustZone(t, "Europe/London")
	a := DefaultAvailability()
	a.Zone = london
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, london)
	a.Busy = []Busy{{Start: now, End: now.AddDate(0, 2, 0)}}
	if _, err := ProposeSlots(a, now, 0); !errors.Is(err, ErrNoSlots) {
		t.Errorf("ProposeSlots with everything busy = %v, want ErrNoSlots", err)
	}
	bad := a
	bad.Busy = nil
	bad.Hours = []Window{{Start: 17 * 60, End: 9 * 60}}
	if _, err := ProposeSlots(bad, now, 0); err == nil {
		t.Errorf("ProposeSlots with hours 17:00-09:00 succeeded")
	}
}

func TestSlotFormat(t *testing.T) {
	berlin, ny, london := mustZone(t, "Europe/Berlin"), mustZone(t, "America/New_York"), mustZone(t, "Europe/London")
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	slot := func(z *time.Location, y int, m time.Month, d, h, min int, l time.Duration) Slot {
		s := time.Date(y, m, d, h, min, 0, 0, z)
		return Slot{Start: s, End: s.Add(l)}
	}
	for _, tc := range []struct {
		lang string
		s    Slot
		want string
	}{
		{"en", slot(london, 2026, 12, 1, 10, 0, 30*time.Minute), "Tuesday 1 December, 10:00–10:30 GMT"},
		{"en", slot(ny, 2026, 12, 1, 11, 30, 60*time.Minute), "Tuesday, December 1, 11:30 AM–12:30 PM EST"},
		{"en", slot(ny, 2026, 12, 1, 14, 0, 30*time.Minute), "Tuesday, December 1, 2:00–2:30 PM EST"},
		{"de", slot(berlin, 2026, 12, 1, 10, 0, 30*time.Minute), "Dienstag, 1. Dezember, 10:00–10:30 Uhr (MEZ)"},
		{"de", slot(berlin, 2027, 6, 1, 10, 0, 30*time.Minute), "Dienstag, 1. Juni 2027, 10:00–10:30 Uhr (MESZ)"},
		{"fr", slot(berlin, 2026, 12, 1, 10, 0, 30*time.Minute), "mardi 1er décembre, de 10h à 10h30 (CET)"},
		{"fr", slot(berlin, 2026, 12, 2, 14, 30, 60*time.Minute), "mercredi 2 décembre, de 14h30 à 15h30 (CET)"},
		{"es", slot(berlin, 2026, 12, 1, 10, 0, 30*time.Minute), "martes 1 de diciembre, de 10:00 a 10:30 (CET)"},
		{"es", slot(berlin, 2027, 1, 5, 9, 30, 30*time.Minute), "martes 5 de enero de 2027, de 9:30 a 10:00 (CET)"},
		{"it", slot(london, 2026, 12, 1, 10, 0, 30*time.Minute), "Tuesday 1 December, 10:00–10:30 GMT"},
		{"en", slot(mustZone(t, "Asia/Kolkata"), 2026, 12, 1, 10, 0, 30*time.Minute), "Tuesday 1 December, 10:00–10:30 IST"},
		{"en", slot(mustZone(t, "America/Sao_Paulo"), 2026, 12, 1, 10, 0, 30*time.Minute), "Tuesday, December 1, 10:00–10:30 AM UTC−3"},
	} {
		if got := tc.s.Format(tc.lang, now); got != tc.want {
			t.Errorf("Slot.Format(%s) = %q, want %q", tc.lang, got, tc.want)
		}
	}
}

func TestParseDaysAndHours(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"Mon-Fri", "[Monday Tuesday Wednesday Thursday Friday]", true},
		{"mon, wed,fri", "[Monday Wednesday Friday]", true},
		{"Fri–Mon", "[Friday Saturday Sunday Monday]", true},
		{"Tuesday", "[Tuesday]", true},
		{"Mo-Fr", "", false},
		{"", "", false},
	} {
		got, err := ParseDays(tc.in)
		if (err == nil) != tc.ok || (tc.ok && fmtDays(got) != tc.want) {
			t.Errorf("ParseDays(%q) = %v, %v; want %s (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"09:30-17:00", "[09:30-17:00]", true},
		{"13:30-17:00, 09:00-12:00", "[09:00-12:00 13:30-17:00]", true},
		{"20:00-24:00", "[20:00-24:00]", true},
		{"17:00-09:00", "", false},
		{"9-17", "", false},
		{"09:60-10:00", "", false},
	} {
		got, err := ParseHours(tc.in)
		if (err == nil) != tc.ok || (tc.ok && fmtWindows(got) != tc.want) {
			t.Errorf("ParseHours(%q) = %v, %v; want %s (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func fmtDays(ds []time.Weekday) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.String())
	}
	return "[" + strings.Join(s, " ") + "]"
}

func fmtWindows(ws []Window) string {
	var s []string
	for _, w := range ws {
		s = append(s, w.String())
	}
	return "[" + strings.Join(s, " ") + "]"
}
