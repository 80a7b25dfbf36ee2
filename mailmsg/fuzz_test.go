package mailmsg_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

// FuzzRead feeds arbitrary bytes to Read: it must never panic, always give
// valid UTF-8 and respect its bounds.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "*.eml"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add(deepMessage(200))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VEVENT\r\nDTSTART;TZID=\"a:b\":1\r\n"))
	opts := mailmsg.Options{MaxBodyBytes: 4096, MaxReadBytes: 1 << 16, MaxDepth: 8}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := mailmsg.Read(bytes.NewReader(data), opts)
		if err != nil {
			return
		}
		if len(m.Text) > opts.MaxBodyBytes {
			t.Fatalf("Text is %d bytes, over the %d limit", len(m.Text), opts.MaxBodyBytes)
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) {
			t.Fatalf("invalid UTF-8 out")
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			t.Fatalf("line break in subject %q", m.Subject)
		}
		_ = mailmsg.FreshText(m.Text)
	})
}
