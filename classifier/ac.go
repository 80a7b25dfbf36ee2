package classifier

import "sort"

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
		b := text[i]
		for {
			if s == 0 {
				s = m.root[b]
				break
			}
			if to := m.nodes[s].next(b); to >= 0 {
				s = to
				break
			}
			s = m.nodes[s].fail
		}
		for o := s; o > 0; o = m.nodes[o].dict {
			for _, id := range m.nodes[o].out {
				if !hit(id, i+1) {
					return
				}
			}
		}
	}
}
