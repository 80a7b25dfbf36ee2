package drafter

import (
	"fmt"
	"strings"
	"time"
)

// languages are the reply languages with built-in templates, English first
// (the fallback).
var languages = []string{"en", "de", "fr", "es"}

// Languages lists the languages replies can be written in, English (the
// fallback) first.
func Languages() []string { return append([]string(nil), languages...) }

// locale holds the words and orders a language needs to write dates and
// times. Kept as plain tables: four languages do not need a locale library.
type locale struct {
	weekdays   [7]string  // Sunday first, as time.Weekday
	weekdaysAb [7]string  // for attribution lines
	months     [12]string // January first
	monthsAb   [12]string
	or         string // "or" in a list of alternatives
}

var locales = map[string]*locale{
	"en": {
		weekdays:   [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		weekdaysAb: [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"},
		months:     [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		monthsAb:   [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
		or:         "or",
	},
	"de": {
		weekdays:   [7]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
		weekdaysAb: [7]string{"So.", "Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa."},
		months:     [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
		monthsAb:   [12]string{"Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."},
		or:         "oder",
	},
	"fr": {
		weekdays:   [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
		weekdaysAb: [7]string{"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."},
		months:     [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		monthsAb:   [12]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."},
		or:         "ou",
	},
	"es": {
		weekdays:   [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
		weekdaysAb: [7]string{"dom", "lun", "mar", "mié", "jue", "vie", "sáb"},
		months:     [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
		monthsAb:   [12]string{"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"},
		or:         "o",
	},
}

// normLang reduces a language tag ("de-DE", "FR") to one of languages, or ""
// when rsvp has no built-in words for it.
func normLang(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	if _, ok := locales[tag]; ok {
		return tag
	}
	return ""
}

func loc(lang string) *locale {
	if l, ok := locales[lang]; ok {
		return l
	}
	return locales["en"]
}

// usStyle reports whether English dates in zone z are better written the
// American way (month first, 12-hour clock).
func usStyle(lang string, z *time.Location) bool {
	return lang == "en" && z != nil && strings.HasPrefix(z.String(), "America/")
}

// zoneName is the abbreviation a reader expects for t's zone: the tz
// database's ("GMT", "CET", "EST"), the German ones in German, and "UTC+3"
// where the database only has a numeric offset.
func zoneName(lang string, t time.Time) string {
	abbr, off := t.Zone()
	if lang == "de" {
		switch abbr {
		case "CET":
			return "MEZ"
		case "CEST":
			return "MESZ"
		}
	}
	if abbr == "" || abbr[0] == '+' || abbr[0] == '-' {
		if off == 0 {
			return "UTC"
		}
		sign := "+"
		if off < 0 {
			sign, off = "−", -off
		}
		h, m := off/3600, off%3600/60
		if m != 0 {
			return fmt.Sprintf("UTC%s%d:%02d", sign, h, m)
		}
		return fmt.Sprintf("UTC%s%d", sign, h)
	}
	return abbr
}

// clock writes a time of day as the language does.
func clock(lang string, us bool, t time.Time) string {
	switch {
	case us:
		return t.Format("3:04 PM")
	case lang == "fr":
		if t.Minute() == 0 {
			return fmt.Sprintf("%dh", t.Hour())
		}
		return fmt.Sprintf("%dh%02d", t.Hour(), t.Minute())
	case lang == "es":
		return fmt.Sprintf("%d:%02d", t.Hour(), t.Minute())
	}
	return t.Format("15:04")
}

// longDate writes "Tuesday 1 December", "Dienstag, 1. Dezember",
// "mardi 1er décembre", "martes 1 de diciembre"; the year is added when it
// is not the current one.
func longDate(lang string, us bool, t time.Time, now time.Time) string {
	l := loc(lang)
	wd, day, mon := l.weekdays[t.Weekday()], t.Day(), l.months[t.Month()-1]
	withYear := t.Year() != now.Year()
	var s string
	switch {
	case us:
		s = fmt.Sprintf("%s, %s %d", wd, mon, day)
		if withYear {
			s += fmt.Sprintf(", %d", t.Year())
		}
		return s
	case lang == "de":
		s = fmt.Sprintf("%s, %d. %s", wd, day, mon)
	case lang == "fr":
		d := fmt.Sprint(day)
		if day == 1 {
			d = "1er"
		}
		s = fmt.Sprintf("%s %s %s", wd, d, mon)
	case lang == "es":
		s = fmt.Sprintf("%s %d de %s", wd, day, mon)
		if withYear {
			s += fmt.Sprintf(" de %d", t.Year())
		}
		return s
	default:
		s = fmt.Sprintf("%s %d %s", wd, day, mon)
	}
	if withYear {
		s += fmt.Sprintf(" %d", t.Year())
	}
	return s
}

// formatSlot writes a proposed slot: "Tuesday 1 December, 10:00–10:30 GMT".
func formatSlot(lang string, s Slot, now time.Time) string {
	start, end := s.Start, s.End.In(s.Start.Location())
	us := usStyle(lang, start.Location())
	date := longDate(lang, us, start, now)
	zone := zoneName(lang, start)
	if zoneName(lang, end) != zone {
		// The slot straddles a DST change: name both.
		zone += "/" + zoneName(lang, end)
	}
	a, b := clock(lang, us, start), clock(lang, us, end)
	switch {
	case us:
		if start.Format("PM") == end.Format("PM") {
			a = start.Format("3:04")
		}
		return fmt.Sprintf("%s, %s–%s %s", date, a, b, zone)
	case lang == "de":
		return fmt.Sprintf("%s, %s–%s Uhr (%s)", date, a, b, zone)
	case lang == "fr":
		return fmt.Sprintf("%s, de %s à %s (%s)", date, a, b, zone)
	case lang == "es":
		return fmt.Sprintf("%s, de %s a %s (%s)", date, a, b, zone)
	}
	return fmt.Sprintf("%s, %s–%s %s", date, a, b, zone)
}

// formatMoment writes a proposed time: "Tuesday 1 December at 10:00",
// followed by the zone when withZone.
func formatMoment(lang string, t time.Time, now time.Time, withZone bool) string {
	us := usStyle(lang, t.Location())
	date, c := longDate(lang, us, t, now), clock(lang, us, t)
	var s string
	switch lang {
	case "de":
		s = fmt.Sprintf("%s, %s Uhr", date, c)
	case "fr":
		s = fmt.Sprintf("%s à %s", date, c)
	case "es":
		s = fmt.Sprintf("%s a las %s", date, c)
	default:
		s = fmt.Sprintf("%s at %s", date, c)
	}
	if withZone {
		s += " " + zoneName(lang, t)
	}
	return s
}

// joinOr joins items as "a, b or c" in the language.
func joinOr(lang string, items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + loc(lang).or + " " + items[len(items)-1]
}

// attribution writes the line above a quoted message, as common mail
// clients do in each language.
func attribution(lang string, when time.Time, who string) string {
	if who == "" {
		return ""
	}
	if when.IsZero() {
		switch lang {
		case "de":
			return who + " schrieb:"
		case "fr":
			return who + " a écrit :"
		case "es":
			return who + " escribió:"
		}
		return who + " wrote:"
	}
	l := loc(lang)
	wd, mon := l.weekdaysAb[when.Weekday()], l.monthsAb[when.Month()-1]
	hm := when.Format("15:04")
	switch lang {
	case "de":
		return fmt.Sprintf("Am %s %d. %s %d um %s Uhr schrieb %s:", wd, when.Day(), mon, when.Year(), hm, who)
	case "fr":
		return fmt.Sprintf("Le %s %d %s %d à %s, %s a écrit :", wd, when.Day(), mon, when.Year(), hm, who)
	case "es":
		return fmt.Sprintf("El %s, %d %s %d a las %s, %s escribió:", wd, when.Day(), mon, when.Year(), hm, who)
	}
	return fmt.Sprintf("On %s, %d %s %d at %s, %s wrote:", wd, when.Day(), mon, when.Year(), hm, who)
}
