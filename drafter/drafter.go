package drafter

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-message/mail"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

// Invitation is the message being answered and what the caller extracted
// from it. Every field but Message may be empty.
type Invitation struct {
	Message   *mailmsg.Message
	FirstName string // the recruiter's first name, for the greeting
	Company   string // the hiring company
	Role      string // the job title
	Lang      string // the invitation's language ("de", "fr-FR" …); "" is English
	// Times are the interview times the invitation proposes. When empty,
	// the start of the invitation's calendar entry is used, if any.
	Times []time.Time
	// Duration is the interview's length, for the slots a reschedule
	// proposes; when zero, the calendar entry's length, else
	// Availability.SlotLength.
	Duration time.Duration
	// Formality chooses Sie/du, vous/tu, usted/tú; see FormalityAuto.
	Formality Formality
}

// Me is the user, on the account the draft is written to.
type Me struct {
	Name    string // display name for From; may be empty
	Address string // From address; "" takes the invitation's first To
	// Signature goes under the sign-off; "" signs with Name (or nothing).
	Signature string
	// Zone is the user's time zone: for Date, the times named in the reply
	// and (unless Availability.Zone is set) the proposed slots. nil is UTC.
	Zone *time.Location
}

// Request is what the user decided.
type Request struct {
	Action string // decline, reschedule or ask-compensation
	// Reason is the decline reason; "" uses Options.DefaultReason.
	Reason string
	// CompensationTarget is the user's target for ask-compensation, as they
	// write it ("£110k base", "95.000 € brutto"); "" asks for the range
	// without naming a number.
	CompensationTarget string
	// QuoteOriginal adds the invitation under an attribution line.
	QuoteOriginal bool
	// DeterministicID derives the Message-ID from the invitation's
	// Message-ID and Me.Address (see DraftMessageID) instead of a random one.
	DeterministicID bool
}

// Options configure a Drafter. The zero value drafts with the built-in
// templates, the default availability and the system clock.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Availability is where reschedule slots come from; the zero value is
	// DefaultAvailability().
	Availability Availability
	// Templates are the reply templates; nil means the built-in ones.
	Templates *Templates
	// DefaultReason is the decline reason when a request names none; ""
	// means ReasonNone.
	DefaultReason string
}

// Drafter writes replies to interview invitations. It is safe for
// concurrent use.
type Drafter struct {
	now           func() time.Time
	avail         Availability
	templates     *Templates
	defaultReason string
}

// New returns a Drafter, or an error naming what is wrong with opts.
func New(opts Options) (*Drafter, error) {
	d := &Drafter{now: opts.Now, avail: opts.Availability, templates: opts.Templates}
	if d.now == nil {
		d.now = time.Now
	}
	if d.templates == nil {
		t, err := BuiltinTemplates()
		if err != nil {
			return nil, fmt.Errorf("built-in templates: %w", err)
		}
		d.templates = t
	}
	if err := d.avail.withDefaults(nil).Validate(); err != nil {
		return nil, fmt.Errorf("availability: %w", err)
	}
	d.defaultReason = strings.TrimSpace(opts.DefaultReason)
	if d.defaultReason == "" {
		d.defaultReason = ReasonNone
	}
	if !d.templates.hasReason(d.defaultReason) {
		return nil, fmt.Errorf("default reason: %w", unknownReason(d.defaultReason, d.templates.Reasons()))
	}
	return d, nil
}

// Reasons lists the decline reasons this Drafter knows, custom ones included.
func (d *Drafter) Reasons() []ReasonInfo { return d.templates.Reasons() }

// Errors Reply returns for an invitation it cannot answer.
var (
	ErrNoMessage   = errors.New("no invitation message")
	ErrNoRecipient = errors.New("the invitation has no usable From or Reply-To address")
	ErrNoSender    = errors.New("no From address: set Me.Address")
)

// lateWindow is how close an interview must be for a decline to apologise
// for the short notice.
const lateWindow = 48 * time.Hour

// Reply drafts the reply to inv that req asks for.
func (d *Drafter) Reply(inv Invitation, me Me, req Request) (*Reply, error) {
	m := inv.Message
	if m == nil {
		return nil, ErrNoMessage
	}
	action := strings.ToLower(strings.TrimSpace(req.Action))
	reason := ""
	switch action {
	case ActionDecline:
		reason = strings.ToLower(strings.TrimSpace(req.Reason))
		if reason == "" {
			reason = d.defaultReason
		}
		if !d.templates.hasReason(reason) {
			return nil, unknownReason(reason, d.templates.Reasons())
		}
	case ActionReschedule, ActionAskCompensation:
	default:
		return nil, unknownAction(req.Action)
	}

	to := m.ReplyAddress()
	if to == nil || !strings.Contains(to.Address, "@") {
		return nil, ErrNoRecipient
	}
	me = fillMe(me, m)
	if me.Address == "" {
		return nil, ErrNoSender
	}

	now := d.now().In(me.Zone)
	lang := normLang(inv.Lang)
	if lang == "" {
		lang = "en"
	}
	name := action
	if action == ActionDecline {
		name = "decline/" + reason
	}
	key, ok := d.templates.lookup(name, lang)
	if !ok {
		return nil, fmt.Errorf("no template for %s", name)
	}
	_, lang = splitKey(key)

	formal := true
	switch inv.Formality {
	case Formal:
	case Informal:
		formal = false
	default:
		formal = detectFormal(lang, mailmsg.FreshText(m.Text))
	}

	times, length := proposedTimes(inv)
	var upcoming []time.Time
	for _, t := range times {
		if t.After(now) {
			upcoming = append(upcoming, t)
		}
	}
	sort.Slice(upcoming, func(i, j int) bool { return upcoming[i].Before(upcoming[j]) })
	late := len(upcoming) > 0
	for _, t := range upcoming {
		if t.Sub(now) >= lateWindow {
			late = false
		}
	}

	data := TemplateData{
		Lang: lang, Formal: formal, Action: action, Reason: reason,
		FirstName:          cleanName(inv.FirstName),
		Company:            cleanField(inv.Company),
		Role:               cleanRole(inv.Role),
		MyName:             cleanField(me.Name),
		Late:               late,
		CompensationTarget: cleanField(req.CompensationTarget),
	}
	if len(upcoming) > 0 {
		zones := map[string]bool{}
		var bare []string
		for i, t := range upcoming {
			t = t.In(me.Zone)
			zones[zoneName(lang, t)] = true
			data.Proposed = append(data.Proposed, formatMoment(lang, t, now, true))
			bare = append(bare, formatMoment(lang, t, now, i == len(upcoming)-1))
		}
		if len(zones) == 1 {
			// "Tuesday at 10:00 or Wednesday at 14:00 GMT": the zone once.
			data.ProposedText = joinOr(lang, bare)
		} else {
			data.ProposedText = joinOr(lang, data.Proposed)
		}
	}

	var slots []Slot
	if action == ActionReschedule {
		avail := d.avail.withDefaults(me.Zone)
		if inv.Duration > 0 {
			length = inv.Duration
		}
		var err error
		slots, err = ProposeSlots(avail, now, length, upcoming...)
		if err != nil {
			return nil, fmt.Errorf("propose slots: %w", err)
		}
		for _, s := range slots {
			data.Slots = append(data.Slots, formatSlot(lang, s, now))
		}
	}

	text, err := d.templates.render(key, data)
	if err != nil {
		return nil, err
	}
	body := text
	if sig := signature(me); sig != "" {
		body += "\n" + sig
	}
	if req.QuoteOriginal {
		body += "\n\n" + quote(lang, m, me.Zone)
	}
	body = cleanBody(body)

	r := &Reply{
		Body: body, Lang: lang, Formal: formal, Action: action, Reason: reason,
		Late: late, Slots: slots, Warnings: warnings(m, to),
	}
	if req.DeterministicID {
		id := m.MessageID
		if id == "" {
			// No Message-ID: derive a stable stand-in from what
			// identifies the message instead.
			id = "no-id:" + m.Header.Get("From") + "\x00" + m.Header.Get("Date") + "\x00" + m.Subject
		}
		r.MessageID = DraftMessageID(id, me.Address)
	} else if r.MessageID, err = randomMessageID(me.Address); err != nil {
		return nil, fmt.Errorf("message id: %w", err)
	}
	r.Header = buildHeader(m, me, to, now, r.MessageID, lang, flowed(body, flowWidth))
	return r, nil
}

// fillMe completes me: the address (and name) the invitation was sent to
// when none is given, a zone.
func fillMe(me Me, m *mailmsg.Message) Me {
	me.Address = strings.TrimSpace(headerText(me.Address))
	me.Name = displayName(me.Name)
	if me.Address == "" {
		for _, a := range m.To {
			if a != nil && strings.Contains(a.Address, "@") {
				me.Address = headerText(a.Address)
				if me.Name == "" {
					me.Name = displayName(a.Name)
				}
				break
			}
		}
	}
	if me.Zone == nil {
		me.Zone = time.UTC
	}
	return me
}

// proposedTimes returns the invitation's proposed times and, from its
// calendar entry, the interview's length.
func proposedTimes(inv Invitation) ([]time.Time, time.Duration) {
	var length time.Duration
	cal := inv.Message.Calendar
	if cal != nil && !cal.AllDay && !cal.Start.IsZero() && cal.End.After(cal.Start) && cal.End.Sub(cal.Start) <= 10*time.Hour {
		length = cal.End.Sub(cal.Start)
	}
	if len(inv.Times) > 0 {
		return inv.Times, length
	}
	if cal != nil && cal.Method != "CANCEL" && !cal.AllDay && !cal.Start.IsZero() {
		return []time.Time{cal.Start}, length
	}
	return nil, length
}

func buildHeader(m *mailmsg.Message, me Me, to *mail.Address, now time.Time, id, lang, wire string) mail.Header {
	var h mail.Header
	// go-message writes the field added last first, so add them in
	// reverse order of how they should read.
	h.Set("Content-Language", lang)
	h.Set("Content-Transfer-Encoding", transferEncoding(wire))
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8", "format": "flowed"})
	h.Set("MIME-Version", "1.0")
	h.SetMsgIDList("References", references(m.References, m.InReplyTo, m.MessageID))
	if validMsgID(m.MessageID) {
		h.SetMsgIDList("In-Reply-To", []string{m.MessageID})
	}
	h.SetMessageID(id)
	h.SetSubject(replySubject(m.Subject))
	h.SetAddressList("To", []*mail.Address{{Name: displayName(to.Name), Address: headerText(to.Address)}})
	h.SetAddressList("From", []*mail.Address{{Name: me.Name, Address: me.Address}})
	h.SetDate(now)
	return h
}

func signature(me Me) string {
	sig := strings.TrimRight(strings.ReplaceAll(me.Signature, "\r\n", "\n"), "\n ")
	if strings.TrimSpace(sig) == "" {
		return me.Name
	}
	return sig
}

// quote is the original under an attribution line, each line prefixed "> ".
func quote(lang string, m *mailmsg.Message, zone *time.Location) string {
	who := ""
	if m.From != nil {
		name, addr := displayName(m.From.Name), headerText(m.From.Address)
		switch {
		case name != "" && addr != "":
			who = name + " <" + addr + ">"
		case addr != "":
			who = addr
		default:
			who = name
		}
	}
	var b strings.Builder
	when := m.Date
	if !when.IsZero() {
		when = when.In(zone)
	}
	if a := attribution(lang, when, who); a != "" {
		b.WriteString(a + "\n")
	}
	text := strings.TrimRight(m.Text, "\n ")
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, ">") {
			b.WriteString(">" + line + "\n")
		} else if line == "" {
			b.WriteString(">\n")
		} else {
			b.WriteString("> " + line + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// cleanBody removes control characters but newlines from the final text.
func cleanBody(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\r\n", "\n"), "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return -1
		}
		return r
	}, s) + "\n"
}

// cleanField makes an extracted value fit for a sentence: one line, single
// spaces, no surrounding punctuation or quotes.
func cleanField(s string) string {
	s = headerText(s)
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(`"'“”‘’«»,;:-–—|·`, r)
	})
}

// cleanName keeps a first name only when it looks like one: a greeting
// with something else in it is worse than "Hello,".
func cleanName(s string) string {
	if strings.ContainsFunc(s, unicode.IsControl) {
		return ""
	}
	s = cleanField(s)
	if strings.ContainsAny(s, "@<>{}[]()0123456789/\\:;,!?=_|\"") || len(strings.Fields(s)) > 3 || len([]rune(s)) > 40 {
		return ""
	}
	return s
}

var genderMarker = regexp.MustCompile(`(?i)\s*[(\[]\s*(?:[mwfdhxi*]\s*[/|,]\s*){1,3}[mwfdhxi*]\s*[)\]]`)

// cleanRole drops the gender markers job titles carry in German and French
// ads, "(m/w/d)", "(H/F)", which nobody writes in a letter.
func cleanRole(s string) string {
	return cleanField(genderMarker.ReplaceAllString(s, ""))
}

var (
	noReplyLocal = regexp.MustCompile(`(?i)^(no-?reply|do-?not-?reply|donotreply|noreply|mailer-daemon|bounces?|notifications?)([.+_-]|$)`)
	noReplyText  = regexp.MustCompile(`(?i)(do not|don't|please don't) reply to this (e-?mail|message)|mailbox is not monitored|not (a )?monitored|nicht auf diese (e-?mail|nachricht) antworten|ne pas répondre à (ce|cet) (e-?mail|message|courriel)|no respond(a|as) a este (correo|mensaje)`)
)

// warnings are what the user should check before sending.
func warnings(m *mailmsg.Message, to *mail.Address) []string {
	var out []string
	local := to.Address
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	hasReplyTo := false
	for _, a := range m.ReplyTo {
		if a != nil && a.Address != "" {
			hasReplyTo = true
		}
	}
	switch {
	case noReplyLocal.MatchString(local):
		out = append(out, fmt.Sprintf("the reply address %s looks unmonitored; the invitation may name a person to write to instead", to.Address))
	case !hasReplyTo && noReplyText.MatchString(m.Text):
		out = append(out, fmt.Sprintf("the invitation asks not to reply to %s; it may name a person or a portal to use instead", to.Address))
	}
	return out
}
