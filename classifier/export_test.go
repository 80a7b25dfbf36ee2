package classifier

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

// WithoutPrefilter returns a copy of c whose pattern rules all use the
// plain search.
func WithoutPrefilter(c *Classifier) *Classifier {
	d := *c
	d.noPrefilter = true
	return &d
}

// FoldingAlways returns a copy of c that scans the folded form of every
// text for keywords, ASCII texts too.
func FoldingAlways(c *Classifier) *Classifier {
	d := *c
	d.foldAlways = true
	return &d
}

// PatternProbe runs pattern rules both ways: through the prefilter (on any
// text, however short) and with the plain search.
type PatternProbe struct {
	c     *Classifier
	rules []*compiled // by pattern index
}

// NewPatternProbe compiles one body rule per pattern, all in one classifier
// (so they share one prefilter, as the built-in rules do).
func NewPatternProbe(patterns []string) (*PatternProbe, error) {
	var rules []Rule
	for i, p := range patterns {
		rules = append(rules, Rule{Name: fmt.Sprintf("P%d", i), Pattern: p, In: []string{"body"}, Score: 1})
	}
	c, err := Compile(Spec{Threshold: 1, Rules: rules})
	if err != nil {
		return nil, err
	}
	p := &PatternProbe{c: c}
	for i := range patterns {
		p.rules = append(p.rules, c.byName[fmt.Sprintf("P%d", i)])
	}
	return p, nil
}

// Prefiltered reports whether pattern i has a prefilter.
func (p *PatternProbe) Prefiltered(i int) bool { return p.rules[i].pf != nil }

// Find is the prefiltered search for pattern i.
func (p *PatternProbe) Find(i int, text string) []int {
	cr := p.rules[i]
	if cr.pf == nil {
		return cr.re.FindStringIndex(text)
	}
	return cr.pf.find(p.c.pf, text, p.c.pf.scan(text))
}

// Plain is the plain search for pattern i.
func (p *PatternProbe) Plain(i int, text string) []int { return p.rules[i].re.FindStringIndex(text) }

// Describe says what the prefilter of pattern i requires.
func (p *PatternProbe) Describe(i int) string {
	cr := p.rules[i]
	if cr.pf == nil {
		return "no prefilter"
	}
	sets := map[int32][]string{}
	for id, pt := range p.c.pf.pats {
		s := p.c.pf.strs[id]
		if pt.pre != 0 {
			s = fmt.Sprintf("<%d>", pt.pre) + s
		}
		if pt.post != 0 {
			s += fmt.Sprintf("<%d>", pt.post)
		}
		for _, set := range pt.sets {
			sets[set] = append(sets[set], s)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "max %+v\n", cr.pf.maxLen)
	for _, r := range cr.pf.reqs {
		items := sets[r.set]
		more := ""
		if len(items) > 12 {
			more = fmt.Sprintf(" … (%d)", len(items))
			items = items[:12]
		}
		fmt.Fprintf(&b, "  set %d anchored=%v before=%+v after=%+v: %q%s\n", r.set, r.anchored, r.before, r.after, items, more)
	}
	return b.String()
}

// keywordMatchers holds the keyword automaton of each classifier the tests
// ask for: Compile drops it when it has the table.
var keywordMatchers sync.Map // *Classifier → *matcher

// keywordMatcher is c's keyword automaton, rebuilt from the keywords as
// written (pattern i is fold of keyword i, as in buildMatcher).
func keywordMatcher(c *Classifier) *matcher {
	if c.match != nil {
		return c.match
	}
	if m, ok := keywordMatchers.Load(c); ok {
		return m.(*matcher)
	}
	patterns := make([]string, len(c.keywords))
	for i, k := range c.keywords {
		patterns[i] = fold(k.keyword)
	}
	m, _ := keywordMatchers.LoadOrStore(c, newMatcher(patterns))
	return m.(*matcher)
}

// PrefilterScansAgree compares the prefilter's table scan with its
// automaton scan on text.
func (p *PatternProbe) PrefilterScansAgree(text string) error {
	if p.c.pf.dfa == nil {
		return fmt.Errorf("no table")
	}
	ac := *p.c.pf
	ac.m = newMatcher(ac.strs) // Compile drops the automaton when it has the table
	a, b := p.c.pf.scan(text), ac.scanAC(text)
	if !reflect.DeepEqual(a.occ, b.occ) {
		return fmt.Errorf("table scan %v, automaton scan %v", a.occ, b.occ)
	}
	return nil
}

// KeywordScansAgree compares the keyword table scan with the automaton
// scan on the folded text, stopping both after stop hits.
func KeywordScansAgree(c *Classifier, text string, stop int) error {
	if c.matchDFA == nil {
		return fmt.Errorf("no table")
	}
	type hit struct {
		id  int32
		end int
	}
	var a, b []hit
	text = fold(text)
	keywordMatcher(c).scan(text, func(id int32, end int) bool {
		a = append(a, hit{id, end})
		return len(a) != stop
	})
	c.matchDFA.scan(text, func(id int32, end int) bool {
		b = append(b, hit{id, end})
		return len(b) != stop
	})
	if !slices.Equal(a, b) {
		return fmt.Errorf("automaton %v, table %v", a, b)
	}
	return nil
}

// FindAll runs every pattern through the prefilter, scanning text once, as
// Classify does.
func (p *PatternProbe) FindAll(text string) [][]int {
	h := p.c.pf.scan(text)
	out := make([][]int, len(p.rules))
	for i, cr := range p.rules {
		if cr.pf == nil {
			out[i] = cr.re.FindStringIndex(text)
		} else {
			out[i] = cr.pf.find(p.c.pf, text, h)
		}
	}
	return out
}

// PlainAll runs every pattern with the plain search.
func (p *PatternProbe) PlainAll(text string) [][]int {
	out := make([][]int, len(p.rules))
	for i, cr := range p.rules {
		out[i] = cr.re.FindStringIndex(text)
	}
	return out
}

// ClassifyReference is Classify as it was before the prefilter, the table
// scans and the faster fold: the reference the tests hold Classify to, and
// the baseline the benchmarks measure against.
func ClassifyReference(c *Classifier, m *mailmsg.Message) Verdict {
	v := Verdict{Threshold: c.threshold}
	fired := make([]bool, len(c.rules))
	match := make([]string, len(c.rules))
	where := make([]string, len(c.rules))

	texts := newTexts(m, c.places)
	for bitIdx, src := range c.fields {
		text := foldReference(texts.raw(c.fieldAt[bitIdx]))
		if text == "" {
			continue
		}
		bit := uint64(1) << bitIdx
		keywordMatcher(c).scan(text, func(id int32, end int) bool {
			k := &c.keywords[id]
			if k.sourceMask&bit == 0 || fired[k.rule] {
				return true
			}
			start := end - k.n
			if (k.wordStart && !boundaryBefore(text, start)) || (k.wordEnd && !boundaryAfter(text, end)) {
				return true
			}
			fired[k.rule] = true
			match[k.rule] = k.keyword
			where[k.rule] = src.String()
			return true
		})
	}
	for _, cr := range c.rules {
		i := cr.order
		switch {
		case cr.re != nil:
			for j, src := range cr.sources {
				if loc := cr.re.FindStringIndex(texts.raw(cr.at[j])); loc != nil {
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
	for _, cr := range c.rules {
		if !fired[cr.order] || cr.Score == 0 {
			continue
		}
		v.Score += cr.Score
		v.Hits = append(v.Hits, Hit{Name: cr.Name, Score: cr.Score, Description: cr.Description, Match: match[cr.order], Where: where[cr.order]})
	}
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

// Splits says whether the keywords' table scan runs text (folded) as two
// interleaved halves.
func Splits(c *Classifier, text string) bool {
	return c.matchDFA.splits(len(fold(text)))
}

// Splits says whether the prefilter's scan of text runs as two chains.
func (p *PatternProbe) Splits(text string) bool { return p.c.pf.dfa.splitsRunes(len(text)) }

// Longest is the longest literal the prefilter scans for and the longest
// keyword, in the forms the scans compare (found in a text as they are).
func (p *PatternProbe) Longest(c *Classifier) (literal, keyword string) {
	for _, s := range p.c.pf.strs {
		if len(s) > len(literal) {
			literal = s
		}
	}
	for _, k := range c.keywords {
		if f := fold(k.keyword); len(f) > len(keyword) {
			keyword = f
		}
	}
	return literal, keyword
}
