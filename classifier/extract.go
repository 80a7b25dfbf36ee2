package classifier

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

// Fields are what rsvp extracts from an invitation for the reply and for the user.
type Fields struct {
	ReplyTo   string      // Reply-To address, else From address; "" if none
	FirstName string      // recruiter's first name to greet; "" when unknown or a no-reply system
	Company   string      // hiring company; "" when not stated
	Role      string      // job title as stated; "" when not stated
	Lang      string      // "en", "de", "fr" or "es"
	Times     []time.Time // proposed interview times (starts), absolute, in order of appearance, deduplicated
}

// ExtractOptions say who the user is and where they live.
type ExtractOptions struct {
	// Own are the user's own addresses and Name the user's name: never taken as the recruiter or company.
	Own  []string
	Name string
	// Zone is the user's time zone, used for times that state no zone; nil means the zone of the message's Date header, else UTC.
	Zone *time.Location
}

// maxExtractText bounds the body text the field heuristics look at.
const maxExtractText = 64 << 10

// Extract reads the reply fields out of an invitation. Every field is a
// best guess from the message alone: the sender's display names, the
// sign-off and signature of the fresh body (quoted history is only read for
// a role the reply does not name), the subject and the calendar part. A field it cannot tell with some confidence
// is left empty rather than guessed, so a reply never greets the wrong
// person or names the wrong company. Times are the calendar's start, then
// the date+time proposals in the text (see extract_dates.go); a year-less
// date is placed from a week before the message Date on (from now when the
// message has no Date).
func Extract(m *mailmsg.Message, opts ExtractOptions) Fields {
	if m == nil {
		return Fields{Lang: "en"}
	}
	x := newFieldExtractor(m, opts)
	var f Fields
	if a := m.ReplyAddress(); a != nil {
		f.ReplyTo = a.Address
	}
	f.Lang = DetectLang(m.Subject + "\n" + x.fresh)
	f.Company = x.company()
	f.FirstName = x.firstName()
	f.Role = x.role()
	md := messageDates{date: m.Date}
	if m.Calendar != nil {
		md.calStart, md.calAllDay = m.Calendar.Start, m.Calendar.AllDay
	}
	f.Times = extractTimes(md, x.fresh, opts.Zone)
	return f
}

// fieldExtractor holds what the heuristics share for one message.
type fieldExtractor struct {
	m     *mailmsg.Message
	opts  ExtractOptions
	text  string   // body text, bounded
	fresh string   // the text without quoted history
	lines []string // fresh body lines, trimmed

	// user: folded keys of the user's own name and addresses' parts.
	userNames map[string]bool
	ownOrgs   map[string]bool

	// senderDomains are the company-looking labels of the sender's
	// addresses ("copperleafhealth" of maya@copperleafhealth.example),
	// and of an ATS sender's local part ("meridianmutual@myworkday…").
	senderDomains []string

	signoff    int    // index in lines of the sign-off's name line, -1 if none
	signoffRaw string // that name line

	// relayed are the writers named by a platform that relays their
	// message ("New message from …"); relay is set when there are any, and
	// then the From address is the platform's, not the company's.
	relayed []relayedName
	relay   bool

	companyDone bool
	companyName string
	companyKey  string
	agency      bool
	agencyKeys  []string
}

func newFieldExtractor(m *mailmsg.Message, opts ExtractOptions) *fieldExtractor {
	text := m.Text
	if len(text) > maxExtractText {
		text = text[:maxExtractText]
		for len(text) > 0 && !utf8.RuneStart(text[len(text)-1]) {
			text = text[:len(text)-1]
		}
	}
	x := &fieldExtractor{
		m:         m,
		opts:      opts,
		text:      text,
		fresh:     mailmsg.FreshText(text),
		userNames: map[string]bool{},
		ownOrgs:   map[string]bool{},
		signoff:   -1,
	}
	for _, l := range strings.Split(x.fresh, "\n") {
		x.lines = append(x.lines, strings.TrimSpace(l))
	}
	if opts.Name != "" {
		x.userNames[nameKey(opts.Name)] = true
		if f := strings.Fields(opts.Name); len(f) > 0 {
			x.userNames[nameKey(f[0])] = true
		}
	}
	own := map[string]bool{}
	for _, a := range opts.Own {
		own[strings.ToLower(strings.TrimSpace(a))] = true
		if dom := domainLabel(a); dom != "" && !isPlatformLabel(dom) {
			x.ownOrgs[dom] = true
		}
	}
	// Recipients that are the user (or, without Own, every direct
	// recipient) name the user, never the recruiter.
	for _, a := range m.To {
		if a == nil || a.Name == "" {
			continue
		}
		if len(own) == 0 || own[strings.ToLower(a.Address)] {
			x.userNames[nameKey(a.Name)] = true
		}
	}
	seen := map[string]bool{}
	addDom := func(a *mail.Address) {
		if a == nil || own[strings.ToLower(a.Address)] {
			return
		}
		d := domainLabel(a.Address)
		if d == "" {
			return
		}
		if isPlatformLabel(d) {
			// An ATS sends as company@ats.example: the local part names
			// the company, unless it is a role address.
			local := addressLocalKey(a.Address)
			if len(local) >= 4 && !isSystemLocal(local) && !seen[local] {
				seen[local] = true
				x.senderDomains = append(x.senderDomains, local)
			}
			return
		}
		if !seen[d] {
			seen[d] = true
			x.senderDomains = append(x.senderDomains, d)
		}
	}
	x.findRelayed()
	for _, a := range m.ReplyTo {
		addDom(a)
	}
	if !x.relay {
		addDom(m.From)
	}
	if m.Calendar != nil {
		addDom(m.Calendar.Organizer)
	}
	x.findSignoff()
	return x
}

// ---- names ----

// nameKey is the comparable form of a name: folded letters and digits only.
func nameKey(s string) string {
	var b strings.Builder
	for _, r := range fold(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// domainLabel is the registrable label of an address's domain, letters and
// digits only: "talent.icims-mail.example" gives "icimsmail".
func domainLabel(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	labels := strings.Split(strings.ToLower(strings.Trim(addr[at+1:], ". >")), ".")
	if len(labels) < 2 {
		return ""
	}
	i := len(labels) - 2
	switch labels[i] {
	case "co", "com", "org", "net", "ac", "gov", "edu", "gob", "or", "ne":
		if i > 0 && len(labels[len(labels)-1]) == 2 {
			i--
		}
	}
	return nameKey(labels[i])
}

// domainParts is the registrable label as written, split at hyphens.
func domainParts(addr string) []string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return nil
	}
	labels := strings.Split(strings.ToLower(addr[at+1:]), ".")
	if len(labels) < 2 {
		return nil
	}
	return strings.Split(labels[len(labels)-2], "-")
}

func addressLocalKey(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return nameKey(addr[:at])
}

// addressLocalWords are the parts of the local part: "maya.ostrowski" gives
// maya, ostrowski.
func addressLocalWords(addr string) []string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return nil
	}
	return strings.FieldsFunc(fold(addr[:at]), func(r rune) bool { return !unicode.IsLetter(r) })
}

// Platforms that send mail for others (applicant tracking, scheduling,
// job boards) and free mail providers: their domains name no employer.
var platformNames = []string{
	"greenhouse", "lever", "workday", "ashby", "smartrecruiters", "icims", "goodtime", "calendly",
	"linkedin", "teamtailor", "personio", "workable", "bamboohr", "jobvite", "taleo", "successfactors",
	"indeed", "glassdoor", "xing", "stepstone", "recruitee", "jazzhr", "breezy", "pinpointhq", "comeet",
	"hirevue", "gem", "beamery", "avature", "phenom", "oracle", "myworkday", "welcometothejungle",
	"candidatepulse", "github", "atlassian", "jira", "google", "zoom", "microsoft", "outlook", "gmail",
	"googlemail", "hotmail", "yahoo", "icloud", "gmx", "proton", "protonmail", "aol", "live", "msn",
	"tonline", "orange", "wanadoo", "laposte", "yandex", "zoho", "fastmail", "mailbox", "posteo",
	"webde", "freenet", "libero", "telefonica", "movistar",
}

func isPlatformLabel(label string) bool {
	if label == "web" || label == "free" || label == "hey" || label == "me" || label == "mail" {
		return true
	}
	for _, p := range platformNames {
		if len(p) >= 4 && strings.Contains(label, p) || label == p {
			return true
		}
	}
	return false
}

// isSystemLocal reports whether an address's local part is a role account.
func isSystemLocal(local string) bool {
	for _, w := range []string{"noreply", "donotreply", "notification", "notify", "mailer", "bounce", "reply", "alerts", "news", "info", "hello", "support", "jobs", "careers", "recruiting", "talent", "hiring", "scheduling", "calendar", "system", "admin", "team", "hr", "inmail", "messages", "invitations", "surveys", "careersite", "postmaster"} {
		if strings.Contains(local, w) {
			return true
		}
	}
	return false
}

// systemNameWords mark a display name or signature line as a team, a
// system or a department rather than a person.
var systemNameWords = setOf(`noreply no-reply no reply donotreply do-not-reply notifications notification notify
	careers career jobs job recruiting recruitment recruiter recruiters talent hiring team teams hr support info admin
	scheduling scheduler calendar system mailer bot alerts alert news newsletter acquisition karriere
	bewerbermanagement personalabteilung recrutement rh empleo equipo equipe candidates candidate applicant applicants
	applications staffing service services office desk contact hello people via the und and from at von de la el
	linkedin greenhouse lever workday ashby smartrecruiters icims goodtime calendly jira github inmail
	personal talents reclutamiento seleccion rrhh engineers engineering developers backend frontend community
	meetup events event digest weekly daily updates update summit conference academy school club podcast group
	network forum society association organisers organizers members`)

// orgWords are words that make a name an organisation's.
var orgWords = setOf(`health labs lab capital group bank insurance mutual systems technologies technology software
	solutions payments pay partners consulting recruitment talent careers studio studios ventures analytics digital
	media games foods energy robotics bio freight maps ai inc ltd llc llp gmbh ag sa sas sarl spa srl sl bv nv plc grupo
	corp corporation company co holdings international global network networks cloud data security logistics
	services solutions university hospital institute foundation agency gruppe versicherung bank banco groupe
	societe sociedad industries motors pharma therapeutics medical clinic`)

// honorifics are dropped in front of a name.
var honorifics = setOf(`mr mrs ms miss mx dr prof herr frau m mme mlle sr sra srta don dona`)

// cleanDisplayName removes what mail systems add around a person's name:
// "Renée Fournier via GoodTime", "Marek Nowak (Jira)", "Leah at The Offer
// Desk", "Jane Doe | Acme". It returns the name and what was cut after it.
func cleanDisplayName(s string) (name, rest string) {
	s = strings.TrimSpace(strings.Trim(s, `"' `))
	if i := strings.IndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") {
		rest = strings.TrimSpace(s[i+1 : len(s)-1])
		s = strings.TrimSpace(s[:i])
	}
	for _, sep := range []string{" via ", " Via ", " VIA ", " a través de ", " über ", " par l'intermédiaire de ", " | ", " at ", " @ ", " from ", " bei ", " chez ", " – ", " — ", " - "} {
		if i := strings.Index(s, sep); i > 0 {
			rest = strings.TrimSpace(s[i+len(sep):])
			s = strings.TrimSpace(s[:i])
			break
		}
	}
	return s, rest
}

// personTokens splits a person's name, turning "Last, First" around and
// dropping honorifics; nil when s does not look like a person's name.
func personTokens(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "@0123456789/|:;!?<>[]{}=+*#") {
		return nil
	}
	if i := strings.IndexByte(s, ','); i > 0 {
		last, first := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
		if strings.Contains(first, ",") || first == "" {
			return nil
		}
		s = first + " " + last
	}
	toks := strings.Fields(s)
	for len(toks) > 1 && honorifics[strings.Trim(fold(toks[0]), ".")] {
		toks = toks[1:]
	}
	if len(toks) == 0 || len(toks) > 4 {
		return nil
	}
	caps := 0
	for i, t := range toks {
		f := fold(t)
		if systemNameWords[f] {
			return nil
		}
		for _, r := range t {
			if !unicode.IsLetter(r) && !unicode.Is(unicode.Mn, r) && !strings.ContainsRune("-'’.", r) {
				return nil
			}
		}
		first, _ := utf8.DecodeRuneInString(t)
		if unicode.IsUpper(first) {
			caps++
		} else if i == 0 || !nameParticles[f] {
			return nil
		}
	}
	first := strings.TrimRight(toks[0], ".")
	if utf8.RuneCountInString(first) < 2 || strings.Contains(toks[0], ".") {
		return nil // an initial
	}
	if len(toks) > 1 && isAllCaps(s) {
		return nil // "AURELIA PAYMENTS" is a letterhead, not a person
	}
	return toks
}

var nameParticles = setOf(`van von der den de da del della di du dos das le la bin al ten ter y`)

func isAllCaps(s string) bool {
	letters := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
			if !unicode.IsUpper(r) {
				return false
			}
		}
	}
	return letters > 1
}

// humanEvidence reports whether a name is backed by something only a person
// has: the first name in the sender's address ("maya.ostrowski@") or in
// the sign-off.
func (x *fieldExtractor) humanEvidence(toks []string, addr string) bool {
	first := fold(toks[0])
	for _, w := range addressLocalWords(addr) {
		if w == first || (len(toks) > 1 && w == fold(toks[len(toks)-1]) && len(w) > 2) {
			return true
		}
	}
	if st := personTokens(x.signoffRaw); st != nil && fold(st[0]) == first {
		return true
	}
	return false
}

// companyLike reports whether a person-shaped name is in fact an
// organisation's: it matches the sender's domain or the company found, or
// carries an organisation word.
func (x *fieldExtractor) companyLike(toks []string) bool {
	key := nameKey(strings.Join(toks, " "))
	for _, d := range x.senderDomains {
		if domainMatch(key, d) > 0 {
			return true
		}
	}
	if x.companyKey != "" && (key == x.companyKey || strings.HasPrefix(key, x.companyKey) || strings.HasPrefix(x.companyKey, key)) {
		return true
	}
	for _, t := range toks {
		if orgWords[fold(t)] {
			return true
		}
	}
	for k := range x.ownOrgs {
		if key == k {
			return true
		}
	}
	return false
}

// personFirst returns the first name of a display name when it is a
// person's, "" when it is a system's or an organisation's.
func (x *fieldExtractor) personFirst(display, addr string) string {
	name, _ := cleanDisplayName(display)
	toks := personTokens(name)
	if toks == nil {
		return ""
	}
	if x.userNames[nameKey(strings.Join(toks, " "))] {
		return ""
	}
	if !x.humanEvidence(toks, addr) {
		if x.companyLike(toks) {
			return ""
		}
		// A display name nothing confirms gives way to a person who
		// signs the mail.
		if st := personTokens(x.signoffRaw); st != nil && !x.userNames[nameKey(x.signoffRaw)] && !x.companyLike(st) {
			return ""
		}
	}
	return x.givenName(toks, addr)
}

// givenName picks the given name out of a person's display name. Names are
// mostly written given name first, but directories and mail clients often
// show the family name first: "Marchetti Solène", "DUPONT Claire". The last
// word is the given name when the address starts with it
// ("solene.marchetti@"), when the sign-off starts with it, or when only the
// first word is in capitals.
func (x *fieldExtractor) givenName(toks []string, addr string) string {
	if len(toks) < 2 {
		return firstNameOf(toks)
	}
	first, last := fold(toks[0]), fold(toks[len(toks)-1])
	surnameFirst := isAllCaps(toks[0]) && !isAllCaps(toks[len(toks)-1])
	if w := addressLocalWords(addr); len(w) > 1 && w[0] == last && w[0] != first {
		surnameFirst = true
	}
	if st := personTokens(x.signoffRaw); st != nil && fold(st[0]) == last && last != first {
		surnameFirst = true
	}
	if surnameFirst {
		return firstNameOf(toks[len(toks)-1:])
	}
	return firstNameOf(toks)
}

func firstNameOf(toks []string) string {
	f := strings.Trim(toks[0], ".-'’")
	if isAllCaps(f) {
		r, n := utf8.DecodeRuneInString(f)
		f = string(r) + strings.ToLower(f[n:])
	}
	return f
}

// firstName picks the recruiter's first name: the Reply-To display name,
// else the From display name, else the sign-off of the fresh body, else the
// calendar organizer.
func (x *fieldExtractor) firstName() string {
	m := x.m
	for _, a := range m.ReplyTo {
		if a == nil || a.Name == "" {
			continue
		}
		if f := x.personFirst(a.Name, a.Address); f != "" {
			return x.preferredName(f)
		}
	}
	if m.From != nil && m.From.Name != "" {
		if f := x.personFirst(m.From.Name, m.From.Address); f != "" {
			return x.preferredName(f)
		}
	}
	if x.signoffRaw != "" {
		if toks := personTokens(x.signoffRaw); toks != nil && !x.userNames[nameKey(x.signoffRaw)] && !x.companyLike(toks) {
			return firstNameOf(toks)
		}
	}
	if c := m.Calendar; c != nil && c.Organizer != nil && c.Organizer.Name != "" {
		if f := x.personFirst(c.Organizer.Name, c.Organizer.Address); f != "" {
			return f
		}
	}
	return ""
}

// preferredName is the name the sender signs with when it is a short form
// of their display name: "Beatrix Oyelaran" signing "Bea" is greeted as Bea.
func (x *fieldExtractor) preferredName(display string) string {
	toks := personTokens(x.signoffRaw)
	if len(toks) != 1 {
		return display
	}
	short, long := []rune(fold(toks[0])), []rune(fold(display))
	if len(short) >= 2 && len(short) < len(long) && short[0] == long[0] && short[1] == long[1] {
		return firstNameOf(toks)
	}
	return display
}

// closings start the line before a sign-off name.
var closings = []string{
	"best", "best regards", "best wishes", "kind regards", "kindest regards", "regards", "warm regards", "warmly",
	"warmest regards", "many thanks", "thanks", "thank you", "thx", "cheers", "sincerely", "yours sincerely",
	"yours", "all the best", "speak soon", "talk soon", "looking forward", "see you", "take care", "with thanks",
	"good luck", "have a great", "have a good", "respectfully",
	"viele grusse", "viele gruse", "beste grusse", "freundliche grusse", "mit freundlichen grussen",
	"herzliche grusse", "liebe grusse", "schone grusse", "lg", "vg", "mfg", "gruss", "grusse", "danke",
	"vielen dank", "bis bald", "mit besten grussen",
	"cordialement", "bien cordialement", "bien a vous", "a bientot", "merci", "belle journee", "salutations",
	"sinceres salutations", "tres cordialement", "bonne journee", "au plaisir",
	"saludos", "un saludo", "un cordial saludo", "atentamente", "gracias", "muchas gracias", "un abrazo",
	"hasta pronto", "cordiales saludos", "saludos cordiales", "quedo atento", "quedo atenta",
}

// findSignoff finds the sender's name line: the line after the last
// closing ("Best,", "Viele Grüße", "Cordialement,", "Saludos,"), else the
// line after a "--" signature marker.
func (x *fieldExtractor) findSignoff() {
	closing := -1
	for i, l := range x.lines {
		if isClosingLine(l) {
			closing = i
		}
	}
	try := func(from int) bool {
		for j := from; j < len(x.lines) && j <= from+2; j++ {
			l := x.lines[j]
			if l == "" {
				continue
			}
			if toks := personTokens(l); toks != nil && !isClosingLine(l) {
				x.signoff, x.signoffRaw = j, l
				return true
			}
			return false
		}
		return false
	}
	if closing >= 0 {
		// "Best, Jordan" on one line.
		l := x.lines[closing]
		if i := strings.IndexAny(l, ",–-"); i > 0 && i < len(l)-1 {
			if toks := personTokens(strings.TrimSpace(l[i+1:])); toks != nil && len(toks) <= 2 {
				x.signoff, x.signoffRaw = closing, strings.TrimSpace(l[i+1:])
				return
			}
		}
		if try(closing + 1) {
			return
		}
	}
	for i, l := range x.lines {
		if l != "--" && l != "—" && l != "___" {
			continue
		}
		// "Bea\n\n--\nBeatrix Oyelaran": the name written above the
		// signature marker is how the sender signs.
		for j := i - 1; j >= 0 && j >= i-2; j-- {
			if x.lines[j] == "" {
				continue
			}
			if toks := personTokens(x.lines[j]); toks != nil && len(toks) <= 2 && !isClosingLine(x.lines[j]) {
				x.signoff, x.signoffRaw = j, x.lines[j]
				return
			}
			break
		}
		if try(i + 1) {
			return
		}
	}
}

// hasPrefixThen is strings.HasPrefix(s, p+sep) without building p+sep.
func hasPrefixThen(s, p, sep string) bool {
	return len(s) >= len(p)+len(sep) && s[:len(p)] == p && s[len(p):len(p)+len(sep)] == sep
}

// hasSuffixAfter is strings.HasSuffix(s, sep+suf) without building sep+suf.
func hasSuffixAfter(s, sep, suf string) bool {
	return strings.HasSuffix(s, suf) && strings.HasSuffix(s[:len(s)-len(suf)], sep)
}

func isClosingLine(l string) bool {
	if l == "" || len(l) > 60 {
		return false
	}
	f := strings.Trim(fold(l), " ,.!")
	if len(strings.Fields(f)) > 7 {
		return false
	}
	for _, c := range closings {
		if f == c || hasPrefixThen(f, c, " ") || hasPrefixThen(f, c, ",") {
			return true
		}
	}
	return false
}

// ---- company ----

// orgCand is one possible hiring company, with the evidence for it.
type orgCand struct {
	name    string
	key     string
	weights map[string]float64 // best weight per kind of source
	order   int
}

func (c *orgCand) score() float64 {
	s := 0.0
	for _, w := range c.weights {
		s += w
	}
	return s
}

type orgSet struct {
	byKey map[string]*orgCand
	n     int
}

func (s *orgSet) add(name, source string, w float64) {
	if s.byKey == nil {
		s.byKey = map[string]*orgCand{}
	}
	name, _ = stripLegal(name)
	key := nameKey(name)
	if key == "" {
		return
	}
	c := s.byKey[key]
	if c == nil {
		c = &orgCand{name: name, key: key, weights: map[string]float64{}, order: s.n}
		s.n++
		s.byKey[key] = c
	} else if isAllCaps(c.name) && !isAllCaps(name) {
		c.name = name
	}
	if w > c.weights[source] {
		c.weights[source] = w
	}
}

// legalSuffixes end a company's name and are dropped from it.
var legalSuffixes = []string{
	"gmbh & co. kg", "gmbh & co kg", "gmbh", "ag", "se", "kg", "ug", "e.v.", "ltd.", "ltd", "limited", "llc", "l.l.c.",
	"llp", "inc.", "inc", "corp.", "corp", "co.", "plc", "s.p.a.", "spa", "s.r.l.", "srl", "s.a.s.", "sas", "sasu",
	"s.a.", "sa", "sarl", "s.l.", "s.l.u.", "sl", "slu", "b.v.", "bv", "n.v.", "nv", "ab", "a/s", "oy", "pty ltd",
	"pty", "s.c.", "sagl", "kft", "sp. z o.o.",
}

func stripLegal(s string) (string, bool) {
	s = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(s), ",;"))
	low := strings.ToLower(s)
	for _, suf := range legalSuffixes {
		if hasSuffixAfter(low, " ", suf) || hasSuffixAfter(low, ", ", suf) {
			out := strings.TrimSpace(s[:len(s)-len(suf)])
			out = strings.TrimSpace(strings.TrimRight(out, ","))
			if out != "" {
				return out, true
			}
		}
	}
	return s, false
}

// deptSuffixes name a department after a company: "Fernhill Recruiting",
// "Aurelia Payments Hiring Team".
var deptSuffixes = []string{
	"talent acquisition team", "talent acquisition", "talent team", "hiring team", "recruiting team",
	"recruitment team", "people team", "people & talent", "people and talent", "careers team", "careers",
	"career", "recruiting", "recruitment", "jobs", "hr team", "hr", "human resources", "talent", "team",
	"people", "karriere", "recrutement", "rh", "empleo", "talents", "equipo de seleccion", "seleccion",
	"notifications", "hiring", "ta",
}

func stripDept(s string) (string, bool) {
	s = strings.TrimSpace(s)
	f := fold(s)
	for _, d := range deptSuffixes {
		if hasSuffixAfter(f, " ", d) {
			// fold keeps lengths for ASCII; cut by words to be safe.
			n := len(strings.Fields(d))
			w := strings.Fields(s)
			if len(w) > n {
				out := strings.Join(w[:len(w)-n], " ")
				out = strings.TrimSpace(strings.TrimRight(out, "-–|,"))
				return out, true
			}
		}
	}
	// "Team Fernhill", "L'équipe Talents" are not names.
	return s, false
}

// titleWords make a signature segment a job title rather than a company.
var titleWords = setOf(`head manager recruiter recruiting partner lead director engineer engineering consultant
	founder co-founder cofounder cto ceo coo cfo cio vp president chief specialist acquisition talent officer
	coordinator sourcer associate analyst owner principal senior junior staff executive recruitment
	developer architect scientist designer advisor adviser assistant intern administrator teamlead
	personalreferent recruiterin leiterin leiter referent referentin geschaftsfuhrer geschaftsfuhrerin
	beraterin berater charge chargee responsable directeur directrice recrutement talents ingenieur
	reclutador reclutadora responsable seleccion director directora gerente tecnico tecnica`)

// nonOrgWords start phrases that follow "at"/"bei" without naming a company.
var nonOrgWords = setOf(`i you we he she they it the this that these those our your their my his her its a an
	all any some every monday tuesday wednesday thursday friday saturday sunday january february march april
	may june july august september october november december noon midnight least last first
	fragen interesse ruckfragen bedarf gelegenheit problemen bedenken unklarheiten ihnen uns ihr ihre ihrer
	ihrem ihren sie dir dich euch vous nous lui moi toi usted ustedes nosotros hi hello dear thanks thank
	google zoom microsoft teams meet webex slack skype hangouts linkedin greenhouse lever workday ashby
	smartrecruiters icims goodtime calendly jira github indeed glassdoor xing stepstone`)

// phraseOrg reads a company name from the words at the start of s: capitalised
// words (with "&", "of", "de" between them) up to punctuation, at most five,
// and a legal suffix.
func phraseOrg(s string) string {
	fields := strings.Fields(s)
	if len(fields) > 8 {
		fields = fields[:8]
	}
	var out []string
	for i, f := range fields {
		if i == 0 {
			f = strings.TrimLeft(f, `("'“«`)
		}
		core := strings.TrimRight(f, `,.;:!?)"'’»”`)
		end := core != f
		for _, pos := range []string{"'s", "’s"} {
			if strings.HasSuffix(core, pos) {
				core, end = strings.TrimSuffix(core, pos), true
			}
		}
		if core == "" {
			break
		}
		if len(out) > 0 {
			lowf := strings.ToLower(f)
			for _, suf := range legalSuffixes {
				if lowf == suf || strings.TrimRight(lowf, ",;") == suf {
					out = append(out, strings.TrimRight(f, ",;"))
					return strings.Join(out, " ")
				}
			}
		}
		if (core == "&" || core == "of" || core == "de" || core == "+") && len(out) > 0 && !end && i+1 < len(fields) && startsUpper(fields[i+1]) {
			out = append(out, core)
			continue
		}
		if !orgWordShape(core) {
			break
		}
		if len(out) == 0 && nonOrgWords[fold(core)] {
			return ""
		}
		if len(out) >= 5 {
			break
		}
		out = append(out, core)
		if end {
			break
		}
	}
	for len(out) > 0 {
		last := out[len(out)-1]
		if last == "&" || last == "of" || last == "de" || last == "+" {
			out = out[:len(out)-1]
			continue
		}
		break
	}
	return strings.Join(out, " ")
}

func startsUpper(s string) bool {
	r, _ := utf8.DecodeRuneInString(strings.TrimLeft(s, `("'“«`))
	return unicode.IsUpper(r) || unicode.IsDigit(r)
}

// orgWordShape accepts "Kestrel", "AI", "3M", "eBay", "Ostara-Bio".
func orgWordShape(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	switch {
	case unicode.IsUpper(r):
	case unicode.IsDigit(r):
		// "3M", but not "2pm", "14h30", "18th" or "95k".
		i := strings.IndexFunc(w, unicode.IsLetter)
		if i < 0 {
			return false
		}
		switch strings.ToLower(strings.TrimRight(w[i:], "0123456789")) {
		case "am", "pm", "h", "hrs", "uhr", "st", "nd", "rd", "th", "er", "e", "min", "mins", "k", "m", "x":
			return false
		}
	case unicode.IsLower(r):
		if strings.IndexFunc(w, unicode.IsUpper) < 0 {
			return false
		}
	default:
		return false
	}
	for _, c := range w {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune("-&.'’", c) {
			return false
		}
	}
	return true
}

// domainMatch scores how well a candidate's key matches a domain label:
// 3 for the same name, 1.5 when one starts the other ("aureliapay" and
// "aureliapayments"), 0 otherwise.
func domainMatch(key, label string) float64 {
	if key == "" || label == "" {
		return 0
	}
	key, label = umlautKey(key), umlautKey(label)
	if key == label {
		return 3
	}
	short := len(key)
	if len(label) < short {
		short = len(label)
	}
	if short >= 4 && (strings.HasPrefix(label, key) || strings.HasPrefix(key, label)) {
		return 1.5
	}
	return 0
}

// umlautKey folds the German transliterations "ae", "oe", "ue" to the
// plain vowel, as fold does to "ä", "ö", "ü": the company "Brückner" has
// the key "bruckner" and the domain "brueckner-…".
func umlautKey(s string) string { return umlautFolder.Replace(s) }

var umlautFolder = strings.NewReplacer("ae", "a", "oe", "o", "ue", "u")

// agencyWords in a sender's domain or name mark a recruitment agency.
var agencyWords = []string{"recruit", "talent", "staffing", "search", "resourcing", "headhunt", "personnel", "executive", "personalberatung", "selection", "placement"}

var agencyTitleWords = setOf(`consultant consultants consultante consultor consultora personalberater
	personalberaterin personalberatung headhunter headhunterin headhunting cazatalentos chasseur staffing`)

var agencyPhrases = []string{
	"ich bin personalberater", "als personalberater", "als headhunter", "cabinet de conseil en recrutement",
	"the client's", "client name", "client's name", "employment agency", "employment business",
	"recruitment agency", "recruiting agency", "staffing agency", "on behalf of a client", "a client of mine",
	"a client of ours", "kundenunternehmen", "cabinet de recrutement", "empresa cliente",
	"agencia de seleccion", "agencia de reclutamiento",
}

// clientWords after a possessive ("my client", "one of our clients",
// "einen unserer Kunden", "notre client", "uno de nuestros clientes") mean
// the sender recruits for someone else.
var (
	clientWords = setOf(`client clients kunde kunden kundin cliente clientes`)
	possessives = setOf(`my our mein meine meines meinem meinen meiner unser unsere unseres unserem unseren
		unserer mon ma mes notre nos mi mis nuestro nuestra nuestros nuestras`)
)

// speaksOfClient reports whether text (folded) has a possessive followed,
// within one word, by a client word.
func speaksOfClient(text string) bool {
	var prev, prev2 string // the two words before, "" at the start
	for t := range strings.FieldsFuncSeq(text, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if clientWords[t] && (possessives[prev] || possessives[prev2]) {
			return true
		}
		prev, prev2 = t, prev
	}
	return false
}

// company finds the hiring company. Every place that may name it adds a
// candidate with a weight for what that place says: a display name with a
// department cut off ("Aurelia Payments Hiring Team"), a phrase ("at
// Kestrel Maps", "bei Flinkwerk", "on behalf of Ostara Bio"), a subject
// part, a signature line ("Talent Partner | Halcyon Freight"), a name with
// a legal suffix ("Flinkwerk GmbH"). The sender's domain and repeated
// mentions corroborate. The best candidate scoring at least 2 wins; people,
// the user and job titles never do. An agency recruiter's own firm is left
// out, so only a client named in the subject or text can win. A job board
// relaying a message is not the company; the writer it names is. The
// sender's domain is the last resort, and only when the text mentions it.
func (x *fieldExtractor) company() string {
	if x.companyDone {
		return x.companyName
	}
	x.companyDone = true
	m := x.m
	var set orgSet
	persons := x.personKeys()

	// Display names: "Copperleaf Health", "Aurelia Payments Hiring Team",
	// "Northwind Labs via Greenhouse".
	display := func(d, addr string) {
		name, rest := cleanDisplayName(d)
		for _, s := range []string{name, rest} {
			if s == "" || isPlatformName(s) {
				continue
			}
			base, dept := stripDept(s)
			if base == "" {
				continue
			}
			if dept {
				set.add(base, "display", 3)
				continue
			}
			toks := personTokens(base)
			if toks != nil && x.humanEvidence(toks, addr) {
				continue
			}
			key := nameKey(base)
			best := 0.0
			for _, dl := range x.senderDomains {
				best = max(best, domainMatch(key, dl))
			}
			switch {
			case best > 0:
				set.add(base, "display", 3)
			case toks == nil && orgWordShapeAll(base):
				set.add(base, "display", 2)
			case toks != nil && x.companyLike(toks):
				set.add(base, "display", 2.5)
			case toks != nil:
				set.add(base, "display", 1)
			}
		}
	}
	if m.From != nil && m.From.Name != "" && !x.relay {
		display(m.From.Name, m.From.Address)
	}
	for _, a := range m.ReplyTo {
		if a != nil && a.Name != "" {
			display(a.Name, a.Address)
		}
	}

	// Phrases in the subject and the body.
	subj := stripSubjectPrefixes(m.Subject)
	x.phrases(&set, subj, "subject", true)
	x.phrases(&set, x.fresh, "body", false)
	x.subjectSegments(&set, subj, "segment", 2)
	if c := m.Calendar; c != nil {
		x.subjectSegments(&set, c.Summary, "calendar", 1.5)
	}

	// The writer of a relayed message: "Tienes un nuevo mensaje de Acme
	// Hoteles", "Nouveau message de Léa (Acme Santé)".
	for _, r := range x.relayed {
		if org := x.relayOrg(r.who); org != "" {
			set.add(org, r.source, 3)
		}
	}

	// The signature.
	x.signatureOrgs(&set)

	// Domain corroboration and repeated mentions.
	hay := fold(m.Subject + "\n" + x.fresh)
	for _, c := range set.byKey {
		best := 0.0
		for _, d := range x.senderDomains {
			best = max(best, domainMatch(c.key, d))
		}
		if best > 0 {
			c.weights["domain"] = best
		}
		if n := countWord(hay, fold(c.name)); n > 1 {
			c.weights["mentions"] = min(1.5, 0.5*float64(n-1))
		}
	}

	x.detectAgency(&set)

	var best *orgCand
	for _, c := range set.byKey {
		if !x.acceptOrg(c, persons) {
			continue
		}
		if x.agency {
			// An agency recruiter: only a client named in the subject or
			// the text counts, never the agency itself.
			if x.isAgencyKey(c.key) {
				continue
			}
			// A bare subject part ("Projektanfrage: …") is a client
			// only when the text mentions it again.
			named := c.weights["subject"] > 0 || c.weights["body"] > 0 || c.weights["segment"] > 0 && c.weights["mentions"] > 0
			if !named {
				continue
			}
		}
		if c.score() < 2 {
			continue
		}
		if best == nil || c.score() > best.score() || (c.score() == best.score() && c.order < best.order) {
			best = c
		}
	}
	if best != nil {
		x.companyName, x.companyKey = best.name, best.key
		return x.companyName
	}
	// The sender's domain names the company only when the mail does too:
	// "I'm one of the founders at Stillwater" from tom@stillwater-ai. A
	// domain the text never mentions is not a stated company.
	if name := x.domainCompany(); !x.agency && countWord(hay, fold(name)) > 0 {
		x.companyName, x.companyKey = name, nameKey(name)
	}
	return x.companyName
}

func orgWordShapeAll(s string) bool {
	w := strings.Fields(s)
	if len(w) == 0 || len(w) > 5 {
		return false
	}
	for _, f := range w {
		if !orgWordShape(f) && f != "&" && f != "of" {
			return false
		}
	}
	return true
}

func isPlatformName(s string) bool {
	k := nameKey(s)
	for _, p := range platformNames {
		if k == p {
			return true
		}
	}
	return false
}

// A relayedName is who wrote a message a platform passes on, as the
// platform names them, and where ("subject" or "body").
type relayedName struct{ who, source string }

// relayBefore phrases come before the writer of a relayed message ("New
// message from …", "Nouveau message de …", "Neue Nachricht von …"),
// relayAfter phrases after ("… sent you a message", "… te ha enviado un
// mensaje", "… vous a envoyé un message", "… hat Ihnen eine Nachricht").
var (
	relayBefore = [][]string{{"message", "from"}, {"messages", "from"}, {"message", "de"}, {"mensaje", "de"}, {"nachricht", "von"}}
	relayAfter  = [][]string{{"sent", "you", "a", "message"}, {"te", "ha", "enviado", "un", "mensaje"}, {"vous", "a", "envoye", "un", "message"}, {"hat", "ihnen", "eine", "nachricht"}}
)

// findRelayed finds the writers a job board or network names when it
// passes on their message. Only a system sender (a no-reply or
// notification address, or a known platform) relays: "a message from our
// CTO" in a recruiter's own mail is not a relay.
func (x *fieldExtractor) findRelayed() {
	if x.m.From == nil || !isSystemLocal(addressLocalKey(x.m.From.Address)) && !isPlatformLabel(domainLabel(x.m.From.Address)) {
		return
	}
	scan := func(text, source string) {
		for _, line := range strings.Split(text, "\n") {
			words := strings.Fields(line)
			folded := make([]string, len(words))
			for i, w := range words {
				folded[i] = strings.Trim(fold(w), ",.:;!?¡¿")
			}
			for i := range words {
				for _, p := range relayBefore {
					if wordsAt(folded, i, p) && i+len(p) < len(words) {
						x.relayed = append(x.relayed, relayedName{strings.Join(words[i+len(p):], " "), source})
					}
				}
				for _, p := range relayAfter {
					if wordsAt(folded, i, p) && i > 0 {
						// The writer's name runs back to the start of
						// the line or a sentence.
						s := i
						for s > 0 && !strings.ContainsAny(words[s-1], ",.:;!?") {
							s--
						}
						if s < i {
							x.relayed = append(x.relayed, relayedName{strings.Join(words[s:i], " "), source})
						}
					}
				}
			}
		}
	}
	scan(x.m.Subject, "subject")
	scan(x.fresh, "body")
	x.relay = len(x.relayed) > 0
}

func wordsAt(words []string, i int, phrase []string) bool {
	if i+len(phrase) > len(words) {
		return false
	}
	for k, p := range phrase {
		if words[i+k] != p {
			return false
		}
	}
	return true
}

// relayOrg is the company of a relayed message's writer: the
// parenthesis after a person ("Léa Martin (Acme Santé)"), or the writer
// when it is an organisation rather than a person.
func (x *fieldExtractor) relayOrg(who string) string {
	if i := strings.IndexByte(who, '('); i > 0 {
		if j := strings.IndexByte(who[i:], ')'); j > 0 {
			person, inner := strings.TrimSpace(who[:i]), strings.TrimSpace(who[i+1:i+j])
			if personTokens(person) != nil && orgWordShapeAll(inner) && !isTitleLike(inner) {
				return inner
			}
		}
	}
	org := phraseOrg(who)
	if toks := personTokens(org); org == "" || toks != nil && !x.companyLike(toks) {
		return ""
	}
	return org
}

// countWord counts whole-word occurrences of needle in hay (both folded).
func countWord(hay, needle string) int {
	if needle == "" {
		return 0
	}
	n := 0
	for i := 0; ; {
		j := strings.Index(hay[i:], needle)
		if j < 0 {
			return n
		}
		j += i
		if boundaryBefore(hay, j) && boundaryAfter(hay, j+len(needle)) {
			n++
		}
		i = j + len(needle)
		if n > 20 {
			return n
		}
	}
}

// personKeys are the name keys of the people in the message: the sign-off
// name, person display names, the user.
func (x *fieldExtractor) personKeys() map[string]bool {
	out := map[string]bool{}
	for k := range x.userNames {
		out[k] = true
	}
	person := func(toks []string) {
		out[nameKey(strings.Join(toks, " "))] = true
		// "Tom" signing off "Tom Achterberg": each part of a known name
		// names the person too.
		for _, t := range toks {
			if k := nameKey(t); len(k) > 1 && !nameParticles[k] {
				out[k] = true
			}
		}
	}
	if toks := personTokens(x.signoffRaw); toks != nil {
		person(toks)
	}
	check := func(a *mail.Address) {
		if a == nil || a.Name == "" {
			return
		}
		name, _ := cleanDisplayName(a.Name)
		if toks := personTokens(name); toks != nil && x.humanEvidence(toks, a.Address) {
			person(toks)
		}
	}
	check(x.m.From)
	for _, a := range x.m.ReplyTo {
		check(a)
	}
	if c := x.m.Calendar; c != nil {
		check(c.Organizer)
		for _, a := range c.Attendees {
			if a != nil && a.Name != "" {
				if toks := personTokens(a.Name); toks != nil {
					person(toks)
				}
			}
		}
	}
	return out
}

func (x *fieldExtractor) acceptOrg(c *orgCand, persons map[string]bool) bool {
	if persons[c.key] || x.ownOrgs[c.key] || len(c.key) < 2 {
		return false
	}
	for k := range x.userNames {
		if len(k) > 3 && strings.Contains(c.key, k) {
			return false
		}
	}
	if isPlatformName(c.name) || hasHeadNoun(c.name) {
		return false
	}
	w := strings.Fields(c.name)
	if len(w) == 0 || len(w) > 6 {
		return false
	}
	if len(w) == 1 && (titleWords[fold(w[0])] || deptWords[fold(w[0])]) {
		return false
	}
	allTitle := true
	for _, f := range w {
		if !titleWords[fold(f)] && !deptWords[fold(f)] && f != "&" && f != "of" {
			allTitle = false
		}
	}
	if allTitle {
		return false
	}
	if _, ok := dtMonths[fold(w[0])]; ok && len(w) == 1 {
		return false
	}
	if _, ok := dtWeekdays[fold(w[0])]; ok {
		return false
	}
	return true
}

// deptWords are departments that sit after a title in a signature
// ("Senior Consultant – Engineering").
var deptWords = setOf(`engineering data product sales marketing finance it digital operations reliability
	infrastructure platform security design research legal people talent hr recruiting technology tech
	support success growth strategy`)

func stripSubjectPrefixes(s string) string {
	for {
		t := strings.TrimSpace(s)
		low := strings.ToLower(t)
		cut := false
		for _, p := range []string{"re:", "aw:", "fw:", "fwd:", "wg:", "tr:", "rv:", "re :", "tr :", "[external]", "[ext]"} {
			if strings.HasPrefix(low, p) {
				t = t[len(p):]
				cut = true
				break
			}
		}
		s = t
		if !cut {
			return strings.TrimSpace(s)
		}
	}
}

// orgTriggers are the words after which a company is named, with how much
// that says: "at Kestrel Maps", "bei Flinkwerk", "chez Atelier Rivage",
// "on behalf of Ostara Bio".
var orgTriggers = []struct {
	words  string
	weight float64
}{
	{"on behalf of", 2.5}, {"im auftrag von", 2.5}, {"au nom de", 2}, {"en nombre de", 2},
	{"here at", 2.5}, {"at", 2}, {"bei", 2}, {"chez", 2}, {"au sein de", 2}, {"la société", 2},
	{"la empresa", 2}, {"de la empresa", 2}, {"with", 1}, {"join", 1.5}, {"joining", 1.5},
	{"rejoindre", 1.5}, {"unirte a", 1.5}, {"from", 1}, {"by", 1}, {"en", 1}, {"für", 0.5}, {"@", 2},
	{"mit", 0.5}, {"con", 0.5}, {"avec", 0.5},
}

// phrases adds the companies named after trigger words in text, and the
// names carrying a legal suffix ("Flinkwerk GmbH").
// orgTriggerWords are the words of each of orgTriggers.
var orgTriggerWords = func() [][]string {
	out := make([][]string, len(orgTriggers))
	for i, tr := range orgTriggers {
		out[i] = strings.Fields(tr.words)
	}
	return out
}()

// orgTriggersByWord are the indexes in orgTriggers of the triggers that
// start with each word, in orgTriggers' order: phrases looks a word up
// instead of comparing it with every trigger.
var orgTriggersByWord = func() map[string][]int {
	m := map[string][]int{}
	for t, tw := range orgTriggerWords {
		m[tw[0]] = append(m[tw[0]], t)
	}
	return m
}()

// legalSuffixWords are the legal suffixes of one word.
var legalSuffixWords = func() map[string]bool {
	m := map[string]bool{}
	for _, suf := range legalSuffixes {
		if !strings.Contains(suf, " ") {
			m[suf] = true
		}
	}
	return m
}()

// isLegalSuffixWord reports whether w in lower case is one of
// legalSuffixWords; an ASCII word is lowered without a copy.
func isLegalSuffixWord(w string) bool {
	var buf [16]byte
	if len(w) > len(buf) || !isPlainASCII(w) {
		return legalSuffixWords[strings.ToLower(w)]
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return legalSuffixWords[string(buf[:len(w)])]
}

func (x *fieldExtractor) phrases(set *orgSet, text, source string, subject bool) {
	lines := strings.Split(text, "\n")
	for _, line := range lines {
		words := strings.Fields(line)
		if len(words) == 0 {
			continue
		}
		for i := 0; i < len(words); i++ {
			for _, t := range orgTriggersByWord[fold(words[i])] {
				tr, tw := orgTriggers[t], orgTriggerWords[t]
				if i+len(tw) >= len(words) {
					continue
				}
				ok := true
				for k := 1; k < len(tw); k++ {
					if fold(words[i+k]) != tw[k] {
						ok = false
						break
					}
				}
				if !ok {
					continue
				}
				// "your time at Ferrous Labs": the user's own employer.
				if tw[0] == "at" || tw[0] == "chez" {
					if x.aboutUser(words, i) {
						continue
					}
				}
				org := phraseOrg(strings.Join(words[i+len(tw):], " "))
				if org == "" {
					continue
				}
				org, _ = stripLegal(org)
				w := tr.weight
				if subject && w < 2 && w >= 1 {
					w = 2 // a subject names its company sparingly
				}
				set.add(org, source, w)
				break
			}
			// "Flinkwerk GmbH", "Cairnstone Capital LLP"
			if i > 0 && isLegalSuffixWord(strings.TrimRight(words[i], ",;:")) {
				j := i
				for j > 0 && i-j < 4 && orgWordShape(strings.TrimRight(words[j-1], ",")) && !strings.HasSuffix(words[j-1], ",") && !strings.HasSuffix(words[j-1], ".") {
					j--
				}
				if j < i {
					name := strings.Join(words[j:i], " ")
					if !nonOrgWords[fold(words[j])] {
						set.add(name, "legal", 2.5)
					}
				}
			}
		}
	}
}

// aboutUser reports whether the words before index i speak of the user
// ("your time at", "votre expérience chez").
func (x *fieldExtractor) aboutUser(words []string, i int) bool {
	for k := i - 1; k >= 0 && k >= i-4; k-- {
		switch fold(strings.Trim(words[k], ",.")) {
		case "your", "you've", "you're", "you'd", "votre", "vos", "tu", "tus", "deiner", "deine", "deinem":
			return true
		}
	}
	return false
}

// genericSubject are subject segments that name no company.
var genericSubject = setOf(`interview invitation reminder confirmed confirmation action required next steps
	next step schedule your update updated new invitation: einladung erinnerung bestatigung entretien rappel
	confirmation entrevista recordatorio invitacion application bewerbung candidature candidatura re fwd
	your opportunity role position job chat call screen phone video technical onsite virtual follow up
	system design coding pairing behavioral behavioural culture panel final round stage first second loop
	assessment exercise test take-home intro introductory kennenlernen kennenlerngesprach gesprach
	vorstellungsgesprach entretien entrevista visio appel llamada videollamada`)

// subjectSegments adds the parts of a subject split at " - ", " | ", ":" …
// that read like a company name: "Interview - Senior SRE - Cairnstone
// Capital", "Copperleaf Health: let's find a time".
func (x *fieldExtractor) subjectSegments(set *orgSet, subj, source string, w float64) {
	for _, seg := range splitSubject(subj) {
		seg = stripParens(seg)
		if seg == "" || hasHeadNoun(seg) {
			continue
		}
		words := strings.Fields(seg)
		if len(words) > 4 {
			continue
		}
		generic := false
		for _, f := range words {
			if genericSubject[fold(strings.Trim(f, ",.!?"))] {
				generic = true
			}
			if _, ok := dtMonths[fold(strings.Trim(f, ",."))]; ok {
				generic = true
			}
			if _, ok := dtWeekdayAbbr[fold(strings.Trim(f, ",."))]; ok {
				generic = true
			}
			if _, ok := dtWeekdays[fold(strings.Trim(f, ",."))]; ok {
				generic = true
			}
		}
		if generic || !orgWordShapeAll(seg) || hasEmploymentTerm(seg) {
			continue
		}
		org, _ := stripLegal(seg)
		set.add(org, source, w)
	}
}

// employmentTerms describe a job's conditions, never a company: a subject
// part "Outside IR35", "Remote", "Festanstellung" or "CDI" names none.
var employmentTerms = setOf(`remote remoto remota hybrid hybride hibrido onsite on-site contract contractor
	contrat contrato permanent perm freelance freelancer full-time part-time fulltime parttime ir35 vollzeit
	teilzeit festanstellung befristet unbefristet cdi cdd teletravail teletrabajo presencial`)

func hasEmploymentTerm(s string) bool {
	for _, w := range strings.Fields(fold(s)) {
		if employmentTerms[strings.Trim(w, ",.()")] {
			return true
		}
	}
	return false
}

// splitSubject cuts a subject at its separators.
func splitSubject(s string) []string {
	parts := []string{s}
	for _, sep := range []string{" - ", " – ", " — ", " | ", ": ", " · ", " / ", " • ", " ⋅ "} {
		var next []string
		for _, p := range parts {
			next = append(next, strings.Split(p, sep)...)
		}
		parts = next
	}
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(strings.Trim(p, " :-–—|")); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// signatureOrgs adds the companies in the signature block: "Talent
// Partner | Halcyon Freight", "Head of Data, Lumen Grid", "Flinkwerk GmbH".
func (x *fieldExtractor) signatureOrgs(set *orgSet) {
	persons := x.personKeys()
	for _, l := range x.signatureLines() {
		low := strings.ToLower(l)
		if strings.ContainsAny(l, "@:") || strings.Contains(low, "http") || strings.Contains(low, "www.") || digitCount(l) >= 5 {
			continue
		}
		if w := strings.Fields(l); len(w) > 9 || (len(w) > 5 && strings.HasSuffix(l, ".")) {
			continue
		}
		l = strings.TrimLeft(l, "-–—•* ")
		parts := splitSignature(l)
		for _, p := range parts {
			p = strings.TrimSpace(p)
			if p == "" || persons[nameKey(p)] {
				continue
			}
			org, legal := stripLegal(p)
			base, dept := stripDept(org)
			if base == "" || !orgWordShapeAll(base) {
				continue
			}
			if !dept && !legal && isTitleLike(base) {
				continue
			}
			if dept && isTitleLike(base) {
				continue
			}
			w := 2.0
			if legal || dept {
				w = 2.5
			}
			set.add(base, "signature", w)
		}
	}
}

// signatureLines are the non-empty lines after the sign-off name (or the
// last few lines of the fresh text when there is no sign-off).
func (x *fieldExtractor) signatureLines() []string {
	var sig []string
	if x.signoff >= 0 {
		for j := x.signoff; j < len(x.lines) && len(sig) < 7; j++ {
			if x.lines[j] != "" {
				sig = append(sig, x.lines[j])
			}
		}
		if len(sig) > 0 && sig[0] == x.signoffRaw {
			sig = sig[1:]
		}
		return sig
	}
	for j := len(x.lines) - 1; j >= 0 && len(sig) < 4; j-- {
		if x.lines[j] != "" {
			sig = append([]string{x.lines[j]}, sig...)
		}
	}
	return sig
}

func splitSignature(l string) []string {
	parts := []string{l}
	for _, sep := range []string{" | ", " · ", " – ", " — ", " - ", ", ", " at ", " @ ", " bei ", " chez ", " en "} {
		var next []string
		for _, p := range parts {
			next = append(next, strings.Split(p, sep)...)
		}
		parts = next
	}
	return parts
}

func digitCount(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

// isTitleLike reports whether a signature segment is a job title or a
// department: "Principal Consultant", "People & Talent", "IT & Digital".
func isTitleLike(s string) bool {
	for _, w := range strings.Fields(s) {
		f := fold(strings.Trim(w, ",.&"))
		if titleWords[f] || hasHeadNoun(w) {
			return true
		}
	}
	all := true
	for _, w := range strings.Fields(s) {
		f := fold(strings.Trim(w, ",."))
		if !deptWords[f] && f != "&" && f != "and" && f != "und" && f != "et" && f != "y" {
			all = false
		}
	}
	return all
}

// detectAgency decides whether the sender recruits for a client: an agency
// word in the sender's domain, or the text speaking of a client.
func (x *fieldExtractor) detectAgency(set *orgSet) {
	var keys []string
	agency := false
	addrs := []*mail.Address{x.m.From}
	addrs = append(addrs, x.m.ReplyTo...)
	for _, a := range addrs {
		if a == nil {
			continue
		}
		d := domainLabel(a.Address)
		if d == "" || isPlatformLabel(d) {
			continue
		}
		for _, part := range domainParts(a.Address) {
			if part == "rh" || part == "hr" {
				agency = true
			}
			for _, w := range agencyWords {
				if strings.Contains(part, w) {
					agency = true
				}
			}
		}
		keys = append(keys, d)
	}
	low := " " + fold(x.fresh) + " "
	for _, p := range agencyPhrases {
		if strings.Contains(low, p) {
			agency = true
			break
		}
	}
	if speaksOfClient(low) {
		agency = true
	}
	// Agency recruiters sign as consultants ("Principal Consultant",
	// "Consultant senior", "Personalberater"); in-house ones as
	// recruiters or talent partners.
	for _, l := range x.signatureLines() {
		f := fold(l)
		if strings.Contains(f, "talent acquisition") || strings.Contains(f, "people") {
			continue
		}
		for _, w := range strings.FieldsFunc(f, func(r rune) bool { return !unicode.IsLetter(r) }) {
			if agencyTitleWords[w] {
				agency = true
			}
		}
	}
	if !agency {
		return
	}
	x.agency = true
	for _, c := range set.byKey {
		if c.weights["signature"] > 0 || c.weights["display"] > 0 || c.weights["legal"] > 0 {
			for _, k := range keys {
				if domainMatch(c.key, k) > 0 {
					keys = append(keys, c.key)
					break
				}
			}
			if fw := strings.Fields(c.name); len(fw) > 0 {
				last := fold(fw[len(fw)-1])
				for _, w := range agencyWords {
					if strings.HasPrefix(last, w) {
						keys = append(keys, c.key)
					}
				}
			}
		}
	}
	x.agencyKeys = keys
}

func (x *fieldExtractor) isAgencyKey(key string) bool {
	for _, k := range x.agencyKeys {
		if domainMatch(key, k) > 0 {
			return true
		}
	}
	return false
}

// domainCompany names the company after the sender's domain, the last
// resort: "stillwater-ai.example" gives "Stillwater".
func (x *fieldExtractor) domainCompany() string {
	addrs := x.m.ReplyTo
	if !x.relay {
		addrs = append(addrs[:len(addrs):len(addrs)], x.m.From)
	}
	for _, a := range addrs {
		if a == nil || a.Address == "" {
			continue
		}
		d := domainLabel(a.Address)
		if d == "" || isPlatformLabel(d) || x.ownOrgs[d] {
			continue
		}
		var words []string
		for _, p := range domainParts(a.Address) {
			switch p {
			case "ai", "hq", "app", "apps", "io", "inc", "corp", "mail", "email", "jobs", "careers", "get", "try", "use", "join", "team", "the", "co", "com":
				continue
			}
			if p == "" {
				continue
			}
			r, n := utf8.DecodeRuneInString(p)
			words = append(words, string(unicode.ToUpper(r))+p[n:])
		}
		if len(words) > 0 {
			return strings.Join(words, " ")
		}
	}
	return ""
}

// ---- role ----

// headNouns are the words a job title is built around, in the four
// languages; a German compound ends in one ("Softwareentwickler").
var headNouns = setOf(`engineer developer programmer architect scientist analyst designer manager lead director
	head vp cto cio ciso sre administrator specialist consultant researcher owner tester technician officer
	intern trainee werkstudent werkstudentin entwickler entwicklerin ingenieur ingenieurin leiter leiterin
	architekt architektin berater beraterin ingenieure developpeur developpeuse architecte chef responsable
	stagiaire analyste directeur directrice ingeniero ingeniera desarrollador desarrolladora programador
	programadora jefe jefa arquitecto arquitecta analista tecnico tecnica consultor consultora directora
	coordinator coordinador coordinadora recruiter devops sdet`)

var headSuffixes = []string{"entwickler", "entwicklerin", "ingenieur", "ingenieurin", "engineer", "developer", "architekt", "leiter", "leiterin", "berater", "manager"}

func isHeadNoun(w string) bool {
	f := fold(strings.Trim(w, ",.()"))
	if headNouns[f] {
		return true
	}
	if len(f) > 10 {
		for _, s := range headSuffixes {
			if strings.HasSuffix(f, s) {
				return true
			}
		}
	}
	return false
}

func hasHeadNoun(s string) bool {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '-' || r == '/' || r == '·' }) {
		if isHeadNoun(w) {
			return true
		}
	}
	return false
}

// role finds the job title: stated in the body ("for the Senior Platform
// Engineer role", "hiring a …", "als …", "au poste de …", "para el puesto
// de …"), else in the subject, else a line of the body that is only a title.
func (x *fieldExtractor) role() string {
	body := x.rolesIn(x.fresh, false)
	subj := stripSubjectPrefixes(x.m.Subject)
	// A subject is read part by part: its dashes separate, they do not
	// continue a title.
	var fromSubject string
	for _, seg := range splitSubject(subj) {
		if r := x.rolesIn(seg, true); r != "" {
			fromSubject = r
			break
		}
	}
	if fromSubject == "" {
		for _, seg := range splitSubject(subj) {
			if r := titleSegment(seg); r != "" {
				fromSubject = r
				break
			}
		}
	}
	if fromSubject == "" {
		fromSubject = x.parenRole(subj)
	}
	switch {
	case body != "" && fromSubject != "":
		// "the Backend Engineer role" in the text, "Backend Engineer II
		// (Payments Core)" in the subject: the subject says more.
		if strings.HasPrefix(strings.ToLower(fromSubject), strings.ToLower(body)) {
			return fromSubject
		}
		return body
	case body != "":
		return body
	case fromSubject != "":
		return fromSubject
	}
	if c := x.m.Calendar; c != nil {
		if r := x.parenRole(c.Summary); r != "" {
			return r
		}
		for _, seg := range splitSubject(c.Summary) {
			if r := titleSegment(seg); r != "" {
				return r
			}
		}
	}
	// A bulleted line that is only a title: "• Senior Backend Engineer (Go)".
	for _, l := range x.lines {
		t := strings.TrimLeft(l, "•*-–·▪ ")
		if t == l || strings.ContainsAny(t, ",|") {
			continue
		}
		if r := titleSegment(t); r != "" && len(strings.Fields(r)) >= 2 && strings.EqualFold(r, stripParens(t)) {
			return r
		}
	}
	// A reply that names no role is about the role of the thread: "le
	// poste d'…" in the quoted message it answers.
	return x.rolesIn(quotedText(x.text), false)
}

// quotedText is the quoted history of a reply ("> …" lines), unquoted,
// with each quoted paragraph joined into one line so a title broken
// across lines reads whole.
func quotedText(text string) string {
	var b strings.Builder
	para := false
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, ">") {
			if para {
				b.WriteByte('\n')
			}
			para = false
			continue
		}
		t = strings.TrimSpace(strings.TrimLeft(t, "> "))
		switch {
		case t == "":
			if para {
				b.WriteByte('\n')
			}
			para = false
		case para:
			b.WriteByte(' ')
			b.WriteString(t)
		default:
			b.WriteString(t)
			para = true
		}
	}
	return b.String()
}

// parenRole reads the title that calendar and scheduling systems put in
// parentheses after the candidate's or the company's name: "Alex Morgan
// (Backend Senior)", "Halden Maritime (Senior Software Engineer, Vessel
// Telemetry)".
func (x *fieldExtractor) parenRole(s string) string {
	for {
		i := strings.IndexByte(s, '(')
		if i < 0 {
			return ""
		}
		j := strings.IndexByte(s[i:], ')')
		if j < 0 {
			return ""
		}
		before := nameKey(lastWords(s[:i], 4))
		inner := strings.TrimSpace(s[i+1 : i+j])
		s = s[i+j+1:]
		if inner == "" || junkParen(inner) {
			continue
		}
		afterUser := false
		for k := range x.userNames {
			if len(k) > 4 && strings.HasSuffix(before, k) {
				afterUser = true
			}
		}
		afterCompany := x.companyKey != "" && strings.HasSuffix(before, x.companyKey)
		r := cleanRole(inner)
		if r == "" || len(strings.Fields(r)) > 10 {
			continue
		}
		if afterUser || (afterCompany && hasHeadNoun(r)) {
			return r
		}
	}
}

func lastWords(s string, n int) string {
	w := strings.Fields(s)
	if len(w) > n {
		w = w[len(w)-n:]
	}
	return strings.Join(w, " ")
}

// roleNouns follow a title: "the Staff Engineer role".
var roleNouns = setOf(`role position opening vacancy job opportunity post req stelle rolle`)

// determiners end a title read backwards from its role noun.
var determiners = setOf(`the a an our this that your their my for as of in to with die der den das eine einen
	le la les un une du des el los las`)

// A roleTrigger precedes a title. mode says how the title is read: 'f'
// capitalised words (English, German), 'n' the same after a number ("need
// two Senior Go Developers"), its plural made singular, 'l' loosely up to a
// word that starts something else (French and Spanish titles are often
// lower case), 'L' the rest of a "Role: …" line. prio ranks what the
// trigger says: a label or a hiring verb beats a bare "for" or "a"; a bare
// "un"/"una" is trusted only before a head noun ("una ingeniera …", not
// "una sesión técnica").
type roleTrigger struct {
	words []string
	mode  byte
	prio  int
}

var roleTriggers = func() []roleTrigger {
	var out []roleTrigger
	add := func(mode byte, prio int, phrases ...string) {
		for _, p := range phrases {
			out = append(out, roleTrigger{strings.Fields(p), mode, prio})
		}
	}
	add('L', 4, "role :", "position :", "job :", "job title :", "title :", "vacancy :", "opening :", "stelle :",
		"position :", "rolle :", "poste :", "intitule du poste :", "puesto :", "vacante :", "posicion :", "rol :", "cargo :",
		"application :", "candidature :", "candidatura :", "bewerbung :")
	add('f', 3, "hiring a", "hiring an", "hiring for a", "hiring for an", "hiring for the", "looking for a",
		"looking for an", "searching for a", "searching for an", "recruiting a", "recruiting an", "recruiting for a",
		"recruiting for an", "application for the", "application for a", "application for an", "application for",
		"applying for the", "applying for a", "applying for", "applied for the", "applied for a", "applied for",
		"interest in the", "interview for the", "interview for a", "interview for", "position of", "role of",
		"position as a", "position as", "role as a", "role as", "join us as a", "join us as an", "join us as",
		"opening for a", "vacancy for a", "screen for the", "adding a", "adding an", "need a", "need an",
		"als", "position als", "stelle als", "rolle als")
	add('l', 3, "poste de", "poste d", "au poste", "le poste", "du poste", "en tant que", "puesto de", "posicion de",
		"vacante de", "rol de", "cargo de", "plaza de", "oferta de", "offre de", "busqueda de", "candidatura para",
		"candidatura a", "candidature pour", "proceso de seleccion de", "proceso de seleccion para")
	for _, verb := range []string{"need", "hiring", "looking for", "searching for", "recruiting", "adding", "suche", "suchen"} {
		for _, n := range []string{"two", "three", "four", "five", "several", "2", "3", "4", "5", "zwei", "drei", "mehrere"} {
			add('n', 3, verb+" "+n)
		}
	}
	add('f', 1, "for", "for the", "for our", "for a", "for an", "a", "an", "einen", "eine")
	add('l', 1, "como", "buscamos", "un", "une", "una")
	return out
}()

// quotedRoleNouns may be followed by a quoted title: the position
// „Senior Software Engineer Plattform (m/w/d)“.
var quotedRoleNouns = setOf(`role position job vacancy opening stelle rolle poste puesto posicion vacante`)

// selfWords before "a …" mean the sender describes themselves: "I'm a
// Talent Partner".
var selfWords = setOf(`i'm im am is was been be i've i'd ich bin je suis soy sono`)

// rolesIn finds the best-ranked title in text, the first of its rank.
// roleTriggersByFirst lists, for each first word of a trigger, the
// triggers that start with it, in their order in roleTriggers. (matchWords
// compares a ":" with a token's text and any other word with a word
// token's lower case, so a token can start only the triggers listed under
// its own.)
var roleTriggersByFirst = func() map[string][]int {
	out := map[string][]int{}
	for i, tr := range roleTriggers {
		out[tr.words[0]] = append(out[tr.words[0]], i)
	}
	return out
}()

func (x *fieldExtractor) rolesIn(text string, subject bool) string {
	buf, toks := roleTokenize(text)
	defer returnToks(buf, toks)
	best, bestPrio := "", 0
	consider := func(r string, prio int) {
		if prio > bestPrio && r != "" && hasHeadNoun(withoutParens(r)) && len(strings.Fields(r)) <= 12 {
			best, bestPrio = r, prio
		}
	}
	for i := range toks {
		if bestPrio >= 4 {
			break
		}
		// Backwards from a role noun: "the Senior Platform Engineer role".
		if toks[i].kind == 'w' && roleNouns[toks[i].low] && i > 0 {
			if s := titleBackward(toks, i); s < i {
				consider(cleanRole(joinToks(text, toks, s, i)), 3)
			}
		}
		// A quoted title after a role noun.
		if toks[i].kind == 'w' && quotedRoleNouns[toks[i].low] && i+1 < len(toks) && isOpenQuote(toks[i+1].text) {
			for c := i + 2; c < len(toks) && c-i < 20 && toks[c].line == toks[i].line; c++ {
				if isCloseQuote(toks[c].text) {
					if c > i+2 {
						consider(cleanRole(joinToks(text, toks, i+2, c)), 4)
					}
					break
				}
			}
		}
		var starting []int // the triggers whose first word is this token
		if toks[i].kind == 'w' {
			starting = roleTriggersByFirst[toks[i].low]
		} else if toks[i].text == ":" {
			starting = roleTriggersByFirst[":"]
		}
		for _, t := range starting {
			tr := &roleTriggers[t]
			if tr.prio <= bestPrio {
				continue
			}
			j, ok := matchWords(toks, i, tr.words)
			if !ok {
				continue
			}
			if tr.mode == 'L' && i != lineFirst(toks, i) {
				continue
			}
			if (tr.words[0] == "a" || tr.words[0] == "an") && i > 0 && selfWords[toks[i-1].low] {
				continue
			}
			var e int
			switch tr.mode {
			case 'L':
				// "Candidature : Senior Software Engineer - Plateforme de
				// recharge": a label's value may go on in lower case.
				e = max(titleForward(toks, j, true), titleLoose(toks, j))
			case 'l':
				// "au poste de …", "au poste d'…".
				if j < len(toks) && toks[j].low == "de" {
					j++
				} else if j+1 < len(toks) && toks[j].low == "d" && (toks[j+1].text == "'" || toks[j+1].text == "’") {
					j += 2
				}
				e = titleLoose(toks, j)
				if e == j {
					e = titleForward(toks, j, subject)
				}
			default:
				e = titleForward(toks, j, subject)
				// "for the Senior Backend Engineer, Patient Messaging
				// position" or "… for Senior Backend Engineer, Telemetry.":
				// a comma part belongs to the title when a role noun or
				// the end of the sentence closes it.
				if e2 := titleForward(toks, j, true); e2 > e && closesTitle(toks, e2) {
					e = e2
				}
			}
			if tr.mode == 'l' && tr.prio == 1 && e > j && !startsTitle(toks[j].text) {
				continue
			}
			if e > j {
				r := cleanRole(joinToks(text, toks, j, e))
				if tr.mode == 'n' {
					r = singularTitle(r)
				}
				consider(r, tr.prio)
			}
		}
	}
	return best
}

// seniorityWords may start a title before its head noun.
var seniorityWords = setOf(`senior junior staff principal sr jr`)

// startsTitle reports whether a word can start a French or Spanish title,
// which puts its head noun first: "ingeniera de datos", "senior …".
func startsTitle(w string) bool {
	return isHeadNoun(w) || seniorityWords[fold(w)]
}

// singularTitle makes a plural head noun at the end of a title singular:
// "Senior Go Developers" is the title "Senior Go Developer".
func singularTitle(r string) string {
	w := strings.Fields(r)
	if len(w) == 0 {
		return r
	}
	last := w[len(w)-1]
	if one := strings.TrimSuffix(last, "s"); one != last && !isHeadNoun(last) && isHeadNoun(one) {
		w[len(w)-1] = one
	}
	return strings.Join(w, " ")
}

// closesTitle reports whether token e ends a title: a role noun, the end of
// a sentence or of the line.
func closesTitle(toks []roleTok, e int) bool {
	if e >= len(toks) || toks[e].line != toks[e-1].line {
		return true
	}
	t := toks[e]
	if t.kind == 'w' && roleNouns[t.low] {
		return true
	}
	return t.kind == 'p' && strings.Contains(".!?;:", t.text)
}

func lineFirst(toks []roleTok, i int) int {
	for i > 0 && toks[i-1].line == toks[i].line {
		i--
	}
	// Skip a bullet.
	for i < len(toks) && toks[i].kind == 'p' && strings.Contains("-–•*·", toks[i].text) {
		i++
	}
	return i
}

func isOpenQuote(s string) bool  { return strings.Contains("\"„“«‚‘'", s) }
func isCloseQuote(s string) bool { return strings.Contains("\"“”»‘’'", s) }

// roleTok is a token with its place in the text.
type roleTok = dtTok

// roleTokenize tokenizes s as the date parser does, but without joining
// apostrophes into words, so "d'" and "l'" come apart from French words
// ("poste d'ingénieur"). The tokens are in a borrowed slice: the caller
// gives it back with returnToks(buf, toks) once done with them.
func roleTokenize(s string) (buf *[]roleTok, toks []roleTok) {
	buf = borrowToks()
	return buf, tokenize((*buf)[:0], s, false, 20000)
}

func matchWords(toks []roleTok, i int, words []string) (int, bool) {
	j := i
	for _, w := range words {
		if j >= len(toks) {
			return 0, false
		}
		if w == ":" {
			if toks[j].text != ":" {
				return 0, false
			}
		} else if toks[j].kind != 'w' || toks[j].low != w {
			return 0, false
		}
		if j > i && toks[j].line != toks[i].line {
			return 0, false
		}
		j++
	}
	// "poste d'ingénieur": skip the apostrophe.
	if words[len(words)-1] == "d" && j < len(toks) && (toks[j].text == "'" || toks[j].text == "’") {
		j++
	}
	return j, true
}

func joinToks(text string, toks []roleTok, a, b int) string {
	return strings.Join(strings.Fields(text[toks[a].start:toks[b-1].end]), " ")
}

// titleTok reports whether a word can be part of a capitalised title.
func titleTok(t roleTok) bool {
	switch t.kind {
	case 'w':
		r, _ := utf8.DecodeRuneInString(t.text)
		if unicode.IsUpper(r) {
			return true
		}
		// "iOS", "eCommerce"
		return strings.IndexFunc(t.text, unicode.IsUpper) > 0
	case 'n':
		return len(t.text) <= 2
	}
	return false
}

// titleConnectors join capitalised title words: "Head of Data", "Ingeniero
// de Datos". Not "and"/"und": German capitalises nouns, and "Developer und
// Ihr Interesse" is no title.
var titleConnectors = setOf(`of de des du del`)

// titleForward reads a capitalised title from token j; it returns the end.
func titleForward(toks []roleTok, j int, subject bool) int {
	e := j
	k := j
	for k < len(toks) && k-j < 16 {
		t := toks[k]
		if t.line != toks[j].line {
			break
		}
		switch {
		case titleTok(t):
			if k == j && determiners[t.low] {
				return j
			}
			k++
			e = k
			// "Ingeniero Backend Sr.": an abbreviation keeps its point.
			if k < len(toks) && toks[k].text == "." && !toks[k].space && titleAbbrevs[t.low] {
				k++
				e = k
			}
			continue
		case t.kind == 'w' && titleConnectors[t.low] && k > j && k+1 < len(toks) && titleTok(toks[k+1]) && toks[k+1].line == t.line && t.low != "the":
			k++
			continue
		case t.kind == 'p' && (t.text == "-" || t.text == "/" || t.text == "&" || t.text == "+" || t.text == "#" || t.text == "–") && k > j && k+1 < len(toks) && titleTok(toks[k+1]):
			if t.text == "+" || t.text == "#" {
				k++
				e = k
				continue
			}
			k++
			continue
		case t.kind == 'p' && t.text == "(" && k > j:
			if c := closeParen(toks, k); c > 0 {
				k = c + 1
				e = k
				continue
			}
		case t.kind == 'p' && t.text == "," && subject && k > j && k+1 < len(toks) && titleTok(toks[k+1]):
			k++
			continue
		}
		break
	}
	return e
}

// titleAbbrevs are abbreviations written with a point inside a title.
var titleAbbrevs = setOf(`sr jr snr jnr`)

// titleLoose reads a title in lower case, as French and Spanish write them
// ("développeur backend senior"), up to a word that starts something else.
func titleLoose(toks []roleTok, j int) int {
	e := j
	for k := j; k < len(toks) && k-j < 10; k++ {
		t := toks[k]
		if t.line != toks[j].line {
			break
		}
		if t.kind == 'p' {
			if t.text == "(" {
				if c := closeParen(toks, k); c > 0 {
					k = c
					e = k + 1
					continue
				}
			}
			// Inclusive forms written inside a word: "Ingeniero/a",
			// "Développeur·se", "développeur.euse".
			if strings.Contains("/·.", t.text) && !t.space && k > j && k+1 < len(toks) && toks[k+1].kind == 'w' && !toks[k+1].space {
				k++
				e = k + 1
				continue
			}
			// "Ingénieur logiciel senior – Plateforme data"
			if (t.text == "-" || t.text == "–" || t.text == "—" || t.text == "/" || t.text == "&") && k > j {
				continue
			}
			break
		}
		if t.kind == 'w' && looseStop[t.low] && k > j {
			break
		}
		e = k + 1
	}
	return e
}

var looseStop = setOf(`chez au aux a dans pour avec que qui sur ce cette afin dont nous vous il elle et en
	base basee situe situee con para que en del y se nos te le la el los las a al por como ya en un una
	au sein in at for with to and our the und bei im fur mit zu`)

func closeParen(toks []roleTok, k int) int {
	for c := k + 1; c < len(toks) && c-k < 12; c++ {
		if toks[c].line != toks[k].line {
			return -1
		}
		if toks[c].text == ")" {
			return c
		}
		if toks[c].text == "(" {
			return -1
		}
	}
	return -1
}

// titleBackward reads a title backwards from the role noun at r; it
// returns the start.
func titleBackward(toks []roleTok, r int) int {
	s := r
	k := r - 1
	for k >= 0 && r-k < 18 {
		t := toks[k]
		if t.line != toks[r].line {
			break
		}
		switch {
		case t.kind == 'p' && t.text == ")":
			o := -1
			for c := k - 1; c >= 0 && k-c < 12 && toks[c].line == t.line; c-- {
				if toks[c].text == "(" {
					o = c
					break
				}
			}
			if o < 0 {
				return s
			}
			k = o - 1
			continue
		case t.kind == 'w' && determiners[t.low]:
			return s
		case titleTok(t):
			s = k
			k--
			continue
		case t.kind == 'w' && titleConnectors[t.low] && k > 0 && titleTok(toks[k-1]) && s < r:
			k--
			continue
		case t.kind == 'p' && (t.text == "," || t.text == "-" || t.text == "/" || t.text == "&") && s < r && k > 0 && titleTok(toks[k-1]):
			k--
			continue
		}
		break
	}
	// Keep from the first comma-separated part that has a head noun:
	// "Alex, Platform Engineer role" is "Platform Engineer".
	for s < r {
		end := s
		for end < r && toks[end].text != "," {
			end++
		}
		if end == r {
			break
		}
		has := false
		for k := s; k < end; k++ {
			if isHeadNoun(toks[k].text) {
				has = true
			}
		}
		if has {
			break
		}
		s = end + 1
	}
	return s
}

// titleSegment reads a subject segment that is a title and nothing else:
// "Senior Backend Engineer (m/w/d)", "Data Engineer application",
// "Lead Backend Engineer at Kestrel Maps".
func titleSegment(seg string) string {
	buf, toks := roleTokenize(seg)
	defer returnToks(buf, toks)
	if len(toks) == 0 || !titleTok(toks[0]) {
		return ""
	}
	e := titleForward(toks, 0, true)
	if e == 0 {
		return ""
	}
	if e < len(toks) {
		rest := toks[e]
		switch {
		case rest.kind == 'w' && (roleNouns[rest.low] || rest.low == "application" || rest.low == "interview" || rest.low == "opportunity" || rest.low == "bewerbung" || rest.low == "candidature"):
			if e+1 < len(toks) {
				return ""
			}
		case rest.kind == 'w' && (rest.low == "at" || rest.low == "with" || rest.low == "bei" || rest.low == "chez" || rest.low == "en" || rest.low == "in"):
		case rest.text == "@":
		default:
			return ""
		}
	}
	r := cleanRole(joinToks(seg, toks, 0, e))
	// "Priyanka Rao (Senior Data Engineer)" is a person, not a title.
	if r == "" || !hasHeadNoun(withoutParens(r)) || len(strings.Fields(r)) > 10 {
		return ""
	}
	return r
}

// withoutParens drops every parenthesised part.
func withoutParens(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cleanRole drops what is not part of the title: requisition numbers,
// "(m/w/d)", "(H/F)", employment terms, a trailing "role".
func cleanRole(s string) string {
	s = stripParens(s)
	for {
		t := strings.TrimSpace(strings.TrimRight(s, " ,-–—:;/"))
		w := strings.Fields(t)
		if len(w) == 0 {
			return ""
		}
		last := fold(w[len(w)-1])
		if roleNouns[last] || last == "application" || last == "interview" || last == "opportunity" || isReqID(w[len(w)-1]) || last == "req" {
			t = strings.Join(w[:len(w)-1], " ")
			if t == s {
				break
			}
			s = t
			continue
		}
		first := fold(w[0])
		if (determiners[first] || leadingNonTitle[first]) && len(w) > 1 {
			s = strings.Join(w[1:], " ")
			continue
		}
		s = t
		break
	}
	if len(s) > 100 {
		return ""
	}
	return s
}

// leadingNonTitle are words a subject puts before a title: "Candidatura
// Tech Lead de Plataforma", "Interview Senior Engineer".
var leadingNonTitle = setOf(`candidatura candidature application bewerbung interview entrevista entretien einladung
	invitation invitacion poste puesto position stelle role job vacancy`)

// isReqID matches "R-20418", "#2026-4471", "JR12345".
func isReqID(w string) bool {
	w = strings.Trim(w, "()[],.")
	if strings.HasPrefix(w, "#") {
		return true
	}
	d := digitCount(w)
	return d >= 3 && d*2 >= len(w)-2
}

// stripParens removes parenthesised requisition ids, gender markers and
// employment terms, keeping "(Go)" or "(Payments Core)".
func stripParens(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexAny(s, "([")
		if i < 0 {
			b.WriteString(s)
			break
		}
		closer := ")"
		if s[i] == '[' {
			closer = "]"
		}
		j := strings.Index(s[i:], closer)
		if j < 0 {
			b.WriteString(s)
			break
		}
		inner := s[i+1 : i+j]
		if junkParen(inner) {
			b.WriteString(strings.TrimRight(s[:i], " "))
		} else {
			b.WriteString(s[:i+j+1])
		}
		s = s[i+j+1:]
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func junkParen(inner string) bool {
	f := fold(inner)
	if digitCount(f) >= 3 || strings.Contains(f, "#") {
		return true
	}
	// Gender markers: m/w/d, w/m/d, f/m/d, h/f, m/f, x/f/m, all genders.
	parts := strings.FieldsFunc(f, func(r rune) bool { return r == '/' || r == '|' || r == ',' || r == ' ' || r == '*' })
	short := len(parts) >= 2
	for _, p := range parts {
		if len(p) > 1 {
			short = false
		}
	}
	if short {
		return true
	}
	for _, w := range []string{"all genders", "gn", "req", "requisition", "job id", "ref", "remote", "hybrid", "onsite",
		"on-site", "full-time", "full time", "part-time", "permanent", "contract", "freelance", "vollzeit", "teilzeit",
		"cdi", "cdd", "unbefristet", "befristet", "jornada completa", "indefinido", "temps plein", "w/m", "m/w", "h/f", "f/h"} {
		if f == w || hasPrefixThen(f, w, " ") || hasPrefixThen(f, w, ":") || hasPrefixThen(f, w, "#") {
			return true
		}
	}
	return false
}
