package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// source is a labelled sample message, line endings made CRLF (the form
// IMAP serves, so that the partial fetch rsvp asks for can be reproduced
// byte for byte).
type source struct {
	name   string
	raw    []byte
	invite bool // labelled "invite"
}

// loadSources reads every labelled message of the given directories (each
// with a labels.json mapping file name to {"label": "invite"|"other"}).
func loadSources(dirs ...string) ([]source, error) {
	var out []source
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "labels.json"))
		if err != nil {
			return nil, fmt.Errorf("sample mail: %w", err)
		}
		var labels map[string]struct {
			Label string `json:"label"`
		}
		if err := json.Unmarshal(b, &labels); err != nil {
			return nil, fmt.Errorf("sample mail: %s: %w", filepath.Join(dir, "labels.json"), err)
		}
		names := make([]string, 0, len(labels))
		for n := range labels {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			raw, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				return nil, fmt.Errorf("sample mail: %w", err)
			}
			out = append(out, source{name: filepath.Join(filepath.Base(dir), n), raw: crlf(raw), invite: labels[n].Label == "invite"})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("sample mail: no messages in %s", strings.Join(dirs, ", "))
	}
	return out, nil
}

// crlf makes every line end in CRLF.
func crlf(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// splitMessage splits a CRLF message into its header (with the blank line
// that ends it, as BODY[HEADER] returns it) and its text (BODY[TEXT]).
func splitMessage(raw []byte) (header, text []byte) {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[:i+4], raw[i+4:]
	}
	return raw, nil
}

// fetchedView is what rsvp fetches of a message: BODY[HEADER] followed by
// the first limit bytes of BODY[TEXT].
func fetchedView(raw []byte, limit int) []byte {
	h, t := splitMessage(raw)
	if len(t) > limit {
		t = t[:limit]
	}
	return append(h[:len(h):len(h)], t...)
}

// headerFields splits a header block (without the blank line) into fields,
// each with its continuation lines.
func headerFields(h []byte) [][]byte {
	var fields [][]byte
	for len(h) > 0 {
		i := bytes.Index(h, []byte("\r\n"))
		line := h
		if i >= 0 {
			line, h = h[:i+2], h[i+2:]
		} else {
			h = nil
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] = append(fields[len(fields)-1], line...)
			continue
		}
		fields = append(fields, append([]byte(nil), line...))
	}
	return fields
}

func fieldIs(f []byte, name string) bool {
	return len(f) > len(name) && f[len(name)] == ':' && strings.EqualFold(string(f[:len(name)]), name)
}

// rewriteHeader drops the named fields and appends add (complete lines).
func rewriteHeader(raw []byte, drop []string, add string) []byte {
	h, text := splitMessage(raw)
	h = bytes.TrimSuffix(h, []byte("\r\n\r\n"))
	var out bytes.Buffer
	for _, f := range headerFields(append(h, "\r\n"...)) {
		keep := true
		for _, d := range drop {
			if fieldIs(f, d) {
				keep = false
			}
		}
		if keep {
			out.Write(f)
		}
	}
	out.WriteString(add)
	out.WriteString("\r\n")
	out.Write(text)
	return out.Bytes()
}

// withMessageID gives raw a new Message-ID.
func withMessageID(raw []byte, id string) []byte {
	return rewriteHeader(raw, []string{"Message-ID"}, "Message-ID: <"+id+">\r\n")
}

// attachment is a binary part to add to a message.
type attachment struct {
	contentType, filename string
	data                  []byte
	first                 bool // before the text, as in a forwarded scan
}

// withAttachment makes raw multipart/mixed: its body becomes the first part
// (the second when a.first) and a, base64-encoded, the other.
func withAttachment(raw []byte, a attachment, boundary string) []byte {
	h, text := splitMessage(raw)
	h = bytes.TrimSuffix(h, []byte("\r\n\r\n"))
	var rest, part bytes.Buffer
	hasMIME := false
	for _, f := range headerFields(append(h, "\r\n"...)) {
		switch {
		case fieldIs(f, "Content-Type"), fieldIs(f, "Content-Transfer-Encoding"):
			part.Write(f)
		default:
			hasMIME = hasMIME || fieldIs(f, "MIME-Version")
			rest.Write(f)
		}
	}
	if part.Len() == 0 {
		part.WriteString("Content-Type: text/plain; charset=us-ascii\r\n")
	}
	if !hasMIME {
		rest.WriteString("MIME-Version: 1.0\r\n")
	}
	fmt.Fprintf(&rest, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary)
	rest.WriteString("This is a multi-part message in MIME format.\r\n")

	body := func() {
		fmt.Fprintf(&rest, "\r\n--%s\r\n", boundary)
		rest.Write(part.Bytes())
		rest.WriteString("\r\n")
		rest.Write(bytes.TrimRight(text, "\r\n"))
		rest.WriteString("\r\n")
	}
	att := func() {
		fmt.Fprintf(&rest, "\r\n--%s\r\n", boundary)
		fmt.Fprintf(&rest, "Content-Type: %s; name=\"%s\"\r\n", a.contentType, a.filename)
		fmt.Fprintf(&rest, "Content-Disposition: attachment; filename=\"%s\"\r\n", a.filename)
		rest.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
		enc := base64.StdEncoding.EncodeToString(a.data)
		for len(enc) > 76 {
			rest.WriteString(enc[:76])
			rest.WriteString("\r\n")
			enc = enc[76:]
		}
		rest.WriteString(enc)
		rest.WriteString("\r\n")
	}
	if a.first {
		att()
		body()
	} else {
		body()
		att()
	}
	fmt.Fprintf(&rest, "\r\n--%s--\r\n", boundary)
	return rest.Bytes()
}

// generator makes the backfill mailbox: a realistic mix of invitations
// (from the labelled samples), hard negatives (the other samples) and
// ordinary mail (newsletters, notifications, threads, receipts) of varied
// sizes, some with attachments.
type generator struct {
	rng      *rand.Rand
	invites  []source
	others   []source
	pool     []byte // random bytes that attachments are cut from
	now      time.Time
	serial   int
	runToken string
	attached int // messages given an attachment
}

// Proportions of the mix (besides the invitation ratio, a flag).
const (
	hardNegativeShare  = 0.10 // of the non-invitations: labelled "other" samples
	inviteAttachShare  = 0.15 // invitations with a job description PDF
	fillerAttachShare  = 0.08 // ordinary mail with an attachment after the text
	fillerScanShare    = 0.02 // ordinary mail with an attachment before the text
	minBody, maxBody   = 2 << 10, 30 << 10
	minAttach, maxAtt  = 16 << 10, 320 << 10
	attachmentPoolSize = 1 << 20
)

func newGenerator(seed uint64, sources []source, now time.Time) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(seed, 0x1b5e)), now: now,
		runToken: fmt.Sprintf("%x", now.UnixNano())}
	for _, s := range sources {
		if s.invite {
			g.invites = append(g.invites, s)
		} else {
			g.others = append(g.others, s)
		}
	}
	cc := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'b', 'e', 'n', 'c', 'h'})
	g.pool = make([]byte, attachmentPoolSize)
	cc.Read(g.pool)
	return g
}

// messageID returns a Message-ID unique to this run.
func (g *generator) messageID(kind string) string {
	g.serial++
	return fmt.Sprintf("imapbench.%s.%s.%d@bench.rsvp.invalid", g.runToken, kind, g.serial)
}

// logUniform draws from [lo, hi] so that each doubling is as likely: many
// small messages, some large.
func (g *generator) logUniform(lo, hi int) int {
	return int(math.Exp(math.Log(float64(lo)) + g.rng.Float64()*(math.Log(float64(hi))-math.Log(float64(lo)))))
}

func (g *generator) attachment(kind string, first bool) attachment {
	g.attached++
	n := g.logUniform(minAttach, maxAtt)
	data := make([]byte, 0, n)
	for len(data) < n {
		off := g.rng.IntN(len(g.pool))
		data = append(data, g.pool[off:min(len(g.pool), off+n-len(data))]...)
	}
	switch kind {
	case "pdf":
		return attachment{contentType: "application/pdf", filename: fmt.Sprintf("job-description-%d.pdf", g.serial), data: data, first: first}
	case "scan":
		return attachment{contentType: "image/jpeg", filename: fmt.Sprintf("scan-%d.jpg", g.serial), data: data, first: first}
	default:
		return attachment{contentType: "application/zip", filename: fmt.Sprintf("files-%d.zip", g.serial), data: data, first: first}
	}
}

// invitation returns a planted invitation: a labelled invite with a new
// Message-ID, sometimes with a PDF after the text.
func (g *generator) invitation(i int) []byte {
	s := g.invites[i%len(g.invites)]
	raw := withMessageID(s.raw, g.messageID("invite"))
	if g.rng.Float64() < inviteAttachShare {
		raw = withAttachment(raw, g.attachment("pdf", false), fmt.Sprintf("=_bench_%d", g.serial))
	}
	return raw
}

// next returns message number i of the mix and whether it is a planted
// invitation.
func (g *generator) next(i int, invite bool) []byte {
	if invite {
		return g.invitation(i)
	}
	if len(g.others) > 0 && g.rng.Float64() < hardNegativeShare {
		s := g.others[g.rng.IntN(len(g.others))]
		raw := withMessageID(s.raw, g.messageID("other"))
		if g.rng.Float64() < fillerAttachShare {
			raw = withAttachment(raw, g.attachment("zip", false), fmt.Sprintf("=_bench_%d", g.serial))
		}
		return raw
	}
	raw := g.filler()
	switch r := g.rng.Float64(); {
	case r < fillerScanShare:
		raw = withAttachment(raw, g.attachment("scan", true), fmt.Sprintf("=_bench_%d", g.serial))
	case r < fillerScanShare+fillerAttachShare:
		raw = withAttachment(raw, g.attachment("zip", false), fmt.Sprintf("=_bench_%d", g.serial))
	}
	return raw
}

var (
	fillerWords = strings.Fields(`the a of and to in for on with at from by about as into after over
		between through during before under around among project report update team budget quarter
		figures results plan meeting notes minutes agenda document draft version release build
		server database backup storage network cluster deploy pipeline service customer order
		invoice payment receipt delivery parcel shipment tracking account balance statement
		garden weekend dinner holiday train ticket flight hotel booking museum concert recipe
		photos family birthday present neighbours school homework library book chapter article
		weather rain sunshine morning evening afternoon week month year today tomorrow yesterday
		price discount offer sale shop store product feature design colour size review rating
		community forum thread reply question answer topic discussion idea proposal feedback
		draft spreadsheet slides diagram chart table figure summary overview detail section
		travel route map station platform delay schedule timetable arrival departure journey
		invoice subscription renewal plan membership newsletter issue edition digest roundup
		bicycle repair kitchen window painting furniture delivery install warranty manual
		coffee tea bread cheese market vegetables fruit soup salad pasta lunch breakfast
		running cycling swimming football match score league season training club members
		was were is are has have had will would should could can may might must shall
		new old good great small large long short early late quick slow bright dark warm cold
		finally also however therefore meanwhile otherwise instead still already almost`)
	fillerSenders = []string{
		"Northwind Weekly <news@northwind.example>", "Parcelly <noreply@parcelly.example>",
		"Sam Okafor <sam.okafor@example.org>", "Build Bot <ci@builds.acme-robotics.example>",
		"Green Grocer <orders@greengrocer.example>", "Library Services <library@city.example>",
		"Priya Natarajan <priya@natarajan.example>", "Harbour Bank <statements@harbourbank.example>",
		"Cycling Club <secretary@cyclingclub.example>", "Rail Tickets <tickets@rail.example>",
		"Jonas Weber <jonas.weber@example.net>", "Claire Dubois <claire.dubois@example.com>",
	}
	fillerSubjects = []string{
		"Weekly roundup, issue %d", "Your parcel %d is on its way", "Re: photos from the weekend (%d)",
		"[acme/platform] build %d passed", "Order %d confirmed", "Books due back soon (%d)",
		"Minutes of Tuesday's meeting #%d", "Your statement %d is ready", "Club run this Sunday, route %d",
		"Booking reference %d", "Re: garden plans %d", "Fwd: recipe you asked for (%d)",
	}
)

// text returns about n bytes of plain prose.
func (g *generator) text(n int) string {
	var b strings.Builder
	for b.Len() < n {
		words := 6 + g.rng.IntN(14)
		for w := 0; w < words; w++ {
			word := fillerWords[g.rng.IntN(len(fillerWords))]
			if w == 0 {
				word = strings.ToUpper(word[:1]) + word[1:]
			} else {
				b.WriteByte(' ')
			}
			b.WriteString(word)
		}
		b.WriteString(". ")
		if g.rng.IntN(5) == 0 {
			b.WriteString("\n\n")
		}
	}
	return b.String()
}

// wrap breaks prose into lines of at most 76 bytes, CRLF-terminated.
func wrap(s string) string {
	var b strings.Builder
	for _, para := range strings.Split(s, "\n\n") {
		line := 0
		for _, w := range strings.Fields(para) {
			if line > 0 && line+1+len(w) > 76 {
				b.WriteString("\r\n")
				line = 0
			}
			if line > 0 {
				b.WriteByte(' ')
				line++
			}
			b.WriteString(w)
			line += len(w)
		}
		b.WriteString("\r\n\r\n")
	}
	return b.String()
}

func qp(s string) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return string(crlf(b.Bytes()))
}

func html(s string) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html><html><body>\r\n")
	for _, para := range strings.Split(s, "\n\n") {
		b.WriteString("<p style=\"font-family:sans-serif\">")
		b.WriteString(strings.TrimSpace(para))
		b.WriteString("</p>\r\n")
	}
	b.WriteString("</body></html>\r\n")
	return string(crlf([]byte(wrap(b.String()))))
}

// filler returns an ordinary message with a body of 2–30 KB.
func (g *generator) filler() []byte {
	k := g.rng.IntN(len(fillerSubjects))
	size := g.logUniform(minBody, maxBody)
	var b strings.Builder
	fmt.Fprintf(&b, "Return-Path: <bounce@mail.example>\r\n")
	fmt.Fprintf(&b, "Received: from mx.example (mx.example [192.0.2.%d]) by mail.example.net; %s\r\n", 1+g.rng.IntN(250), g.now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Date: %s\r\n", g.now.Add(-time.Duration(g.rng.IntN(3600))*time.Second).Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s\r\n", fillerSenders[k])
	fmt.Fprintf(&b, "To: Alex Morgan <alex.morgan@example.net>\r\n")
	fmt.Fprintf(&b, "Subject: "+fillerSubjects[k]+"\r\n", 1000+g.rng.IntN(9000))
	fmt.Fprintf(&b, "Message-ID: <%s>\r\n", g.messageID("mail"))
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\n")
	if k == 0 || k == 4 || k == 5 {
		fmt.Fprintf(&b, "List-Unsubscribe: <mailto:unsubscribe@mail.example>\r\n")
	}
	switch g.rng.IntN(4) {
	case 0: // plain, 8bit
		fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(wrap(g.text(size)))
	case 1: // plain, quoted-printable
		fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		b.WriteString(qp(g.text(size)))
	case 2: // text and HTML
		bd := fmt.Sprintf("=_alt_%d", g.serial)
		t := g.text(size / 2)
		fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", bd)
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s", bd, wrap(t))
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n%s", bd, qp(html(t)))
		fmt.Fprintf(&b, "--%s--\r\n", bd)
	default: // HTML only
		fmt.Fprintf(&b, "Content-Type: text/html; charset=utf-8\r\n\r\n")
		b.WriteString(html(g.text(size)))
	}
	return []byte(b.String())
}
