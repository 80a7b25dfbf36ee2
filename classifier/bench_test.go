package classifier_test

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

// benchCorpus is every message of the shared and the own corpus, parsed once.
func benchCorpus(b *testing.B) []*mailmsg.Message {
	files, _ := filepath.Glob(filepath.Join(sharedCorpus, "*.eml"))
	own, _ := filepath.Glob(filepath.Join("..", "testdata", "mail", "*.eml"))
	files = append(files, own...)
	if len(files) == 0 {
		b.Fatal("no corpus")
	}
	var msgs []*mailmsg.Message
	for _, f := range files {
		msgs = append(msgs, readMessage(b, f))
	}
	return msgs
}

// syntheticRules makes n keyword rules from the corpus's own vocabulary,
// so keywords partly match and the automaton does real work.
func syntheticRules(msgs []*mailmsg.Message, n int) []classifier.Rule {
	seen := map[string]bool{}
	var vocab []string
	for _, m := range msgs {
		for _, w := range strings.Fields(strings.ToLower(m.Subject + " " + m.Text)) {
			w = strings.Trim(w, ".,;:!?()\"'")
			if len(w) > 3 && !seen[w] && !strings.ContainsAny(w, "*/@") {
				seen[w] = true
				vocab = append(vocab, w)
			}
		}
	}
	sort.Strings(vocab)
	rnd := rand.New(rand.NewSource(1))
	places := [][]string{{"subject", "body"}, {"body"}, {"subject"}, {"from_name", "body"}}
	rules := make([]classifier.Rule, n)
	for i := range rules {
		kws := make([]string, 8)
		for k := range kws {
			words := 1 + rnd.Intn(3)
			var p []string
			for j := 0; j < words; j++ {
				p = append(p, vocab[rnd.Intn(len(vocab))])
			}
			kws[k] = strings.Join(p, " ")
		}
		rules[i] = classifier.Rule{Name: fmt.Sprintf("SYN_%d", i), Keywords: kws, In: places[i%len(places)], Score: rnd.Float64()*4 - 2}
	}
	return rules
}

// ruleSet is the built-in rules topped up with synthetic ones to n rules.
func ruleSet(msgs []*mailmsg.Message, n int) []classifier.Rule {
	var rules []classifier.Rule
	for _, r := range config.BuiltinRules() {
		cr := classifier.Rule{Name: r.Name, Description: r.Description, In: r.In, Keywords: r.Keywords, Pattern: r.Pattern,
			Present: r.Present, AllOf: r.AllOf, AnyOf: r.AnyOf, NoneOf: r.NoneOf, AtLeast: r.AtLeast, Of: r.Of}
		if r.Score != nil {
			cr.Score = *r.Score
		}
		rules = append(rules, cr)
	}
	if n > len(rules) {
		rules = append(rules, syntheticRules(msgs, n-len(rules))...)
	}
	return rules
}

// naive is the classifier the matcher replaces: one case-insensitive
// regexp per keyword, run over every place the rule looks.
type naive struct {
	rules []naiveRule
}

type naiveRule struct {
	res   []*regexp.Regexp
	in    []string
	score float64
}

func newNaive(rules []classifier.Rule) *naive {
	n := &naive{}
	for _, r := range rules {
		if len(r.Keywords) == 0 {
			continue
		}
		nr := naiveRule{in: r.In, score: r.Score}
		if len(nr.in) == 0 {
			nr.in = []string{"subject", "body"}
		}
		for _, k := range r.Keywords {
			k = strings.Trim(k, "*")
			nr.res = append(nr.res, regexp.MustCompile(`(?i)\b`+regexp.QuoteMeta(k)+`\b`))
		}
		n.rules = append(n.rules, nr)
	}
	return n
}

func (n *naive) classify(m *mailmsg.Message) float64 {
	body := mailmsg.FreshText(m.Text)
	from := ""
	if m.From != nil {
		from = m.From.Name
	}
	score := 0.0
	for _, r := range n.rules {
	rule:
		for _, place := range r.in {
			var text string
			switch place {
			case "subject":
				text = m.Subject
			case "body":
				text = body
			case "from_name":
				text = from
			}
			for _, re := range r.res {
				if re.MatchString(text) {
					score += r.score
					break rule
				}
			}
		}
	}
	return score
}

// BenchmarkClassify reports the cost of one message with the built-in rules
// and with 50 and 500 rules.
func BenchmarkClassify(b *testing.B) {
	msgs := benchCorpus(b)
	for _, n := range []int{0, 50, 500} {
		c, err := classifier.Compile(classifier.Spec{Threshold: 5, Rules: ruleSet(msgs, n)})
		if err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("rules=%d", c.RuleCount())
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c.Classify(msgs[i%len(msgs)])
			}
		})
	}
}

// BenchmarkRuleScaling measures, interleaved in one run so machine noise
// hits all alike: 500 rules against 50 (goal: ratio under 2), and the
// matcher against the naive one-regexp-per-keyword classifier on the same
// rules (goal: at least 20 times faster).
func BenchmarkRuleScaling(b *testing.B) {
	msgs := benchCorpus(b)
	rules50, rules500 := ruleSet(msgs, 50), ruleSet(msgs, 500)
	c50, err := classifier.Compile(classifier.Spec{Threshold: 5, Rules: rules50})
	if err != nil {
		b.Fatal(err)
	}
	c500, err := classifier.Compile(classifier.Spec{Threshold: 5, Rules: rules500})
	if err != nil {
		b.Fatal(err)
	}
	naive50, naive500 := newNaive(rules50), newNaive(rules500)
	var t50, t500, tn50, tn500 time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := msgs[i%len(msgs)]
		s := time.Now()
		c50.Classify(m)
		t50 += time.Since(s)
		s = time.Now()
		c500.Classify(m)
		t500 += time.Since(s)
		s = time.Now()
		naive50.classify(m)
		tn50 += time.Since(s)
		s = time.Now()
		naive500.classify(m)
		tn500 += time.Since(s)
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(per(t50), "ns/msg@50")
	b.ReportMetric(per(t500), "ns/msg@500")
	b.ReportMetric(per(tn500), "naive-ns/msg@500")
	b.ReportMetric(float64(t500)/float64(t50), "ratio-500/50")
	b.ReportMetric(float64(tn50)/float64(t50), "speedup-vs-naive@50")
	b.ReportMetric(float64(tn500)/float64(t500), "speedup-vs-naive@500")
}

// BenchmarkHostilePattern shows (a+)+$ costs time linear in the text.
func BenchmarkHostilePattern(b *testing.B) {
	c, err := classifier.Compile(classifier.Spec{Threshold: 1, Rules: []classifier.Rule{
		{Name: "EVIL", Pattern: `(a+)+$`, In: []string{"body"}, Score: 1},
	}})
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{1 << 12, 1 << 14, 1 << 16} {
		raw := "From: x@example.org\r\nSubject: s\r\n\r\n" + strings.Repeat("a", size) + "!"
		m, err := mailmsg.Read(strings.NewReader(raw), mailmsg.Options{MaxBodyBytes: 1 << 17})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("bytes=%d", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				c.Classify(m)
			}
		})
	}
}

func init() {
	// The benchmarks need the corpus; make a missing one obvious.
	if _, err := os.Stat(sharedCorpus); err != nil {
		fmt.Fprintf(os.Stderr, "classifier tests: shared corpus not found at %s\n", sharedCorpus)
	}
}

// BenchmarkExtract is the cost of reading the reply's fields (company,
// role, first name, times) out of one sample message: the daemon does it
// for every invitation it finds.
func BenchmarkExtract(b *testing.B) {
	msgs := benchCorpus(b)
	for i := 0; i < b.N; i++ {
		classifier.Extract(msgs[i%len(msgs)], classifier.ExtractOptions{})
	}
}
