package mailmsg_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

func read(t testing.TB, raw string) *mailmsg.Message {
	t.Helper()
	m, err := mailmsg.Read(strings.NewReader(raw), mailmsg.Options{})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return m
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestHeadersAreDecoded(t *testing.T) {
	m := read(t, crlf(`From: =?UTF-8?Q?Ren=C3=A9e_Fournier_via_GoodTime?= <scheduling@goodtime.example>
Reply-To: "O'Neill, Siobhan" <siobhan@brookfield.example>
To: Alex <alex@example.net>, =?ISO-8859-1?Q?J=F6rg?= <jorg@example.net>
Subject: =?UTF-8?Q?Confirmed=3A_Virtual_Onsite_=E2=80=93_Thu?=
 =?UTF-8?Q?=2C_Dec_3?=
Message-ID: <abc@goodtime.example>
In-Reply-To: <x1@example.net>
References: <x0@example.net> <x1@example.net>
Date: Thu, 19 Nov 2026 19:40:52 +0000

Hi
`))
	if m.Subject != "Confirmed: Virtual Onsite – Thu, Dec 3" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if m.From.Name != "Renée Fournier via GoodTime" || m.From.Address != "scheduling@goodtime.example" {
		t.Errorf("From = %+v", m.From)
	}
	if a := m.ReplyAddress(); a.Address != "siobhan@brookfield.example" || a.Name != "O'Neill, Siobhan" {
		t.Errorf("ReplyAddress = %+v", a)
	}
	if len(m.To) != 2 || m.To[1].Name != "Jörg" {
		t.Errorf("To = %+v", m.To)
	}
	if m.MessageID != "abc@goodtime.example" || len(m.References) != 2 || m.InReplyTo[0] != "x1@example.net" {
		t.Errorf("ids: %q %v %v", m.MessageID, m.References, m.InReplyTo)
	}
	if !m.Date.Equal(time.Date(2026, 11, 19, 19, 40, 52, 0, time.UTC)) {
		t.Errorf("Date = %v", m.Date)
	}
}

func TestLatin1HeadersAreReadAsWindows1252(t *testing.T) {
	m := read(t, crlf("From: a@example.org\nSubject: =?ISO-8859-1?Q?Entretien_=96_Ing=E9nieur?=\n\nx\n"))
	if m.Subject != "Entretien – Ingénieur" {
		t.Errorf("Subject = %q, want the en dash of windows-1252", m.Subject)
	}
}

func TestEncodedLineBreaksNeverSurviveInHeaderValues(t *testing.T) {
	m := read(t, crlf(`From: =?UTF-8?Q?Eve=0D=0ABcc:_x@evil.example?= <eve@evil.example>
Subject: =?UTF-8?Q?hi=0D=0ABcc:_x@evil.example?=

x
`))
	if strings.ContainsAny(m.Subject, "\r\n") || strings.ContainsAny(m.From.Name, "\r\n") {
		t.Errorf("a line break survived: subject %q, name %q", m.Subject, m.From.Name)
	}
}

func TestBodyEncodingsAndCharsets(t *testing.T) {
	latin1 := string([]byte{'J', 0xf6, 'r', 'g', ' ', 'M', 0xfc, 'l', 'l', 'e', 'r'})
	win1252 := string([]byte{0x93, 'q', 'u', 'o', 't', 'e', 'd', 0x94, ' ', 0x80, '5'})
	tests := []struct {
		name, raw, want string
	}{
		{"quoted-printable utf-8", "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nGespr=C3=A4ch am Dienst=\nag", "Gespräch am Dienstag"},
		{"base64", "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" + base64.StdEncoding.EncodeToString([]byte("Would you have 20 minutes?")), "Would you have 20 minutes?"},
		{"ISO-8859-1", "Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: 8bit\n\n" + latin1, "Jörg Müller"},
		{"ISO-8859-1 as mail clients read it (windows-1252)", "Content-Type: text/plain; charset=iso-8859-1\n\n" + win1252, "“quoted” €5"},
		{"windows-1252", "Content-Type: text/plain; charset=windows-1252\n\n" + win1252, "“quoted” €5"},
		{"an unknown charset is read as best it can", "Content-Type: text/plain; charset=x-martian\n\n" + latin1, "Jörg Müller"},
		{"no charset but 8-bit Latin-1", "Content-Type: text/plain\n\n" + latin1, "Jörg Müller"},
		{"an unknown transfer encoding is read raw", "Content-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\nplain words", "plain words"},
		{"no Content-Type is text/plain", "\nJust text.", "Just text."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := read(t, crlf("From: a@example.org\nSubject: s\n"+tc.raw))
			if m.Text != tc.want {
				t.Errorf("Text = %q, want %q", m.Text, tc.want)
			}
		})
	}
}

func TestPlainIsPreferredAndHTMLIsRendered(t *testing.T) {
	alt := crlf(`From: a@example.org
Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/html

<p>html version</p>
--b
Content-Type: text/plain

plain version
--b--
`)
	if m := read(t, alt); m.Text != "plain version" || m.HTMLOnly {
		t.Errorf("Text = %q HTMLOnly=%v, want the plain part", m.Text, m.HTMLOnly)
	}
	htmlOnly := crlf(`From: a@example.org
Content-Type: text/html; charset=utf-8

<html><head><title>T</title><style>p{color:red}</style></head><body>
<div style="display:none">preheader nobody sees</div>
<p>Hi&nbsp;Alex,</p><p>Would you have <b>20 minutes</b>
for a   quick call?</p>
<ul><li>Tue 10:00</li><li>Wed 14:00</li></ul>
<table><tr><td>Role:</td><td>Staff Engineer</td></tr></table>
Line one<br>Line two
<script>alert("x")</script>
</body></html>
`)
	m := read(t, htmlOnly)
	want := "Hi Alex,\n\nWould you have 20 minutes for a quick call?\n\n- Tue 10:00\n- Wed 14:00\n\nRole: Staff Engineer\n\nLine one\nLine two"
	if m.Text != want || !m.HTMLOnly {
		t.Errorf("Text =\n%q\nwant\n%q", m.Text, want)
	}
}

func TestCalendarPartIsRead(t *testing.T) {
	m := read(t, crlf(`From: a@example.org
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

See invite.
--b
Content-Type: text/calendar; method=REQUEST; charset=utf-8

BEGIN:VCALENDAR
METHOD:REQUEST
BEGIN:VEVENT
SUMMARY:Interview - Senior SRE\, Cairnstone
ORGANIZER;CN="Osei, Harriet":mailto:harriet@cairnstone.example
DTSTART;TZID=Europe/London:20261126T110000
DTEND;TZID="W. Europe Standard Time":20261126T130000
DESCRIPTION:Line one\nline two
BEGIN:VALARM
DESCRIPTION:ignored alarm
END:VALARM
END:VEVENT
END:VCALENDAR
--b--
`))
	c := m.Calendar
	if c == nil {
		t.Fatal("no calendar")
	}
	if c.Method != "REQUEST" || c.Summary != "Interview - Senior SRE, Cairnstone" || c.Description != "Line one\nline two" {
		t.Errorf("calendar = %+v", c)
	}
	if c.Organizer.Name != "Osei, Harriet" || c.Organizer.Address != "harriet@cairnstone.example" {
		t.Errorf("organizer = %+v", c.Organizer)
	}
	if want := time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC); !c.Start.Equal(want) {
		t.Errorf("start = %v, want %v", c.Start, want)
	}
	if want := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC); !c.End.Equal(want) {
		t.Errorf("end (Windows zone name) = %v, want %v", c.End, want)
	}
}

func TestCalendarTimeForms(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"DTSTART:20261203T150000Z", "2026-12-03T15:00:00Z"},
		{"DTSTART;TZID=America/New_York:20261203T100000", "2026-12-03T15:00:00Z"},
		{"DTSTART;VALUE=DATE:20261203", "2026-12-03T00:00:00Z"},
		{"DTSTART;TZID=Nowhere/Special:20261203T100000", "2026-12-03T10:00:00Z"},
	} {
		c := mailmsg.ParseCalendar([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n" + tc.line + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
		if got := c.Start.UTC().Format(time.RFC3339); got != tc.want {
			t.Errorf("%s: start %s, want %s", tc.line, got, tc.want)
		}
	}
	if mailmsg.ParseCalendar([]byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")) != nil {
		t.Error("a calendar without VEVENT should give nil")
	}
}

func TestFreshTextDropsQuotedHistory(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"quote prefix", "New text\n\n> old text\n> more", "New text"},
		{"gmail attribution on two lines", "Yes please.\n\nOn Wed, 11 Nov 2026 at 16:02, Henrik <h@x.example>\nwrote:\n> old", "Yes please."},
		{"outlook original message", "Reply\n-----Original Message-----\nFrom: X\nthanks for applying", "Reply"},
		{"outlook header block", "Reply\n\nFrom: Alex <a@x>\nSent: Tuesday\nSubject: y\nold", "Reply"},
		{"german attribution", "Neu\n\nAm 12.11.2026 um 10:00 schrieb Katrin <k@x>:\n> alt", "Neu"},
		{"inline answers are kept", "> question?\nanswer\n> next?\nanswer two", "answer\nanswer two"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mailmsg.FreshText(tc.in); got != tc.want {
				t.Errorf("FreshText = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNotAMessage(t *testing.T) {
	if _, err := mailmsg.Read(strings.NewReader(""), mailmsg.Options{}); err == nil {
		t.Error("empty input read as a message")
	}
}

// A huge message costs what its first MaxReadBytes cost, and a deep MIME
// bomb is cut at MaxDepth.
func TestBoundsOnHugeAndDeepMessages(t *testing.T) {
	huge := io.MultiReader(
		strings.NewReader(crlf("From: a@example.org\nSubject: big\nContent-Type: text/plain\n\nstart ")),
		&repeatReader{b: []byte("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"), n: 50 << 20},
	)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := mailmsg.Read(huge, mailmsg.Options{MaxBodyBytes: 64 << 10})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Truncated || len(m.Text) > 64<<10 || !strings.HasPrefix(m.Text, "start") {
		t.Errorf("huge: truncated=%v len=%d", m.Truncated, len(m.Text))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("reading a 50 MB message allocated %d MB", alloc>>20)
	}

	m, err = mailmsg.Read(bytes.NewReader(deepMessage(5000)), mailmsg.Options{MaxDepth: 16})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Truncated || m.Text != "top text" {
		t.Errorf("deep: truncated=%v text=%q", m.Truncated, m.Text)
	}
}

type repeatReader struct {
	b []byte
	n int
	i int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.n > 0 {
		c := copy(p[k:], r.b[r.i:])
		r.i = (r.i + c) % len(r.b)
		k += c
		r.n -= c
	}
	return k, nil
}

// deepMessage nests multipart/mixed depth times, with a text part first.
func deepMessage(depth int) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nSubject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n")
	b.WriteString("--b0\r\nContent-Type: text/plain\r\n\r\ntop text\r\n")
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i, i+1)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\nbottom\r\n", depth)
	for i := depth; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.Bytes()
}

// corpusMessages is the shared corpus and testdata/mail: file names and
// contents.
func corpusMessages(t *testing.T) ([]string, [][]byte) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "*.eml"))
	own, _ := filepath.Glob(filepath.Join("..", "testdata", "mail", "*.eml"))
	files = append(files, own...)
	if len(files) < 30 {
		t.Fatalf("found %d corpus files, want the shared corpus at ../../shared/corpus", len(files))
	}
	raws := make([][]byte, len(files))
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raws[i] = b
	}
	return files, raws
}

func TestEveryCorpusMessageReads(t *testing.T) {
	files, raws := corpusMessages(t)
	for i, f := range files {
		m, err := mailmsg.Read(bytes.NewReader(raws[i]), mailmsg.Options{})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if strings.TrimSpace(m.Text) == "" || m.Subject == "" || m.From == nil || m.MessageID == "" {
			t.Errorf("%s: text %d bytes, subject %q, from %v, id %q", filepath.Base(f), len(m.Text), m.Subject, m.From, m.MessageID)
		}
		if strings.Contains(m.Text, "<p") || strings.Contains(m.Text, "</") {
			t.Errorf("%s: markup left in text", filepath.Base(f))
		}
	}
}

// TestRecycledTextsAreWrittenAgain: a message read into the memory of
// recycled texts has the text it has when read on its own, and Recycle
// leaves the recycled message without a text.
func TestRecycledTextsAreWrittenAgain(t *testing.T) {
	files, all := corpusMessages(t)
	var names []string
	var raws [][]byte
	var texts []string
	for i, b := range all {
		m, err := mailmsg.Read(bytes.NewReader(b), mailmsg.Options{})
		if err != nil {
			continue
		}
		names, raws, texts = append(names, files[i]), append(raws, b), append(texts, strings.Clone(m.Text))
	}
	// Longest first, then shortest first: every text is written over
	// longer and shorter ones.
	for round := 0; round < 2; round++ {
		order := make([]int, len(raws))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return (len(texts[b]) - len(texts[a])) * (1 - 2*round) })
		for _, i := range order {
			m, err := mailmsg.Read(bytes.NewReader(raws[i]), mailmsg.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Text != texts[i] {
				t.Fatalf("%s: text read into recycled memory:\n%q\nread on its own:\n%q", names[i], m.Text, texts[i])
			}
			mailmsg.Recycle(m)
			if m.Text != "" {
				t.Fatalf("Recycle left the text %q", m.Text)
			}
		}
	}
}

func TestLoadLocationRemembersOnlyZonesItFound(t *testing.T) {
	a, err := mailmsg.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	b, err := mailmsg.LoadLocation("Europe/Berlin")
	if err != nil || a != b {
		t.Errorf("second LoadLocation = %p, %v; want the first, %p", b, err, a)
	}
	if a.String() != "Europe/Berlin" {
		t.Errorf("zone %q", a)
	}
	for range 2 {
		if loc, err := mailmsg.LoadLocation("Mars/Olympus_Mons"); err == nil {
			t.Errorf("LoadLocation of an unknown zone = %v, nil", loc)
		}
	}
}

// TestWindowsZoneNamesAreNotLookedUpAsIANANames: a Windows zone name (with
// spaces, as Outlook writes TZID) is mapped without reading the zone
// database for it first, which costs dozens of allocations every time.
func TestWindowsZoneNamesAreNotLookedUpAsIANANames(t *testing.T) {
	if loc := mailmsg.LoadZone(`"W. Europe Standard Time"`); loc.String() != "Europe/Berlin" {
		t.Fatalf("LoadZone = %v, want Europe/Berlin", loc)
	}
	if n := testing.AllocsPerRun(20, func() { mailmsg.LoadZone("W. Europe Standard Time") }); n > 2 {
		t.Errorf("LoadZone of a Windows name: %v allocations, want at most 2", n)
	}
}
