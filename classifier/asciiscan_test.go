package classifier_test

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

// TestASCIITextsScanAsFolded: the keyword scan of an ASCII text as it is
// finds what the scan of its folded form finds, in the same order (a rule
// reports the keyword found first): upper case, runs of every kind of white
// space, keywords across a run, word boundaries at either end of it, and
// texts long enough to be scanned in quarters, white space at the quarters'
// edges, or so much of it that a quarter's lead-in is longer than the
// quarter.
func TestASCIITextsScanAsFolded(t *testing.T) {
	keywords := []string{"quick chat", "chat", "interview", "phone screen", "a b c", "recruit*", "*ing",
		"x", "2026", "set up a call", "zoom call", "call", "a"}
	var rules []classifier.Rule
	for i, k := range keywords {
		rules = append(rules, classifier.Rule{Name: "K" + string(rune('A'+i)), Keywords: []string{k}, Score: 1})
	}
	// One rule with all of them: its match is the one found first.
	rules = append(rules, classifier.Rule{Name: "ALL", Keywords: keywords, Score: 1})
	each, err := classifier.Compile(classifier.Spec{Threshold: 1, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	words := []string{"quick", "chat", "interview", "phone", "screen", "a", "b", "c", "recruiter", "recruit",
		"testing", "x", "2026", "set", "up", "call", "zoom", "foo", "Bar", "QUICK", "Chat", "INTERVIEW",
		"Phone", "SCREEN", "Zoom", "CALL", "_", "x_", "(", "'", "`"}
	seps := []string{" ", " ", " ", "  ", "\t", "\n", "\r\n", " \n\t ", "\v\f", "-", ".", "_", "", ",",
		strings.Repeat(" ", 60), strings.Repeat("\n", 300), strings.Repeat(" \t", 700)}
	rng := rand.New(rand.NewPCG(1, 2))
	text := func() string {
		var b strings.Builder
		if rng.IntN(4) == 0 {
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		n := rng.IntN(900)
		if rng.IntN(3) == 0 {
			n = rng.IntN(20)
		}
		for i := 0; i < n; i++ {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		return b.String()
	}
	def := defaultClassifier(t)
	for _, c := range []*classifier.Classifier{each, def} {
		folding := classifier.FoldingAlways(c)
		for i := 0; i < 800; i++ {
			m := &mailmsg.Message{Subject: text(), Text: text()}
			if got, want := c.Classify(m), folding.Classify(m); !reflect.DeepEqual(got, want) {
				t.Fatalf("subject %q\nbody %q\nscanned as it is:\n%+v\nfolded:\n%+v", m.Subject, m.Text, got, want)
			}
		}
	}
}
