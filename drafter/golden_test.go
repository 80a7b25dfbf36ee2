package drafter

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden replies in testdata/golden")

// TestGoldenReplies drafts every action and decline reason for every
// invitation (the shared corpus and testdata) with a fixed clock and
// compares the full message with testdata/golden/INVITE/VARIANT.eml.
func TestGoldenReplies(t *testing.T) {
	d := newTestDrafter(t, Options{})
	want := map[string]bool{}
	for _, iv := range invites(t) {
		for _, v := range variants(iv.label.Lang) {
			name := filepath.Join("testdata", "golden", iv.name, v.name+".eml")
			want[name] = true
			t.Run(iv.name+"/"+v.name, func(t *testing.T) {
				r, err := d.Reply(iv.inv, iv.me, v.req)
				if err != nil {
					t.Fatalf("Reply(%s, %s) failed: %v", iv.name, v.name, err)
				}
				got, err := r.Bytes()
				if err != nil {
					t.Fatalf("write reply: %v", err)
				}
				if *update {
					if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(name, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				golden, err := os.ReadFile(name)
				if err != nil {
					t.Fatalf("no golden reply (run go test ./drafter -run TestGoldenReplies -update): %v", err)
				}
				if !bytes.Equal(got, golden) {
					t.Errorf("reply to %s (%s) differs from %s:\n%s", iv.name, v.name, name, lineDiff(string(golden), string(got)))
				}
			})
		}
	}
	// A golden file nothing produces any more is stale.
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*", "*.eml"))
	for _, f := range files {
		if !want[f] {
			if *update {
				os.Remove(f)
				continue
			}
			t.Errorf("stale golden file %s (run with -update to remove it)", f)
		}
	}
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + strings.TrimRight(wl, "\r") + "\n  got:  " + strings.TrimRight(gl, "\r") + "\n")
			if shown++; shown == 5 {
				break
			}
		}
	}
	return b.String()
}
