package classifier

// A literal prefilter for pattern rules.
//
// Go's regexp package runs a big pattern over a long text with its NFA, at
// hundreds of nanoseconds a byte. Most of that work is wasted: a pattern can
// only match where certain literals occur. At Compile time each pattern is
// analysed (regexp/syntax, after Simplify) into required sets: "every match
// contains an occurrence of one of these literals, ending at most before
// runes after the match's start and starting at most after runes before its
// end", and, for an anchored set, "every match starts with one of them".
// At Classify time one table-driven Aho–Corasick pass over a text finds the
// literals of all pattern rules, and each rule's regexp runs only anchored
// at the positions where a match can start.
//
// The prefilter never changes what a rule reports, Match text included:
//
//   - Literals are compared in a canonical form: every rune is replaced by
//     the smallest rune of its simple case-folding orbit, which is exactly
//     the equivalence (?i) uses (k, K and the Kelvin sign K are one letter,
//     as are s, S and ſ). The raw text is scanned, decoded rune by rune as
//     the regexp package decodes it (an invalid byte is U+FFFD, one byte
//     wide), so offsets are raw byte offsets.
//   -  and \B at the edges of a literal are checked on the raw text with
//     the regexp package's definition (ASCII word characters).
//   - Lengths are counted in runes, which is how the regexp package steps:
//     each literal rune or class matches exactly one. A repeated class (\s+,
//     \S+) is bounded by the longest run of the class around the
//     occurrence, measured in the text (see pfProgram.lowest).
//   - A rule with a required set that does not occur does not match.
//     Otherwise every possible start of a match is a candidate, in
//     increasing order (see prefilter.find), and the pattern is run anchored
//     there, with the rune before it as context: the first candidate that
//     matches starts the leftmost match, and the anchored search finds the
//     same leftmost-first end as the plain search. When a shortcut cannot
//     be taken exactly (too many candidates, an odd byte sequence), the
//     plain search runs instead.

import (
	"fmt"
	"math/bits"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	pfMaxSet      = 512   // most items in one exact set or cross product
	pfMaxUnion    = 2048  // most items in one required set
	pfMaxItem     = 64    // longest item, in bytes
	pfMaxClass    = 16    // a character class with more runes is not spelled out
	pfMaxReqs     = 4     // required sets kept per rule (plus the best anchored one)
	pfMaxRuleItem = 8192  // most items over all the sets of one rule
	pfMaxItems    = 65536 // most items over all rules
	pfMaxDepth    = 2000  // deepest syntax tree analysed
	pfMinScore    = 16    // weaker sets (one bare character) are not worth scanning for
)

// Assertions at an edge of an item.
const (
	asWord    uint8 = 1 // \b
	asNotWord uint8 = 2 // \B
	asBoth          = asWord | asNotWord
)

// item is one literal of a set: canonical text, with the word-boundary
// assertions that hold at its start and end. An empty item has pre == post.
type item struct {
	s         string
	pre, post uint8
}

// canonRune is the smallest rune of r's simple case-folding orbit: two runes
// match each other under (?i) exactly when their canonical runes are equal.
func canonRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - ('a' - 'A')
		}
		return r
	}
	if r < rune(len(canonTable)) {
		return canonTable[r]
	}
	return orbitMin(r)
}

// canonTable caches canonRune for the two-byte runes (Latin, Greek,
// Cyrillic …), the ones mail is full of.
var canonTable = func() []rune {
	t := make([]rune, 0x800)
	for r := range t {
		t[r] = orbitMin(rune(r))
	}
	return t
}()

func orbitMin(r rune) rune {
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < m {
			m = f
		}
	}
	return m
}

func canonString(rs []rune) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteRune(canonRune(r))
	}
	return b.String()
}

// wordness says whether the runes with canonical rune c are word
// characters for \b, and whether they all agree (K stands for k and the
// Kelvin sign, which is not an ASCII word character).
func wordness(c rune) (word, definite bool) {
	word = syntax.IsWordChar(c)
	for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
		if syntax.IsWordChar(f) != word {
			return word, false
		}
	}
	return word, true
}

// joinItems is the item matching a followed by b, or false when the
// assertions between them cannot hold.
func joinItems(a, b item) (item, bool) {
	switch {
	case a.s == "" && b.s == "":
		f := a.pre | b.pre
		return item{"", f, f}, f != asBoth
	case a.s == "":
		f := a.pre | b.pre
		return item{b.s, f, b.post}, f != asBoth
	case b.s == "":
		f := a.post | b.pre
		return item{a.s, a.pre, f}, f != asBoth
	}
	mid := a.post | b.pre
	if mid == asBoth {
		return item{}, false
	}
	if mid != 0 {
		l, _ := utf8.DecodeLastRuneInString(a.s)
		r, _ := utf8.DecodeRuneInString(b.s)
		lw, lok := wordness(l)
		rw, rok := wordness(r)
		if lok && rok && (lw != rw) != (mid == asWord) {
			return item{}, false
		}
	}
	return item{a.s + b.s, a.pre, b.post}, true
}

func crossItems(x, y []item) []item {
	seen := make(map[item]bool, len(x)*len(y))
	out := make([]item, 0, len(x)*len(y))
	for _, a := range x {
		for _, b := range y {
			if it, ok := joinItems(a, b); ok && !seen[it] {
				seen[it] = true
				out = append(out, it)
			}
		}
	}
	return out
}

func maxItemLen(x []item) int {
	n := 0
	for _, it := range x {
		n = max(n, len(it.s))
	}
	return n
}

func crossFits(x, y []item) bool {
	return len(x)*len(y) <= pfMaxSet && maxItemLen(x)+maxItemLen(y) <= pfMaxItem
}

// trimFit shortens every item of x to its last k runes, for the largest k
// that lets x be crossed with y; nil when none does. Every match that ends
// with an item of x ends with an item of the result.
func trimFit(x, y []item) []item {
	longest := 0
	for _, it := range x {
		longest = max(longest, utf8.RuneCountInString(it.s))
	}
	for k := longest - 1; k >= 1; k-- {
		seen := map[item]bool{}
		var t []item
		for _, it := range x {
			if n := utf8.RuneCountInString(it.s); n > k {
				s := it.s
				for ; n > k; n-- {
					_, w := utf8.DecodeRuneInString(s)
					s = s[w:]
				}
				it = item{s, 0, it.post}
			}
			if !seen[it] {
				seen[it] = true
				t = append(t, it)
			}
		}
		if crossFits(t, y) {
			return t
		}
	}
	return nil
}

// usableSet reports whether x says something: no empty item (the empty
// string occurs everywhere).
func usableSet(x []item) bool {
	for _, it := range x {
		if it.s == "" {
			return false
		}
	}
	return true
}

// cutItems shortens items longer than pfMaxItem to a prefix: an occurrence
// of the item contains one of its prefix at the same start.
func cutItems(x []item) []item {
	if maxItemLen(x) <= pfMaxItem {
		return x
	}
	out := make([]item, 0, len(x))
	seen := map[item]bool{}
	for _, it := range x {
		if len(it.s) > pfMaxItem {
			n := pfMaxItem
			for n > 0 && !utf8.RuneStart(it.s[n]) {
				n--
			}
			it = item{it.s[:n], it.pre, 0}
		}
		if !seen[it] {
			seen[it] = true
			out = append(out, it)
		}
	}
	return out
}

// minimizeItems drops every item whose occurrences always contain an
// occurrence of another item of the set (at the same start, when the set
// is anchored), so the scan reports fewer, and weaker, hits.
func minimizeItems(x []item, anchored bool) []item {
	if len(x) < 2 {
		return x
	}
	x = slices.Clone(x)
	slices.SortFunc(x, func(a, b item) int {
		if len(a.s) != len(b.s) {
			return len(a.s) - len(b.s)
		}
		if a.s != b.s {
			return strings.Compare(a.s, b.s)
		}
		return int(a.pre|a.post<<2) - int(b.pre|b.post<<2)
	})
	pats := make([]string, len(x))
	for i, it := range x {
		pats[i] = it.s
	}
	m := newMatcher(pats)
	out := x[:0:0]
	for i, it := range x {
		drop := false
		m.scan(it.s, func(id int32, end int) bool {
			j := int(id)
			if j == i {
				return true
			}
			y := x[j]
			start := end - len(y.s)
			if len(y.s) == len(it.s) && j > i {
				// Of two equal strings keep the one with fewer
				// assertions, which sorts first.
				return true
			}
			if anchored && start != 0 {
				return true
			}
			if y.pre != 0 && (start != 0 || y.pre&^it.pre != 0) {
				return true
			}
			if y.post != 0 && (end != len(it.s) || y.post&^it.post != 0) {
				return true
			}
			drop = true
			return false
		})
		if !drop {
			out = append(out, it)
		}
	}
	return out
}

func itemsScore(x []item) int {
	if len(x) == 0 {
		return 1 << 20 // a set that can never occur: the rule cannot match
	}
	least := 1 << 20
	for _, it := range x {
		v := 4 * len(it.s)
		if it.pre != 0 {
			v += 2
		}
		if it.post != 0 {
			v += 2
		}
		least = min(least, v)
	}
	return least*4 - bits.Len(uint(len(x)))
}

// lenExpr bounds a length in runes, as the regexp package steps through a
// text (each step takes one rune; an invalid byte is one): c plus, for each
// term, k times the longest run of runes of a class in the text (a repeated
// class such as \s+ only matches within such a run). inf means no bound.
type lenExpr struct {
	inf  bool
	c    int
	runs []runTerm // sorted by class
}

type runTerm struct {
	class int
	k     int
}

const lenCap = 1 << 40

var infLen = lenExpr{inf: true}

func constLen(n int) lenExpr { return lenExpr{c: n} }

func (a lenExpr) isConst() bool { return !a.inf && len(a.runs) == 0 }

func (a lenExpr) isZero() bool { return a.isConst() && a.c == 0 }

func (a lenExpr) norm() lenExpr {
	if a.inf || a.c > lenCap {
		return infLen
	}
	for _, t := range a.runs {
		if t.k > lenCap {
			return infLen
		}
	}
	return a
}

func mergeRuns(x, y []runTerm, f func(a, b int) int) []runTerm {
	var out []runTerm
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case j == len(y) || i < len(x) && x[i].class < y[j].class:
			out = append(out, runTerm{x[i].class, f(x[i].k, 0)})
			i++
		case i == len(x) || y[j].class < x[i].class:
			out = append(out, runTerm{y[j].class, f(0, y[j].k)})
			j++
		default:
			out = append(out, runTerm{x[i].class, f(x[i].k, y[j].k)})
			i++
			j++
		}
	}
	return out
}

func (a lenExpr) add(b lenExpr) lenExpr {
	if a.inf || b.inf {
		return infLen
	}
	return lenExpr{c: a.c + b.c, runs: mergeRuns(a.runs, b.runs, func(p, q int) int { return p + q })}.norm()
}

// max is an upper bound of both (term by term).
func (a lenExpr) max(b lenExpr) lenExpr {
	if a.inf || b.inf {
		return infLen
	}
	return lenExpr{c: max(a.c, b.c), runs: mergeRuns(a.runs, b.runs, func(p, q int) int { return max(p, q) })}.norm()
}

func (a lenExpr) mul(n int) lenExpr {
	if a.inf {
		return infLen
	}
	if n == 0 {
		return constLen(0)
	}
	out := lenExpr{c: a.c * n}
	for _, t := range a.runs {
		out.runs = append(out.runs, runTerm{t.class, t.k * n})
	}
	return out.norm()
}

// runClass is a set of runes whose longest run a lenExpr may need.
type runClass struct {
	ranges []rune // sorted lo, hi pairs
	ascii  [utf8.RuneSelf]bool
}

func newRunClass(ranges []rune) *runClass {
	c := &runClass{ranges: ranges}
	for r := rune(0); r < utf8.RuneSelf; r++ {
		c.ascii[r] = c.slowHas(r)
	}
	return c
}

func (c *runClass) slowHas(r rune) bool {
	rs := c.ranges
	i := sort.Search(len(rs)/2, func(i int) bool { return rs[2*i+1] >= r })
	return i < len(rs)/2 && rs[2*i] <= r
}

// pfReq is a required set: every match of a node contains an occurrence of
// one of items within its span, ending at most before runes after the
// node's start, and starting at most after runes before the node's end.
// anchored: the occurrence starts where the match starts.
type pfReq struct {
	items    []item
	before   lenExpr
	after    lenExpr
	anchored bool
}

// pfInfo is what the analysis knows about a node.
type pfInfo struct {
	// exactOK: every match of the node is (canonically) one of exact, with
	// its assertions. An empty exact set means it never matches.
	exactOK bool
	exact   []item
	reqs    []pfReq
	max     lenExpr // longest match, in runes
	// rep is, for x+ with x exact, the exact set of x (every match starts
	// and ends with one of its items), and repMax the longest one.
	rep    []item
	repMax lenExpr
}

// reqsOf is every required set of a node, its exact set included.
func reqsOf(in pfInfo) []pfReq {
	var out []pfReq
	if in.exactOK && usableSet(in.exact) {
		out = append(out, pfReq{items: cutItems(in.exact), before: in.max, after: in.max, anchored: true})
	}
	return append(out, in.reqs...)
}

type pfAnalyzer struct {
	classes map[string]int
	list    []*runClass
}

func (a *pfAnalyzer) classOf(ranges []rune) int {
	key := fmt.Sprint(ranges)
	if id, ok := a.classes[key]; ok {
		return id
	}
	id := len(a.list)
	a.classes[key] = id
	a.list = append(a.list, newRunClass(append([]rune(nil), ranges...)))
	return id
}

// runLen is the bound on the length of x* or x+: a run of a class when x
// matches one rune, else none.
func (a *pfAnalyzer) runLen(x *syntax.Regexp, xmax lenExpr) lenExpr {
	if xmax.isZero() {
		return constLen(0)
	}
	for x.Op == syntax.OpCapture {
		x = x.Sub[0]
	}
	var ranges []rune
	switch x.Op {
	case syntax.OpCharClass:
		ranges = x.Rune
	case syntax.OpAnyCharNotNL:
		ranges = []rune{0, '\n' - 1, '\n' + 1, unicode.MaxRune}
	case syntax.OpAnyChar:
		ranges = []rune{0, unicode.MaxRune}
	case syntax.OpLiteral:
		if len(x.Rune) != 1 {
			return infLen
		}
		r := x.Rune[0]
		rs := []rune{r}
		if x.Flags&syntax.FoldCase != 0 {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				rs = append(rs, f)
			}
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i] < rs[j] })
		for _, r := range rs {
			ranges = append(ranges, r, r)
		}
	default:
		return infLen
	}
	if len(ranges) == 0 {
		return constLen(0)
	}
	return lenExpr{runs: []runTerm{{a.classOf(ranges), 1}}}
}

// classItems spells out a small character class as canonical one-rune
// items; nil when it is too big.
func classItems(ranges []rune) []item {
	n := 0
	for i := 0; i < len(ranges); i += 2 {
		n += int(ranges[i+1]-ranges[i]) + 1
		if n > 4*pfMaxClass {
			return nil
		}
	}
	seen := map[rune]bool{}
	out := []item{}
	for i := 0; i < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			c := canonRune(r)
			if !seen[c] {
				seen[c] = true
				out = append(out, item{s: string(c)})
			}
		}
	}
	if len(out) > pfMaxClass {
		return nil
	}
	return out
}

func (a *pfAnalyzer) analyze(re *syntax.Regexp, depth int) pfInfo {
	if depth > pfMaxDepth {
		return pfInfo{max: infLen}
	}
	switch re.Op {
	case syntax.OpNoMatch:
		return pfInfo{exactOK: true, exact: []item{}, max: constLen(0)}
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return pfInfo{exactOK: true, exact: []item{{}}, max: constLen(0)}
	case syntax.OpWordBoundary:
		return pfInfo{exactOK: true, exact: []item{{"", asWord, asWord}}, max: constLen(0)}
	case syntax.OpNoWordBoundary:
		return pfInfo{exactOK: true, exact: []item{{"", asNotWord, asNotWord}}, max: constLen(0)}
	case syntax.OpLiteral:
		return pfInfo{exactOK: true, exact: []item{{s: canonString(re.Rune)}}, max: constLen(len(re.Rune))}
	case syntax.OpCharClass:
		in := pfInfo{max: constLen(min(len(re.Rune), 1))}
		if items := classItems(re.Rune); items != nil {
			in.exactOK, in.exact = true, items
		}
		return in
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return pfInfo{max: constLen(1)}
	case syntax.OpCapture:
		return a.analyze(re.Sub[0], depth+1)
	case syntax.OpQuest:
		sub := a.analyze(re.Sub[0], depth+1)
		in := pfInfo{max: sub.max}
		if sub.exactOK && len(sub.exact)+1 <= pfMaxSet {
			in.exactOK = true
			in.exact = append(append([]item{}, sub.exact...), item{})
		}
		return in
	case syntax.OpStar:
		sub := a.analyze(re.Sub[0], depth+1)
		return pfInfo{max: a.runLen(re.Sub[0], sub.max)}
	case syntax.OpPlus:
		sub := a.analyze(re.Sub[0], depth+1)
		in := pfInfo{max: a.runLen(re.Sub[0], sub.max)}
		for _, r := range reqsOf(sub) {
			// In the first x, which ends anywhere before the end.
			r.after = in.max
			in.reqs = append(in.reqs, r)
		}
		if sub.exactOK && usableSet(sub.exact) {
			in.rep, in.repMax = sub.exact, sub.max
		}
		return in
	case syntax.OpRepeat:
		sub := a.analyze(re.Sub[0], depth+1)
		in := pfInfo{}
		if re.Max < 0 {
			in.max = sub.max.mul(max(re.Min, 1)).add(a.runLen(re.Sub[0], sub.max))
		} else {
			in.max = sub.max.mul(re.Max)
		}
		if re.Min >= 1 {
			for _, r := range reqsOf(sub) {
				r.after = in.max
				in.reqs = append(in.reqs, r)
			}
		}
		return in
	case syntax.OpConcat:
		return a.concat(re.Sub, depth)
	case syntax.OpAlternate:
		return a.alternate(re.Sub, depth)
	}
	return pfInfo{max: infLen}
}

func (a *pfAnalyzer) concat(subs []*syntax.Regexp, depth int) pfInfo {
	n := len(subs)
	infos := make([]pfInfo, n)
	pre := make([]lenExpr, n+1) // pre[i]: longest match of subs[:i]
	suf := make([]lenExpr, n+1) // suf[i]: longest match of subs[i:]
	pre[0], suf[n] = constLen(0), constLen(0)
	for i, s := range subs {
		infos[i] = a.analyze(s, depth+1)
		pre[i+1] = pre[i].add(infos[i].max)
	}
	for i := n - 1; i >= 0; i-- {
		suf[i] = suf[i+1].add(infos[i].max)
	}
	out := pfInfo{max: pre[n]}
	// emit records a set found in subs[from:to].
	emit := func(items []item, from, to int, anchored bool) {
		if !usableSet(items) {
			return
		}
		out.reqs = append(out.reqs, pfReq{items: cutItems(items), before: pre[to], after: suf[from], anchored: anchored})
	}
	// cur is the cross product of the exact children subs[start:i]: every
	// match of them is one of cur or, once trimmed, ends with one of cur.
	// anch: cur is not trimmed and starts where the node starts.
	cur, start, anch, allExact := []item{{}}, 0, true, true
	for i := 0; i < n; i++ {
		in := infos[i]
		if in.exactOK {
			if crossFits(cur, in.exact) {
				cur = crossItems(cur, in.exact)
				continue
			}
			allExact = false
			if anch {
				emit(cur, start, i, true)
			}
			if t := trimFit(cur, in.exact); t != nil {
				cur, anch = crossItems(t, in.exact), false
				continue
			}
			if !anch {
				emit(cur, start, i, false)
			}
			cur, start, anch = in.exact, i, pre[i].isZero()
			continue
		}
		allExact = false
		if in.rep != nil {
			// x+ is x followed by x*: cross its first x with what
			// precedes, and start again with its last x.
			if crossFits(cur, in.rep) {
				set := crossItems(cur, in.rep)
				if usableSet(set) {
					out.reqs = append(out.reqs, pfReq{items: cutItems(set), before: pre[i].add(in.repMax), after: suf[start], anchored: anch})
				}
			} else {
				emit(cur, start, i, anch)
				out.reqs = append(out.reqs, pfReq{items: cutItems(in.rep), before: pre[i].add(in.repMax), after: suf[i], anchored: pre[i].isZero()})
			}
			cur, start, anch = in.rep, i, false
			continue
		}
		emit(cur, start, i, anch)
		for _, r := range in.reqs {
			items := r.items
			if r.anchored && !usableSet(cur) && maxItemLen(cur) == 0 && len(cur)*len(items) <= pfMaxUnion {
				// Assertions just before the child hold where its
				// anchored occurrences start.
				items = crossItems(cur, items)
			}
			out.reqs = append(out.reqs, pfReq{items: items, before: pre[i].add(r.before), after: r.after.add(suf[i+1]), anchored: r.anchored && pre[i].isZero()})
		}
		cur, start, anch = []item{{}}, i+1, pre[i+1].isZero()
	}
	if allExact {
		out.exactOK, out.exact = true, cur
		return out
	}
	emit(cur, start, n, anch)
	return out
}

func (a *pfAnalyzer) alternate(subs []*syntax.Regexp, depth int) pfInfo {
	out := pfInfo{max: constLen(0)}
	all := make([][]pfReq, len(subs))
	exactOK := true
	var exact []item
	seen := map[item]bool{}
	for i, s := range subs {
		in := a.analyze(s, depth+1)
		out.max = out.max.max(in.max)
		if exactOK && in.exactOK {
			for _, it := range in.exact {
				if !seen[it] {
					seen[it] = true
					exact = append(exact, it)
				}
			}
			exactOK = len(exact) <= pfMaxSet
		} else {
			exactOK = false
		}
		all[i] = reqsOf(in)
	}
	if exactOK {
		out.exactOK, out.exact = true, exact
		return out
	}
	// A match of the alternation is a match of one branch: the union of a
	// required set of each branch is required.
	union := func(pick func([]pfReq) *pfReq) (pfReq, bool) {
		u := pfReq{before: constLen(0), after: constLen(0), anchored: true}
		seen := map[item]bool{}
		for _, reqs := range all {
			r := pick(reqs)
			if r == nil {
				return pfReq{}, false
			}
			for _, it := range r.items {
				if !seen[it] {
					seen[it] = true
					u.items = append(u.items, it)
				}
			}
			u.before = u.before.max(r.before)
			u.after = u.after.max(r.after)
			u.anchored = u.anchored && r.anchored
		}
		return u, len(u.items) <= pfMaxUnion
	}
	best := func(anchored bool) func([]pfReq) *pfReq {
		return func(reqs []pfReq) *pfReq {
			var b *pfReq
			for i := range reqs {
				r := &reqs[i]
				if anchored && !r.anchored {
					continue
				}
				if b == nil || itemsScore(r.items) > itemsScore(b.items) {
					b = r
				}
			}
			return b
		}
	}
	if u, ok := union(best(false)); ok {
		out.reqs = append(out.reqs, u)
		if u.anchored {
			return out
		}
	}
	if u, ok := union(best(true)); ok {
		out.reqs = append(out.reqs, u)
	}
	return out
}

// prefilter is the compiled prefilter of one pattern rule.
type prefilter struct {
	re       *regexp.Regexp // the rule's pattern, as compiled for the plain search
	reqs     []ruleReq
	anchored int            // index in reqs of the anchored set used for candidates, or -1
	maxLen   lenExpr        // longest match
	at0      *regexp.Regexp // \A(?:P): a match starting at 0
	at       *regexp.Regexp // \A(?s:.)(?:P): a match starting after the first rune
}

type ruleReq struct {
	set           int32 // id in pfProgram
	before, after lenExpr
	anchored      bool
}

// analyzePattern returns the required sets of a pattern, best first, and
// its longest match; none when the analysis finds nothing to use.
func (a *pfAnalyzer) analyzePattern(pattern string) ([]pfReq, lenExpr, bool) {
	re, err := syntax.Parse("(?i)"+pattern, syntax.Perl)
	if err != nil {
		return nil, infLen, false
	}
	in := a.analyze(re.Simplify(), 0)
	reqs := reqsOf(in)
	if len(reqs) == 0 {
		return nil, in.max, false
	}
	sort.SliceStable(reqs, func(i, j int) bool { return itemsScore(reqs[i].items) > itemsScore(reqs[j].items) })
	var keep []pfReq
	anchored := false
	total := 0
	for i, r := range reqs {
		r.items = minimizeItems(r.items, r.anchored)
		if len(keep) >= pfMaxReqs && (anchored || !r.anchored) {
			continue
		}
		if i > 0 && !r.anchored && itemsScore(r.items) < pfMinScore {
			// Single characters occur everywhere: recording them costs
			// more than they can save.
			continue
		}
		if total+len(r.items) > pfMaxRuleItem {
			continue
		}
		total += len(r.items)
		keep = append(keep, r)
		anchored = anchored || r.anchored
	}
	return keep, in.max, len(keep) > 0
}

// anchoredRegexps compiles the pattern anchored at the start of the text,
// and anchored after one rune of left context, and checks that the pattern
// inside is parsed exactly as the pattern alone.
func anchoredRegexps(pattern string) (at0, at *regexp.Regexp, ok bool) {
	p, err := syntax.Parse("(?i)"+pattern, syntax.Perl)
	if err != nil {
		return nil, nil, false
	}
	same := func(w *syntax.Regexp, lead int) bool {
		if w.Op != syntax.OpConcat || len(w.Sub) <= lead {
			return false
		}
		if w.Sub[0].Op != syntax.OpBeginText || lead == 2 && w.Sub[1].Op != syntax.OpAnyChar {
			return false
		}
		rest := w.Sub[lead:]
		if len(rest) == 1 && rest[0].Equal(p) {
			return true
		}
		return p.Op == syntax.OpConcat && (&syntax.Regexp{Op: syntax.OpConcat, Sub: rest}).Equal(p)
	}
	for _, v := range []struct {
		expr string
		lead int
		dst  **regexp.Regexp
	}{{`(?i)\A(?:` + pattern + `)`, 1, &at0}, {`(?i)\A(?s:.)(?:` + pattern + `)`, 2, &at}} {
		w, err := syntax.Parse(v.expr, syntax.Perl)
		if err != nil || !same(w, v.lead) {
			return nil, nil, false
		}
		re, err := regexp.Compile(v.expr)
		if err != nil {
			return nil, nil, false
		}
		*v.dst = re
	}
	return at0, at, true
}
