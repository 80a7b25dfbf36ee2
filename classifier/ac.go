package classifier

import (
	"sort"
	"unicode/utf8"
)

// matcher finds every occurrence of many byte patterns in one pass over a
// text (Aho–Corasick). Keyword lists from all rules share one matcher, so the
// cost of a scan grows with the text, not with the number of keywords.
type matcher struct {
	root  [256]int32 // transitions out of the root, dense: it is visited most
	nodes []acNode
}

type acNode struct {
	edges []acEdge // sorted by b; none for the root (see matcher.root)
	fail  int32
	dict  int32   // nearest state along fail links that has output, or -1
	out   []int32 // ids of the patterns ending here
}

type acEdge struct {
	b  byte
	to int32
}

func (n *acNode) next(b byte) int32 {
	e := n.edges
	if len(e) <= 8 {
		for i := range e {
			if e[i].b == b {
				return e[i].to
			}
		}
		return -1
	}
	i := sort.Search(len(e), func(i int) bool { return e[i].b >= b })
	if i < len(e) && e[i].b == b {
		return e[i].to
	}
	return -1
}

// newMatcher builds a matcher; pattern i is reported with id i. Empty
// patterns are ignored.
func newMatcher(patterns []string) *matcher {
	m := &matcher{nodes: []acNode{{dict: -1}}}
	for i := range m.root {
		m.root[i] = -1
	}
	for id, p := range patterns {
		if p == "" {
			continue
		}
		s := int32(0)
		for j := 0; j < len(p); j++ {
			var to int32
			if s == 0 {
				to = m.root[p[j]]
			} else {
				to = m.nodes[s].next(p[j])
			}
			if to < 0 {
				to = int32(len(m.nodes))
				m.nodes = append(m.nodes, acNode{dict: -1})
				if s == 0 {
					m.root[p[j]] = to
				} else {
					n := &m.nodes[s]
					k := sort.Search(len(n.edges), func(k int) bool { return n.edges[k].b >= p[j] })
					n.edges = append(n.edges, acEdge{})
					copy(n.edges[k+1:], n.edges[k:])
					n.edges[k] = acEdge{b: p[j], to: to}
				}
			}
			s = to
		}
		m.nodes[s].out = append(m.nodes[s].out, int32(id))
	}
	// Breadth-first: fail links of a node are computed from shallower ones.
	queue := make([]int32, 0, len(m.nodes))
	for b := 0; b < 256; b++ {
		if to := m.root[b]; to > 0 {
			m.nodes[to].fail = 0
			queue = append(queue, to)
		} else {
			m.root[b] = 0
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, e := range m.nodes[s].edges {
			f := m.nodes[s].fail
			for {
				var to int32
				if f == 0 {
					to = m.root[e.b]
				} else {
					to = m.nodes[f].next(e.b)
				}
				if to >= 0 {
					f = to
					break
				}
				f = m.nodes[f].fail
			}
			if f == e.to {
				f = 0
			}
			m.nodes[e.to].fail = f
			if len(m.nodes[f].out) > 0 {
				m.nodes[e.to].dict = f
			} else {
				m.nodes[e.to].dict = m.nodes[f].dict
			}
			queue = append(queue, e.to)
		}
	}
	return m
}

// scan calls hit for every occurrence of every pattern in text, with the
// pattern id and the end offset of the occurrence; it stops early when hit
// returns false.
func (m *matcher) scan(text string, hit func(id int32, end int) bool) {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = m.step(s, text[i])
		for o := s; o > 0; o = m.nodes[o].dict {
			for _, id := range m.nodes[o].out {
				if !hit(id, i+1) {
					return
				}
			}
		}
	}
}

// step is the state after reading b in state s.
func (m *matcher) step(s int32, b byte) int32 {
	for {
		if s == 0 {
			return m.root[b]
		}
		if to := m.nodes[s].next(b); to >= 0 {
			return to
		}
		s = m.nodes[s].fail
	}
}

// dfa is a matcher as a table: one lookup a byte, no fail links.
// Bytes are mapped to classes first (the bytes no pattern uses are one
// class), which keeps the table small.
type dfa struct {
	class [256]uint8
	ascii [utf8.RuneSelf]uint8 // class of the canonical byte of an ASCII byte (see canonRune)
	n     int                  // classes
	// A state is the offset of its row in tab, which is state number ×
	// stride (the number of classes): tab[state+class] is the next state.
	// (Rows by offset leave only an addition between one step's load and
	// the next.) States are numbered so that those where a pattern (or one
	// of its suffixes) ends are the ones from hit up.
	tab    []uint32
	stride int
	hit    int
	hitDiv uint64 // see hitIndex
	// maxLen is the longest pattern: a scan started maxLen bytes
	// before an offset is in the right state from that offset on.
	maxLen int
	// The patterns that end in state hit+i×stride are outs[off[i]:off[i+1]].
	off  []int32
	outs []int32
}

const maxDFA = 1 << 21 // table entries

// newDFA builds the table of m, a matcher of strs; nil when it would be
// too big. With folded, strs are folded keywords (see fold), and the table
// also scans an ASCII text that is not folded (see scanASCII).
func newDFA(m *matcher, strs []string, folded bool) *dfa {
	d := &dfa{}
	var rep []byte // a byte of each class; class 0 is every unused byte
	rep = append(rep, 0)
	used := [256]bool{}
	for _, s := range strs {
		for i := 0; i < len(s); i++ {
			used[s[i]] = true
		}
	}
	for b := 0; b < 256; b++ {
		if used[b] {
			d.class[b] = uint8(len(rep))
			rep = append(rep, byte(b))
		}
	}
	if len(rep) > 256 {
		return nil
	}
	for b := 0; b < 256; b++ {
		if !used[b] {
			// A byte no pattern uses leads back to the root.
			d.class[b] = 0
		}
	}
	if used[0] {
		// Byte 0 is used: class 0 needs a byte no pattern uses.
		free := -1
		for b := 1; b < 256; b++ {
			if !used[b] {
				free = b
				break
			}
		}
		if free < 0 {
			return nil
		}
		rep[0] = byte(free)
	}
	d.n = len(rep)
	for _, s := range strs {
		d.maxLen = max(d.maxLen, len(s))
	}
	states := len(m.nodes)
	stride := d.n
	if states*stride > maxDFA {
		return nil
	}
	d.stride = stride
	d.hitDiv = (1<<32 + uint64(stride) - 1) / uint64(stride)
	id := make([]int, states)
	next := 0
	for _, out := range []bool{false, true} {
		if out {
			d.hit = next * stride
		}
		for s := range m.nodes {
			// The root (0) has no output and stays 0.
			if (s > 0 && (len(m.nodes[s].out) > 0 || m.nodes[s].dict > 0)) != out {
				continue
			}
			id[s] = next
			next++
			if out {
				d.off = append(d.off, int32(len(d.outs)))
				for o := int32(s); o > 0; o = m.nodes[o].dict {
					d.outs = append(d.outs, m.nodes[o].out...)
				}
			}
		}
	}
	d.off = append(d.off, int32(len(d.outs)))
	// Breadth first, a state's row is its edges and, for the rest, the
	// row of its fail state, which is shallower.
	d.tab = make([]uint32, states*stride)
	queue := make([]int32, 1, states)
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		row := d.tab[id[s]*stride : (id[s]+1)*stride]
		if s == 0 {
			for c, b := range rep {
				if to := m.root[b]; to > 0 {
					row[c] = uint32(id[to] * stride)
					queue = append(queue, to)
				}
			}
			continue
		}
		f := m.nodes[s].fail
		copy(row, d.tab[id[f]*stride:(id[f]+1)*stride])
		for _, e := range m.nodes[s].edges {
			row[d.class[e.b]] = uint32(id[e.to] * stride)
			queue = append(queue, e.to)
		}
	}
	for c := 0; c < utf8.RuneSelf; c++ {
		d.ascii[c] = d.class[canonRune(rune(c))]
	}
	if folded {
		d.foldsASCII(m, id)
	}
	return d
}

// foldsASCII makes the table scan an ASCII text as it scans its folded
// form (foldASCII), which has no upper case and no white space but single
// spaces: a letter steps as its lower case, any white space as a space,
// and a space after a space, in the state a space led to, stays there
// (that state is a node of the trie entered by a space: after a folded
// space the next space is not there). The folded texts scanned as before
// never take those steps, so they are scanned as before.
func (d *dfa) foldsASCII(m *matcher, id []int) {
	sp := d.class[' ']
	for c := 'A'; c <= 'Z'; c++ {
		d.class[c] = d.class[c+'a'-'A']
	}
	for _, c := range "\t\n\r\v\f" {
		d.class[c] = sp
	}
	if sp == 0 {
		return // no keyword has a space: every space leads to the root
	}
	stay := func(s int32) {
		row := id[s] * d.stride
		d.tab[row+int(sp)] = uint32(row)
	}
	if to := m.root[' ']; to > 0 {
		stay(to)
	}
	for _, n := range m.nodes {
		for _, e := range n.edges {
			if e.b == ' ' {
				stay(e.to)
			}
		}
	}
}

// scan is matcher.scan, with the table.
func (d *dfa) scan(text string, hit func(id int32, end int) bool) {
	if !d.splits(len(text)) {
		d.scanSerial(text, hit)
		return
	}
	// Each step waits for the table entry of the step before. Four scans
	// interleaved, one a quarter of the text each, overlap those waits
	// (an 8 KB body of the built-in keywords: ~30% less time than two,
	// which took ~17% less than one). Scan c > 0 starts maxLen bytes
	// before its quarter, so from there on it is in the state a single
	// scan would be, and keeps what ends in its quarter for after the
	// quarters before it. They step together for a quarter's length;
	// then scans 1-3 finish the length of their lead-in on their own.
	q := len(text) / 4
	d.scan4(text, [4]int{0, q - d.maxLen, 2*q - d.maxLen, 3*q - d.maxLen}, hit)
}

// scanASCII is scan of foldASCII(text), on text itself, for an ASCII text
// and a table that folds it (see foldsASCII): the offsets are text's. A
// scan of a quarter starts maxLen+1 bytes of the folded text before it, a
// run of white space counting as one (maxLen would do, as no keyword
// starts with a space; one more costs nothing).
func (d *dfa) scanASCII(text string, hit func(id int32, end int) bool) {
	if n := len(text); d.splits(n) {
		q := n / 4
		at := [4]int{}
		for c := 1; c < 4; c++ {
			at[c] = foldedStart(text, c*q, d.maxLen+1)
		}
		// A lead-in longer than a quarter (a quarter of white space)
		// would report some hits twice.
		if q-at[1] <= q && 2*q-at[2] <= q && 3*q-at[3] <= q {
			d.scan4(text, at, hit)
			return
		}
	}
	d.scanSerial(text, hit)
}

// foldedStart is where, in an ASCII text, the last n bytes of
// foldASCII(text[:end]) start, or 0: a run of white space folds to one
// space.
func foldedStart(text string, end, n int) int {
	i := end
	for ; n > 0 && i > 0; n-- {
		i--
		if foldTabASCII[text[i]] == foldSpace {
			for i > 0 && foldTabASCII[text[i-1]] == foldSpace {
				i--
			}
		}
	}
	return i
}

// scan4 is scan in four interleaved quarters of text, the scan of quarter c
// starting at at[c] (at[0] = 0, and at[c] at most a quarter before it).
func (d *dfa) scan4(text string, at [4]int, hit func(id int32, end int) bool) {
	n := len(text)
	q := n / 4
	tab, first, class := d.tab, d.hit, &d.class
	var lateBuf [3][16]lateHit
	late := [3][]lateHit{lateBuf[0][:0], lateBuf[1][:0], lateBuf[2][:0]}
	var r [4]int
	for t := 0; t < q; t++ {
		var k int
		k, r[0], r[1], r[2], r[3] = run4(tab, class, text, at[0]+t, at[1]+t, at[2]+t, at[3]+t, q-t, r[0], r[1], r[2], r[3], first)
		if t += k; t == q {
			break
		}
		// The byte at at[c]+t led scan c to r[c].
		if r[0] >= first {
			k := d.hitIndex(r[0])
			for _, id := range d.idsOf(k) {
				if !hit(id, t+1) {
					return
				}
			}
		}
		for c := 1; c < 4; c++ {
			if end := at[c] + t + 1; r[c] >= first && end > c*q {
				late[c-1] = append(late[c-1], lateHit{int32(d.hitIndex(r[c])), int32(end)})
			}
		}
	}
	for c := 1; c < 4; c++ {
		i, end := at[c]+q, (c+1)*q
		if c == 3 {
			end = n
		}
		for {
			i, r[c] = run1(tab, class, text[:end], i, r[c], first)
			if i == end {
				break
			}
			late[c-1] = append(late[c-1], lateHit{int32(d.hitIndex(r[c])), int32(i + 1)})
			i++
		}
	}
	for _, l := range late {
		for _, h := range l {
			for _, id := range d.idsOf(int(h.k)) {
				if !hit(id, int(h.end)) {
					return
				}
			}
		}
	}
}

// run4 steps four scans, from states r0…r3 at i0…i3, a byte each at a time,
// for at most n steps, until any is in a hit state (from first up). It
// returns the number of steps before the one that led to a hit state (or
// n) and the states. It makes no call, so the states stay in registers.
func run4(tab []uint32, class *[256]uint8, text string, i0, i1, i2, i3, n, r0, r1, r2, r3, first int) (int, int, int, int, int) {
	for t := 0; t < n; t++ {
		r0 = int(tab[r0+int(class[text[i0+t]])])
		r1 = int(tab[r1+int(class[text[i1+t]])])
		r2 = int(tab[r2+int(class[text[i2+t]])])
		r3 = int(tab[r3+int(class[text[i3+t]])])
		if r0 >= first || r1 >= first || r2 >= first || r3 >= first {
			return t, r0, r1, r2, r3
		}
	}
	return n, r0, r1, r2, r3
}

// run1 steps one scan from state r at i, a byte at a time, until it is in
// a hit state (from first up) or reaches the end of text. It returns the
// offset of the byte that led to the state it returns, or the end.
func run1(tab []uint32, class *[256]uint8, text string, i, r, first int) (int, int) {
	for ; i < len(text); i++ {
		r = int(tab[r+int(class[text[i]])])
		if r >= first {
			return i, r
		}
	}
	return i, r
}

// lateHit is a hit state of a later quarter's scan: outs of state
// hit+k×stride, ending at end.
type lateHit struct{ k, end int32 }

// hitIndex is (row-hit)/stride, the index of hit state row in off, by a
// multiplication: a division by a variable takes tens of cycles, and
// a scan finds a hit every few dozen bytes. hitDiv is 2³²/stride rounded
// up, which gives the exact quotient of every multiple x of stride with
// x·stride < 2³² (rows are below maxDFA = 2²¹, strides at most 256).
func (d *dfa) hitIndex(row int) int {
	return int(uint64(row-d.hit) * d.hitDiv >> 32)
}

// idsOf is the patterns that end in hit state k (see hitIndex).
func (d *dfa) idsOf(k int) []int32 { return d.outs[d.off[k]:d.off[k+1]] }

// splitScan is the shortest text scanned in four interleaved quarters.
const splitScan = 512

// splits says whether scan splits a text of n bytes: long enough, and
// long enough for the lead-ins to be short beside a quarter.
func (d *dfa) splits(n int) bool { return n >= max(splitScan, 8*d.maxLen) }

// scanSerial is scan, one byte at a time.
func (d *dfa) scanSerial(text string, hit func(id int32, end int) bool) {
	row := 0
	tab, first := d.tab, d.hit
	for i := 0; ; i++ {
		if i, row = run1(tab, &d.class, text, i, row, first); i == len(text) {
			return
		}
		k := d.hitIndex(row)
		for _, id := range d.idsOf(k) {
			if !hit(id, i+1) {
				return
			}
		}
	}
}
