package imap

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rsvp-mail/rsvp/internal/bufpool"
	"github.com/rsvp-mail/rsvp/mailbox"
)

// TestParsedOutlivesItsRecycledRaw: once a message is read, its Raw can be
// fetched into again without changing what was read from it.
func TestParsedOutlivesItsRecycledRaw(t *testing.T) {
	var files []string
	for _, glob := range []string{filepath.Join(corpusDir, "*.eml"), filepath.Join("..", "..", "testdata", "mail", "*.eml")} {
		f, _ := filepath.Glob(glob)
		files = append(files, f...)
	}
	if len(files) < 20 {
		t.Fatalf("found %d sample messages, want the corpus", len(files))
	}
	cl := &Client{opts: Options{BodyBytes: 64 << 10}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := mailbox.Message{Raw: bufpool.Get(len(b))}
		copy(m.Raw, b)
		cl.Parse(&m)
		if m.Parsed == nil {
			continue
		}
		snapshot := func() string {
			b, _ := json.Marshal(m.Parsed)
			fields := m.Parsed.Header.Fields()
			for fields.Next() {
				raw, _ := fields.Raw()
				b = append(append(b, '\n'), raw...)
			}
			return string(b)
		}
		before := snapshot()
		buf := m.Raw[:cap(m.Raw)]
		parsed := m.Parsed
		m.Parsed = nil // only the raw bytes are recycled here
		cl.Recycle(&m)
		m.Parsed = parsed
		if m.Raw != nil {
			t.Fatalf("%s: Recycle left Raw set", f)
		}
		for i := range buf {
			buf[i] = "X\r\n:=<>"[i%7]
		}
		if after := snapshot(); after != before {
			t.Errorf("%s: the message read changed when its raw bytes were overwritten:\n%s\nwas\n%s", f, after, before)
		}
	}
}
