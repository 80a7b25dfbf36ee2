package imap

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rsvp-mail/rsvp/mailbox"
)

func TestRawClasses(t *testing.T) {
	for n := 0; n <= maxPrealloc+1; n += 1 + n/64 {
		_, size, ok := rawClass(n)
		if ok != (n <= maxPrealloc) {
			t.Fatalf("rawClass(%d): ok %v", n, ok)
		}
		if !ok {
			continue
		}
		if size < n || n > 1<<rawMinShift && size > n+n/4 {
			t.Fatalf("rawClass(%d) = size %d, want at least n and at most n·1.25", n, size)
		}
		b := getRaw(n)
		if len(b) != n || cap(b) != size {
			t.Fatalf("getRaw(%d): len %d cap %d, want len %d cap %d", n, len(b), cap(b), n, size)
		}
		putRaw(b)
	}
	// Only getRaw's buffers are kept: one of another capacity is left to
	// the garbage collector.
	putRaw(make([]byte, 5000))
	if b := getRaw(4999); cap(b) == 5000 {
		t.Fatalf("getRaw handed out a buffer putRaw should not have kept")
	}
}

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
		m := mailbox.Message{Raw: getRaw(len(b))}
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
		cl.Recycle(&m)
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
