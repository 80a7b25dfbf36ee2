package mailmsg

import (
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The plain versions of FreshText and normalizeText, written for reading:
// the fast ones must give exactly what these give.

func freshTextReference(text string) string {
	lines := strings.Split(text, "\n")
	out := make([]string, 0, len(lines))
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, ">") {
			continue
		}
		if originalMarker.MatchString(trim) {
			break
		}
		if headerBlockReference(lines, i) {
			break
		}
		if attribution.MatchString(trim) || (i+1 < len(lines) && attribution.MatchString(trim+" "+strings.TrimSpace(strings.TrimLeft(lines[i+1], "> ")))) {
			if quotedFollowsReference(lines, i+1) {
				// Skip the attribution line; the quote itself is
				// dropped line by line above, so an answer written
				// between quoted parts is kept.
				if !attribution.MatchString(trim) {
					i++
				}
				continue
			}
		}
		out = append(out, line)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n ")
}

func quotedFollowsReference(lines []string, from int) bool {
	for j := from; j < len(lines) && j < from+3; j++ {
		if strings.HasPrefix(strings.TrimSpace(lines[j]), ">") {
			return true
		}
	}
	return false
}

func headerBlockReference(lines []string, i int) bool {
	if !quotedFrom.MatchString(strings.TrimSpace(lines[i])) {
		return false
	}
	for j := i + 1; j < len(lines) && j <= i+3; j++ {
		if quotedSent.MatchString(strings.TrimSpace(lines[j])) {
			return true
		}
	}
	return false
}

func normalizeTextReference(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var b strings.Builder
	b.Grow(len(s))
	blank := 0
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(strings.Map(func(r rune) rune {
			switch {
			case r == '\t', r == '\u00a0':
				return ' '
			case r < 0x20, r == 0x7f, r == '\u200b', r == '\ufeff', r == '\u200c', r == '\u00ad':
				return -1
			}
			return r
		}, line), " ")
		if line == "" {
			blank++
			continue
		}
		if b.Len() > 0 {
			if blank > 0 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = 0
		b.WriteString(line)
	}
	return b.String()
}

// referenceTexts are bodies with the shapes the two functions care about,
// and every sample message's text.
func referenceTexts(t testing.TB) []string {
	texts := []string{
		"", "\n", "\r\n", "\r", "\r\r\n", "\n\r", "a\rb\r\nc\nd", " \t \n\n\n x \t\n\n",
		"\u00a0lead\u00a0\n\u200b\n\ufeffbom\u00adsoft\u200cjoin\x7fdel\x01ctl",
		"bad \xff\xfe utf8 \xc3\n\xe2\x82", "tab\tin\tline\t", "\n\n\nlate start\n\n\n",
		"Thanks!\n\nOn Mon, 16 Nov 2026 at 10:00, Ana <ana@example.org> wrote:\n> old\n> text",
		"Hi\nOn Mon, 16 Nov 2026, Ana Recruiter\n<ana@example.org> wrote:\n> quoted\nreply between\n> more",
		"On\nMon wrote:\n> x", "on", "On", "On \n", "am\tDienstag schrieb Max:\n> alt",
		"Le lundi 16 nov. 2026, Jean a écrit :\n> vieux", "El lunes, Ana escribió:\n>\n> viejo",
		"text\n-----Original Message-----\nFrom: x\nSent: y\nold", "-- \nsignature", "--\n---- Forwarded message ----\nx",
		"reply\n*From:* Ana <a@example.org>\n*Sent:* Monday\nold", "reply\nVon: Max\nGesendet: Montag\nalt",
		"De : Jean\nEnvoyé : lundi\nvieux", "Da: Luca\n\n\nData: x", "from the team\nsent to you",
		"fRoM : x\n\nDATE: y", "ONE line\nElse\nAmple\nLEt", "> all\n> quoted", "  > indented quote\nfresh",
		"x\n>\n", "trailing spaces   \n\n  ", "ǅ dz\nK kelvin\nſ long s",
		"new\n*From : Ana\n*Sent : Monday\nold", "new\n*From :\tAna\n*Date: Monday\nold",
		"On Monday, Ana wrote:  \n> old", "On Monday, Ana wrote :\n\n> old", "On Monday, Ana\n  wrote: \n> old",
		"On Monday, Ana wrote\n:\n> old", "On Monday, Ana wrote\n> :\n> old",
	}
	for _, b := range corpusMessages(t) {
		texts = append(texts, string(b))
		if m, err := Read(strings.NewReader(string(b)), Options{}); err == nil {
			texts = append(texts, m.Text)
		}
	}
	return texts
}

// corpusMessages are the messages of the three labelled corpora.
func corpusMessages(tb testing.TB) [][]byte {
	tb.Helper()
	var msgs [][]byte
	for _, glob := range []string{
		filepath.Join("..", "..", "shared", "corpus", "*.eml"),
		filepath.Join("..", "testdata", "mail", "*.eml"),
		filepath.Join("..", "testdata", "holdout", "*.eml"),
	} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				tb.Fatal(err)
			}
			msgs = append(msgs, b)
		}
	}
	return msgs
}

func TestFreshTextIsTheReference(t *testing.T) {
	for _, s := range referenceTexts(t) {
		if got, want := FreshText(s), freshTextReference(s); got != want {
			t.Errorf("FreshText(%q)\n = %q\nwant %q", s, got, want)
		}
	}
}

// boundaryTexts put one or two special bytes at every place of a text of
// letters longer than eight bytes: the texts that tell whether a scan that
// tests eight bytes at a time misses what falls on or across its edges.
func boundaryTexts() []string {
	specials := []string{" ", "  ", "\t", "\n", "\r", "\x01", "\x7f", "~", "\u00a0", "\xff"}
	const letters = "abcdefghijklmnopqrs"
	var texts []string
	for i := 0; i <= len(letters); i++ {
		for _, a := range specials {
			s := letters[:i] + a + letters[i:]
			texts = append(texts, s)
			for j := i + len(a); j <= len(s); j++ {
				for _, b := range specials {
					texts = append(texts, s[:j]+b+s[j:])
				}
			}
		}
	}
	return texts
}

func TestNormalizeTextIsTheReference(t *testing.T) {
	for _, s := range append(referenceTexts(t), boundaryTexts()...) {
		if got, want := string(normalizeText([]byte(s))), normalizeTextReference(s); got != want {
			t.Errorf("normalizeText(%q)\n = %q\nwant %q", s, got, want)
		}
	}
}

func FuzzFreshText(f *testing.F) {
	for _, s := range referenceTexts(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := FreshText(s), freshTextReference(s); got != want {
			t.Errorf("FreshText(%q)\n = %q\nwant %q", s, got, want)
		}
	})
}

func FuzzNormalizeText(f *testing.F) {
	for _, s := range referenceTexts(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(normalizeText([]byte(s))), normalizeTextReference(s); got != want {
			t.Errorf("normalizeText(%q)\n = %q\nwant %q", s, got, want)
		}
	})
}

func TestAppendFieldsIsFieldsJoined(t *testing.T) {
	for _, s := range append(append(referenceTexts(t), boundaryTexts()...), " a  b\u00a0c\u2003d\u0085e\xff f\v\fg ", "\u00a0", "") {
		checkFields(t, s)
	}
}

func FuzzAppendFields(f *testing.F) {
	f.Add(" a  b\u00a0c\u2003d\u0085e\xff f\v\fg ")
	f.Add("\u3000x\u1680")
	f.Fuzz(checkFields)
}

func checkFields(t *testing.T, s string) {
	fields := strings.Fields(s)
	if got := hasField([]byte(s)); got != (len(fields) > 0) {
		t.Errorf("hasField(%q) = %v, want %v", s, got, len(fields) > 0)
	}
	if got, want := string(appendFields([]byte("x"), []byte(s))), "x"+strings.Join(fields, " "); got != want {
		t.Errorf("appendFields(%q) = %q, want %q", s, got, want)
	}
}

var dateSamples = []string{
	"", "Mon, 2 Jan 2006 15:04:05 -0700", "Tue, 17 Nov 2026 09:30:00 +0100", "17 Nov 2026 09:30:00 +0100",
	"Tue, 17 Nov 2026 09:30:00 +0100 (CET)", "Tue, 17 Nov 2026 09:30 +0100", "Tue, 17 Nov 26 09:30:00 +0100",
	"Tue, 17 Nov 2026 09:30:00.123 +0100", "Tue, 17 Nov 2026 09:30:00 GMT", "Tue, 17 Nov 2026 09:30:00 -0100 ",
	"tue, 17 nov 2026 09:30:00 +0100", "Tue,  7 Nov 2026 09:30:00 +0100", "Xyz, 17 Nov 2026 09:30:00 +0100",
	"Tue, 17 Nov 2026\r\n 09:30:00 +0100", "Tue, 31 Feb 2026 09:30:00 +0100", "Tue, 17 Nov 2026 25:30:00 +0100",
}

func TestParseDateIsNetMail(t *testing.T) {
	for _, v := range dateSamples {
		checkDate(t, v)
	}
}

func FuzzParseDate(f *testing.F) {
	for _, v := range dateSamples {
		f.Add(v)
	}
	f.Fuzz(checkDate)
}

func checkDate(t *testing.T, v string) {
	got, gotErr := parseDate(v)
	want, wantErr := netmail.ParseDate(v)
	if !got.Equal(want) || got.String() != want.String() || (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("parseDate(%q) = %v, %v; net/mail.ParseDate: %v, %v", v, got, gotErr, want, wantErr)
	}
}
