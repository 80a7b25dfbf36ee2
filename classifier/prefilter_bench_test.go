package classifier_test

import (
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

// corpusDirs are the labelled corpora.
var corpusDirs = []string{sharedCorpus, filepath.Join("..", "testdata", "mail"), filepath.Join("..", "testdata", "holdout")}

// freshBodies is the fresh text (quotes removed) of every labelled message,
// invitations and others apart, in a fixed order.
func freshBodies(tb testing.TB) (invites, others []string) {
	tb.Helper()
	for _, dir := range corpusDirs {
		labels := loadLabels(tb, dir)
		names := make([]string, 0, len(labels))
		for n := range labels {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			m := readMessage(tb, filepath.Join(dir, n))
			body := mailmsg.FreshText(m.Text)
			if labels[n].Label == "invite" {
				invites = append(invites, body)
			} else {
				others = append(others, body)
			}
		}
	}
	return invites, others
}

// longBodies builds two realistic 20 KB bodies: a digest of many non-invitation
// mails (newsletters, rejections, receipts, look-alikes …), and an invitation
// followed by a long role description and footer made of the same prose.
func longBodies(tb testing.TB, size int) (other, invite string) {
	invites, others := freshBodies(tb)
	fill := func(b *strings.Builder) {
		for i := 0; b.Len() < size; i++ {
			b.WriteString(others[i%len(others)])
			b.WriteString("\n\n")
		}
	}
	var o, v strings.Builder
	fill(&o)
	v.WriteString(invites[0])
	v.WriteString("\n\n")
	fill(&v)
	cut := func(s string) string {
		s = s[:size]
		return s[:strings.LastIndexByte(s, '\n')]
	}
	return cut(o.String()), cut(v.String())
}

func builtinPatternRules() []classifier.Rule {
	var rules []classifier.Rule
	for _, r := range config.BuiltinRules() {
		if r.Pattern != "" {
			rules = append(rules, classifier.Rule{Name: r.Name, Pattern: r.Pattern, In: r.In, Score: 1})
		}
	}
	return rules
}

// BenchmarkPatternRulesLongBody measures, interleaved in one run so that
// machine noise hits both alike, the built-in pattern rules on a realistic
// 20 KB non-invitation body and a 20 KB invitation body, with the prefilter
// and with the plain regexp search:
//
//   - search: the five pattern searches on the body as Classify sees it
//     (quotes removed), the prefilter's scan included;
//   - patterns: Classify with the five pattern rules alone (so also the
//     quote removal, mailmsg.FreshText, the same both ways);
//   - builtin: Classify with the whole built-in rule set; also measured
//     against ClassifyReference, Classify as it was before the prefilter,
//     the table scans and the faster fold (original-ns/msg,
//     speedup-vs-original).
func BenchmarkPatternRulesLongBody(b *testing.B) {
	other, invite := longBodies(b, 20<<10)
	bodies := map[string]string{"other": other, "invite": invite}
	msgs := map[string]*mailmsg.Message{
		"other":  {Subject: "Your weekly digest", Text: other},
		"invite": {Subject: "Senior Go Engineer at Brightwater", Text: invite},
	}
	_, patterns := builtinPatterns(b)
	probe, err := classifier.NewPatternProbe(patterns)
	if err != nil {
		b.Fatal(err)
	}
	patternRules, err := classifier.Compile(classifier.Spec{Threshold: 1, Rules: builtinPatternRules()})
	if err != nil {
		b.Fatal(err)
	}
	full := defaultClassifier(b)
	report := func(b *testing.B, tp, tf time.Duration) {
		b.ReportMetric(float64(tp.Nanoseconds())/float64(b.N), "plain-ns/msg")
		b.ReportMetric(float64(tf.Nanoseconds())/float64(b.N), "prefilter-ns/msg")
		b.ReportMetric(float64(tp)/float64(tf), "speedup")
	}
	for _, kind := range []string{"other", "invite"} {
		text := mailmsg.FreshText(bodies[kind])
		if a, p := probe.FindAll(text), probe.PlainAll(text); !reflect.DeepEqual(a, p) {
			b.Fatalf("%s: prefiltered %v, plain %v", kind, a, p)
		}
		b.Run("search/"+kind, func(b *testing.B) {
			var tp, tf time.Duration
			for i := 0; i < b.N; i++ {
				s := time.Now()
				probe.PlainAll(text)
				tp += time.Since(s)
				s = time.Now()
				probe.FindAll(text)
				tf += time.Since(s)
			}
			report(b, tp, tf)
		})
	}
	for _, set := range []struct {
		name string
		c    *classifier.Classifier
	}{{"patterns", patternRules}, {"builtin", full}} {
		plain := classifier.WithoutPrefilter(set.c)
		for _, kind := range []string{"other", "invite"} {
			m := msgs[kind]
			if a, p := set.c.Classify(m), plain.Classify(m); !sameVerdict(a, p) {
				b.Fatalf("%s/%s: prefiltered %+v, plain %+v", set.name, kind, a, p)
			}
			b.Run(set.name+"/"+kind, func(b *testing.B) {
				var tp, tf, tr time.Duration
				for i := 0; i < b.N; i++ {
					s := time.Now()
					plain.Classify(m)
					tp += time.Since(s)
					s = time.Now()
					set.c.Classify(m)
					tf += time.Since(s)
					if set.name == "builtin" {
						s = time.Now()
						classifier.ClassifyReference(set.c, m)
						tr += time.Since(s)
					}
				}
				report(b, tp, tf)
				if tr > 0 {
					b.ReportMetric(float64(tr.Nanoseconds())/float64(b.N), "original-ns/msg")
					b.ReportMetric(float64(tr)/float64(tf), "speedup-vs-original")
				}
			})
		}
	}
}

func sameVerdict(a, b classifier.Verdict) bool {
	if a.Invite != b.Invite || a.Score != b.Score || len(a.Hits) != len(b.Hits) {
		return false
	}
	for i := range a.Hits {
		if a.Hits[i] != b.Hits[i] {
			return false
		}
	}
	return true
}
