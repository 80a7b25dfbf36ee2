package classifier

import (
	"fmt"
	"math"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// pfProgram is the prefilter of all the pattern rules of a classifier: one
// Aho–Corasick automaton over the canonical items of all their required
// sets.
type pfProgram struct {
	m       *matcher // kept only when dfa is nil
	dfa     *dfa     // nil when too big: step m instead
	pats    []pfPat  // by matcher id
	strs    []string // by matcher id: the canonical text
	nsets   int
	classes []*runClass
	// wordStart is, by hit state of dfa, the length of its one pattern
	// when that pattern needs \b before a word character, which fails
	// when the byte before it is a word character (see reportHit); else 0.
	wordStart []int32
}

// pfPat is one distinct item.
type pfPat struct {
	n         int // length of the canonical text
	pre, post uint8
	sets      []int32 // the sets it belongs to
}

// pfOcc is an occurrence of an item of a set in the raw text.
type pfOcc struct{ start, end int32 }

// pfHits is every occurrence in one text, by set, sorted by start.
type pfHits struct {
	occ [][]pfOcc
	raw []pfRaw // as found
	// Kept for the next text when released (see newHits): the backing
	// array of occ's lists, sort's counts, and scan's second chain's raw.
	all  []pfOcc
	n    []int
	late []pfRaw
}

// hitsPool holds released pfHits: a message's take about 2 KB.
var hitsPool = sync.Pool{New: func() any { return new(pfHits) }}

// newHits is an empty pfHits for p, reusing a released one.
func (p *pfProgram) newHits() *pfHits {
	h := hitsPool.Get().(*pfHits)
	if cap(h.occ) < p.nsets {
		h.occ = make([][]pfOcc, p.nsets)
	}
	h.occ = h.occ[:p.nsets] // sort sets every list
	return h
}

// release gives h back for another text: nothing may use it, or what
// its lists held, afterwards.
func (h *pfHits) release() {
	const maxKept = 1 << 14 // occurrences; a text with more is rare
	if cap(h.all) > maxKept || cap(h.raw) > maxKept || cap(h.late) > maxKept {
		return
	}
	h.raw, h.late = h.raw[:0], h.late[:0]
	hitsPool.Put(h)
}

type pfRaw struct {
	set int32
	pfOcc
}

const pfMaxRun = 1 << 16 // longer runs count as unbounded

func setKey(items []item) string {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = fmt.Sprintf("%d:%s:%d:%d", len(it.s), it.s, it.pre, it.post)
	}
	sort.Strings(keys)
	return strings.Join(keys, "|")
}

// buildPrefilters analyses every pattern rule; a rule the analysis can say
// nothing about keeps the plain search.
func (c *Classifier) buildPrefilters() {
	an := &pfAnalyzer{classes: map[string]int{}}
	setID := map[string]int32{}
	patID := map[item]int32{}
	var pats []pfPat
	var strs []string
	total := 0
	for _, cr := range c.rules {
		if cr.re == nil {
			continue
		}
		reqs, maxLen, ok := an.analyzePattern(cr.Pattern)
		if !ok {
			continue
		}
		at0, at, ok := anchoredRegexps(cr.Pattern)
		if !ok {
			continue
		}
		n := 0
		for _, r := range reqs {
			n += len(r.items)
		}
		if total+n > pfMaxItems {
			continue
		}
		total += n
		pf := &prefilter{re: cr.re, maxLen: maxLen, at0: at0, at: at}
		for _, r := range reqs {
			key := setKey(r.items)
			id, ok := setID[key]
			if !ok {
				id = int32(len(setID))
				setID[key] = id
				for _, it := range r.items {
					pid, ok := patID[it]
					if !ok {
						pid = int32(len(pats))
						patID[it] = pid
						pats = append(pats, pfPat{n: len(it.s), pre: it.pre, post: it.post})
						strs = append(strs, it.s)
					}
					pats[pid].sets = append(pats[pid].sets, id)
				}
			}
			pf.reqs = append(pf.reqs, ruleReq{set: id, before: r.before, after: r.after, anchored: r.anchored})
		}
		cr.pf = pf
	}
	if len(setID) > 0 {
		m := newMatcher(strs)
		c.pf = &pfProgram{m: m, dfa: newDFA(m, strs, false), pats: pats, strs: strs, nsets: len(setID), classes: an.list}
		if d := c.pf.dfa; d != nil {
			c.pf.m = nil // as for the keyword automaton (see buildMatcher)
			c.pf.wordStart = make([]int32, len(d.off)-1)
			for k := range c.pf.wordStart {
				if ids := d.idsOf(k); len(ids) == 1 && pats[ids[0]].pre == asWord && wordByte[strs[ids[0]][0]] {
					c.pf.wordStart[k] = int32(pats[ids[0]].n)
				}
			}
		}
	}
}

// scan finds every occurrence of every item in text, comparing canonical
// runes, and checking the items' assertions on the raw text.
//
// Each step of the table waits for the step before, so a long text is
// scanned as two interleaved chains (dfa.scan runs four): the first half, and
// the rest from a lead-in of 4×maxLen bytes (at least maxLen runes, so at
// least maxLen canonical bytes: from the middle on it is in the state a
// single chain would be). The rest's occurrences are reported after the
// first half's, in the order one chain finds them.
func (p *pfProgram) scan(text string) *pfHits {
	if p.dfa == nil {
		return p.scanAC(text)
	}
	h := p.newHits()
	n := len(text)
	if !p.dfa.splitsRunes(n) {
		a := pfChain{end: n}
		a.finish(p, h, text)
		h.sort()
		return h
	}
	// Both chains start where a rune starts, which is where one chain
	// decodes one (a byte that does not continue a rune before it). In
	// broken UTF-8 none may follow the middle: then the first chain
	// scans it all, and the second reports nothing.
	mid := n / 2
	for mid < n && !utf8.RuneStart(text[mid]) {
		mid++
	}
	lead := mid - 4*p.dfa.maxLen
	for lead > 0 && !utf8.RuneStart(text[lead]) {
		lead--
	}
	a := pfChain{end: mid}
	b := pfChain{i: lead, ascii: lead, end: n, from: mid}
	late := pfHits{raw: h.late[:0]}
	d := p.dfa
	tab, hit := d.tab, d.hit
	for a.i < a.end && b.i < b.end {
		a.i, b.i, a.row, b.row = runASCII2(tab, &d.ascii, text, a.i, b.i, a.end, a.row, b.row, hit)
		a.reportHit(p, h, text)
		b.reportHit(p, &late, text)
		if a.i < a.end && text[a.i] >= utf8.RuneSelf {
			a.rune(p, h, text)
		}
		if b.i < b.end && text[b.i] >= utf8.RuneSelf {
			b.rune(p, &late, text)
		}
	}
	a.finish(p, h, text)
	b.finish(p, &late, text)
	h.raw = append(h.raw, late.raw...)
	h.late = late.raw
	h.sort()
	return h
}

// splitsRunes says whether pfProgram.scan splits a text of n bytes: its
// lead-in is counted in bytes for runes, four times as long as dfa.scan's.
func (d *dfa) splitsRunes(n int) bool { return n >= max(splitScan, 16*d.maxLen) }

// pfChain is one chain of pfProgram.scan: it steps text[i:end] from state
// row, and reports the occurrences that end after from.
type pfChain struct {
	i, row int
	ascii  int // text[ascii:i] is ASCII, where raw and canonical offsets agree
	end    int
	from   int
	last   int // the end of the last occurrences reported
}

// reportHit reports the occurrences that end at c.i when it is in a hit
// state there, once.
//
// Most hits are of a short word that \b must start ("a ", "le ", a digit)
// at the end of a longer one ("data ", "people ", "2026"): those are
// passed over before anything else is looked at.
func (c *pfChain) reportHit(p *pfProgram, h *pfHits, text string) {
	d := p.dfa
	if c.row >= d.hit && c.i > c.from && c.i != c.last {
		k := d.hitIndex(c.row)
		// In ASCII text raw and canonical offsets agree, and the byte
		// before the pattern decides \b (its first byte is a word
		// character).
		if s := c.i - int(p.wordStart[k]); s < c.i && s > c.ascii && wordByte[text[s-1]] {
			return
		}
		p.report(h, text, c.ascii, d.idsOf(k), c.i)
		c.last = c.i
	}
}

// rune steps the non-ASCII rune at c.i: its canonical form, byte by byte.
func (c *pfChain) rune(p *pfProgram, h *pfHits, text string) {
	var buf [utf8.UTFMax]byte
	d := p.dfa
	r, w := utf8.DecodeRuneInString(text[c.i:])
	n := utf8.EncodeRune(buf[:], canonRune(r))
	for j := 0; j < n; j++ {
		c.row = int(d.tab[c.row+int(d.class[buf[j]])])
	}
	c.i += w
	c.ascii = c.i
	c.reportHit(p, h, text)
}

// finish steps the chain to its end on its own.
func (c *pfChain) finish(p *pfProgram, h *pfHits, text string) {
	d := p.dfa
	for c.i < c.end {
		if text[c.i] < utf8.RuneSelf {
			c.i, c.row = runASCII(d.tab, &d.ascii, text[:c.end], c.i, c.row, d.hit)
			c.reportHit(p, h, text)
		} else {
			c.rune(p, h, text)
		}
	}
}

// runASCII steps the scan from state row at i while the text is ASCII,
// until a hit state (from hit up). It returns the offset after the byte
// that led to a hit state, or of the first non-ASCII byte, or the end, and
// the state there. It makes no call, so the state stays in a register.
func runASCII(tab []uint32, ascii *[utf8.RuneSelf]uint8, text string, i, row, hit int) (int, int) {
	for ; i < len(text); i++ {
		c := text[i]
		if c >= utf8.RuneSelf {
			return i, row
		}
		row = int(tab[row+int(ascii[c])])
		if row >= hit {
			return i + 1, row
		}
	}
	return i, row
}

// runASCII2 is runASCII for two chains at once, at i (until endI) and at j
// (until the end of text): it steps both while both are at ASCII bytes,
// and returns after a step that leads either to a hit state.
func runASCII2(tab []uint32, ascii *[utf8.RuneSelf]uint8, text string, i, j, endI, r1, r2, hit int) (int, int, int, int) {
	for i < endI && j < len(text) {
		c1, c2 := text[i], text[j]
		if c1|c2 >= utf8.RuneSelf {
			break
		}
		r1 = int(tab[r1+int(ascii[c1])])
		r2 = int(tab[r2+int(ascii[c2])])
		i, j = i+1, j+1
		if r1 >= hit || r2 >= hit {
			break
		}
	}
	return i, j, r1, r2
}

// report records the occurrences of the patterns ids, ending at raw offset
// i; text[ascii:i] is ASCII.
func (p *pfProgram) report(h *pfHits, text string, ascii int, ids []int32, i int) {
	for _, id := range ids {
		pt := &p.pats[id]
		start := i - pt.n
		if start < ascii {
			start = canonStart(text, i, pt.n)
		}
		if pt.pre != 0 && !assertionHolds(text, start, pt.pre) ||
			pt.post != 0 && !assertionHolds(text, i, pt.post) {
			continue
		}
		for _, set := range pt.sets {
			h.raw = append(h.raw, pfRaw{set, pfOcc{int32(start), int32(i)}})
		}
	}
}

// outputs is every pattern that ends in matcher state s.
func (m *matcher) outputs(s int32, dst []int32) []int32 {
	for o := s; o > 0; o = m.nodes[o].dict {
		dst = append(dst, m.nodes[o].out...)
	}
	return dst
}

// canonStart is where the runes of text ending at i whose canonical forms
// are n bytes long start.
func canonStart(text string, i, n int) int {
	for n > 0 && i > 0 {
		r, w := utf8.DecodeLastRuneInString(text[:i])
		i -= w
		n -= utf8.RuneLen(canonRune(r))
	}
	return i
}

// sort puts the occurrences found into their sets, by start.
func (h *pfHits) sort() {
	n := slices.Grow(h.n[:0], len(h.occ)+1)[:len(h.occ)+1]
	clear(n)
	h.n = n
	for _, r := range h.raw {
		n[r.set+1]++
	}
	for i := 1; i < len(n); i++ {
		n[i] += n[i-1]
	}
	all := slices.Grow(h.all[:0], len(h.raw))[:len(h.raw)]
	if all == nil {
		all = []pfOcc{} // empty lists are empty, not nil, however h was made
	}
	h.all = all
	for i := range h.occ {
		h.occ[i] = all[n[i]:n[i]:n[i+1]]
	}
	for _, r := range h.raw {
		h.occ[r.set] = append(h.occ[r.set], r.pfOcc)
	}
	h.raw = h.raw[:0]
	for _, l := range h.occ {
		if !slices.IsSortedFunc(l, cmpOccStart) {
			slices.SortStableFunc(l, cmpOccStart)
		}
	}
}

// scanAC is scan without the table.
func (p *pfProgram) scanAC(text string) *pfHits {
	h := p.newHits()
	m := p.m
	var buf [utf8.UTFMax]byte
	var ids []int32
	ascii := 0
	s := int32(0)
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf {
			s = m.step(s, byte(canonRune(rune(c))))
			i++
		} else {
			r, w := utf8.DecodeRuneInString(text[i:])
			n := utf8.EncodeRune(buf[:], canonRune(r))
			for j := 0; j < n; j++ {
				s = m.step(s, buf[j])
			}
			i += w
			ascii = i
		}
		if s > 0 && (len(m.nodes[s].out) > 0 || m.nodes[s].dict > 0) {
			ids = m.outputs(s, ids[:0])
			p.report(h, text, ascii, ids, i)
		}
	}
	h.sort()
	return h
}

func cmpOccStart(a, b pfOcc) int { return int(a.start) - int(b.start) }

// assertionHolds evaluates \b or \B at pos exactly as package regexp
// does. Its word characters are ASCII, so the bytes around pos decide: a
// byte of a multi-byte rune, or an invalid one, is not a word character.
func assertionHolds(text string, pos int, f uint8) bool {
	b := (pos > 0 && wordByte[text[pos-1]]) != (pos < len(text) && wordByte[text[pos]])
	return !(f&asWord != 0 && !b || f&asNotWord != 0 && b)
}

var wordByte = func() (t [256]bool) {
	for c := 0; c < utf8.RuneSelf; c++ {
		t[c] = syntax.IsWordChar(rune(c))
	}
	return t
}()

// findPattern is the leftmost-first match of the rule's pattern in the
// place of index place (in Classifier.places), as FindStringIndex gives it.
func (c *Classifier) findPattern(cr *compiled, t *texts, place int) []int {
	text := t.raw(place)
	if cr.pf == nil || c.noPrefilter || len(text) > math.MaxInt32/2 {
		return cr.re.FindStringIndex(text)
	}
	return cr.pf.find(c.pf, text, t.prefilterHits(place, c.pf))
}

// find is re.FindStringIndex(text), given the occurrences of the sets.
//
// Every match contains an occurrence of each required set, so a set that
// does not occur means no match. Otherwise the possible starts of a match
// are bounded: a match containing occurrence o of a set starts in
// [o.end-before, o.start], and, when the rule has an anchored set, only
// where an occurrence of it starts. These candidates are tried in
// increasing order with the pattern anchored there (with the rune before
// as context); the first that matches is the leftmost match, and the
// anchored search finds the same, leftmost-first, end as the plain one.
func (pf *prefilter) find(p *pfProgram, text string, h *pfHits) []int {
	d, a := -1, -1
	for i, r := range pf.reqs {
		n := len(h.occ[r.set])
		if n == 0 {
			return nil
		}
		if d < 0 || n < len(h.occ[pf.reqs[d].set]) ||
			n == len(h.occ[pf.reqs[d].set]) && pf.betterDriver(i, d) {
			d = i
		}
		if r.anchored && (a < 0 || n < len(h.occ[pf.reqs[a].set])) {
			a = i
		}
	}
	limit := 64 + len(text)/32
	var cands []int
	add := func(c int) bool {
		if n := len(cands); n == 0 || cands[n-1] < c {
			cands = append(cands, c)
		}
		return len(cands) <= limit
	}
	dr := pf.reqs[d]
	if dr.anchored {
		for _, o := range h.occ[dr.set] {
			if !add(int(o.start)) {
				return pf.re.FindStringIndex(text)
			}
		}
	} else {
		if len(h.occ[dr.set]) > 4*limit {
			return pf.re.FindStringIndex(text)
		}
		type interval struct{ lo, hi int }
		var ivs []interval
		for _, o := range h.occ[dr.set] {
			ivs = append(ivs, interval{p.lowest(text, dr.before, int(o.end)), int(o.start)})
		}
		slices.SortFunc(ivs, func(x, y interval) int { return x.lo - y.lo })
		merged := ivs[:1]
		for _, iv := range ivs[1:] {
			last := &merged[len(merged)-1]
			if iv.lo <= last.hi {
				last.hi = max(last.hi, iv.hi)
			} else {
				merged = append(merged, iv)
			}
		}
		for _, iv := range merged {
			if a >= 0 {
				ao := h.occ[pf.reqs[a].set]
				j := sort.Search(len(ao), func(j int) bool { return int(ao[j].start) >= iv.lo })
				for ; j < len(ao) && int(ao[j].start) <= iv.hi; j++ {
					if !add(int(ao[j].start)) {
						return pf.re.FindStringIndex(text)
					}
				}
				continue
			}
			// Every position the regexp package steps on: a byte that
			// does not continue a rune starts one.
			pos := iv.lo
			for pos > 0 && !utf8.RuneStart(text[pos]) {
				pos--
			}
			for pos <= iv.hi {
				if !add(pos) {
					return pf.re.FindStringIndex(text)
				}
				_, w := utf8.DecodeRuneInString(text[pos:])
				pos += w
			}
		}
	}
	for _, c := range cands {
		reach, ok := pf.reach(p, text, h, c)
		if !ok {
			continue
		}
		loc, ok := pf.matchAt(text, c, reach)
		if !ok {
			return pf.re.FindStringIndex(text)
		}
		if loc != nil {
			return loc
		}
	}
	return nil
}

// betterDriver prefers, between sets that occur as often, the anchored one,
// then the one with the tighter bound.
func (pf *prefilter) betterDriver(i, j int) bool {
	ri, rj := pf.reqs[i], pf.reqs[j]
	if ri.anchored != rj.anchored {
		return ri.anchored
	}
	if ri.before.isConst() != rj.before.isConst() {
		return ri.before.isConst()
	}
	return ri.before.isConst() && ri.before.c < rj.before.c
}

// reach reports whether every required set has an occurrence where a
// match starting at c would need it, and how far such a match can reach.
func (pf *prefilter) reach(p *pfProgram, text string, h *pfHits, c int) (int, bool) {
	reach := p.highest(text, pf.maxLen, c)
	for _, r := range pf.reqs {
		occ := h.occ[r.set]
		lim := reach
		if r.before.isConst() {
			lim = min(lim, forward(text, c, r.before.c))
		}
		// The last occurrence a match starting at c can contain: it
		// starts at c or later and ends by lim.
		first := sort.Search(len(occ), func(j int) bool { return int(occ[j].start) >= c })
		last := -1
		for j := sort.Search(len(occ), func(j int) bool { return int(occ[j].start) > lim }) - 1; j >= first; j-- {
			if int(occ[j].end) <= lim {
				last = int(occ[j].start)
				break
			}
		}
		if last < 0 {
			return 0, false
		}
		if r.after.isConst() {
			// A match containing an occurrence ends after bounds
			// that grow with its start: the last one's is furthest.
			reach = min(reach, forward(text, last, r.after.c))
		}
	}
	return reach, true
}

// forward is where n runes after pos end, stepping as package regexp does.
func forward(text string, pos, n int) int {
	for ; n > 0 && pos < len(text); n-- {
		if text[pos] < utf8.RuneSelf {
			pos++
		} else {
			_, w := utf8.DecodeRuneInString(text[pos:])
			pos += w
		}
	}
	return pos
}

// backward is where n runes before pos start. Package regexp steps through
// the same runes going forward: a valid encoding or one invalid byte.
func backward(text string, pos, n int) int {
	for ; n > 0 && pos > 0; n-- {
		if text[pos-1] < utf8.RuneSelf {
			pos--
		} else {
			_, w := utf8.DecodeLastRuneInString(text[:pos])
			pos -= w
		}
	}
	return pos
}

// matchAt is the leftmost-first match of the pattern starting exactly at
// c, nil when there is none; false when it cannot be found this way. No
// match starting at c ends after reach, which lets the search stop early.
func (pf *prefilter) matchAt(text string, c, reach int) ([]int, bool) {
	// A search in text[:stop] finds every match ending by reach (the
	// regexp package looks at most one rune past a match's end), so if
	// what it finds ends by reach it is the match; if it ends later, it
	// can be an artefact of the cut: search the whole text.
	if stop := reach + utf8.UTFMax; stop < len(text) {
		loc, ok := pf.matchAt(text[:stop], c, stop)
		if !ok || loc == nil || loc[1] <= reach {
			return loc, ok
		}
	}
	if c == 0 {
		return pf.at0.FindStringIndex(text), true
	}
	// The rune before c is the context of \b, ^ (?m) and the like; the
	// anchored pattern steps over it with (?s:.), which must take exactly
	// it.
	_, size := utf8.DecodeLastRuneInString(text[:c])
	p := c - size
	if _, w := utf8.DecodeRuneInString(text[p:]); w != size {
		return nil, false
	}
	loc := pf.at.FindStringIndex(text[p:])
	if loc == nil {
		return nil, true
	}
	return []int{c, p + loc[1]}, true
}

// lowest is where the earliest match containing an occurrence ending at
// end can start, given the occurrence's before bound. Runs of a class are
// measured around the occurrence, growing the region until the bound stops
// growing: if a match started before the region, the piece of it that
// crosses the region's start would make the bound exceed the region.
func (p *pfProgram) lowest(text string, e lenExpr, end int) int {
	if e.inf {
		return 0
	}
	if len(e.runs) == 0 {
		return backward(text, end, e.c)
	}
	best := make([]int, len(e.runs))
	x, walked, q := e.c, 0, end // the region text[q:end] is walked runes long
	for iter := 0; iter < 64 && x <= pfMaxRun; iter++ {
		nq := backward(text, q, x-walked)
		if nq == 0 {
			return 0
		}
		g := e.c
		for i, t := range e.runs {
			n, ok := p.classes[t.class].longestRun(text, nq, q)
			if !ok {
				return 0
			}
			best[i] = max(best[i], n)
			g += t.k * best[i]
		}
		if g <= x {
			return nq
		}
		x, walked, q = g, x, nq
	}
	return 0
}

// highest is where the furthest match (or part of one) starting at from
// and bounded by e can end. It grows the region measured as lowest does.
func (p *pfProgram) highest(text string, e lenExpr, from int) int {
	if e.inf {
		return len(text)
	}
	if len(e.runs) == 0 {
		return forward(text, from, e.c)
	}
	best := make([]int, len(e.runs))
	x, walked, q := e.c, 0, from // the region text[from:q] is walked runes long
	for iter := 0; iter < 64 && x <= pfMaxRun; iter++ {
		nq := forward(text, q, x-walked)
		if nq == len(text) {
			return nq
		}
		g := e.c
		for i, t := range e.runs {
			n, ok := p.classes[t.class].longestRun(text, q, nq)
			if !ok {
				return len(text)
			}
			best[i] = max(best[i], n)
			g += t.k * best[i]
		}
		if g <= x {
			return nq
		}
		x, walked, q = g, x, nq
	}
	return len(text)
}

// longestRun is the longest run, in runes, of runes of the class that
// meets text[q:end], each run counted in full; false when it is too long
// to bother.
func (c *runClass) longestRun(text string, q, end int) (int, bool) {
	cur := 0
	for i := q; i > 0; {
		in := false
		if b := text[i-1]; b < utf8.RuneSelf {
			in = c.ascii[b]
			i--
		} else {
			r, w := utf8.DecodeLastRuneInString(text[:i])
			in = c.slowHas(r)
			i -= w
		}
		if !in {
			break
		}
		if cur++; cur > pfMaxRun {
			return 0, false
		}
	}
	best := cur
	for i := q; i < len(text); {
		in := false
		if b := text[i]; b < utf8.RuneSelf {
			in = c.ascii[b]
		} else {
			r, _ := utf8.DecodeRuneInString(text[i:])
			in = c.slowHas(r)
		}
		if in {
			if cur++; cur > best {
				if best = cur; cur > pfMaxRun {
					return 0, false
				}
			}
		} else {
			if i >= end {
				break
			}
			cur = 0
		}
		if text[i] < utf8.RuneSelf {
			i++
		} else {
			_, w := utf8.DecodeRuneInString(text[i:])
			i += w
		}
	}
	return best, true
}
