package classifier_test

import (
	"flag"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

// equivScale multiplies the number of generated texts and patterns the
// equivalence tests try (go test -run Prefilter -equiv.scale 20).
var equivScale = flag.Int("equiv.scale", 1, "scale of the prefilter equivalence tests")

// builtinPatterns are the built-in pattern rules' names and patterns.
func builtinPatterns(tb testing.TB) (names, patterns []string) {
	tb.Helper()
	for _, r := range config.BuiltinRules() {
		if r.Pattern != "" {
			names = append(names, r.Name)
			patterns = append(patterns, r.Pattern)
		}
	}
	if len(patterns) == 0 {
		tb.Fatal("no built-in pattern rules")
	}
	return names, patterns
}

func builtinProbe(tb testing.TB) (*classifier.PatternProbe, []string) {
	tb.Helper()
	names, patterns := builtinPatterns(tb)
	p, err := classifier.NewPatternProbe(patterns)
	if err != nil {
		tb.Fatal(err)
	}
	for i, n := range names {
		if !p.Prefiltered(i) {
			tb.Errorf("built-in pattern rule %s has no prefilter", n)
		}
		if testing.Verbose() {
			tb.Logf("%s: %s", n, p.Describe(i))
		}
	}
	return p, names
}

// checker compares the prefiltered and the plain search and counts.
type checker struct {
	tb           testing.TB
	texts, pairs int
	fired        int
	failures     int
}

func (c *checker) check(p *classifier.PatternProbe, i int, name, text string) {
	c.pairs++
	got, want := p.Find(i, text), p.Plain(i, text)
	if want != nil {
		c.fired++
	}
	if !slices.Equal(got, want) {
		c.failures++
		if c.failures <= 20 {
			c.tb.Errorf("%s: prefiltered %v, plain %v, in %s", name, got, want, excerpt(text, want, got))
		}
	}
}

func excerpt(text string, locs ...[]int) string {
	lo, hi := len(text), 0
	for _, l := range locs {
		if l != nil {
			lo, hi = min(lo, l[0]), max(hi, l[1])
		}
	}
	if lo > hi {
		lo, hi = 0, min(len(text), 200)
	}
	lo, hi = max(0, lo-60), min(len(text), hi+60)
	return fmt.Sprintf("%d bytes, [%d:%d] %q", len(text), lo, hi, text[lo:hi])
}

// repoTexts is every mail and prose file in the repository and the shared
// corpus: for mail, the raw file and the places rules look at.
func repoTexts(tb testing.TB) (texts []string, msgs []*mailmsg.Message) {
	tb.Helper()
	var files []string
	for _, root := range []string{"..", sharedCorpus} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			switch filepath.Ext(path) {
			case ".eml", ".md", ".txt", ".tmpl", ".yaml", ".json", ".ics":
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		texts = append(texts, string(b))
		if filepath.Ext(f) != ".eml" {
			continue
		}
		m, err := mailmsg.Read(strings.NewReader(string(b)), mailmsg.Options{})
		if err != nil {
			continue
		}
		msgs = append(msgs, m)
		texts = append(texts, m.Subject, m.Text, mailmsg.FreshText(m.Text))
		if c := m.Calendar; c != nil {
			texts = append(texts, strings.Join([]string{c.Summary, c.Description, c.Location}, "\n"))
		}
	}
	return texts, msgs
}

// TestPrefilterMatchesPlainSearchOnCorpora runs every built-in pattern rule
// both ways on every mail of the repository and the shared corpus, and
// classifies every message both ways.
func TestPrefilterMatchesPlainSearchOnCorpora(t *testing.T) {
	t.Parallel()
	p, names := builtinProbe(t)
	texts, msgs := repoTexts(t)
	if len(msgs) < 400 {
		t.Fatalf("only %d messages found", len(msgs))
	}
	c := &checker{tb: t}
	for _, text := range texts {
		c.texts++
		for i, n := range names {
			c.check(p, i, n, text)
			// The same text with CRLF line ends, and upper-cased.
			c.check(p, i, n, strings.ReplaceAll(text, "\n", "\r\n"))
			c.check(p, i, n, strings.ToUpper(text))
		}
	}
	// Whole verdicts, against the plain search and against Classify as it
	// was before (plain search, automaton keyword scan, first fold).
	full := defaultClassifier(t)
	plain := classifier.WithoutPrefilter(full)
	for _, m := range msgs {
		a, b, r := full.Classify(m), plain.Classify(m), classifier.ClassifyReference(full, m)
		if !sameVerdict(a, b) || !sameVerdict(a, r) {
			t.Errorf("%q: prefiltered %+v, plain %+v, reference %+v", m.Subject, a, b, r)
		}
	}
	t.Logf("%d texts (%d messages), %d searches, %d matched", c.texts, len(msgs), c.pairs, c.fired)
}

// phrases trigger the built-in pattern rules.
var phrases = []string{
	"would you", "could you", "can you", "are you", "do you", "might you", "will you", "have you got",
	"has you got", "are you free on monday", "you free this tue", "free tomorrow", "free next fri",
	"würde ich gern", "würde wir gerne", "could i", "can we", "may i", "shall we", "i'd love to",
	"id like to", "i’d love to", "let's", "lets", "let’s", "happy to", "hätten sie", "haben du", "hast du",
	"auriez-vous", "êtes-vous", "serais-tu", "tendrías", "podríamos", "te gustaría", "le gustaría",
	"call", "chat", "conversation", "catch-up", "coffee", "talk", "speak", "ring", "zeit", "telefonat",
	"telefonieren", "sprechen", "austauschen", "kennenlernen", "appel", "discuter", "llamada", "charla",
	"hablar", "conocerte", "conocerle", "gespräch", "échange", "conversación", "minutes", "minuten",
	"minutos", "30 minutes", "45-minute", "15 min", "1-2 mins", "10–15 minutes", "10 - 15 min",
	"about an hour", "around one hour", "roughly 1 hora", "takes an hour", "ungefähr 1 stunde",
	"etwa 1 stunde", "environ une heure", "unos 1 hora", "una una hora", "10:30", "9.15", "14h30",
	"3pm", "3 pm", "10am", "16 uhr", "9h", "9 h", "11:00", "the role", "this job", "a senior go position",
	"our opening", "your vacancy", "that contract", "the req", "an sre/devops requisition",
	"the c++ role", "die stelle", "der position", "diese rolle", "eine stelle", "le poste", "ce poste",
	"un poste", "du poste", "au poste", "el puesto", "este rol", "un puesto", "del rol", "al puesto",
	"your interview", "your phone screen", "ihr vorstellungsgespräch", "ihres gespräch",
	"votre entretien", "tu entrevista", "su entrevista", "your onsite", "your first technical interview",
	"your screen", "your a b c d interview",
}

// fillers are words and punctuation between phrases.
var fillers = []string{
	" ", "  ", "\n", "\r\n", "\t", "\u00a0", ". ", "? ", "! ", ", ", " – ", "-", "_", "x", "9", "é", "😀",
	" and then ", " next week ", " quickly ", "\n\n", " K ", " ſ ", "İ", "ı", "ß", "ẞ", "\xff", "\xc3",
	"\xe2\x82", " Ä ", "É", " '", "’", "/",
}

// mutate changes the case and spelling of s the ways (?i) and \b care about.
func mutate(rnd *rand.Rand, s string) string {
	var b strings.Builder
	for _, r := range s {
		switch x := rnd.Intn(20); {
		case x < 4:
			b.WriteString(strings.ToUpper(string(r)))
			continue
		case x == 4 && (r == 'k' || r == 'K'):
			b.WriteRune('\u212a') // Kelvin sign
			continue
		case x == 4 && (r == 's' || r == 'S'):
			b.WriteRune('ſ')
			continue
		case x == 4 && (r == 'i' || r == 'I'):
			b.WriteString([]string{"İ", "ı"}[rnd.Intn(2)])
			continue
		case x == 5 && r == 'ä':
			b.WriteString([]string{"Ä", "a", "ä"}[rnd.Intn(3)])
			continue
		case x == 5 && (r == 'é' || r == 'e'):
			b.WriteString([]string{"É", "é", "e\u0301"}[rnd.Intn(3)])
			continue
		case x == 5 && r == ' ':
			b.WriteString(fillers[rnd.Intn(6)])
			continue
		case x == 6 && r == 's':
			b.WriteString("ß")
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// genText strings phrases, fillers and prose together.
func genText(rnd *rand.Rand, prose []string, size int) string {
	var b strings.Builder
	for b.Len() < size {
		switch rnd.Intn(8) {
		case 0, 1:
			b.WriteString(mutate(rnd, phrases[rnd.Intn(len(phrases))]))
		case 6, 7:
			// Two phrases a short way apart, as TALK_ASK and
			// PROPOSED_TIMES want them.
			pair := [][2][]string{
				{{"would you", "can we", "let's", "happy to", "i'd like to", "hätten sie", "êtes-vous", "te gustaría", "are you free next mon"},
					{"call", "chat", "talk", "ring", "gespräch", "échange", "conversación", "minutes", "coffee"}},
				{{"10:30", "9.15", "14h30", "3pm", "10 am", "16 uhr", "9h"}, {"11:00", "4 pm", "15h", "17 Uhr", "9.45"}},
				{{"your", "su", "votre", "ihr", "the", "a", "die", "le"}, {"interview", "screen", "entretien", "gespräch", "role", "job", "stelle", "poste"}},
			}[rnd.Intn(3)]
			b.WriteString(mutate(rnd, pair[0][rnd.Intn(len(pair[0]))]))
			gap := []string{"x", "é", "😀", " ", "a b", ".", "\n", " word", "  ab/c-d ", "\t"}[rnd.Intn(10)]
			b.WriteString(strings.Repeat(gap, []int{0, 1, 2, 3, 4, 5, 30, 70, 79, 80, 81, 150, 299, 300, 301}[rnd.Intn(15)]))
			b.WriteString(fillers[rnd.Intn(len(fillers))])
			b.WriteString(mutate(rnd, pair[1][rnd.Intn(len(pair[1]))]))
		case 2:
			b.WriteString(fillers[rnd.Intn(len(fillers))])
		case 3:
			// A gap of about the length the patterns allow.
			n := []int{0, 1, 40, 79, 80, 81, 120, 299, 300, 301}[rnd.Intn(10)]
			r := []string{"x", "é", "😀", " ", "a b", "\xff"}[rnd.Intn(6)]
			b.WriteString(strings.Repeat(r, n))
		default:
			if len(prose) > 0 {
				p := prose[rnd.Intn(len(prose))]
				if len(p) > 0 {
					i := rnd.Intn(len(p))
					b.WriteString(p[i:min(len(p), i+rnd.Intn(400))])
				}
			}
		}
		if rnd.Intn(3) == 0 {
			b.WriteString(fillers[rnd.Intn(len(fillers))])
		}
	}
	return b.String()
}

// TestPrefilterMatchesPlainSearchOnGeneratedTexts runs the built-in pattern
// rules on texts made to put the patterns' trigger phrases at the edges of
// the prefilter's reasoning: next to word boundaries, in mixed case and
// Unicode case variants, across CRLF, at the distances the patterns allow,
// in long bodies.
func TestPrefilterMatchesPlainSearchOnGeneratedTexts(t *testing.T) {
	t.Parallel()
	p, names := builtinProbe(t)
	_, others := freshBodies(t)
	rnd := rand.New(rand.NewSource(1))
	c, edges := &checker{tb: t}, &checker{tb: t}
	fired := make([]int, len(names))
	full := defaultClassifier(t)
	n := 4000 * *equivScale
	if testing.Short() {
		n = 1000
	}
	for k := 0; k < n; k++ {
		size := 1 + rnd.Intn(600)
		if k%40 == 0 {
			size = 2000 + rnd.Intn(30000)
		}
		text := genText(rnd, others, size)
		c.texts++
		for i, name := range names {
			c.check(p, i, name, text)
			if p.Plain(i, text) != nil {
				fired[i]++
			}
		}
		if k%5 == 0 {
			// The whole verdict, against Classify as it was before.
			m := &mailmsg.Message{Subject: text[:min(len(text), 60)], Text: text}
			if a, r := full.Classify(m), classifier.ClassifyReference(full, m); !sameVerdict(a, r) {
				t.Errorf("%s: verdict %+v, reference %+v", excerpt(text), a, r)
			}
		}
		// Every suffix and prefix shifts the phrases to the edges.
		if k%10 == 0 && len(text) < 400 {
			for j := 0; j <= len(text); j += 1 + j/8 {
				for i, name := range names {
					edges.check(p, i, name, text[j:])
					edges.check(p, i, name, text[:j])
				}
			}
		}
	}
	t.Logf("%d texts, %d searches, %d matched; %d searches at cut edges, %d matched", c.texts, c.pairs, c.fired, edges.pairs, edges.fired)
	for i, name := range names {
		t.Logf("%s matched %d of %d texts", name, fired[i], c.texts)
		if fired[i] < c.texts/25 {
			t.Errorf("%s matched only %d of %d texts: they do not exercise it", name, fired[i], c.texts)
		}
	}
}

// randomPattern makes a small pattern over a small alphabet, with every
// construct the prefilter reasons about.
func randomPattern(rnd *rand.Rand, depth int) string {
	atoms := []string{"a", "b", "k", "s", "K", "ſ", "é", "ß", "0", "1", " ", "ab", "ks", "abc", "sk", "kK",
		"[ab]", "[^a]", "[ks]", "[0-9]", "\\d", "\\s", "\\S", "\\w", "\\W", ".", "[a-z]", "[é]", "\\.", "(?i:k)", "(?-i:s)",
		strings.Repeat("ab", 40)}
	asserts := []string{"\\b", "\\B", "^", "$", "\\A", "\\z", "(?m:^)", "(?m:$)"}
	if depth > 3 {
		return atoms[rnd.Intn(len(atoms))]
	}
	var b strings.Builder
	for n := 1 + rnd.Intn(4); n > 0; n-- {
		switch x := rnd.Intn(14); {
		case x < 5:
			b.WriteString(atoms[rnd.Intn(len(atoms))])
		case x < 7:
			b.WriteString(asserts[rnd.Intn(len(asserts))])
		case x < 9:
			g := []string{"(", "(?:", "(?i:", "(?s:", "(?-i:"}[rnd.Intn(5)]
			b.WriteString(g + randomPattern(rnd, depth+1) + "|" + randomPattern(rnd, depth+1) + ")")
		case x < 11:
			b.WriteString("(?:" + randomPattern(rnd, depth+1) + ")")
		default:
			b.WriteString("(?:" + randomPattern(rnd, depth+1) + ")")
			b.WriteString([]string{"?", "*", "+", "??", "*?", "+?", "{2}", "{0,3}", "{1,2}", "{2,}", "{0,5}?", "{1,}"}[rnd.Intn(12)])
		}
	}
	return b.String()
}

func randomText(rnd *rand.Rand) string {
	alphabet := []string{"a", "b", "k", "K", "s", "S", "ſ", "\u212a", "0", "1", " ", "\n", ".", "é", "É", "ß",
		"_", "\xff", "😀", "ab", "ks", "abc", strings.Repeat("ab", 40)}
	var b strings.Builder
	n := rnd.Intn(40)
	if rnd.Intn(10) == 0 {
		n = 200 + rnd.Intn(1500)
	}
	for i := 0; i < n; i++ {
		b.WriteString(alphabet[rnd.Intn(len(alphabet))])
	}
	return b.String()
}

// TestPrefilterMatchesPlainSearchOnRandomPatterns compares the two searches
// for random small patterns on random texts.
func TestPrefilterMatchesPlainSearchOnRandomPatterns(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewSource(2))
	c := &checker{tb: t}
	patterns, prefiltered := 0, 0
	n := 2000 * *equivScale
	if testing.Short() {
		n = 500
	}
	for patterns < n {
		pat := randomPattern(rnd, 0)
		if _, err := regexp.Compile("(?i)" + pat); err != nil {
			continue
		}
		p, err := classifier.NewPatternProbe([]string{pat})
		if err != nil {
			t.Fatalf("%q: %v", pat, err)
		}
		patterns++
		if !p.Prefiltered(0) {
			continue
		}
		prefiltered++
		for k := 0; k < 40; k++ {
			text := randomText(rnd)
			c.texts++
			c.check(p, 0, pat, text)
		}
	}
	t.Logf("%d patterns (%d prefiltered), %d searches, %d matched", patterns, prefiltered, c.pairs, c.fired)
	if prefiltered < patterns/3 {
		t.Errorf("only %d of %d random patterns have a prefilter", prefiltered, patterns)
	}
}

// FuzzPatternPrefilter compares the prefiltered and the plain search: for
// the built-in pattern rules on the text, and for the pattern on the text.
func FuzzPatternPrefilter(f *testing.F) {
	p, names := builtinProbe(f)
	_, patterns := builtinPatterns(f)
	rnd := rand.New(rand.NewSource(3))
	_, others := freshBodies(f)
	for i := 0; i < 40; i++ {
		f.Add(randomPattern(rnd, 0), genText(rnd, others, 1+rnd.Intn(400)))
	}
	for _, pat := range patterns {
		f.Add(pat, genText(rnd, others, 200))
	}
	f.Add(`\bk`, "x\u212a")
	f.Add(`s\b`, "ſ ")
	f.Add(`(?s)a.{1,3}?b`, "a😀😀b")
	f.Add(`x`, "\x80")
	f.Fuzz(func(t *testing.T, pat, text string) {
		c := &checker{tb: t}
		for i, n := range names {
			c.check(p, i, n, text)
		}
		// The text repeated, long enough for the scan to run as two
		// chains (inputs are rarely that long): the table scan must
		// still find what the automaton finds.
		if n := len(text); n > 0 && n < 1<<12 {
			long := strings.Repeat(text, 1<<12/n+1)
			if err := p.PrefilterScansAgree(long); err != nil {
				t.Fatalf("%s: %v", excerpt(long), err)
			}
		}
		if len(pat) > 200 || len(text) > 1<<16 {
			return
		}
		if _, err := regexp.Compile("(?i)" + pat); err != nil {
			return
		}
		q, err := classifier.NewPatternProbe([]string{pat})
		if err != nil {
			return // a pattern a rule refuses
		}
		c.check(q, 0, pat, text)
	})
}

func TestGeneratedTextsAreValidTestInput(t *testing.T) {
	// The generator must produce invalid UTF-8 and the fold variants, or
	// the tests above prove less than they say.
	rnd := rand.New(rand.NewSource(1))
	seen := map[string]bool{}
	for k := 0; k < 2000; k++ {
		s := genText(rnd, nil, 200)
		if !utf8.ValidString(s) {
			seen["invalid"] = true
		}
		for _, v := range []string{"\u212a", "ſ", "İ", "ß", "Ä", "É", "\r\n"} {
			if strings.Contains(s, v) {
				seen[v] = true
			}
		}
	}
	if len(seen) < 8 {
		t.Errorf("generated texts lack some variants: have %v", seen)
	}
}

// TestScanTablesMatchAutomata compares the table-driven scans (prefilter
// and keywords) with the Aho–Corasick automata they are built from, on every
// text of the repository and on generated texts.
func TestScanTablesMatchAutomata(t *testing.T) {
	t.Parallel()
	p, _ := builtinProbe(t)
	full := defaultClassifier(t)
	texts, _ := repoTexts(t)
	_, others := freshBodies(t)
	rnd := rand.New(rand.NewSource(4))
	for k := 0; k < 2000; k++ {
		texts = append(texts, genText(rnd, others, 1+rnd.Intn(2000)))
	}
	for _, text := range texts {
		if err := p.PrefilterScansAgree(text); err != nil {
			t.Fatalf("%s: %v", excerpt(text), err)
		}
		for _, stop := range []int{0, 1, 7} {
			if err := classifier.KeywordScansAgree(full, text, stop); err != nil {
				t.Fatalf("%s: %v", excerpt(text), err)
			}
		}
	}
}

// TestSplitScansAgreeAroundTheMiddle puts phrases the rules look for
// across the places where the scans of a long text split it: the middle
// for the prefilter's two chains and the quarters for the keyword scan's
// four, at every offset near them, in ASCII text and in text with other
// letters and broken UTF-8 around them.
func TestSplitScansAgreeAroundTheMiddle(t *testing.T) {
	t.Parallel()
	p, _ := builtinProbe(t)
	full := defaultClassifier(t)
	phrases := []string{"interview", "Vorstellungsgespräch", "your availability", "phone screen", "KELVIN \u212a and ſ", "30 minutes", "Zoom"}
	literal, keyword := p.Longest(full)
	phrases = append(phrases, literal, keyword, " "+literal+" ", " "+keyword+" ")
	fillers := []string{
		strings.Repeat("lorem ipsum dolor sit amet, ", 200),
		strings.Repeat("größe ÉTÉ \u212a\xe2\x82 ſ\xff naïve – ", 200),
		strings.Repeat("日本語のテキスト", 300),
	}
	split, pfSplit := 0, 0
	for _, filler := range fillers {
		for _, n := range []int{256, 300, 513, 1000, 2000, 4001} {
			for _, ph := range phrases {
				for at := max(0, n/2-len(ph)-40); at <= n/2+40 && at+len(ph) <= n; at++ {
					text := filler[:at] + ph + filler[:n-at-len(ph)]
					if classifier.Splits(full, text) {
						split++
					}
					if p.Splits(text) {
						pfSplit++
					}
					if err := p.PrefilterScansAgree(text); err != nil {
						t.Fatalf("%d bytes, %q at %d: %v", n, ph, at, err)
					}
					for _, stop := range []int{0, 1, 2} {
						if err := classifier.KeywordScansAgree(full, text, stop); err != nil {
							t.Fatalf("%d bytes, %q at %d, stop %d: %v", n, ph, at, stop, err)
						}
					}
				}
				// The keyword scan's other chain boundaries: a quarter
				// and three quarters in.
				for _, b := range []int{n / 4, 3 * n / 4} {
					for at := max(0, b-len(ph)-12); at <= b+12 && at+len(ph) <= n; at++ {
						text := filler[:at] + ph + filler[:n-at-len(ph)]
						for _, stop := range []int{0, 1, 2} {
							if err := classifier.KeywordScansAgree(full, text, stop); err != nil {
								t.Fatalf("%d bytes, %q at %d, stop %d: %v", n, ph, at, stop, err)
							}
						}
					}
				}
			}
		}
	}
	// Broken UTF-8 where a split scan looks for a rune boundary: no rune
	// starts after the middle, or none in the lead-in.
	for _, text := range []string{
		"interview " + strings.Repeat("\x80", 1000),
		strings.Repeat("\x80", 1000) + " your interview",
		strings.Repeat("\x80", 600) + "phone screen" + strings.Repeat("\xbf", 600),
	} {
		if !p.Splits(text) {
			t.Fatalf("%d bytes: not split", len(text))
		}
		if err := p.PrefilterScansAgree(text); err != nil {
			t.Fatalf("%q: %v", excerpt(text), err)
		}
	}
	if split < 1000 || pfSplit < 1000 {
		t.Errorf("only %d keyword scans and %d prefilter scans were split", split, pfSplit)
	}
}
