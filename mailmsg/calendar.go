package mailmsg

import (
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-message/mail"
)

// Calendar is what rsvp needs of an iCalendar (RFC 5545) invitation: the
// first VEVENT's start, end, summary and organizer.
type Calendar struct {
	Method      string // REQUEST, CANCEL, PUBLISH … upper case
	Summary     string
	Description string
	Location    string
	Organizer   *mail.Address // nil when absent
	Attendees   []*mail.Address
	Start       time.Time // zero when absent or unparsable
	End         time.Time
	AllDay      bool // Start is a DATE, not a DATE-TIME
}

// ParseCalendar reads the first VEVENT of an iCalendar object. It returns nil
// when b holds no VEVENT. Unknown properties are ignored; a TZID that names no
// known zone is read as UTC rather than failing.
func ParseCalendar(b []byte) *Calendar {
	var cal Calendar
	inEvent, sawEvent := false, false
	depth := 0 // components nested inside the VEVENT (VALARM)
	for _, line := range unfold(string(b)) {
		name, params, value, ok := ContentLine(line)
		if !ok {
			continue
		}
		switch {
		case name == "BEGIN" && strings.EqualFold(value, "VEVENT") && !sawEvent:
			inEvent, sawEvent = true, true
			continue
		case name == "BEGIN" && inEvent:
			depth++
			continue
		case name == "END" && inEvent && depth > 0:
			depth--
			continue
		case name == "END" && strings.EqualFold(value, "VEVENT") && inEvent:
			inEvent = false
			continue
		case name == "METHOD" && !inEvent:
			cal.Method = strings.ToUpper(strings.TrimSpace(value))
			continue
		}
		if !inEvent || depth > 0 {
			continue
		}
		switch name {
		case "SUMMARY":
			cal.Summary = unescapeText(value)
		case "DESCRIPTION":
			cal.Description = unescapeText(value)
		case "LOCATION":
			cal.Location = unescapeText(value)
		case "ORGANIZER":
			cal.Organizer = calAddress(params, value)
		case "ATTENDEE":
			if a := calAddress(params, value); a != nil {
				cal.Attendees = append(cal.Attendees, a)
			}
		case "DTSTART":
			cal.Start, cal.AllDay = parseCalTime(params, value)
		case "DTEND":
			cal.End, _ = parseCalTime(params, value)
		}
	}
	if !sawEvent {
		return nil
	}
	return &cal
}

// unfold joins folded content lines (RFC 5545 section 3.1).
func unfold(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) && len(lines) > 0 {
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, strings.TrimRight(l, "\r"))
	}
	return lines
}

// ContentLine splits one unfolded iCalendar content line,
// `NAME;P1=V1;P2="V:2":value` (RFC 5545 section 3.1), into its upper-case
// name, its parameters (names upper-cased, quotes removed) and its value.
// ok is false when the line has no name or no value separator.
func ContentLine(line string) (name string, params map[string]string, value string, ok bool) {
	// The value starts at the first colon outside a quoted parameter value.
	inQuote, colon := false, -1
	for i := 0; i < len(line) && colon < 0; i++ {
		switch line[i] {
		case '"':
			inQuote = !inQuote
		case ':':
			if !inQuote {
				colon = i
			}
		}
	}
	if colon <= 0 {
		return "", nil, "", false
	}
	head, value := line[:colon], line[colon+1:]
	parts := splitParams(head)
	name = strings.ToUpper(strings.TrimSpace(parts[0]))
	params = map[string]string{}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		params[strings.ToUpper(strings.TrimSpace(k))] = strings.Trim(v, `"`)
	}
	return name, params, value, name != ""
}

func splitParams(s string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case ';':
			if !inQuote {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func unescapeText(v string) string {
	r := strings.NewReplacer(`\n`, "\n", `\N`, "\n", `\,`, ",", `\;`, ";", `\\`, `\`)
	return strings.TrimSpace(r.Replace(v))
}

func calAddress(params map[string]string, value string) *mail.Address {
	addr := strings.TrimSpace(value)
	if len(addr) >= 7 && strings.EqualFold(addr[:7], "mailto:") {
		addr = addr[7:]
	}
	if addr == "" && params["CN"] == "" {
		return nil
	}
	return &mail.Address{Name: sanitize(params["CN"]), Address: sanitize(addr)}
}

// parseCalTime reads DATE-TIME in its three forms (UTC "…Z", with TZID, or
// floating) and DATE (RFC 5545 section 3.3.4-5).
func parseCalTime(params map[string]string, v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if params["VALUE"] == "DATE" || len(v) == 8 {
		t, err := time.ParseInLocation("20060102", v, time.UTC)
		if err != nil {
			return time.Time{}, false
		}
		return t, true
	}
	if strings.HasSuffix(v, "Z") {
		t, err := time.Parse("20060102T150405Z", v)
		if err != nil {
			return time.Time{}, false
		}
		return t, false
	}
	loc := time.UTC
	if tzid := params["TZID"]; tzid != "" {
		loc = LoadZone(tzid)
	}
	t, err := time.ParseInLocation("20060102T150405", v, loc)
	if err != nil {
		return time.Time{}, false
	}
	return t, false
}

// LoadZone resolves an IANA name, a Windows zone name as Outlook and
// Exchange write it, or a common abbreviation; UTC when it knows none.
func LoadZone(name string) *time.Location {
	name = strings.TrimSpace(strings.Trim(name, `"`))
	// Some producers prefix the IANA name with a vendor path:
	// "/citadel.org/20190914_1/Europe/Berlin".
	if i := strings.Index(name, "/"); i == 0 {
		parts := strings.Split(name, "/")
		if len(parts) >= 2 {
			name = strings.Join(parts[len(parts)-2:], "/")
		}
	}
	// No IANA name has a space, and Windows names all do: looking one up
	// would read the zone database each time, only to fail.
	if strings.IndexByte(name, ' ') < 0 {
		if loc, err := LoadLocation(name); err == nil && name != "" && name != "Local" {
			return loc
		}
	}
	if iana, ok := windowsZones[strings.ToLower(name)]; ok {
		if loc, err := LoadLocation(iana); err == nil {
			return loc
		}
	}
	return time.UTC
}

// windowsZones maps the Windows zone names most often seen in invitations to
// IANA names (from CLDR's windowsZones.xml), plus a few abbreviations.
var windowsZones = map[string]string{
	"gmt standard time":              "Europe/London",
	"greenwich standard time":        "Atlantic/Reykjavik",
	"w. europe standard time":        "Europe/Berlin",
	"central europe standard time":   "Europe/Budapest",
	"romance standard time":          "Europe/Paris",
	"central european standard time": "Europe/Warsaw",
	"e. europe standard time":        "Europe/Chisinau",
	"fle standard time":              "Europe/Kiev",
	"gtb standard time":              "Europe/Bucharest",
	"eastern standard time":          "America/New_York",
	"central standard time":          "America/Chicago",
	"mountain standard time":         "America/Denver",
	"pacific standard time":          "America/Los_Angeles",
	"us mountain standard time":      "America/Phoenix",
	"atlantic standard time":         "America/Halifax",
	"e. south america standard time": "America/Sao_Paulo",
	"argentina standard time":        "America/Buenos_Aires",
	"central standard time (mexico)": "America/Mexico_City",
	"sa pacific standard time":       "America/Bogota",
	"india standard time":            "Asia/Kolkata",
	"singapore standard time":        "Asia/Singapore",
	"china standard time":            "Asia/Shanghai",
	"tokyo standard time":            "Asia/Tokyo",
	"aus eastern standard time":      "Australia/Sydney",
	"new zealand standard time":      "Pacific/Auckland",
	"israel standard time":           "Asia/Jerusalem",
	"arabian standard time":          "Asia/Dubai",
	"south africa standard time":     "Africa/Johannesburg",
	"utc":                            "UTC",
	"coordinated universal time":     "UTC",
	"cet":                            "Europe/Paris",
	"cest":                           "Europe/Paris",
	"bst":                            "Europe/London",
	"est":                            "America/New_York",
	"edt":                            "America/New_York",
	"pst":                            "America/Los_Angeles",
	"pdt":                            "America/Los_Angeles",
}

// LoadLocation is time.LoadLocation, remembering the zones it found: mail
// names few, and time.LoadLocation reads and parses the zone's data at
// every call. Only names it found are kept, so what a message makes up
// does not pile up.
func LoadLocation(name string) (*time.Location, error) {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err == nil {
		locations.Store(name, loc)
	}
	return loc, err
}

var locations sync.Map // zone name → *time.Location
