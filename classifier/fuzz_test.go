package classifier_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

// FuzzReadClassify runs arbitrary bytes through the whole recognition path
// (read, classify, extract fields): no panic, a verdict consistent with
// its own score, and the same verdict when ASCII texts are folded before
// the keyword scan too.
func FuzzReadClassify(f *testing.F) {
	for _, dir := range []string{sharedCorpus, filepath.Join("..", "testdata", "mail")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	c := defaultClassifier(f)
	folding := classifier.FoldingAlways(c)
	opts := mailmsg.Options{MaxBodyBytes: 8192, MaxReadBytes: 1 << 16, MaxDepth: 8}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := mailmsg.Read(bytes.NewReader(data), opts)
		if err != nil {
			return
		}
		v := c.Classify(m)
		if v.Invite != (v.Score >= v.Threshold) {
			t.Fatalf("verdict %v disagrees with score %v / threshold %v", v.Invite, v.Score, v.Threshold)
		}
		sum := 0.0
		for _, h := range v.Hits {
			sum += h.Score
		}
		if d := sum - v.Score; d > 0.01 || d < -0.01 {
			t.Fatalf("hits add up to %v, score is %v", sum, v.Score)
		}
		if w := folding.Classify(m); !reflect.DeepEqual(v, w) {
			t.Fatalf("verdict %+v, with every text folded %+v", v, w)
		}
		classifier.Extract(m, classifier.ExtractOptions{Own: []string{"alex.morgan@example.net"}})
	})
}
