package drafter

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

// maxICSBytes bounds how much of a calendar file is read.
const maxICSBytes = 32 << 20

// ParseBusyICS reads the busy times of an iCalendar file (RFC 5545), such
// as a calendar exported from the user's calendar application.
//
// Every VEVENT counts from DTSTART to DTEND (or DTSTART plus DURATION; an
// all-day event without DTEND lasts its day) except those marked
// TRANSP:TRANSPARENT (free time) or STATUS:CANCELLED. DATE-TIMEs in UTC
// ("…Z") and with a TZID (an IANA name, or a Windows one as Outlook writes
// it) are exact; all-day DATEs and DATE-TIMEs without a zone are Floating
// and taken in the availability's zone, so a holiday blocks the whole local
// day. FREEBUSY periods of a VFREEBUSY component count as busy too.
// Recurrence rules are not expanded: a recurring event blocks its first
// occurrence only.
func ParseBusyICS(r io.Reader) ([]Busy, error) {
	lines, err := icsLines(io.LimitReader(r, maxICSBytes))
	if err != nil {
		return nil, err
	}
	var (
		out      []Busy
		stack    []string
		ev       *icsEvent
		sawCal   bool
		problems []error
	)
	for _, l := range lines {
		name, params, value, ok := mailmsg.ContentLine(l.text)
		if !ok {
			if strings.TrimSpace(l.text) != "" {
				problems = append(problems, fmt.Errorf("line %d: not a content line: %q", l.n, truncate(l.text, 40)))
			}
			continue
		}
		switch name {
		case "BEGIN":
			comp := strings.ToUpper(strings.TrimSpace(value))
			stack = append(stack, comp)
			if comp == "VCALENDAR" {
				sawCal = true
			}
			if comp == "VEVENT" && len(stack) >= 2 && stack[len(stack)-2] == "VCALENDAR" {
				ev = &icsEvent{line: l.n}
			}
			continue
		case "END":
			comp := strings.ToUpper(strings.TrimSpace(value))
			if len(stack) == 0 || stack[len(stack)-1] != comp {
				problems = append(problems, fmt.Errorf("line %d: END:%s without its BEGIN", l.n, comp))
				continue
			}
			stack = stack[:len(stack)-1]
			if comp == "VEVENT" && ev != nil {
				b, keep, err := ev.busy()
				if err != nil {
					problems = append(problems, err)
				} else if keep {
					out = append(out, b)
				}
				ev = nil
			}
			continue
		}
		if len(stack) == 0 {
			continue
		}
		switch top := stack[len(stack)-1]; {
		case top == "VEVENT" && ev != nil:
			if err := ev.set(l.n, name, params, value); err != nil {
				problems = append(problems, err)
			}
		case top == "VFREEBUSY" && name == "FREEBUSY":
			bs, err := freeBusy(l.n, params, value)
			if err != nil {
				problems = append(problems, err)
			}
			out = append(out, bs...)
		}
	}
	if !sawCal {
		return nil, errors.New("not an iCalendar file: no BEGIN:VCALENDAR")
	}
	if len(stack) > 0 {
		problems = append(problems, fmt.Errorf("BEGIN:%s is never closed (file truncated?)", stack[len(stack)-1]))
	}
	if len(problems) > 0 {
		return out, errors.Join(problems...)
	}
	return out, nil
}

type icsLine struct {
	n    int // line number of the first physical line
	text string
}

// icsLines unfolds content lines (RFC 5545 section 3.1), remembering where
// each started for error messages.
func icsLines(r io.Reader) ([]icsLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var out []icsLine
	n := 0
	for sc.Scan() {
		n++
		t := strings.TrimRight(sc.Text(), "\r")
		if n == 1 {
			t = strings.TrimPrefix(t, "\ufeff")
		}
		if (strings.HasPrefix(t, " ") || strings.HasPrefix(t, "\t")) && len(out) > 0 {
			out[len(out)-1].text += t[1:]
			continue
		}
		out = append(out, icsLine{n: n, text: t})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read calendar: line %d: %w", n+1, err)
	}
	return out, nil
}

type icsEvent struct {
	line                 int
	start, end           icsTime
	hasStart, hasEnd     bool
	duration             time.Duration
	durationDays         int
	hasDuration          bool
	transparent, cancels bool
	summary              string
}

// icsTime is a DATE or DATE-TIME value.
type icsTime struct {
	t        time.Time
	date     bool // a DATE: an all-day value
	floating bool // no zone: wall-clock time, kept in time.UTC
}

func (e *icsEvent) set(n int, name string, params map[string]string, value string) error {
	var err error
	switch name {
	case "DTSTART":
		e.start, err = parseICSTime(params, value)
		e.hasStart = err == nil
	case "DTEND":
		e.end, err = parseICSTime(params, value)
		e.hasEnd = err == nil
	case "DURATION":
		e.durationDays, e.duration, err = parseICSDuration(value)
		e.hasDuration = err == nil
	case "TRANSP":
		e.transparent = strings.EqualFold(strings.TrimSpace(value), "TRANSPARENT")
	case "STATUS":
		e.cancels = strings.EqualFold(strings.TrimSpace(value), "CANCELLED")
	case "SUMMARY":
		e.summary = strings.TrimSpace(strings.NewReplacer(`\n`, " ", `\N`, " ", `\,`, ",", `\;`, ";", `\\`, `\`).Replace(value))
	}
	if err != nil {
		return fmt.Errorf("line %d: %s: %w", n, name, err)
	}
	return nil
}

// busy turns the event into a busy time; keep is false for free or
// cancelled events.
func (e *icsEvent) busy() (b Busy, keep bool, err error) {
	if e.transparent || e.cancels {
		return Busy{}, false, nil
	}
	if !e.hasStart {
		return Busy{}, false, fmt.Errorf("line %d: VEVENT without a valid DTSTART", e.line)
	}
	s := e.start
	var end time.Time
	switch {
	case e.hasEnd:
		end = e.end.t
		if e.end.floating != s.floating {
			// DTEND must be of the same kind as DTSTART (RFC 5545
			// section 3.6.1); read it in DTSTART's zone.
			end = time.Date(end.Year(), end.Month(), end.Day(), end.Hour(), end.Minute(), end.Second(), 0, s.t.Location())
		}
	case e.hasDuration:
		// Days are nominal (calendar days), the rest exact (section 3.3.6).
		end = s.t.AddDate(0, 0, e.durationDays).Add(e.duration)
	case s.date:
		end = s.t.AddDate(0, 0, 1)
	default:
		end = s.t
	}
	if end.Before(s.t) {
		return Busy{}, false, fmt.Errorf("line %d: VEVENT ends before it starts", e.line)
	}
	return Busy{Start: s.t, End: end, Floating: s.floating, Summary: e.summary}, true, nil
}

// parseICSTime reads DATE and the three forms of DATE-TIME (RFC 5545
// sections 3.3.4 and 3.3.5).
func parseICSTime(params map[string]string, v string) (icsTime, error) {
	v = strings.TrimSpace(v)
	if strings.EqualFold(params["VALUE"], "DATE") || len(v) == 8 {
		t, err := time.ParseInLocation("20060102", v, time.UTC)
		if err != nil {
			return icsTime{}, fmt.Errorf("bad DATE %q", v)
		}
		return icsTime{t: t, date: true, floating: true}, nil
	}
	if strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z") {
		t, err := time.Parse("20060102T150405", v[:len(v)-1])
		if err != nil {
			return icsTime{}, fmt.Errorf("bad DATE-TIME %q", v)
		}
		return icsTime{t: t}, nil
	}
	zone, floating := time.UTC, true
	if tzid := params["TZID"]; tzid != "" {
		if z := icsZone(tzid); z != nil {
			zone, floating = z, false
		}
	}
	t, err := time.ParseInLocation("20060102T150405", v, zone)
	if err != nil {
		return icsTime{}, fmt.Errorf("bad DATE-TIME %q", v)
	}
	return icsTime{t: t, floating: floating}, nil
}

// icsZone resolves a TZID; nil when it names no zone rsvp knows, so the time
// is read as the user's local time rather than as UTC.
func icsZone(tzid string) *time.Location {
	z := mailmsg.LoadZone(tzid)
	if z != time.UTC {
		return z
	}
	switch strings.ToUpper(strings.Trim(strings.TrimSpace(tzid), `"`)) {
	case "UTC", "GMT", "ETC/UTC", "ETC/GMT", "Z", "COORDINATED UNIVERSAL TIME":
		return time.UTC
	}
	return nil
}

// parseICSDuration reads "P1D", "PT1H30M", "-PT15M", "P2W" (RFC 5545
// section 3.3.6) into nominal days and an exact duration.
func parseICSDuration(v string) (days int, d time.Duration, err error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, 0, fmt.Errorf("bad DURATION %q", v)
	}
	s = s[1:]
	inTime := false
	num := ""
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			num += string(c)
			continue
		case c == 'T':
			inTime = true
			continue
		}
		n, e := strconv.Atoi(num)
		if e != nil {
			return 0, 0, fmt.Errorf("bad DURATION %q", v)
		}
		num = ""
		switch {
		case c == 'W' && !inTime:
			days += 7 * n
		case c == 'D' && !inTime:
			days += n
		case c == 'H' && inTime:
			d += time.Duration(n) * time.Hour
		case c == 'M' && inTime:
			d += time.Duration(n) * time.Minute
		case c == 'S' && inTime:
			d += time.Duration(n) * time.Second
		default:
			return 0, 0, fmt.Errorf("bad DURATION %q", v)
		}
	}
	if num != "" {
		return 0, 0, fmt.Errorf("bad DURATION %q", v)
	}
	if neg {
		days, d = -days, -d
	}
	return days, d, nil
}

// freeBusy reads a FREEBUSY property: comma-separated UTC periods
// "start/end" or "start/duration" (RFC 5545 section 3.8.2.6).
func freeBusy(n int, params map[string]string, value string) ([]Busy, error) {
	if t := strings.ToUpper(params["FBTYPE"]); t == "FREE" {
		return nil, nil
	}
	var out []Busy
	for _, p := range strings.Split(value, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok {
			return out, fmt.Errorf("line %d: FREEBUSY period %q: want start/end", n, p)
		}
		s, err := parseICSTime(nil, a)
		if err != nil || s.date {
			return out, fmt.Errorf("line %d: FREEBUSY period %q: bad start", n, p)
		}
		var end time.Time
		if strings.HasPrefix(strings.TrimLeft(b, "+-"), "P") {
			days, d, err := parseICSDuration(b)
			if err != nil {
				return out, fmt.Errorf("line %d: FREEBUSY period %q: %w", n, p, err)
			}
			end = s.t.AddDate(0, 0, days).Add(d)
		} else {
			e, err := parseICSTime(nil, b)
			if err != nil {
				return out, fmt.Errorf("line %d: FREEBUSY period %q: bad end", n, p)
			}
			end = e.t
		}
		if end.Before(s.t) {
			return out, fmt.Errorf("line %d: FREEBUSY period %q ends before it starts", n, p)
		}
		out = append(out, Busy{Start: s.t, End: end, Floating: s.floating})
	}
	return out, nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
