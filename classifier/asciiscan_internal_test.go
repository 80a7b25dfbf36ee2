package classifier

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestScanASCIIReportsAsTheFoldedScan: scanASCII on an ASCII text reports
// exactly what scan reports on its folded form, each hit once, in the same
// order, at the offset in the text where the folded hit ends; also when a
// quarter is mostly white space.
func TestScanASCIIReportsAsTheFoldedScan(t *testing.T) {
	keywords := []string{"quick chat", "chat", "interview", "phone screen", "a b c", "set up a call", "call", "x", "a"}
	var pats []string
	for _, k := range keywords {
		pats = append(pats, fold(k))
	}
	d := newDFA(newMatcher(pats), pats, true)
	words := []string{"quick", "Chat", "INTERVIEW", "phone", "Screen", "a", "B", "c", "set", "up", "call", "x", "foo"}
	seps := []string{" ", " ", "  ", "\t", "\r\n", " \n ", "-", "", strings.Repeat(" ", 40), strings.Repeat("\n ", 400)}
	rng := rand.New(rand.NewPCG(3, 4))
	type hit struct{ id, end int }
	for i := 0; i < 2000; i++ {
		var b strings.Builder
		for n := rng.IntN(600); n > 0; n-- {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		text := b.String()
		// foldedEnd[j] is the length of foldASCII(text[:j]) when text[j-1]
		// is not white space.
		foldedEnd := make([]int, len(text)+1)
		f := 0
		for j := 0; j < len(text); j++ {
			if foldTabASCII[text[j]] != foldSpace {
				if j > 0 && f > 0 && foldTabASCII[text[j-1]] == foldSpace {
					f++ // the space before it
				}
				f++
			}
			foldedEnd[j+1] = f
		}
		var got, want []hit
		d.scanASCII(text, func(id int32, end int) bool {
			got = append(got, hit{int(id), foldedEnd[end]})
			return true
		})
		d.scan(foldASCII(text), func(id int32, end int) bool {
			want = append(want, hit{int(id), end})
			return true
		})
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("text %q (%d bytes):\nscanASCII %v\nfolded    %v", text, len(text), got, want)
		}
	}
}

// TestFoldedStart: where the last n bytes of the folded text start.
func TestFoldedStart(t *testing.T) {
	for _, tt := range []struct {
		text   string
		end, n int
		want   int
	}{
		{"quick chat", 10, 10, 0},
		{"xx quick \t\n chat", 16, 10, 3},
		{"  \t quick", 9, 5, 4},
		{"  \t quick", 9, 6, 0},
		{"abc", 3, 9, 0},
		{"a  b", 4, 2, 1},
	} {
		if got := foldedStart(tt.text, tt.end, tt.n); got != tt.want {
			t.Errorf("foldedStart(%q, %d, %d) = %d, want %d", tt.text, tt.end, tt.n, got, tt.want)
		}
	}
}
