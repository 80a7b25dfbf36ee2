package classifier

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

// Limits that keep a hostile or mistaken rule set from making
// classification slow. Regular expressions are RE2 (linear time in the text),
// so these bound the constant factors.
const (
	MaxRules          = 5000
	MaxPatternRules   = 300
	MaxPatternBytes   = 2000
	MaxKeywordBytes   = 200
	MaxKeywordsInRule = 2000
	MaxKeywords       = 50000
)

// Rule is one rule as written in the config. Exactly one of Keywords,
// Pattern, Present or the combination fields (AllOf, AnyOf, NoneOf,
// AtLeast+Of) says what it matches.
type Rule struct {
	Name        string
	Description string
	// In lists where Keywords and Pattern look: subject, body, from,
	// from_name, from_address, reply_to, to, calendar, header:NAME.
	// Empty means subject and body.
	In       []string
	Keywords []string
	Pattern  string
	// Present names a part whose presence fires the rule: calendar,
	// reply_to, thread (In-Reply-To or References), header:NAME.
	Present string
	AllOf   []string
	AnyOf   []string
	NoneOf  []string
	AtLeast int
	Of      []string
	Score   float64
}

// Spec is everything Compile needs.
type Spec struct {
	Threshold float64
	Rules     []Rule
	// Allow and Deny are sender patterns: "name@domain", "*@domain",
	// "domain" (the domain and its subdomains) or any path.Match glob over
	// the address. A sender on Deny is never an invitation; one on Allow
	// always is (Deny wins).
	Allow []string
	Deny  []string
	// Own are the user's own addresses: mail from them is never an
	// invitation.
	Own []string
}

// Field names a rule field in a RuleError.
const (
	FieldName     = "name"
	FieldIn       = "in"
	FieldKeywords = "keywords"
	FieldPattern  = "pattern"
	FieldPresent  = "present"
	FieldAllOf    = "all_of"
	FieldAnyOf    = "any_of"
	FieldNoneOf   = "none_of"
	FieldAtLeast  = "at_least"
	FieldOf       = "of"
	FieldScore    = "score"
	FieldAllow    = "allow"
	FieldDeny     = "deny"
)

// RuleError is a problem with one rule (Rule >= 0) or one sender pattern
// (Rule < 0, Field FieldAllow or FieldDeny). Item is the index within a list
// field, or -1.
type RuleError struct {
	Rule  int
	Field string
	Item  int
	Err   error
}

func (e *RuleError) Error() string {
	where := e.Field
	if e.Rule >= 0 {
		where = fmt.Sprintf("rules[%d].%s", e.Rule, e.Field)
	}
	if e.Item >= 0 {
		where += fmt.Sprintf("[%d]", e.Item)
	}
	return where + ": " + e.Err.Error()
}

func (e *RuleError) Unwrap() error { return e.Err }

// Errors is every problem Compile found.
type Errors []*RuleError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Classifier decides whether a message is an invitation. It is safe for
// concurrent use.
type Classifier struct {
	threshold float64
	rules     []*compiled // match rules first, then combinations in dependency order
	byName    map[string]*compiled
	names     []string     // rule names by evaluation slot
	match     *matcher     // the keyword automaton, kept only when matchDFA is nil
	matchDFA  *dfa         // match as a table; nil when too big
	keywords  []keywordRef // by matcher pattern id
	fields    []source     // the distinct places keyword rules look
	fieldAt   []int        // the index in places of each of fields
	places    []source     // the distinct places keyword and pattern rules look, indexed by texts
	allow     []string
	deny      []string
	own       map[string]bool
	pf        *pfProgram // the literal prefilter of the pattern rules
	// noPrefilter runs every pattern with a plain search (for tests and
	// benchmarks).
	noPrefilter bool
	// foldAlways scans the folded form of ASCII texts too (for tests and
	// benchmarks).
	foldAlways bool
}

type compiled struct {
	Rule
	index   int // position in Spec.Rules
	order   int // evaluation slot
	sources []source
	at      []int // the index in Classifier.places of each of sources
	re      *regexp.Regexp
	pf      *prefilter // nil: plain search
	present source
	allOf   []int
	anyOf   []int
	noneOf  []int
	of      []int
}

type keywordRef struct {
	rule       int    // evaluation slot of the rule
	keyword    string // as written, for explanations
	n          int    // length of the folded keyword
	wordStart  bool   // the keyword must start at a word boundary
	wordEnd    bool
	spaced     bool   // the folded keyword has a space
	sourceMask uint64 // which fields the rule looks in (bits of Classifier.fields)
}

// source is one place in a message a rule can look at.
type source struct {
	kind   string // subject, body, from, … or "header"
	header string // canonical header name for kind "header"
}

func (s source) String() string {
	if s.kind == "header" {
		return "header:" + s.header
	}
	return s.kind
}

var textSources = map[string]bool{
	"subject": true, "body": true, "from": true, "from_name": true, "from_address": true,
	"reply_to": true, "to": true, "calendar": true,
}

var presentSources = map[string]bool{"calendar": true, "reply_to": true, "thread": true}

func parseSource(s string, allowed map[string]bool) (source, error) {
	s = strings.TrimSpace(s)
	if name, ok := strings.CutPrefix(s, "header:"); ok {
		name = strings.TrimSpace(name)
		if name == "" || strings.ContainsAny(name, " :\t") {
			return source{}, fmt.Errorf("%q: want header:Name, e.g. header:List-Id", s)
		}
		return source{kind: "header", header: canonicalHeader(name)}, nil
	}
	if !allowed[s] {
		names := make([]string, 0, len(allowed))
		for k := range allowed {
			names = append(names, k)
		}
		sort.Strings(names)
		return source{}, fmt.Errorf("unknown place %q (want one of %s, or header:Name)", s, strings.Join(names, ", "))
	}
	return source{kind: s}, nil
}

func canonicalHeader(name string) string {
	parts := strings.Split(strings.ToLower(name), "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

// Compile checks and compiles spec. Every problem is reported, as Errors.
func Compile(spec Spec) (*Classifier, error) {
	var errs Errors
	bad := func(rule int, field string, item int, format string, args ...any) {
		errs = append(errs, &RuleError{Rule: rule, Field: field, Item: item, Err: fmt.Errorf(format, args...)})
	}
	if len(spec.Rules) > MaxRules {
		return nil, Errors{{Rule: -1, Field: "rules", Item: -1, Err: fmt.Errorf("%d rules is more than the limit of %d", len(spec.Rules), MaxRules)}}
	}
	c := &Classifier{threshold: spec.Threshold, byName: map[string]*compiled{}, own: map[string]bool{}}
	for _, a := range spec.Own {
		c.own[strings.ToLower(strings.TrimSpace(a))] = true
	}
	for _, kind := range []struct {
		field string
		list  []string
		dst   *[]string
	}{{FieldAllow, spec.Allow, &c.allow}, {FieldDeny, spec.Deny, &c.deny}} {
		for i, p := range kind.list {
			p = strings.ToLower(strings.TrimSpace(p))
			if _, err := path.Match(p, ""); err != nil || p == "" || strings.Count(p, "@") > 1 {
				bad(-1, kind.field, i, "%q is not an address, *@domain, domain or glob", p)
				continue
			}
			*kind.dst = append(*kind.dst, p)
		}
	}

	var all []*compiled
	patternRules, totalKeywords := 0, 0
	for i, r := range spec.Rules {
		cr := &compiled{Rule: r, index: i}
		switch {
		case r.Name == "":
			bad(i, FieldName, -1, "a rule needs a name")
		case !validName(r.Name):
			bad(i, FieldName, -1, "%q: use letters, digits and _ only", r.Name)
		case c.byName[r.Name] != nil:
			bad(i, FieldName, -1, "%q is already the name of rules[%d]", r.Name, c.byName[r.Name].index)
		default:
			c.byName[r.Name] = cr
		}
		kinds := 0
		for _, set := range []bool{len(r.Keywords) > 0, r.Pattern != "", r.Present != "",
			len(r.AllOf)+len(r.AnyOf)+len(r.NoneOf)+len(r.Of) > 0 || r.AtLeast != 0} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			bad(i, FieldKeywords, -1, "a rule needs exactly one of keywords, pattern, present, or all_of/any_of/none_of/at_least")
		}
		if len(r.In) > 0 && len(r.Keywords) == 0 && r.Pattern == "" {
			bad(i, FieldIn, -1, "in is only for keywords and pattern rules")
		}
		in := r.In
		if len(in) == 0 {
			in = []string{"subject", "body"}
		}
		for j, s := range in {
			src, err := parseSource(s, textSources)
			if err != nil {
				bad(i, FieldIn, j, "%v", err)
				continue
			}
			cr.sources = append(cr.sources, src)
		}
		if len(r.Keywords) > MaxKeywordsInRule {
			bad(i, FieldKeywords, -1, "%d keywords is more than the limit of %d for one rule", len(r.Keywords), MaxKeywordsInRule)
		}
		totalKeywords += len(r.Keywords)
		for j, k := range r.Keywords {
			kw := strings.Trim(strings.TrimSpace(k), "*")
			switch {
			case kw == "":
				bad(i, FieldKeywords, j, "empty keyword")
			case len(k) > MaxKeywordBytes:
				bad(i, FieldKeywords, j, "keyword is %d bytes long, more than the limit of %d", len(k), MaxKeywordBytes)
			case !utf8.ValidString(k):
				bad(i, FieldKeywords, j, "keyword is not valid UTF-8")
			case strings.Contains(strings.Trim(strings.TrimSpace(k), "*"), "*"):
				bad(i, FieldKeywords, j, "%q: * is only allowed at the start or end of a keyword", k)
			}
		}
		if r.Pattern != "" {
			patternRules++
			switch {
			case len(r.Pattern) > MaxPatternBytes:
				bad(i, FieldPattern, -1, "pattern is %d bytes long, more than the limit of %d", len(r.Pattern), MaxPatternBytes)
			default:
				re, err := regexp.Compile("(?i)" + r.Pattern)
				if err != nil {
					// Report the error against the pattern as written.
					if _, err2 := regexp.Compile(r.Pattern); err2 != nil {
						err = err2
					}
					bad(i, FieldPattern, -1, "%s", describeRegexpError(err))
				}
				cr.re = re
			}
		}
		if r.Present != "" {
			src, err := parseSource(r.Present, presentSources)
			if err != nil {
				bad(i, FieldPresent, -1, "%v", err)
			}
			cr.present = src
		}
		if r.AtLeast < 0 || (r.AtLeast > 0 && r.AtLeast > len(r.Of)) {
			bad(i, FieldAtLeast, -1, "at_least is %d but of lists %d rules", r.AtLeast, len(r.Of))
		}
		if len(r.Of) > 0 && r.AtLeast == 0 {
			bad(i, FieldAtLeast, -1, "of needs at_least: how many of the rules must fire")
		}
		all = append(all, cr)
	}
	if patternRules > MaxPatternRules {
		bad(-1, "rules", -1, "%d pattern rules is more than the limit of %d: use keywords, which cost the same however many there are", patternRules, MaxPatternRules)
	}
	if totalKeywords > MaxKeywords {
		bad(-1, "rules", -1, "%d keywords in all is more than the limit of %d", totalKeywords, MaxKeywords)
	}

	// Resolve combination references.
	for _, cr := range all {
		for _, ref := range []struct {
			field string
			names []string
			dst   *[]int
		}{{FieldAllOf, cr.AllOf, &cr.allOf}, {FieldAnyOf, cr.AnyOf, &cr.anyOf}, {FieldNoneOf, cr.NoneOf, &cr.noneOf}, {FieldOf, cr.Of, &cr.of}} {
			for j, name := range ref.names {
				target := c.byName[name]
				switch {
				case target == nil:
					bad(cr.index, ref.field, j, "no rule is named %q", name)
				case target == cr:
					bad(cr.index, ref.field, j, "a rule cannot refer to itself")
				default:
					*ref.dst = append(*ref.dst, target.index)
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	order, cycle := evaluationOrder(all)
	if cycle != nil {
		return nil, Errors{{Rule: cycle.index, Field: FieldAllOf, Item: -1, Err: fmt.Errorf("rule %q is part of a cycle of combinations", cycle.Name)}}
	}
	c.rules = order
	for slot, cr := range order {
		cr.order = slot
		c.names = append(c.names, cr.Name)
	}
	// Re-point combination references from Spec positions to slots.
	slotOf := make([]int, len(all))
	for _, cr := range order {
		slotOf[cr.index] = cr.order
	}
	for _, cr := range order {
		for _, l := range []*[]int{&cr.allOf, &cr.anyOf, &cr.noneOf, &cr.of} {
			for k, idx := range *l {
				(*l)[k] = slotOf[idx]
			}
		}
	}
	placeAt := map[source]int{}
	for _, cr := range order {
		for _, src := range cr.sources {
			i, ok := placeAt[src]
			if !ok {
				i = len(c.places)
				placeAt[src] = i
				c.places = append(c.places, src)
			}
			cr.at = append(cr.at, i)
		}
	}
	c.buildMatcher()
	for _, src := range c.fields {
		c.fieldAt = append(c.fieldAt, placeAt[src])
	}
	c.buildPrefilters()
	return c, nil
}

func validName(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func describeRegexpError(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		msg := string(se.Code)
		if se.Expr != "" && len(se.Expr) < 80 {
			msg += ": " + se.Expr
		}
		return msg
	}
	return err.Error()
}

// evaluationOrder puts match rules first and every combination after the
// rules it refers to. It returns a rule on a cycle when there is one.
func evaluationOrder(all []*compiled) ([]*compiled, *compiled) {
	var order []*compiled
	state := make([]int8, len(all)) // 0 new, 1 visiting, 2 done
	var visit func(cr *compiled) *compiled
	visit = func(cr *compiled) *compiled {
		switch state[cr.index] {
		case 1:
			return cr
		case 2:
			return nil
		}
		state[cr.index] = 1
		for _, l := range [][]int{cr.allOf, cr.anyOf, cr.noneOf, cr.of} {
			for _, idx := range l {
				if c := visit(all[idx]); c != nil {
					return c
				}
			}
		}
		state[cr.index] = 2
		order = append(order, cr)
		return nil
	}
	for _, cr := range all {
		if cr.isCombination() {
			continue
		}
		visit(cr)
	}
	for _, cr := range all {
		if c := visit(cr); c != nil {
			return nil, c
		}
	}
	return order, nil
}

func (cr *compiled) isCombination() bool {
	return len(cr.allOf)+len(cr.anyOf)+len(cr.noneOf)+len(cr.of) > 0 || cr.AtLeast > 0
}

func (c *Classifier) buildMatcher() {
	fieldBit := map[source]uint64{}
	var patterns []string
	for _, cr := range c.rules {
		if len(cr.Keywords) == 0 {
			continue
		}
		var mask uint64
		for _, s := range cr.sources {
			bit, ok := fieldBit[s]
			if !ok {
				if len(c.fields) == 64 {
					// More than 64 distinct places is absurd; fold the
					// rest onto the last bit (over-reporting, never
					// missing a place).
					bit = 1 << 63
				} else {
					bit = 1 << len(c.fields)
					c.fields = append(c.fields, s)
				}
				fieldBit[s] = bit
			}
			mask |= bit
		}
		for _, k := range cr.Keywords {
			raw := strings.TrimSpace(k)
			prefix := strings.HasSuffix(raw, "*")
			suffix := strings.HasPrefix(raw, "*")
			kw := fold(strings.Trim(raw, "*"))
			first, _ := utf8.DecodeRuneInString(kw)
			last, _ := utf8.DecodeLastRuneInString(kw)
			patterns = append(patterns, kw)
			c.keywords = append(c.keywords, keywordRef{
				rule:       cr.order,
				keyword:    strings.Trim(raw, "*"),
				n:          len(kw),
				wordStart:  !suffix && isWordRune(first),
				wordEnd:    !prefix && isWordRune(last),
				spaced:     strings.Contains(kw, " "),
				sourceMask: mask,
			})
		}
	}
	c.match = newMatcher(patterns)
	c.matchDFA = newDFA(c.match, patterns, true)
	if c.matchDFA != nil {
		// The table is all Classify steps; the automaton's nodes are
		// pointers the garbage collector would walk at every cycle.
		c.match = nil
	}
}

// Threshold is the score at which a message counts as an invitation.
func (c *Classifier) Threshold() float64 { return c.threshold }

// Hit is one rule that fired.
type Hit struct {
	Name        string  `json:"name"`
	Score       float64 `json:"score"`
	Description string  `json:"-"`
	// Match is what matched: the keyword or the text the pattern found,
	// or the names of the rules of a combination.
	Match string `json:"-"`
	// Where is the place it matched in (subject, body …).
	Where string `json:"-"`
}

// Verdict is the classifier's decision on one message, with its reasons.
type Verdict struct {
	Invite    bool
	Score     float64
	Threshold float64
	Hits      []Hit // in rule order
}

// Pseudo-rules reported when a sender list or the user's own address decided.
const (
	RuleSenderAllow = "SENDER_ALLOWED"
	RuleSenderDeny  = "SENDER_DENIED"
	RuleFromMe      = "FROM_ME"
)

// Classify scores m against the rules.
func (c *Classifier) Classify(m *mailmsg.Message) Verdict {
	v := Verdict{Threshold: c.threshold}
	// By evaluation slot; on the stack for a rule set of common size.
	var firedBuf [64]bool
	var matchBuf, whereBuf [64]string
	n := len(c.rules)
	fired, match, where := firedBuf[:min(n, 64)], matchBuf[:min(n, 64)], whereBuf[:min(n, 64)]
	if n > 64 {
		fired, match, where = make([]bool, n), make([]string, n), make([]string, n)
	}

	texts := newTexts(m, c.places)
	// One pass of the keyword matcher over each place any rule looks at:
	// over the folded text, or, when the table can fold it as it goes, the
	// ASCII text itself (most mail; folding took a third of the time).
	for bitIdx, src := range c.fields {
		place := c.fieldAt[bitIdx]
		text := texts.raw(place)
		ascii := c.matchDFA != nil && !c.foldAlways && isPlainASCII(text)
		if !ascii {
			text = texts.folded(place)
		}
		if text == "" {
			continue
		}
		bit := uint64(1) << bitIdx
		hit := func(id int32, end int) bool {
			k := &c.keywords[id]
			if k.sourceMask&bit == 0 || fired[k.rule] {
				return true
			}
			if k.wordEnd && !boundaryAfter(text, end) {
				return true
			}
			if k.wordStart {
				start := end - k.n
				if ascii && k.spaced {
					start = foldedStart(text, end, k.n)
				}
				if !boundaryBefore(text, start) {
					return true
				}
			}
			fired[k.rule] = true
			match[k.rule] = k.keyword
			where[k.rule] = src.String()
			return true
		}
		// Called directly, not through a func value, so that hit stays
		// on the stack.
		switch {
		case ascii:
			c.matchDFA.scanASCII(text, hit)
		case c.matchDFA != nil:
			c.matchDFA.scan(text, hit)
		default:
			c.match.scan(text, hit)
		}
	}
	texts.release() // the folded texts are not used after the keywords
	for _, cr := range c.rules {
		i := cr.order
		switch {
		case cr.re != nil:
			for j, src := range cr.sources {
				if loc := c.findPattern(cr, texts, cr.at[j]); loc != nil {
					fired[i] = true
					match[i] = texts.raw(cr.at[j])[loc[0]:loc[1]]
					where[i] = src.String()
					break
				}
			}
		case cr.Present != "":
			fired[i] = texts.present(cr.present)
			where[i] = cr.present.String()
		case cr.isCombination():
			fired[i], match[i] = combine(cr, fired, c.names)
		}
	}
	texts.releaseHits() // Match is a piece of the raw text, not of them
	for _, cr := range c.rules {
		if !fired[cr.order] || cr.Score == 0 {
			continue
		}
		v.Score += cr.Score
		v.Hits = append(v.Hits, Hit{Name: cr.Name, Score: cr.Score, Description: cr.Description, Match: match[cr.order], Where: where[cr.order]})
	}
	// Sender lists and the user's own addresses override the score, and
	// say so as a rule of their own (as SpamAssassin's whitelist_from does).
	senders := senderAddresses(m)
	switch {
	case m.From != nil && c.own[strings.ToLower(m.From.Address)]:
		v.Hits = append(v.Hits, Hit{Name: RuleFromMe, Score: -100, Description: "sent from one of your own addresses (me.addresses)", Match: m.From.Address, Where: "from_address"})
		v.Score -= 100
	case anyMatch(c.deny, senders) != "":
		p := anyMatch(c.deny, senders)
		v.Hits = append(v.Hits, Hit{Name: RuleSenderDeny, Score: -100, Description: "sender is on detect.senders.deny", Match: p, Where: "from_address"})
		v.Score -= 100
	case anyMatch(c.allow, senders) != "":
		p := anyMatch(c.allow, senders)
		v.Hits = append(v.Hits, Hit{Name: RuleSenderAllow, Score: 100, Description: "sender is on detect.senders.allow", Match: p, Where: "from_address"})
		v.Score += 100
	}
	v.Score = round2(v.Score)
	v.Invite = v.Score >= c.threshold
	return v
}

func round2(f float64) float64 {
	if f < 0 {
		return -round2(-f)
	}
	return float64(int64(f*100+0.5)) / 100
}

func combine(cr *compiled, fired []bool, names []string) (bool, string) {
	for _, i := range cr.allOf {
		if !fired[i] {
			return false, ""
		}
	}
	if len(cr.anyOf) > 0 {
		ok := false
		for _, i := range cr.anyOf {
			ok = ok || fired[i]
		}
		if !ok {
			return false, ""
		}
	}
	for _, i := range cr.noneOf {
		if fired[i] {
			return false, ""
		}
	}
	n := 0
	for _, i := range cr.of {
		if fired[i] {
			n++
		}
	}
	if n < cr.AtLeast {
		return false, ""
	}
	// Explain with the parts that fired.
	var parts []string
	for _, l := range [][]int{cr.allOf, cr.anyOf, cr.of} {
		for _, i := range l {
			if fired[i] {
				parts = append(parts, names[i])
			}
		}
	}
	return true, strings.Join(parts, " ")
}

func senderAddresses(m *mailmsg.Message) []string {
	var out []string
	if m.From != nil && m.From.Address != "" {
		out = append(out, strings.ToLower(m.From.Address))
	}
	for _, a := range m.ReplyTo {
		if a != nil && a.Address != "" {
			out = append(out, strings.ToLower(a.Address))
		}
	}
	return out
}

// anyMatch returns the first pattern that matches one of the addresses.
func anyMatch(patterns, addrs []string) string {
	for _, p := range patterns {
		for _, a := range addrs {
			if senderMatch(p, a) {
				return p
			}
		}
	}
	return ""
}

func senderMatch(pattern, addr string) bool {
	if !strings.Contains(pattern, "@") {
		_, domain, ok := strings.Cut(addr, "@")
		if !ok {
			return false
		}
		if domain == pattern || strings.HasSuffix(domain, "."+pattern) {
			return true
		}
		ok, _ = path.Match(pattern, domain)
		return ok
	}
	ok, _ := path.Match(pattern, addr)
	return ok
}

// RuleCount is the number of rules in the set.
func (c *Classifier) RuleCount() int { return len(c.rules) }
