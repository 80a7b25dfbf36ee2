package classifier

import (
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

// Proposed interview times are read from the text with a small hand-written
// parser over a token stream rather than with regular expressions: a date
// ("Tuesday 1st December", "24.11.", "el martes 1 de diciembre"), a time
// ("10am", "14h30", "10:00 Uhr", "a las 10"), an optional range end and an
// optional zone are recognised at each token with a bounded look-ahead, so
// the work is linear in the text. A time is only kept when it is tied to a
// date: right after it on the same line ("Wed 25 Nov 10:00"), right before it
// ("at 10am on Tuesday 1st December"), or at the start of the lines that
// follow a date standing on its own line ("Date: …" / "Time: …", or a
// schedule under a date heading). A date without a time is no proposal.

// maxTimesText bounds the text scanned for times, maxTimes the proposals
// kept: nobody offers more than a handful of slots.
const (
	maxTimesText = 64 << 10
	maxTimes     = 20
)

// extractTimes returns the proposed interview starts: the calendar's DTSTART
// first, then the times in the fresh text in order, without duplicates.
func extractTimes(m messageDates, text string, zone *time.Location) []time.Time {
	var out []time.Time
	add := func(t time.Time) {
		if len(out) >= maxTimes {
			return
		}
		for _, o := range out {
			if o.Equal(t) {
				return
			}
		}
		out = append(out, t)
	}
	if !m.calStart.IsZero() && !m.calAllDay {
		add(m.calStart)
	}
	for _, t := range timesInText(text, m.date, zone) {
		add(t)
	}
	return out
}

// messageDates is what time extraction needs of a message.
type messageDates struct {
	date      time.Time // the Date header; zero when absent
	calStart  time.Time
	calAllDay bool
}

// timesInText finds date+time proposals in text. ref is the message date
// (year-less dates are placed relative to it); fallback is the zone for
// times that state none (nil: ref's zone, else UTC).
func timesInText(text string, ref time.Time, fallback *time.Location) []time.Time {
	if len(text) > maxTimesText {
		text = text[:maxTimesText]
	}
	if fallback == nil {
		if !ref.IsZero() {
			fallback = ref.Location()
		} else {
			fallback = time.UTC
		}
	}
	if ref.IsZero() {
		ref = time.Now()
	}
	buf := borrowToks()
	p := &dtParser{toks: tokenize((*buf)[:0], text, true, -1), ref: ref}
	p.scan()
	times := p.resolve(fallback)
	returnToks(buf, p.toks)
	return times
}

// dtTok is one token of the text: a word, a number or a punctuation rune.
type dtTok struct {
	text  string // as written
	low   string // folded: lower case, no diacritics
	kind  byte   // 'w' word, 'n' number, 'p' punctuation
	line  int    // 0-based line number
	space bool   // white space comes right before it
	// start and end are the token's byte offsets in the text.
	start, end int
}

// tokBufs lends token slices. Extract tokenizes an invitation's text more
// than once, at 72 bytes a token and a token every five bytes or so, and
// each slice would be garbage right after.
var tokBufs = sync.Pool{New: func() any { return new([]dtTok) }}

func borrowToks() *[]dtTok { return tokBufs.Get().(*[]dtTok) }

// returnToks gives back the slice borrowed as buf, as toks (the tokens
// tokenize appended to it), once nothing refers to them any more.
func returnToks(buf *[]dtTok, toks []dtTok) {
	clear(toks) // the tokens' strings keep the text alive
	*buf = toks[:0]
	tokBufs.Put(buf)
}

// tokenize appends to toks the words, numbers and punctuation runes of s,
// at most max tokens (-1: no limit). With joinApostrophes an apostrophe
// between letters stays inside the word ("aujourd'hui", "O'Neill").
func tokenize(toks []dtTok, s string, joinApostrophes bool, max int) []dtTok {
	// Prose has a token every five bytes or so: sized for that, the slice
	// is not copied over and over as it grows.
	n := len(s)/4 + 1
	if max >= 0 {
		n = min(n, max)
	}
	toks = slices.Grow(toks, n)
	base := len(toks)
	line := 0
	space := true
	for i := 0; i < len(s) && (max < 0 || len(toks)-base < max); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\n':
			line++
			space = true
			i += size
		case unicode.IsSpace(r):
			space = true
			i += size
		case isDigit(r):
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			toks = append(toks, dtTok{text: s[i:j], low: s[i:j], kind: 'n', line: line, space: space, start: i, end: j})
			space = false
			i = j
		case unicode.IsLetter(r):
			j := i + size
			for j < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[j:])
				if unicode.IsLetter(r2) || unicode.Is(unicode.Mn, r2) {
					j += n2
					continue
				}
				if joinApostrophes && (r2 == '\'' || r2 == '’') && j+n2 < len(s) {
					r3, _ := utf8.DecodeRuneInString(s[j+n2:])
					if unicode.IsLetter(r3) {
						j += n2
						continue
					}
				}
				break
			}
			w := s[i:j]
			toks = append(toks, dtTok{text: w, low: fold(w), kind: 'w', line: line, space: space, start: i, end: j})
			space = false
			i = j
		default:
			toks = append(toks, dtTok{text: s[i : i+size], low: s[i : i+size], kind: 'p', line: line, space: space, start: i, end: i + size})
			space = false
			i += size
		}
	}
	return toks
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// A civil date as written; y is 0 when the year is not stated, d is 0 for a
// bare weekday, rel is the day offset of "today"/"tomorrow".
type dtDate struct {
	y, m, d int
	wd      int // time.Weekday, or -1
	rel     int // -1 unless relative
	start   int // token span [start, end)
	end     int
	line    int
	endLine int
	weak    bool // a bare weekday or relative day: only tied to a time right next to it
	zone    *time.Location
}

// A time of day as written.
type dtClock struct {
	h, m   int
	mer    byte // 'a', 'p' or 0
	h24    bool // an explicit 24-hour marker: "Uhr", "h", "hrs"
	lead0  bool // written with a leading zero: "09:00"
	minute bool // minutes were written
}

// One proposed time: a start with an optional end and zone.
type dtTime struct {
	start, end dtClock
	hasEnd     bool
	zone       *time.Location
}

// A run of times written together: "09:00 or 16:00", "2:00 PM – 3:30 PM
// Eastern (7:00 PM – 8:30 PM GMT)".
type dtGroup struct {
	times      []dtTime
	start, end int
	line       int
	endLine    int
}

type dtZone struct {
	loc        *time.Location
	start, end int
	line       int
	global     bool // may set the zone for the whole message
	attached   bool // directly follows a time
}

type dtParser struct {
	toks  []dtTok
	ref   time.Time
	dates []*dtDate
	zones []*dtZone
	order []any // dates and groups in text order
}

func (p *dtParser) tok(i int) *dtTok {
	if i < 0 || i >= len(p.toks) {
		return nil
	}
	return &p.toks[i]
}

func (p *dtParser) isP(i int, s ...string) bool {
	t := p.tok(i)
	if t == nil || t.kind != 'p' {
		return false
	}
	for _, x := range s {
		if t.text == x {
			return true
		}
	}
	return false
}

func (p *dtParser) isW(i int, s ...string) bool {
	t := p.tok(i)
	if t == nil || t.kind != 'w' {
		return false
	}
	for _, x := range s {
		if t.low == x {
			return true
		}
	}
	return false
}

func (p *dtParser) num(i int) (int, bool) {
	t := p.tok(i)
	if t == nil || t.kind != 'n' || len(t.text) > 4 {
		return 0, false
	}
	n := 0
	for _, c := range t.text {
		n = n*10 + int(c-'0')
	}
	return n, true
}

func (p *dtParser) scan() {
	for i := 0; i < len(p.toks); {
		if z, ok := p.zoneAt(i); ok {
			p.zones = append(p.zones, z)
			i = z.end
			continue
		}
		if d, ok := p.dateAt(i); ok {
			p.dates = append(p.dates, d)
			p.order = append(p.order, d)
			i = d.end
			continue
		}
		if g, ok := p.groupAt(i); ok {
			p.order = append(p.order, g)
			i = g.end
			continue
		}
		i++
	}
	// The zone stated on a date's own line applies to the times under it.
	for _, d := range p.dates {
		for _, z := range p.zones {
			if z.global && !z.attached && z.start >= d.end && z.line == d.endLine {
				d.zone = z.loc
				break
			}
		}
	}
}

// ---- dates ----

var dtWeekdays = map[string]int{
	"monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6, "sunday": 0,
	"montag": 1, "dienstag": 2, "mittwoch": 3, "donnerstag": 4, "freitag": 5, "samstag": 6, "sonnabend": 6, "sonntag": 0,
	"lundi": 1, "mardi": 2, "mercredi": 3, "jeudi": 4, "vendredi": 5, "samedi": 6, "dimanche": 0,
	"lunes": 1, "martes": 2, "miercoles": 3, "jueves": 4, "viernes": 5, "sabado": 6, "domingo": 0,
}

// Abbreviated weekdays only count in front of a full date: "Tue 24 Nov",
// "Di, 24.11.", "mar. 1 déc.".
var dtWeekdayAbbr = map[string]int{
	"mon": 1, "tue": 2, "tues": 2, "wed": 3, "thu": 4, "thur": 4, "thurs": 4, "fri": 5, "sat": 6, "sun": 0,
	"mo": 1, "di": 2, "mi": 3, "do": 4, "fr": 5, "sa": 6, "so": 0,
	"lun": 1, "mar": 2, "mer": 3, "jeu": 4, "ven": 5, "sam": 6, "dim": 0,
	"mie": 3, "jue": 4, "vie": 5, "sab": 6, "dom": 0,
}

var dtMonths = map[string]int{
	"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
	"june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
	"october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
	"januar": 1, "janner": 1, "februar": 2, "marz": 3, "maerz": 3, "mai": 5, "juni": 6, "juli": 7,
	"oktober": 10, "okt": 10, "dezember": 12, "dez": 12,
	"janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4, "juin": 6,
	"juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
	"enero": 1, "ene": 1, "febrero": 2, "marzo": 3, "abril": 4, "abr": 4, "mayo": 5, "junio": 6, "julio": 7,
	"agosto": 8, "ago": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12, "dic": 12,
}

// Day offsets of relative days, only used right before a time
// ("tomorrow at 3pm", "morgen um 10 Uhr", "demain à 14h", "mañana a las 10").
var dtRelative = map[string]int{
	"today": 0, "heute": 0, "aujourd'hui": 0, "aujourd’hui": 0, "hoy": 0,
	"tomorrow": 1, "morgen": 1, "demain": 1, "manana": 1, "ubermorgen": 2,
}

func (p *dtParser) monthAt(i int) (int, int, bool) {
	t := p.tok(i)
	if t == nil || t.kind != 'w' {
		return 0, i, false
	}
	m, ok := dtMonths[t.low]
	if !ok {
		return 0, i, false
	}
	i++
	if p.isP(i, ".") && !p.tok(i).space {
		i++
	}
	return m, i, true
}

func (p *dtParser) yearAt(i int) (int, int, bool) {
	t := p.tok(i)
	if t == nil || t.kind != 'n' || len(t.text) != 4 {
		return 0, i, false
	}
	y, _ := p.num(i)
	if y < 1990 || y > 2100 {
		return 0, i, false
	}
	// Not the start of a time ("2026 10:00" is fine, "1030 Uhr" is not a year).
	if p.isP(i+1, ":") {
		return 0, i, false
	}
	return y, i + 1, true
}

var dtOrdinals = map[string]bool{"st": true, "nd": true, "rd": true, "th": true, "er": true, "re": true, "eme": true, "o": true, "a": true, "º": true, "ª": true}

// clockFollows reports whether a time of day starts at token i right after
// a number: "10:00", "10am", "14h", "10 Uhr", "10.30 Uhr".
func (p *dtParser) clockFollows(i int) bool {
	if p.isP(i, ":") {
		return true
	}
	if p.isW(i, "am", "pm", "uhr", "h", "hrs", "hr") {
		return true
	}
	return false
}

func (p *dtParser) dateAt(i int) (*dtDate, bool) {
	if d, ok := p.dateAtOpt(i, true); ok {
		return d, true
	}
	// "Mar 24" is March, not Tuesday ("mar.") followed by a stray number.
	if t := p.tok(i); t != nil && t.kind == 'w' {
		if _, ok := dtWeekdayAbbr[t.low]; ok {
			return p.dateAtOpt(i, false)
		}
	}
	return nil, false
}

// dateAtOpt reads a date at token i; abbr allows an abbreviated weekday in
// front of it.
func (p *dtParser) dateAtOpt(i int, abbr bool) (*dtDate, bool) {
	start := i
	t := p.tok(i)
	if t == nil {
		return nil, false
	}
	// Most tokens start no date: d stays on the stack until one is found.
	d := dtDate{wd: -1, rel: -1, start: start, line: t.line}
	finish := func(end int) (*dtDate, bool) {
		d.end = end
		d.endLine = p.toks[end-1].line
		found := d
		return &found, true
	}
	if t.kind == 'w' {
		if r, ok := dtRelative[t.low]; ok {
			// "mañana" after "la"/"por la" is the morning, and "morgen"
			// capitalised mid-sentence is too ("Guten Morgen").
			if (t.low == "manana" && p.isW(i-1, "la", "de")) || (t.low == "morgen" && p.isW(i-1, "guten")) {
				return nil, false
			}
			d.rel, d.weak = r, true
			return finish(i + 1)
		}
	}
	full := false
	if t.kind == 'w' {
		if wd, ok := dtWeekdays[t.low]; ok {
			d.wd, full = wd, true
			i++
		} else if wd, ok := dtWeekdayAbbr[t.low]; ok && abbr {
			// Only in front of a full date; tried below.
			d.wd = wd
			i++
			if p.isP(i, ".") && !p.tok(i).space {
				i++
			}
		}
	}
	afterWeekday := i
	if d.wd >= 0 {
		if p.isP(i, ",") {
			i++
		}
		if p.isW(i, "den", "le", "el", "the") {
			i++
		}
	}
	if day, ok := p.num(i); ok && len(p.toks[i].text) <= 2 && day >= 1 && day <= 31 && !p.clockFollows(i+1) {
		k := i + 1
		// German numeric date: 24.11. / 24.11.2026 / 24.11.26
		if p.isP(k, ".") && !p.tok(k).space {
			if mon, ok := p.num(k + 1); ok && len(p.toks[k+1].text) <= 2 && !p.tok(k+1).space && mon >= 1 && mon <= 12 {
				e := k + 2
				dotAfter := p.isP(e, ".") && !p.tok(e).space
				if dotAfter {
					e++
					if y, ok := p.num(e); ok && !p.tok(e).space && !p.isP(e+1, ":") {
						if len(p.toks[e].text) == 4 && y >= 1990 && y <= 2100 {
							d.y = y
							e++
						} else if len(p.toks[e].text) == 2 {
							d.y = 2000 + y
							e++
						}
					}
				}
				if (dotAfter || d.wd >= 0) && !p.clockFollows(e) {
					d.m, d.d = mon, day
					return finish(e)
				}
			}
			// "24. November"
			if _, _, ok := p.monthAt(k + 1); ok {
				k++
			}
		}
		// European/US slashed dates with a year: 24/11/2026.
		if p.isP(k, "/") && !p.tok(k).space {
			if a, ok := p.num(k + 1); ok && p.isP(k+2, "/") {
				if y, e, ok := p.yearAt(k + 3); ok {
					switch {
					case day > 12 && a <= 12:
						d.d, d.m, d.y = day, a, y
					case a > 12 && day <= 12:
						d.d, d.m, d.y = a, day, y
					default:
						return nil, false // ambiguous: 03/04/2026
					}
					return finish(e)
				}
			}
		}
		if tt := p.tok(k); tt != nil && tt.kind == 'w' && !tt.space && dtOrdinals[tt.low] {
			k++
		}
		if p.isW(k, "of", "de") {
			k++
		}
		if mon, e, ok := p.monthAt(k); ok {
			d.d, d.m = day, mon
			if p.isW(e, "de") {
				if y, e2, ok := p.yearAt(e + 1); ok {
					d.y = y
					e = e2
				}
			} else {
				e2 := e
				if p.isP(e2, ",") {
					e2++
				}
				if y, e3, ok := p.yearAt(e2); ok {
					d.y = y
					e = e3
				}
			}
			return finish(e)
		}
		if full {
			// "Wednesday 18th": the month follows from the weekday.
			d.d = day
			return finish(k)
		}
	}
	if mon, k, ok := p.monthAt(i); ok {
		if day, ok := p.num(k); ok && len(p.toks[k].text) <= 2 && day >= 1 && day <= 31 && !p.clockFollows(k+1) {
			e := k + 1
			if tt := p.tok(e); tt != nil && tt.kind == 'w' && !tt.space && dtOrdinals[tt.low] {
				e++
			}
			d.d, d.m = day, mon
			e2 := e
			if p.isP(e2, ",") {
				e2++
			}
			if y, e3, ok := p.yearAt(e2); ok {
				d.y = y
				e = e3
			}
			return finish(e)
		}
	}
	// ISO 8601: 2026-11-24
	if y, ok := p.num(i); ok && len(p.toks[i].text) == 4 && y >= 1990 && y <= 2100 && p.isP(i+1, "-") {
		if mon, ok := p.num(i + 2); ok && len(p.toks[i+2].text) == 2 && p.isP(i+3, "-") {
			if day, ok := p.num(i + 4); ok && len(p.toks[i+4].text) == 2 && mon >= 1 && mon <= 12 && day >= 1 && day <= 31 {
				d.y, d.m, d.d = y, mon, day
				return finish(i + 5)
			}
		}
	}
	if full {
		d.weak = true
		return finish(afterWeekday)
	}
	return nil, false
}

// ---- times ----

// clockAt reads one time of day at token i.
func (p *dtParser) clockAt(i int) (dtClock, int, bool) {
	var c dtClock
	prefixed := false
	// Spanish "a las 10", "a la 1".
	if p.isW(i, "a") && p.isW(i+1, "las", "la") {
		if _, ok := p.num(i + 2); ok {
			i += 2
			prefixed = true
		}
	} else if p.isW(i, "las") {
		if _, ok := p.num(i + 1); ok && p.isW(i-1, "a", "desde", "hasta", "y", "o", "entre") {
			i++
			prefixed = true
		}
	}
	t := p.tok(i)
	if t == nil {
		return c, i, false
	}
	if t.kind == 'w' && (t.low == "noon" || t.low == "midday") {
		return dtClock{h: 12, mer: 'p', minute: true}, i + 1, true
	}
	h, ok := p.num(i)
	if !ok || len(t.text) > 2 || h > 24 {
		return c, i, false
	}
	c.h = h
	c.lead0 = len(t.text) == 2 && t.text[0] == '0'
	k := i + 1
	marker := false
	switch {
	case p.isP(k, ":") && !p.tok(k).space:
		mm, ok := p.num(k + 1)
		if !ok || len(p.toks[k+1].text) != 2 || p.tok(k+1).space || mm > 59 {
			return c, i, false
		}
		c.m, c.minute = mm, true
		k += 2
		// "10:00:00"
		if p.isP(k, ":") && !p.tok(k).space {
			if _, ok := p.num(k + 1); ok && len(p.toks[k+1].text) == 2 {
				k += 2
			}
		}
	case p.isP(k, ".") && !p.tok(k).space:
		mm, ok := p.num(k + 1)
		if !ok || len(p.toks[k+1].text) != 2 || p.tok(k+1).space || mm > 59 {
			return c, i, false
		}
		// "10.30" is only a time with a marker after it: "10.30 Uhr", "10.30am".
		if !p.isW(k+2, "uhr", "h", "am", "pm", "hrs") && !p.isAMPMDots(k+2) {
			return c, i, false
		}
		c.m, c.minute = mm, true
		k += 2
	case p.isW(k, "h") || p.isW(k, "hs"):
		// French/Spanish "14h30", "14h", "14 h 30".
		c.h24, marker = true, true
		k++
		if mm, ok := p.num(k); ok && len(p.toks[k].text) == 2 && mm <= 59 {
			c.m, c.minute = mm, true
			k++
		}
	}
	switch {
	case p.isW(k, "am", "pm"):
		c.mer = p.toks[k].low[0]
		marker = true
		k++
	case p.isAMPMDots(k):
		c.mer = p.toks[k].low[0]
		marker = true
		k += 3
		if p.isP(k, ".") {
			k++
		}
	case p.isW(k, "uhr", "h", "hrs", "hr", "horas", "hs"):
		c.h24, marker = true, true
		k++
	}
	if c.mer != 0 {
		if c.h < 1 || c.h > 12 {
			return c, i, false
		}
	} else if c.h > 23 && !(c.h == 24 && c.m == 0) {
		return c, i, false
	}
	if !c.minute && !marker && !prefixed {
		return c, i, false
	}
	if c.h == 24 {
		c.h = 0
	}
	return c, k, true
}

// isAMPMDots matches "a.m." / "p.m." at i.
func (p *dtParser) isAMPMDots(i int) bool {
	return p.isW(i, "a", "p") && p.isP(i+1, ".") && p.isW(i+2, "m")
}

// rangeSep reports the end of a range separator at i: "–", "-", "to",
// "until", "bis", "à", "a", "hasta".
func (p *dtParser) rangeSep(i int) (int, bool) {
	if p.isP(i, "-", "–", "—", "‐", "‑", "−", "~") {
		return i + 1, true
	}
	// "à" folds to "a": French "de 14h à 15h", Spanish "de 10:00 a 11:00".
	if p.isW(i, "to", "until", "till", "bis", "a", "hasta", "au") {
		if p.isW(i+1, "las", "la") {
			return i + 2, true
		}
		return i + 1, true
	}
	return i, false
}

// altSep reports the end of a separator between alternative times at i.
func (p *dtParser) altSep(i int) (int, bool) {
	j := i
	n := 0
	for n < 3 {
		switch {
		case p.isP(j, ",", "/", ";", "("):
		case p.isW(j, "or", "oder", "ou", "o", "at", "um", "a", "las", "alternatively", "alternativ"):
		default:
			return j, n > 0
		}
		j++
		n++
	}
	return j, true
}

func (p *dtParser) groupAt(i int) (*dtGroup, bool) {
	if _, _, ok := p.clockAt(i); !ok {
		return nil, false // most tokens: no group is made for them
	}
	g := &dtGroup{start: i}
	j := i
	for len(g.times) < 12 {
		c, k, ok := p.clockAt(j)
		if !ok {
			break
		}
		tm := dtTime{start: c}
		if e, ok := p.rangeSep(k); ok {
			if c2, k2, ok := p.clockAt(e); ok {
				tm.end, tm.hasEnd = c2, true
				k = k2
			}
		}
		if z, ok := p.zoneAfter(k); ok {
			tm.zone = z.loc
			k = z.end
		}
		g.times = append(g.times, tm)
		j = k
		if p.isP(j, ")") {
			j++
		}
		next, ok := p.altSep(j)
		if !ok {
			break
		}
		if _, _, ok := p.clockAt(next); !ok {
			break
		}
		j = next
	}
	if len(g.times) == 0 {
		return nil, false
	}
	g.end = j
	if g.end <= g.start {
		g.end = g.start + 1
	}
	g.line = p.toks[i].line
	g.endLine = p.toks[g.end-1].line
	// A zone written once after a list of times holds for all of them.
	for k := len(g.times) - 2; k >= 0; k-- {
		if g.times[k].zone == nil {
			g.times[k].zone = g.times[k+1].zone
		}
	}
	return g, true
}

// ---- zones ----

type dtZoneName struct {
	words  []string
	upper  bool // an abbreviation: must be written in capitals
	weak   bool // only right after a time or in "all times X"
	iana   string
	offset bool // may carry +h / -h:mm
}

var dtZoneNames = map[string][]dtZoneName{}

func init() {
	add := func(phrase, iana string, upper, weak, offset bool) {
		w := strings.Fields(phrase)
		dtZoneNames[w[0]] = append(dtZoneNames[w[0]], dtZoneName{words: w, upper: upper, weak: weak, iana: iana, offset: offset})
	}
	add("gmt", "GMT", true, false, true)
	add("utc", "UTC", true, false, true)
	for _, z := range []struct{ abbr, iana string }{
		{"bst", "Europe/London"},
		{"cet", "Europe/Berlin"}, {"cest", "Europe/Berlin"}, {"mez", "Europe/Berlin"}, {"mesz", "Europe/Berlin"},
		{"est", "America/New_York"}, {"edt", "America/New_York"},
		{"pst", "America/Los_Angeles"}, {"pdt", "America/Los_Angeles"},
		{"cst", "America/Chicago"}, {"cdt", "America/Chicago"},
		{"mst", "America/Denver"}, {"mdt", "America/Denver"},
		{"wet", "Europe/Lisbon"}, {"eet", "Europe/Helsinki"}, {"eest", "Europe/Helsinki"},
		{"sgt", "Asia/Singapore"}, {"jst", "Asia/Tokyo"}, {"aest", "Australia/Sydney"}, {"aedt", "Australia/Sydney"},
	} {
		add(z.abbr, z.iana, true, false, false)
	}
	for _, z := range []struct{ abbr, iana string }{
		{"et", "America/New_York"}, {"pt", "America/Los_Angeles"}, {"ct", "America/Chicago"}, {"uk", "Europe/London"},
	} {
		add(z.abbr, z.iana, true, true, false)
	}
	for _, z := range []struct{ phrase, iana string }{
		{"eastern", "America/New_York"}, {"pacific", "America/Los_Angeles"}, {"london", "Europe/London"},
	} {
		add(z.phrase, z.iana, false, true, false)
	}
	for _, z := range []struct{ phrase, iana string }{
		{"uk time", "Europe/London"}, {"london time", "Europe/London"}, {"british time", "Europe/London"},
		{"british summer time", "Europe/London"}, {"greenwich mean time", "Europe/London"},
		{"irish time", "Europe/Dublin"}, {"dublin time", "Europe/Dublin"},
		{"central european time", "Europe/Berlin"}, {"central european summer time", "Europe/Berlin"},
		{"central european standard time", "Europe/Berlin"}, {"berlin time", "Europe/Berlin"},
		{"deutsche zeit", "Europe/Berlin"}, {"deutscher zeit", "Europe/Berlin"}, {"berliner zeit", "Europe/Berlin"},
		{"mitteleuropaische zeit", "Europe/Berlin"}, {"mitteleuropaischer zeit", "Europe/Berlin"},
		{"mitteleuropaische sommerzeit", "Europe/Berlin"}, {"wiener zeit", "Europe/Vienna"},
		{"schweizer zeit", "Europe/Zurich"}, {"osterreichische zeit", "Europe/Vienna"},
		{"paris time", "Europe/Paris"}, {"heure de paris", "Europe/Paris"}, {"heure francaise", "Europe/Paris"},
		{"heure de france", "Europe/Paris"}, {"heure d'europe centrale", "Europe/Paris"},
		{"heure de bruxelles", "Europe/Brussels"}, {"heure de geneve", "Europe/Zurich"},
		{"hora peninsular", "Europe/Madrid"}, {"hora de madrid", "Europe/Madrid"}, {"hora espanola", "Europe/Madrid"},
		{"hora de espana", "Europe/Madrid"}, {"hora central europea", "Europe/Madrid"}, {"madrid time", "Europe/Madrid"},
		{"hora de mexico", "America/Mexico_City"}, {"hora de la ciudad de mexico", "America/Mexico_City"},
		{"hora de buenos aires", "America/Argentina/Buenos_Aires"}, {"hora de argentina", "America/Argentina/Buenos_Aires"},
		{"hora de bogota", "America/Bogota"}, {"hora de colombia", "America/Bogota"},
		{"eastern time", "America/New_York"}, {"eastern standard time", "America/New_York"},
		{"eastern daylight time", "America/New_York"}, {"new york time", "America/New_York"},
		{"pacific time", "America/Los_Angeles"}, {"pacific standard time", "America/Los_Angeles"},
		{"central time", "America/Chicago"}, {"mountain time", "America/Denver"},
		{"amsterdam time", "Europe/Amsterdam"}, {"lisbon time", "Europe/Lisbon"},
		// Calendar programs write the zone out: "Central European Time -
		// Berlin", "Mitteleuropäische Normalzeit", "hora estándar de
		// Europa central", "heure normale d'Europe centrale".
		{"central european standard time", "Europe/Berlin"}, {"mitteleuropaische normalzeit", "Europe/Berlin"},
		{"mitteleuropaische sommerzeit", "Europe/Berlin"}, {"heure normale d'europe centrale", "Europe/Paris"},
		{"heure d'ete d'europe centrale", "Europe/Paris"}, {"hora estandar de europa central", "Europe/Madrid"},
		{"hora de verano de europa central", "Europe/Madrid"}, {"hora de europa central", "Europe/Madrid"},
		{"british summer time", "Europe/London"}, {"heure moyenne de greenwich", "Europe/London"},
		{"hora del meridiano de greenwich", "Europe/London"}, {"westeuropaische zeit", "Europe/Lisbon"},
		{"eastern standard time", "America/New_York"}, {"heure de l'est", "America/New_York"},
	} {
		add(z.phrase, z.iana, false, false, false)
	}
}

// zoneAt matches a zone name at token i, longest phrase first.
func (p *dtParser) zoneAt(i int) (*dtZone, bool) {
	t := p.tok(i)
	if t == nil || t.kind != 'w' {
		return nil, false
	}
	var best *dtZoneName
	for k := range dtZoneNames[t.low] {
		zn := &dtZoneNames[t.low][k]
		if zn.upper && t.text != strings.ToUpper(t.text) {
			continue
		}
		if !p.wordsAt(i, zn.words) {
			continue
		}
		if best == nil || len(zn.words) > len(best.words) {
			best = zn
		}
	}
	if best == nil {
		return nil, false
	}
	var loc *time.Location
	if best.iana == "GMT" {
		loc = time.FixedZone("GMT", 0)
	} else {
		var err error
		if loc, err = mailmsg.LoadLocation(best.iana); err != nil {
			return nil, false
		}
	}
	end := i + p.phraseLen(i, best.words)
	if best.offset {
		if p.isP(end, "+", "-", "−") {
			sign := 1
			if !p.isP(end, "+") {
				sign = -1
			}
			if h, ok := p.num(end + 1); ok && len(p.toks[end+1].text) <= 2 && h <= 14 {
				mins := 0
				e := end + 2
				if p.isP(e, ":") {
					if mm, ok := p.num(e + 1); ok && len(p.toks[e+1].text) == 2 {
						mins = mm
						e += 2
					}
				} else if len(p.toks[end+1].text) == 4 {
					h, mins = h/100, h%100
				}
				off := sign * (h*3600 + mins*60)
				loc = time.FixedZone(p.toks[i].text+p.toks[end].text+p.toks[end+1].text, off)
				end = e
			}
		}
	}
	z := &dtZone{loc: loc, start: i, end: end, line: t.line}
	z.global = !best.weak || p.timesContext(i)
	return z, true
}

// wordsAt reports whether the words of a phrase start at token i
// ("heure d'europe centrale" tokenizes as heure, d'europe, centrale).
func (p *dtParser) wordsAt(i int, words []string) bool {
	return p.phraseLen(i, words) > 0
}

func (p *dtParser) phraseLen(i int, words []string) int {
	j := i
	for _, w := range words {
		if !p.isW(j, w) {
			return 0
		}
		j++
	}
	return j - i
}

// timesContext reports whether the words before token i say the times are
// in a zone: "All times UK", "times are in ET".
func (p *dtParser) timesContext(i int) bool {
	j := i - 1
	for n := 0; n < 3 && j >= 0; n++ {
		if p.isW(j, "are", "in", "shown", "given") {
			j--
			continue
		}
		break
	}
	return p.isW(j, "times", "time")
}

// zoneAfter matches a zone right after a time: "GMT", "(CET)", "Uhr MEZ",
// "Eastern", "UK time".
func (p *dtParser) zoneAfter(i int) (*dtZone, bool) {
	j := i
	paren := false
	if p.isP(j, "(") {
		j++
		paren = true
	}
	z, ok := p.zoneAt(j)
	if !ok {
		return nil, false
	}
	if paren {
		if !p.isP(z.end, ")") {
			return nil, false
		}
		z.end++
	}
	z.attached = true
	p.zones = append(p.zones, z)
	return z, true
}

// ---- tying times to dates ----

// glue words may stand between a date and its time on one line.
var dtGlue = map[string]bool{
	"at": true, "on": true, "from": true, "between": true, "starting": true, "start": true, "time": true,
	"um": true, "ab": true, "von": true, "zwischen": true, "am": true, "den": true, "zeit": true, "uhrzeit": true, "beginn": true,
	"a": true, "las": true, "la": true, "de": true, "entre": true, "desde": true, "hora": true, "el": true,
	"le": true, "heure": true, "des": true, "vers": true, "around": true, "approx": true, "ca": true,
}

// gapIsGlue reports whether tokens [a, b) only join a date and a time.
func (p *dtParser) gapIsGlue(a, b int) bool {
	if b-a > 6 {
		return false
	}
	for k := a; k < b; k++ {
		t := &p.toks[k]
		switch t.kind {
		case 'p':
			if !strings.Contains(",-–—:(·⋅|@/", t.text) {
				return false
			}
		case 'w':
			if !dtGlue[t.low] {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// lineInitial reports whether token i starts its line, after at most a
// bullet or a "Time:" label.
func (p *dtParser) lineInitial(i int) bool {
	line := p.toks[i].line
	for k := i - 1; k >= 0 && p.toks[k].line == line; k-- {
		t := &p.toks[k]
		switch t.kind {
		case 'p':
			if !strings.Contains("-–—•*·:>()▪◦‣", t.text) {
				return false
			}
		case 'w':
			switch t.low {
			case "time", "times", "when", "zeit", "uhrzeit", "wann", "heure", "horaire", "hora", "horario", "cuando", "slot", "option", "at", "um", "a", "las", "from", "von", "de":
			default:
				return false
			}
		default:
			// "1." / "2)" numbering
			if !(p.isP(k+1, ".", ")") && k == p.lineStart(k)) {
				return false
			}
		}
	}
	return true
}

func (p *dtParser) lineStart(i int) int {
	for i > 0 && p.toks[i-1].line == p.toks[i].line {
		i--
	}
	return i
}

// A time paired with a date, before zones and years are applied.
type dtPair struct {
	date *dtDate
	tm   dtTime
}

func (p *dtParser) pairs() []dtPair {
	var out []dtPair
	var cur *dtDate      // the date heading a block of time lines
	blockLine := -1      // last line of the block so far
	blockEnd := 0        // token index where the block's last item ended
	var prevEnd *dtClock // end of the previous block entry (schedules)
	var prevDate *dtDate
	prevDateEnd := -1
	for idx, item := range p.order {
		switch it := item.(type) {
		case *dtDate:
			cur, prevEnd = nil, nil
			if !it.weak {
				cur = it
				blockLine, blockEnd = it.endLine, it.end
			}
			prevDate, prevDateEnd = it, it.end
		case *dtGroup:
			// Right after a date: "Tue 24 Nov 14:00", "Dienstag, 24.11., 10:00 Uhr".
			if prevDate != nil && prevDateEnd >= 0 && it.line-prevDate.endLine <= 1 && p.gapIsGlue(prevDateEnd, it.start) {
				if p.proposal(prevDate, it) {
					for _, tm := range it.times {
						out = append(out, dtPair{prevDate, tm})
					}
				}
				prevDateEnd = -1
				if cur == prevDate {
					blockLine, blockEnd = it.endLine, it.end
					prevEnd = lastEnd(it)
				}
				continue
			}
			// Right before a date: "at 10am on Tuesday 1st December".
			if idx+1 < len(p.order) {
				if d, ok := p.order[idx+1].(*dtDate); ok && d.line == it.endLine && d.start-it.end <= 3 && p.gapIsGlue(it.end, d.start) {
					if p.proposal(d, it) {
						for _, tm := range it.times {
							out = append(out, dtPair{d, tm})
						}
					}
					continue
				}
			}
			// A time line under a date line.
			if cur != nil && p.lineInitial(it.start) && it.line > blockLine && it.line-blockLine <= 3 && p.onlyOnLine(blockEnd, it.start, blockLine) {
				if prevEnd != nil && continues(*prevEnd, it.times[0]) {
					// The next session of one schedule, not another option.
				} else if p.proposal(cur, it) {
					for _, tm := range it.times {
						out = append(out, dtPair{cur, tm})
					}
				}
				blockLine, blockEnd = it.endLine, it.end
				prevEnd = lastEnd(it)
				prevDateEnd = -1
				continue
			}
			prevDateEnd = -1
		}
	}
	return out
}

// deadlineWords before a time or a date make it a deadline, not a
// proposal: "email them to me by 12:00 on Tuesday", "bis Freitag, 12 Uhr".
var deadlineWords = setOf(`by before until till latest later bis spatestens vor avant jusqu'au jusqu'a antes hasta`)

// cancelWords on a line mark a slot that no longer holds: "Previously:
// Thursday, 2:00 PM (cancelled)".
var cancelWords = setOf(`cancelled canceled previously originally formerly old abgesagt storniert ursprunglich
	bisher bisheriger alter annule annulee ancien ancienne precedemment cancelado cancelada anterior antes`)

// proposal reports whether a time tied to a date is offered, rather than
// a deadline or a slot that was moved away from.
func (p *dtParser) proposal(d *dtDate, g *dtGroup) bool {
	for _, start := range []int{g.start, d.start} {
		for k, n := start-1, 0; k >= 0 && n < 3 && p.toks[k].line == p.toks[start].line; k, n = k-1, n+1 {
			t := &p.toks[k]
			if t.kind == 'w' && deadlineWords[t.low] {
				return false
			}
			if t.kind == 'w' && !dtGlue[t.low] {
				break
			}
		}
	}
	lines := map[int]bool{d.line: true, d.endLine: true, g.line: true, g.endLine: true}
	for l := range lines {
		for k := p.lineStart(p.firstOnLine(l)); k < len(p.toks) && p.toks[k].line == l; k++ {
			if p.toks[k].kind == 'w' && cancelWords[p.toks[k].low] {
				return false
			}
		}
	}
	return true
}

// firstOnLine finds a token on line l (tokens are in line order).
func (p *dtParser) firstOnLine(l int) int {
	lo, hi := 0, len(p.toks)
	for lo < hi {
		mid := (lo + hi) / 2
		if p.toks[mid].line < l {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo >= len(p.toks) {
		return len(p.toks) - 1
	}
	return lo
}

// onlyOnLine reports whether every token in [a, b) is on line l or is the
// line-initial prefix of b's line.
func (p *dtParser) onlyOnLine(a, b, l int) bool {
	bl := p.toks[b].line
	for k := a; k < b; k++ {
		if p.toks[k].line != l && p.toks[k].line != bl {
			return false
		}
	}
	return true
}

func lastEnd(g *dtGroup) *dtClock {
	tm := g.times[len(g.times)-1]
	if !tm.hasEnd {
		return nil
	}
	c := tm.end
	return &c
}

// continues reports whether start begins within a quarter of an hour after
// end: the next item of a schedule rather than an alternative.
func continues(end dtClock, next dtTime) bool {
	e := startMinutes(dtTime{start: end})
	s := startMinutes(next)
	return s >= e && s-e <= 15
}

// clockMinutes is c as minutes after midnight; a time without am/pm takes
// them from other when inherit is set (the end of its range).
func clockMinutes(c, other dtClock, inherit bool) int {
	h := c.h
	mer := c.mer
	if mer == 0 && inherit && other.mer != 0 {
		mer = other.mer
	}
	switch mer {
	case 'a':
		if h == 12 {
			h = 0
		}
	case 'p':
		if h < 12 {
			h += 12
		}
	}
	return h*60 + c.m
}

// startMinutes resolves a range's start: "10:00 – 10:45 AM" takes AM from
// the end, "11:00 – 1:00 PM" is 11 AM, and a bare "3:00" is afternoon.
func startMinutes(tm dtTime) int {
	c := tm.start
	if c.mer != 0 || c.h24 || c.lead0 {
		return clockMinutes(c, dtClock{}, false)
	}
	if tm.hasEnd && tm.end.mer != 0 {
		end := clockMinutes(tm.end, dtClock{}, false)
		s := clockMinutes(c, tm.end, true)
		if s > end {
			s = clockMinutes(c, dtClock{}, false)
			if tm.end.mer == 'a' && c.h < 12 {
				s = c.h*60 + c.m
			}
		}
		return s
	}
	// Nobody is invited to an interview at 3 in the night.
	if c.h >= 1 && c.h <= 6 {
		return (c.h+12)*60 + c.m
	}
	return c.h*60 + c.m
}

func (p *dtParser) resolve(fallback *time.Location) []time.Time {
	var global *time.Location
	for _, z := range p.zones {
		if z.global {
			global = z.loc
			break
		}
	}
	var out []time.Time
	for _, pr := range p.pairs() {
		loc := pr.tm.zone
		if loc == nil {
			loc = pr.date.zone
		}
		if loc == nil {
			loc = global
		}
		if loc == nil {
			loc = fallback
		}
		mins := startMinutes(pr.tm)
		y, mo, d, ok := p.civil(pr.date, mins, loc)
		if !ok {
			continue
		}
		out = append(out, time.Date(y, time.Month(mo), d, mins/60, mins%60, 0, 0, loc))
	}
	return out
}

// civil places a date on the calendar: a missing year makes it the first
// such date from a week before the message on; a weekday with a day number
// finds its month; a bare weekday is the next such day.
func (p *dtParser) civil(d *dtDate, mins int, loc *time.Location) (int, int, int, bool) {
	ref := p.ref.In(loc)
	refDay := time.Date(ref.Year(), ref.Month(), ref.Day(), 0, 0, 0, 0, time.UTC)
	valid := func(y, m, day int) bool {
		t := time.Date(y, time.Month(m), day, 0, 0, 0, 0, time.UTC)
		return t.Day() == day && int(t.Month()) == m
	}
	const early = -7 * 24 * time.Hour
	switch {
	case d.rel >= 0:
		t := refDay.AddDate(0, 0, d.rel)
		return t.Year(), int(t.Month()), t.Day(), true
	case d.m == 0 && d.d == 0 && d.wd >= 0:
		for k := 0; k <= 7; k++ {
			t := refDay.AddDate(0, 0, k)
			if int(t.Weekday()) != d.wd {
				continue
			}
			if k == 0 && mins <= ref.Hour()*60+ref.Minute() {
				continue
			}
			return t.Year(), int(t.Month()), t.Day(), true
		}
		return 0, 0, 0, false
	case d.m == 0:
		// "Wednesday 18th"
		for k := -1; k <= 3; k++ {
			first := time.Date(refDay.Year(), refDay.Month()+time.Month(k), 1, 0, 0, 0, 0, time.UTC)
			if !valid(first.Year(), int(first.Month()), d.d) {
				continue
			}
			t := time.Date(first.Year(), first.Month(), d.d, 0, 0, 0, 0, time.UTC)
			if t.Sub(refDay) < early || int(t.Weekday()) != d.wd {
				continue
			}
			return t.Year(), int(t.Month()), t.Day(), true
		}
		return 0, 0, 0, false
	case d.y != 0:
		if !valid(d.y, d.m, d.d) {
			return 0, 0, 0, false
		}
		return d.y, d.m, d.d, true
	}
	var cands []time.Time
	for y := refDay.Year() - 1; y <= refDay.Year()+1; y++ {
		if !valid(y, d.m, d.d) {
			continue
		}
		t := time.Date(y, time.Month(d.m), d.d, 0, 0, 0, 0, time.UTC)
		if t.Sub(refDay) >= early {
			cands = append(cands, t)
		}
	}
	if len(cands) == 0 {
		return 0, 0, 0, false
	}
	pick := cands[0]
	if d.wd >= 0 && int(pick.Weekday()) != d.wd {
		for _, c := range cands[1:] {
			if int(c.Weekday()) == d.wd {
				pick = c
				break
			}
		}
	}
	return pick.Year(), int(pick.Month()), pick.Day(), true
}
