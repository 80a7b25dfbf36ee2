package syncbuf

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// TestWritesDoNotInterleave writes from several goroutines at once through
// a Writer into a plain bytes.Buffer (run with -race) and into a Buffer.
func TestWritesDoNotInterleave(t *testing.T) {
	var plain bytes.Buffer
	var locked Buffer
	w := NewWriter(&plain)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			line := strings.Repeat(string(rune('a'+g)), 50) + "\n"
			for range 200 {
				w.Write([]byte(line))
				locked.Write([]byte(line))
			}
		})
	}
	wg.Wait()
	for name, out := range map[string]string{"Writer": plain.String(), "Buffer": locked.String()} {
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 800 {
			t.Fatalf("%s: %d lines, want 800", name, len(lines))
		}
		for _, l := range lines {
			if len(l) != 50 || strings.Count(l, l[:1]) != 50 {
				t.Fatalf("%s: mixed line %q", name, l)
			}
		}
	}
}
