package drafter

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

func TestReplySubject(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Interview", "Re: Interview"},
		{"Re: Interview", "Re: Interview"},
		{"RE: Interview", "Re: Interview"},
		{"re:Interview", "Re: Interview"},
		{"Re: Re: RE: Interview", "Re: Interview"},
		{"AW: Einladung", "Re: Einladung"},
		{"Aw: WG: Einladung", "Re: Einladung"},
		{"Fwd: FW: Interview", "Re: Interview"},
		{"TR: Entretien", "Re: Entretien"},
		{"Réf. : Entretien", "Re: Entretien"},
		{"RÉF: Entretien", "Re: Entretien"},
		{"Re : Entretien", "Re: Entretien"},
		{"RV: Invitación a entrevista", "Re: Invitación a entrevista"},
		{"Re[2]: Interview", "Re: Interview"},
		{"Re(3): Interview", "Re: Interview"},
		{"RE^2: Interview", "Re: Interview"},
		{"[Re: Interview]", "Re: Interview"},
		{"SV: VS: Intervju", "Re: Intervju"},
		{"Re：Interview", "Re: Interview"},
		{"Reminder: Interview", "Re: Reminder: Interview"},
		{"Research role", "Re: Research role"},
		{"Refactoring team: chat?", "Re: Refactoring team: chat?"},
		{"Fwdrive: chat", "Re: Fwdrive: chat"},
		{"", "Re:"},
		{"Re:", "Re:"},
		{"  Spaced   out  ", "Re: Spaced out"},
		{"a\r\nBcc: x@evil", "Re: a Bcc: x@evil"},
		{"=?UTF-8?Q?a=0D=0ABcc:_x@evil?=", "Re: = ?UTF-8?Q?a=0D=0ABcc:_x@evil?="},
	} {
		if got := replySubject(tc.in); got != tc.want {
			t.Errorf("replySubject(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzReplySubject(f *testing.F) {
	for _, s := range []string{"Re: x", "AW: WG: Re[2]: y", "[Re: z]", "=?a?q?b?="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := replySubject(s)
		if strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || r == 0x7f }) || strings.Contains(got, "=?") {
			t.Fatalf("replySubject(%q) = %q: control character or encoded-word start", s, got)
		}
		if !strings.HasPrefix(got, "Re:") || !utf8.ValidString(got) {
			t.Fatalf("replySubject(%q) = %q", s, got)
		}
		var h mail.Header
		h.SetSubject(got)
		var b bytes.Buffer
		w, err := mail.CreateSingleInlineWriter(&b, h)
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		mr, err := mail.CreateReader(&b)
		if err != nil {
			t.Fatal(err)
		}
		fields := mr.Header.Fields()
		for fields.Next() {
			switch fields.Key() {
			case "Subject", "Mime-Version", "Content-Transfer-Encoding":
			default:
				t.Fatalf("subject %q added the header field %q", got, fields.Key())
			}
		}
		if s, _ := mr.Header.Subject(); s != got {
			t.Fatalf("subject %q reads back as %q", got, s)
		}
	})
}

func TestReferences(t *testing.T) {
	for _, tc := range []struct {
		name      string
		refs, irt []string
		id        string
		want      string
	}{
		{"parent's References then its ID", []string{"a@x", "b@x"}, []string{"b@x"}, "c@x", "a@x b@x c@x"},
		{"no References: the single In-Reply-To", nil, []string{"b@x"}, "c@x", "b@x c@x"},
		{"several In-Reply-To are ambiguous: left out", nil, []string{"a@x", "b@x"}, "c@x", "c@x"},
		{"first message of a thread", nil, nil, "c@x", "c@x"},
		{"no Message-ID", []string{"a@x"}, nil, "", "a@x"},
		{"duplicates and invalid IDs dropped", []string{"a@x", "a@x", "bad id@x", "no-at", "c@x"}, nil, "c@x", "a@x c@x"},
	} {
		if got := strings.Join(references(tc.refs, tc.irt, tc.id), " "); got != tc.want {
			t.Errorf("%s: references = %q, want %q", tc.name, got, tc.want)
		}
	}
	long := make([]string, 50)
	for i := range long {
		long[i] = "m" + strings.Repeat("x", i%7) + itoa3(i) + "@x"
	}
	got := references(long, nil, "last@x")
	if len(got) != 20 || got[0] != long[0] || got[19] != "last@x" || got[18] != long[49] {
		t.Errorf("a long chain keeps %d IDs: first %s, last %s", len(got), got[0], got[len(got)-1])
	}
}

func itoa3(i int) string { return string(rune('a'+i/26)) + string(rune('a'+i%26)) }

func TestFlowed(t *testing.T) {
	long := "Thank you for the invitation and for considering me for the Senior Backend Engineer role at Flinkwerk."
	got := flowed(long+"\n\n- a slot\n-- \nAlex\nFrom here on\n>> quoted\n> "+strings.Repeat("quoted paragraph from an HTML part ", 4), 72)
	lines := strings.Split(strings.TrimSuffix(got, "\r\n"), "\r\n")
	want := []string{
		"Thank you for the invitation and for considering me for the Senior ",
		"Backend Engineer role at Flinkwerk.",
		"",
		"- a slot",
		"-- ",
		"Alex",
		" From here on",
		">> quoted",
		"> quoted paragraph from an HTML part quoted paragraph from an HTML part ",
		"> quoted paragraph from an HTML part quoted paragraph from an HTML part",
	}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("flowed:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// Unflowing (RFC 3676 section 4.2) gives the paragraph back.
	if un := unflow(lines[:2]); un != long {
		t.Errorf("unflowed %q, want %q", un, long)
	}
	// A word longer than a line is not broken.
	url := "https://example.com/" + strings.Repeat("x", 100)
	if got := flowed("See "+url+" now", 72); got != "See \r\n"+url+" \r\nnow\r\n" {
		t.Errorf("flowed long word = %q", got)
	}
	// A quoted line that fits is left alone, even past the wrap width.
	q := "> " + strings.Repeat("y", 74)
	if got := flowed(q, 72); got != q+"\r\n" {
		t.Errorf("flowed quoted %q = %q", q, got)
	}
}

func unflow(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
	}
	return b.String()
}

func TestTransferEncoding(t *testing.T) {
	msg, _ := mailmsg.Read(strings.NewReader("From: Sam <sam@x.example>\r\nTo: a@example.net\r\nSubject: Chat\r\nMessage-ID: <1@x.example>\r\n\r\nHi\r\n"), mailmsg.Options{})
	d := newTestDrafter(t, Options{})
	for _, tc := range []struct {
		name, sig, want string
	}{
		{"ASCII is 7bit", "Alex", "7bit"},
		{"non-ASCII is 8bit", "Zoë", "8bit"},
		{"a line over 998 octets is quoted-printable", "Zoë " + strings.Repeat("x", 1200), "quoted-printable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := d.Reply(Invitation{Message: msg, FirstName: "Sam"}, Me{Address: "a@example.net", Signature: tc.sig}, Request{Action: ActionDecline})
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			n, err := r.WriteTo(&b)
			if err != nil || n != int64(b.Len()) {
				t.Fatalf("WriteTo = %d, %v; wrote %d bytes", n, err, b.Len())
			}
			mr, err := mail.CreateReader(&b)
			if err != nil {
				t.Fatal(err)
			}
			if got := mr.Header.Get("Content-Transfer-Encoding"); got != tc.want {
				t.Errorf("Content-Transfer-Encoding = %s, want %s", got, tc.want)
			}
			p, err := mr.NextPart()
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(p.Body)
			text := strings.ReplaceAll(string(body), "\r\n", "\n")
			if !strings.Contains(strings.ReplaceAll(text, " \n", " "), tc.sig) {
				t.Errorf("the signature does not survive the encoding")
			}
		})
	}
}

func TestHeaderOrderAndEncoding(t *testing.T) {
	msg, _ := mailmsg.Read(strings.NewReader("From: =?UTF-8?Q?Ren=C3=A9e?= <renee@x.example>\r\nTo: a@example.net\r\nSubject: =?UTF-8?Q?Entretien_=C3=A0_Paris?=\r\nMessage-ID: <1@x.example>\r\n\r\nBonjour\r\n"), mailmsg.Options{})
	d := newTestDrafter(t, Options{})
	r, err := d.Reply(Invitation{Message: msg, Lang: "fr"}, Me{Name: "Zoë Müller", Address: "zoe@example.net"}, Request{Action: ActionDecline})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := r.Bytes()
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	var keys []string
	for _, l := range strings.Split(head, "\r\n") {
		if k, _, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, " ") {
			keys = append(keys, k)
		}
	}
	if got := strings.Join(keys, " "); got != "Date From To Subject Message-Id In-Reply-To References Mime-Version Content-Type Content-Transfer-Encoding Content-Language" {
		t.Errorf("header order: %s", got)
	}
	for _, l := range strings.Split(head, "\r\n") {
		for _, c := range l {
			if c >= 0x80 {
				t.Errorf("non-ASCII in the header, not RFC 2047-encoded: %q", l)
				break
			}
		}
	}
	mr, _ := mail.CreateReader(bytes.NewReader(raw))
	if s, _ := mr.Header.Subject(); s != "Re: Entretien à Paris" {
		t.Errorf("Subject decodes to %q", s)
	}
	if from, _ := mr.Header.AddressList("From"); len(from) != 1 || from[0].Name != "Zoë Müller" {
		t.Errorf("From decodes to %v", from)
	}
	if to, _ := mr.Header.AddressList("To"); len(to) != 1 || to[0].Name != "Renée" {
		t.Errorf("To decodes to %v", to)
	}
}

func TestCleanFields(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Senior Backend Engineer (m/w/d)", "Senior Backend Engineer"},
		{"IT-Architekt (w/m/d)", "IT-Architekt"},
		{"Développeur (H/F)", "Développeur"},
		{"Engineer (f/m/x)", "Engineer"},
		{"Backend Engineer (Go)", "Backend Engineer (Go)"},
		{"  \"Staff Engineer\" ", "Staff Engineer"},
	} {
		if got := cleanRole(tc.in); got != tc.want {
			t.Errorf("cleanRole(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"Katrin", "Katrin"},
		{"Mary Ann", "Mary Ann"},
		{"O'Neill, Siobhan", ""},
		{"recruiting@x.example", ""},
		{"Mal\r\nBcc: x", ""},
		{"{{.Name}}", ""},
	} {
		if got := cleanName(tc.in); got != tc.want {
			t.Errorf("cleanName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
