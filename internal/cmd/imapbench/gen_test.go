package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

func testSources(tb testing.TB) []source {
	tb.Helper()
	s, err := loadSources(filepath.Join("..", "..", "..", "..", "shared", "corpus"), filepath.Join("..", "..", "..", "testdata", "mail"))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestWithMessageIDReplacesTheOnlyMessageID(t *testing.T) {
	raw := crlf([]byte("From: a@example.com\nMessage-ID:\n <old@example.com>\nSubject: hi\n\nbody\nMessage-ID: <in-body@example.com>\n"))
	got := string(withMessageID(raw, "new@example.com"))
	want := "From: a@example.com\r\nSubject: hi\r\nMessage-ID: <new@example.com>\r\n\r\nbody\r\nMessage-ID: <in-body@example.com>\r\n"
	if got != want {
		t.Fatalf("withMessageID =\n%q\nwant\n%q", got, want)
	}
}

func TestFetchedViewIsHeaderAndTheFirstBytesOfText(t *testing.T) {
	raw := []byte("Subject: x\r\n\r\n0123456789")
	if got := string(fetchedView(raw, 4)); got != "Subject: x\r\n\r\n0123" {
		t.Fatalf("fetchedView(4) = %q", got)
	}
	if got := string(fetchedView(raw, 100)); got != string(raw) {
		t.Fatalf("fetchedView(100) = %q, want the whole message", got)
	}
}

func TestAnAttachmentAfterTheTextKeepsAnInvitationAnInvitation(t *testing.T) {
	cfg := config.Default()
	g := newGenerator(1, testSources(t), time.Now())
	for _, s := range g.invites {
		if !classifies(cfg, s.raw) {
			continue
		}
		raw := withAttachment(s.raw, g.attachment("pdf", false), "=_test")
		m, err := mailmsg.Read(bytes.NewReader(raw), mailmsg.Options{})
		if err != nil {
			t.Fatalf("%s with an attachment does not parse: %v", s.name, err)
		}
		if m.MessageID == "" || m.Subject == "" {
			t.Errorf("%s with an attachment lost its headers: %+v", s.name, m.Header)
		}
		if !classifies(cfg, raw) {
			t.Errorf("%s with an attachment after the text is no longer an invitation", s.name)
		}
	}
}

func TestOrdinaryMailIsNotAnInvitation(t *testing.T) {
	cfg := config.Default()
	g := newGenerator(7, testSources(t), time.Now())
	for i := 0; i < 100; i++ {
		raw := g.filler()
		if _, err := mailmsg.Read(bytes.NewReader(raw), mailmsg.Options{}); err != nil {
			t.Fatalf("filler %d does not parse: %v\n%s", i, err, raw)
		}
		if n := len(raw); n < minBody || n > maxBody*3/2 {
			t.Errorf("filler %d is %d bytes, want about %d–%d", i, n, minBody, maxBody)
		}
		if classifies(cfg, raw) {
			t.Errorf("filler %d is classified as an invitation:\n%s", i, raw)
		}
	}
}

func TestMessageIDsAreUnique(t *testing.T) {
	g := newGenerator(1, testSources(t), time.Now())
	seen := map[string]bool{}
	for i := 0; i < 500; i++ {
		raw := g.next(i, i%10 == 0)
		m, err := mailmsg.Read(bytes.NewReader(raw), mailmsg.Options{})
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if seen[m.MessageID] {
			t.Fatalf("message %d repeats Message-ID %s", i, m.MessageID)
		}
		seen[m.MessageID] = true
	}
}

func TestParseLineReadsSlogText(t *testing.T) {
	l := parseLine(time.Now(), `time=2026-01-02T03:04:05.000Z level=INFO msg="invitation found" account=bench invitation=abcd2345 uid=7 company="Acme \"Robotics\"" role=""`)
	want := map[string]string{"level": "INFO", "msg": "invitation found", "account": "bench", "invitation": "abcd2345",
		"uid": "7", "company": `Acme "Robotics"`, "role": ""}
	for k, v := range want {
		if got := l.fields[k]; got != v {
			t.Errorf("field %s = %q, want %q", k, got, v)
		}
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 20; i++ {
		ds = append(ds, time.Duration(21-i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 10 * time.Millisecond}, {95, 19 * time.Millisecond}, {100, 20 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("percentile(1..20 ms, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestImapfilterConfigQuotesLuaStrings(t *testing.T) {
	c := imapfilterConfig("127.0.0.1", 143, "u", `p'w\d`, "INBOX", 14)
	if !strings.Contains(c, `password = 'p\'w\\d'`) {
		t.Errorf("password not quoted for Lua:\n%s", c)
	}
}

// BenchmarkClassifyGenerated is what the backfill spends per message in
// rsvp's parser and classifier (go test -bench . -cpuprofile shows where).
func BenchmarkClassifyGenerated(b *testing.B) {
	cfg := config.Default()
	g := newGenerator(1, testSources(b), time.Now())
	msgs := make([][]byte, 200)
	for i := range msgs {
		msgs[i] = g.next(i, i%20 == 0)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		classifies(cfg, msgs[i%len(msgs)])
	}
}

// BenchmarkPatternRules times each built-in pattern rule alone on the
// bodies of ordinary generated mail.
func BenchmarkPatternRules(b *testing.B) {
	g := newGenerator(1, testSources(b), time.Now())
	var bodies []string
	for i := 0; i < 50; i++ {
		_, text := splitMessage(g.filler())
		bodies = append(bodies, string(text))
	}
	for _, r := range config.BuiltinRules() {
		if r.Pattern == "" {
			continue
		}
		re := regexp.MustCompile("(?i)" + r.Pattern)
		b.Run(r.Name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				re.FindStringIndex(bodies[i%len(bodies)])
			}
		})
	}
}
