package classifier

import (
	"math/rand"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestCanonRuneIsCaseFolding checks canonRune against (?i) itself: two
// runes have one canonical rune exactly when each matches the other.
func TestCanonRuneIsCaseFolding(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		c := canonRune(r)
		if c != orbitMin(r) {
			t.Fatalf("canonRune(%U) = %U, want %U", r, c, orbitMin(r))
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if canonRune(f) != c {
				t.Fatalf("%U and %U fold together but have canonical runes %U and %U", r, f, c, canonRune(f))
			}
		}
	}
	// The folds that leave ASCII, and those that look like they should.
	for _, p := range []struct {
		a, b string
		same bool
	}{{"k", "\u212a", true}, {"K", "\u212a", true}, {"s", "ſ", true}, {"S", "ſ", true}, {"i", "İ", false},
		{"i", "ı", false}, {"ß", "ẞ", true}, {"ss", "ß", false}, {"ä", "Ä", true}, {"é", "É", true}, {"\uFFFD", "\xff", true}} {
		re := regexp.MustCompile("(?i)^" + regexp.QuoteMeta(p.a) + "$")
		if got := re.MatchString(p.b); got != p.same {
			t.Errorf("(?i)%q matches %q: %v, want %v", p.a, p.b, got, p.same)
		}
		ra, _ := utf8.DecodeRuneInString(p.a)
		rb, _ := utf8.DecodeRuneInString(p.b)
		if len(p.a) == utf8.RuneLen(ra) && (canonRune(ra) == canonRune(rb)) != p.same {
			t.Errorf("canonical runes of %q and %q: %U, %U", p.a, p.b, canonRune(ra), canonRune(rb))
		}
	}
}

func randomBytes(rnd *rand.Rand) string {
	parts := []string{"a", "Z", "_", "0", " ", "\n", "é", "€", "😀", "\xff", "\x80", "\xc3", "\xe2\x82", "\xf0\x9f\x98",
		"\xed\xa0\x80", "\xc0\xaf", "K", "ſ"}
	var b strings.Builder
	for n := rnd.Intn(30); n > 0; n-- {
		b.WriteString(parts[rnd.Intn(len(parts))])
	}
	return b.String()
}

// steps is every position package regexp steps on in text.
func steps(text string) []int {
	var out []int
	for i := 0; i < len(text); {
		out = append(out, i)
		_, w := utf8.DecodeRuneInString(text[i:])
		i += w
	}
	return append(out, len(text))
}

// TestWalkingAgreesWithRegexpSteps checks that stepping backwards over a
// text passes the positions the regexp package steps on going forwards,
// invalid UTF-8 included, and that canonStart finds where a run of
// canonical bytes starts.
func TestWalkingAgreesWithRegexpSteps(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	for k := 0; k < 5000; k++ {
		text := randomBytes(rnd)
		fwd := steps(text)
		var back []int
		for p := len(text); ; {
			back = append(back, p)
			if p == 0 {
				break
			}
			p = backward(text, p, 1)
		}
		slices.Reverse(back)
		if !slices.Equal(fwd, back) {
			t.Fatalf("%q: forward steps %v, backward %v", text, fwd, back)
		}
		for i, p := range fwd {
			for n := 0; i+n < len(fwd); n++ {
				if got := forward(text, p, n); got != fwd[i+n] {
					t.Fatalf("%q: forward(%d, %d) = %d, want %d", text, p, n, got, fwd[i+n])
				}
				if got := backward(text, fwd[i+n], n); got != p {
					t.Fatalf("%q: backward(%d, %d) = %d, want %d", text, fwd[i+n], n, got, p)
				}
				canon := 0
				for _, r := range text[p:fwd[i+n]] {
					canon += utf8.RuneLen(canonRune(r))
				}
				if got := canonStart(text, fwd[i+n], canon); got != p && canon > 0 {
					t.Fatalf("%q: canonStart(%d, %d) = %d, want %d", text, fwd[i+n], canon, got, p)
				}
			}
		}
	}
}

// TestAssertionHoldsAsRegexpDoes compares \b and \B with package regexp's
// at every position it steps on.
func TestAssertionHoldsAsRegexpDoes(t *testing.T) {
	rnd := rand.New(rand.NewSource(2))
	wb, nwb := regexp.MustCompile(`\b`), regexp.MustCompile(`\B`)
	for k := 0; k < 20000; k++ {
		text := randomBytes(rnd)
		w, nw := at(wb, text), at(nwb, text)
		for _, p := range steps(text) {
			if got, want := assertionHolds(text, p, asWord), w[p]; got != want {
				t.Fatalf(`%q at %d: \b %v, regexp %v`, text, p, got, want)
			}
			if got, want := assertionHolds(text, p, asNotWord), nw[p]; got != want {
				t.Fatalf(`%q at %d: \B %v, regexp %v`, text, p, got, want)
			}
		}
	}
}

// at is where the empty-width re holds in text.
func at(re *regexp.Regexp, text string) map[int]bool {
	out := map[int]bool{}
	for _, loc := range re.FindAllStringIndex(text, -1) {
		out[loc[0]] = true
	}
	return out
}

func analyzed(t *testing.T, pattern string) ([]pfReq, bool) {
	t.Helper()
	a := &pfAnalyzer{classes: map[string]int{}}
	reqs, _, ok := a.analyzePattern(pattern)
	return reqs, ok
}

func hasItems(reqs []pfReq, anchored bool, want ...string) bool {
	for _, r := range reqs {
		if r.anchored != anchored {
			continue
		}
		var got []string
		for _, it := range r.items {
			got = append(got, it.s)
		}
		slices.Sort(got)
		if slices.Equal(got, want) {
			return true
		}
	}
	return false
}

func TestAnalysisFindsRequiredLiterals(t *testing.T) {
	for _, c := range []struct {
		pattern  string
		anchored bool
		want     []string
	}{
		{`foo\d+bar`, true, []string{"FOO0", "FOO1", "FOO2", "FOO3", "FOO4", "FOO5", "FOO6", "FOO7", "FOO8", "FOO9"}},
		{`foo\d+bar`, false, []string{"0BAR", "1BAR", "2BAR", "3BAR", "4BAR", "5BAR", "6BAR", "7BAR", "8BAR", "9BAR"}},
		{`\b(would|could) you\b`, true, []string{"COULD YOU", "WOULD YOU"}},
		{`(?s)ab.{1,3}?cd`, true, []string{"AB"}},
		{`(?s)ab.{1,3}?cd`, false, []string{"CD"}},
		{`let'?s`, true, []string{"LET'S", "LETS"}},
		{`x(ab|cd)+y`, false, []string{"ABY", "CDY"}},
		{`kelvin`, true, []string{"KELVIN"}},
	} {
		reqs, ok := analyzed(t, c.pattern)
		if !ok || !hasItems(reqs, c.anchored, c.want...) {
			t.Errorf("%s: want a set %q (anchored %v), got %+v", c.pattern, c.want, c.anchored, reqs)
		}
	}
	// Nothing to require: the plain search.
	for _, p := range []string{`a*`, `\b`, `.`, `[a-z]+`, `(a|b*)`, `^`, `x?`} {
		if reqs, ok := analyzed(t, p); ok {
			t.Errorf("%s: want no prefilter, got %+v", p, reqs)
		}
	}
}

func TestPatternsThatCannotMatchNeverFire(t *testing.T) {
	c, err := Compile(Spec{Threshold: 1, Rules: []Rule{{Name: "X", Pattern: `a[^\x00-\x{10FFFF}]b`, In: []string{"body"}, Score: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	cr := c.byName["X"]
	if cr.pf == nil {
		t.Fatal("no prefilter")
	}
	for _, text := range []string{"", "ab", "a b", "axb"} {
		if loc := cr.pf.find(c.pf, text, c.pf.scan(text)); loc != nil {
			t.Errorf("%q: matched %v", text, loc)
		}
	}
}

// TestFallbacks makes the prefilter give up on exactness shortcuts: too
// many candidates, and a candidate right after invalid UTF-8 whose first
// byte reads as a longer rune.
func TestFallbacks(t *testing.T) {
	for _, c := range []struct{ pattern, text string }{
		{`\ba\w*z`, strings.Repeat("a ", 5000) + "az"},
		{`\ba\w*z`, strings.Repeat("a ", 5000)},
		{`(?s).b`, "\xe2b"},
		{`(?s).\bb`, "\xe2\x82b b"},
		{`b`, "\xe2\x82b"},
		{`\Bb`, "\xc3b"},
		// Runs longer than are worth measuring.
		{`your\s+interview`, "your" + strings.Repeat(" ", pfMaxRun+10) + "interview"},
		{`your\s+interview`, "x your" + strings.Repeat(" ", pfMaxRun+10) + "interview your interview"},
		{`a\s*b`, strings.Repeat("\t", pfMaxRun+10) + "b"},
		// Literals longer than an item may be.
		{`the quick brown fox jumps over the lazy dog and keeps running far away from home`,
			"so THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG AND KEEPS RUNNING FAR AWAY FROM HOME"},
		{`(x|the quick brown fox jumps over the lazy dog and keeps running far away from home)\d`,
			"the quick brown fox jumps over the lazy dog and keeps running far away from homer 1x2"},
		{`\bthe quick brown fox jumps over the lazy dog and keeps running far away from home(s|r)\b`,
			"the quick brown fox jumps over the lazy dog and keeps running far away from homes"},
	} {
		re := regexp.MustCompile("(?i)" + c.pattern)
		cl, err := Compile(Spec{Threshold: 1, Rules: []Rule{{Name: "X", Pattern: c.pattern, In: []string{"body"}, Score: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		cr := cl.byName["X"]
		if cr.pf == nil {
			t.Errorf("%s: no prefilter", c.pattern)
			continue
		}
		got, want := cr.pf.find(cl.pf, c.text, cl.pf.scan(c.text)), re.FindStringIndex(c.text)
		if !slices.Equal(got, want) {
			t.Errorf("%s in %q: %v, want %v", c.pattern, c.text[:min(len(c.text), 40)], got, want)
		}
	}
}

// TestRunBounds checks the bounds measured from runs against brute force:
// no match of a pattern with repeated classes starts before lowest or ends
// after highest.
func TestRunBounds(t *testing.T) {
	rnd := rand.New(rand.NewSource(3))
	for _, pattern := range []string{`\b(your|su)\s+(\S+\s+){0,3}(interview|screen)\b`, `a\s*b+c`, `(?s)x.*y`, `k+s+k`, `\d+:\d+`} {
		c, err := Compile(Spec{Threshold: 1, Rules: []Rule{{Name: "X", Pattern: pattern, In: []string{"body"}, Score: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		cr := c.byName["X"]
		if cr.pf == nil {
			t.Fatalf("%s: no prefilter", pattern)
		}
		re0 := regexp.MustCompile(`(?i)\A(?:` + pattern + `)`)
		re1 := regexp.MustCompile(`(?i)\A(?s:.)(?:` + pattern + `)`)
		words := []string{"your", "su", "interview", "screen", "a", "b", "c", "k", "K", "ſ", "s", "x", "y", "1", "12", ":", " ", "  ", "\n", "\t", "é", "\xff", "abc"}
		for k := 0; k < 3000; k++ {
			var b strings.Builder
			for n := rnd.Intn(40); n > 0; n-- {
				b.WriteString(words[rnd.Intn(len(words))])
			}
			text := b.String()
			h := c.pf.scan(text)
			for _, s := range steps(text) {
				// The match starting at s, the rune before s in view.
				var e int
				if s == 0 {
					loc := re0.FindStringIndex(text)
					if loc == nil {
						continue
					}
					e = loc[1]
				} else {
					p := backward(text, s, 1)
					loc := re1.FindStringIndex(text[p:])
					if loc == nil {
						continue
					}
					e = p + loc[1]
				}
				if hi := c.pf.highest(text, cr.pf.maxLen, s); e > hi {
					t.Fatalf("%s in %q: match [%d,%d] ends after highest %d", pattern, text, s, e, hi)
				}
				for _, r := range cr.pf.reqs {
					// Some occurrence inside the match bounds its start.
					ok := false
					for _, o := range h.occ[r.set] {
						if int(o.start) >= s && int(o.end) <= e && c.pf.lowest(text, r.before, int(o.end)) <= s {
							ok = true
						}
					}
					if !ok {
						t.Fatalf("%s in %q: match [%d,%d] has no occurrence of a set bounding it", pattern, text, s, e)
					}
				}
			}
		}
	}
}
