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
// too big.
func newDFA(m *matcher, strs []string) *dfa {
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
	return d
}

// scan is matcher.scan, with the table.
func (d *dfa) scan(text string, hit func(id int32, end int) bool) {
	if !d.splits(len(text)) {
		d.scanSerial(text, hit)
		return
	}
	// Each step waits for the table entry of the step before. Two scans
	// interleaved, of the first half and of the rest, overlap those waits
	// (a 16 KB body: ~17% less time than one scan). The second starts
	// maxLen bytes early, so from mid on it is in the state a single scan
	// would be; it reports what ends after mid, once the first half's
	// occurrences are reported.
	n := len(text)
	mid := n / 2
	tab, first, class := d.tab, d.hit, &d.class
	var lateBuf [32]lateHit
	late := lateBuf[:0]
	r1, r2 := 0, 0
	i, j := 0, max(0, mid-d.maxLen)
	for {
		i, j, r1, r2 = run2(tab, class, text, i, j, mid, r1, r2, first)
		if i == mid {
			break
		}
		if r1 >= first {
			k := d.hitIndex(r1)
			for _, id := range d.outs[d.off[k]:d.off[k+1]] {
				if !hit(id, i+1) {
					return
				}
			}
		}
		if r2 >= first && j >= mid {
			late = append(late, lateHit{int32(d.hitIndex(r2)), int32(j + 1)})
		}
		i, j = i+1, j+1
	}
	for {
		j, r2 = run1(tab, class, text, j, r2, first)
		if j == n {
			break
		}
		late = append(late, lateHit{int32(d.hitIndex(r2)), int32(j + 1)})
		j++
	}
	for _, l := range late {
		for _, id := range d.outs[d.off[l.k]:d.off[l.k+1]] {
			if !hit(id, int(l.end)) {
				return
			}
		}
	}
}

// run2 steps the scans from states r1 at i and r2 at j, a byte each at
// a time, until either is in a hit state (from first up) or i reaches
// end. It returns the offsets of the bytes that led to the states it
// returns, or end. It makes no call, so the states stay in registers.
func run2(tab []uint32, class *[256]uint8, text string, i, j, end, r1, r2, first int) (int, int, int, int) {
	for ; i < end; i, j = i+1, j+1 {
		r1 = int(tab[r1+int(class[text[i]])])
		r2 = int(tab[r2+int(class[text[j]])])
		if r1 >= first || r2 >= first {
			return i, j, r1, r2
		}
	}
	return i, j, r1, r2
}

// run1 is run2 for one scan, to the end of text.
func run1(tab []uint32, class *[256]uint8, text string, i, r, first int) (int, int) {
	for ; i < len(text); i++ {
		r = int(tab[r+int(class[text[i]])])
		if r >= first {
			return i, r
		}
	}
	return i, r
}

// lateHit is a hit state of the second half of a split scan: outs of
// state hit+k×stride, ending at end.
type lateHit struct{ k, end int32 }

// hitIndex is (row-hit)/stride, the index of hit state row in off, by a
// multiplication: a division by a variable takes tens of cycles, and
// a scan finds a hit every few dozen bytes. hitDiv is 2³²/stride rounded
// up, which gives the exact quotient of every multiple x of stride with
// x·stride < 2³² (rows are below maxDFA = 2²¹, strides at most 256).
func (d *dfa) hitIndex(row int) int {
	return int(uint64(row-d.hit) * d.hitDiv >> 32)
}

// splitScan is the shortest text scanned in two interleaved halves.
const splitScan = 256

// splits says whether scan splits a text of n bytes: long enough, and
// long enough for the second half's lead-in to be short beside it.
func (d *dfa) splits(n int) bool { return n >= max(splitScan, 4*d.maxLen) }

// scanSerial is scan, one byte at a time.
func (d *dfa) scanSerial(text string, hit func(id int32, end int) bool) {
	row := 0
	tab, first := d.tab, d.hit
	for i := 0; ; i++ {
		if i, row = run1(tab, &d.class, text, i, row, first); i == len(text) {
			return
		}
		k := d.hitIndex(row)
		for _, id := range d.outs[d.off[k]:d.off[k+1]] {
			if !hit(id, i+1) {
				return
			}
		}
	}
}
