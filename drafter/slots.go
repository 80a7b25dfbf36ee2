package drafter

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Availability says when the user can take an interview: the slots a
// reschedule reply proposes are drawn from it.
//
// Times of day are wall-clock times in Zone, so "09:30" stays 09:30 across a
// daylight-saving change.
type Availability struct {
	// Days are the working days; nil means Monday to Friday.
	Days []time.Weekday
	// Hours are the working windows of a day, e.g. 09:30–12:30 and
	// 13:30–17:00; nil means 09:30–17:00.
	Hours []Window
	// Zone is the time zone of Hours and of the proposed slots; nil means
	// the user's (Me.Zone), else UTC.
	Zone *time.Location
	// SlotLength is the length of a proposed slot; 0 means 30 minutes. An
	// invitation whose calendar entry states its length overrides it.
	SlotLength time.Duration
	// LeadDays is how many working days from today the first slot may be at
	// the earliest: 2 on a Monday means Wednesday; 0 allows later today.
	LeadDays int
	// Busy are the times already taken (see ParseBusyICS); a slot never
	// overlaps one.
	Busy []Busy
	// Count is how many slots to propose; 0 means 3.
	Count int
	// HorizonDays is how many working days after the lead are searched; 0
	// means 15.
	HorizonDays int
}

// Window is a span of wall-clock time within a day, in minutes after
// midnight: Start inclusive, End exclusive, End at most 24:00.
type Window struct{ Start, End int }

func (w Window) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", w.Start/60, w.Start%60, w.End/60, w.End%60)
}

// Busy is a time that is already taken. A Floating busy time has no zone of
// its own (an all-day event, or a DATE-TIME without TZID, RFC 5545 section
// 3.3.5): its Start and End hold wall-clock values (in time.UTC) that are
// read in the availability's zone.
type Busy struct {
	Start, End time.Time
	Floating   bool
	Summary    string
}

// Slot is a proposed interview time.
type Slot struct{ Start, End time.Time }

// Format writes the slot for a reply in lang ("en", "de", "fr", "es"), e.g.
// "Tuesday 1 December, 10:00–10:30 GMT"; the year is written when it differs
// from now's.
func (s Slot) Format(lang string, now time.Time) string {
	if normLang(lang) == "" {
		lang = "en"
	}
	return formatSlot(normLang(lang), s, now)
}

// DefaultAvailability is Monday to Friday, 09:30–17:00, 30-minute slots, at
// least 2 working days ahead, three slots, in the user's zone.
func DefaultAvailability() Availability {
	return Availability{
		Days:        []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		Hours:       []Window{{Start: 9*60 + 30, End: 17 * 60}},
		SlotLength:  30 * time.Minute,
		LeadDays:    2,
		Count:       3,
		HorizonDays: 15,
	}
}

// withDefaults fills the zero fields. A wholly zero Availability is the
// default one; otherwise LeadDays is taken as given, 0 included.
func (a Availability) withDefaults(zone *time.Location) Availability {
	if a.Days == nil && a.Hours == nil && a.SlotLength == 0 && a.LeadDays == 0 && a.Count == 0 && a.HorizonDays == 0 {
		d := DefaultAvailability()
		d.Zone, d.Busy = a.Zone, a.Busy
		a = d
	}
	def := DefaultAvailability()
	if len(a.Days) == 0 {
		a.Days = def.Days
	}
	if len(a.Hours) == 0 {
		a.Hours = def.Hours
	}
	if a.SlotLength <= 0 {
		a.SlotLength = def.SlotLength
	}
	if a.Count <= 0 {
		a.Count = def.Count
	}
	if a.HorizonDays <= 0 {
		a.HorizonDays = def.HorizonDays
	}
	if a.LeadDays < 0 {
		a.LeadDays = 0
	}
	if a.Zone == nil {
		a.Zone = zone
	}
	if a.Zone == nil {
		a.Zone = time.UTC
	}
	return a
}

// Validate reports what is wrong with a, every problem at once.
func (a Availability) Validate() error {
	var errs []error
	seen := map[time.Weekday]bool{}
	for _, d := range a.Days {
		if d < time.Sunday || d > time.Saturday {
			errs = append(errs, fmt.Errorf("days: %d is not a weekday", d))
		} else if seen[d] {
			errs = append(errs, fmt.Errorf("days: %s listed twice", d))
		}
		seen[d] = true
	}
	for _, w := range a.Hours {
		if w.Start < 0 || w.End > 24*60 || w.Start >= w.End {
			errs = append(errs, fmt.Errorf("hours: %s is not a span within a day", w))
		}
	}
	if a.SlotLength < 0 {
		errs = append(errs, fmt.Errorf("slot length %s is negative", a.SlotLength))
	}
	if a.SlotLength > 0 && len(a.Hours) > 0 {
		fits := false
		for _, w := range a.Hours {
			if time.Duration(w.End-w.Start)*time.Minute >= a.SlotLength {
				fits = true
			}
		}
		if !fits {
			errs = append(errs, fmt.Errorf("slot length %s is longer than every working window", a.SlotLength))
		}
	}
	if a.LeadDays < 0 {
		errs = append(errs, fmt.Errorf("lead days %d is negative", a.LeadDays))
	}
	return errors.Join(errs...)
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseDays reads working days written as "Mon-Fri", "mon,tue,thu" or
// "Mon–Thu, Sat" (English names, three letters or full).
func ParseDays(s string) ([]time.Weekday, error) {
	var out []time.Weekday
	seen := map[time.Weekday]bool{}
	day := func(name string) (time.Weekday, error) {
		n := strings.ToLower(strings.TrimSpace(name))
		if len(n) >= 3 {
			if d, ok := dayNames[n[:3]]; ok && strings.HasPrefix(strings.ToLower(d.String()), n) {
				return d, nil
			}
		}
		return 0, fmt.Errorf("unknown weekday %q (want Mon, Tue, … Sun)", strings.TrimSpace(name))
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, isRange := strings.Cut(strings.ReplaceAll(part, "–", "-"), "-")
		a, err := day(from)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = day(to); err != nil {
				return nil, err
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
			if d == b {
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no working days")
	}
	return out, nil
}

// ParseHours reads working windows written as "09:30-17:00" or
// "09:00-12:00, 13:30-17:30" ("24:00" ends a day).
func ParseHours(s string) ([]Window, error) {
	var out []Window
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, ok := strings.Cut(strings.ReplaceAll(part, "–", "-"), "-")
		if !ok {
			return nil, fmt.Errorf("hours %q: want HH:MM-HH:MM", part)
		}
		a, err1 := parseClock(from)
		b, err2 := parseClock(to)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("hours %q: %w", part, err)
		}
		if a >= b {
			return nil, fmt.Errorf("hours %q: the end is not after the start", part)
		}
		out = append(out, Window{Start: a, End: b})
	}
	if len(out) == 0 {
		return nil, errors.New("no working hours")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out, nil
}

func parseClock(s string) (int, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) || len(m) != 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return hh*60 + mm, nil
}

// ErrNoSlots is returned when the availability leaves no free slot to
// propose.
var ErrNoSlots = errors.New("no free slot to propose")

// ProposeSlots returns up to a.Count free slots after now, on different days
// where possible, in a.Zone (nil: UTC). length overrides a.SlotLength when
// positive. The times in avoid (those the user cannot make) are busy for
// length, and their days are only used when no other day is free, so an
// alternative is not an hour after the time just declined.
func ProposeSlots(a Availability, now time.Time, length time.Duration, avoid ...time.Time) ([]Slot, error) {
	a = a.withDefaults(nil)
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if length <= 0 {
		length = a.SlotLength
	}
	zone := a.Zone
	extra := make([]Busy, 0, len(avoid))
	avoidDay := map[time.Time]bool{}
	for _, t := range avoid {
		extra = append(extra, Busy{Start: t, End: t.Add(length)})
		avoidDay[civil(t.In(zone))] = true
	}
	busy := resolveBusy(append(append([]Busy(nil), a.Busy...), extra...), zone)
	working := map[time.Weekday]bool{}
	for _, d := range a.Days {
		working[d] = true
	}
	now = now.In(zone)

	// The first day a slot may fall on: LeadDays working days after today.
	day := civil(now)
	for n := 0; n < a.LeadDays; {
		day = day.AddDate(0, 0, 1)
		if working[day.Weekday()] {
			n++
		}
	}

	// Candidate starts on a half-hour grid (a quarter-hour one for short
	// slots), so proposals read as ordinary meeting times.
	step := 30 * time.Minute
	if length < 30*time.Minute {
		step = 15 * time.Minute
	}
	// Preferred times of day, one per proposed day in turn: a morning, an
	// afternoon and a late morning give the recruiter a real choice.
	targets := []int{10 * 60, 14 * 60, 11 * 60}

	var days [][]Slot // free candidates per working day, in order
	for searched := 0; searched < 7*a.HorizonDays+7 && len(days) < a.HorizonDays; searched++ {
		d := day.AddDate(0, 0, searched)
		if !working[d.Weekday()] {
			continue
		}
		var free []Slot
		for _, w := range a.Hours {
			for m := roundUp(w.Start, int(step/time.Minute)); ; m += int(step / time.Minute) {
				start := time.Date(d.Year(), d.Month(), d.Day(), m/60, m%60, 0, 0, zone)
				if m/60 == 24 || start.Hour() != m/60 || start.Minute() != m%60 {
					// Past midnight, or a wall-clock time skipped by a
					// DST change.
					if m >= w.End {
						break
					}
					continue
				}
				end := start.Add(length)
				if !within(end, d, w.End, zone) {
					break
				}
				if !start.After(now) || overlaps(start, end, busy) {
					continue
				}
				free = append(free, Slot{Start: start, End: end})
			}
		}
		days = append(days, free)
	}

	var out []Slot
	taken := func(s Slot) bool {
		for _, o := range out {
			if s.Start.Before(o.End.Add(length)) && o.Start.Before(s.End.Add(length)) {
				return true // overlapping or back to back: not a real alternative
			}
		}
		return false
	}
	// One slot per day first, the days of avoided times last; then more
	// slots on days already used.
	for round := 0; round < 5 && len(out) < a.Count; round++ {
		for _, free := range days {
			if len(out) >= a.Count {
				break
			}
			target := targets[len(out)%len(targets)]
			best, bestDist := -1, 0
			for i, s := range free {
				if taken(s) || (round <= 1 && sameDay(s, out)) || (round == 0 && avoidDay[civil(s.Start)]) {
					continue
				}
				dist := abs(s.Start.Hour()*60 + s.Start.Minute() - target)
				if best < 0 || dist < bestDist {
					best, bestDist = i, dist
				}
			}
			if best >= 0 {
				out = append(out, free[best])
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w in the %d working days after %s", ErrNoSlots, a.HorizonDays, day.Format("2006-01-02"))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

// civil is the midnight that starts t's day, as a date carrier in UTC (safe
// from DST when adding days).
func civil(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// within reports whether end falls on day d at or before the wall-clock
// minute limit.
func within(end, d time.Time, limit int, zone *time.Location) bool {
	e := end.In(zone)
	ed := civil(e)
	if ed.Equal(d) {
		return e.Hour()*60+e.Minute() <= limit
	}
	return ed.Equal(d.AddDate(0, 0, 1)) && e.Hour() == 0 && e.Minute() == 0 && limit == 24*60
}

func sameDay(s Slot, out []Slot) bool {
	for _, o := range out {
		if civil(o.Start).Equal(civil(s.Start)) {
			return true
		}
	}
	return false
}

func roundUp(m, step int) int {
	if r := m % step; r != 0 {
		return m + step - r
	}
	return m
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

type interval struct{ start, end time.Time }

// resolveBusy pins floating busy times to zone.
func resolveBusy(bs []Busy, zone *time.Location) []interval {
	out := make([]interval, 0, len(bs))
	for _, b := range bs {
		s, e := b.Start, b.End
		if b.Floating {
			s = time.Date(s.Year(), s.Month(), s.Day(), s.Hour(), s.Minute(), s.Second(), 0, zone)
			e = time.Date(e.Year(), e.Month(), e.Day(), e.Hour(), e.Minute(), e.Second(), 0, zone)
		}
		if !e.After(s) {
			// A zero-length event still takes the moment it is at.
			e = s.Add(time.Minute)
		}
		out = append(out, interval{s, e})
	}
	return out
}

func overlaps(start, end time.Time, busy []interval) bool {
	for _, b := range busy {
		if start.Before(b.end) && b.start.Before(end) {
			return true
		}
	}
	return false
}
