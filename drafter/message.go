package drafter

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"
)

// Reply is a drafted reply, ready to be saved as a draft.
type Reply struct {
	// Header is the RFC 5322 header: From, To, Subject, Date, Message-Id,
	// In-Reply-To, References, MIME fields.
	Header mail.Header
	// Body is the plain text as the user will read it, one line per
	// paragraph; WriteTo wraps it (format=flowed, RFC 3676).
	Body string
	// MessageID is the reply's Message-ID, without angle brackets.
	MessageID string
	// Lang is the language the reply is written in; Formal its register.
	Lang   string
	Formal bool
	// Action and Reason are what was drafted ("" reason unless declining).
	Action, Reason string
	// Late is true when the interview is less than 48 hours away.
	Late bool
	// Slots are the times a reschedule proposes.
	Slots []Slot
	// Warnings are things the user should know before sending, such as a
	// reply address that looks unmonitored.
	Warnings []string
}

// flowWidth is where body lines are wrapped; RFC 3676 asks for at most 78.
const flowWidth = 72

// quoteMax is the longest quoted line left as it is: quoted text was
// usually wrapped by its sender, a little wider than rsvp wraps.
const quoteMax = 100

// WriteTo writes the reply as an RFC 5322 message: the header, then the
// body as text/plain; charset=utf-8; format=flowed, in 7bit when it is
// ASCII, 8bit otherwise, quoted-printable when a line is too long for
// either (RFC 5322 section 2.1.1).
func (r *Reply) WriteTo(w io.Writer) (int64, error) {
	body := flowed(r.Body, flowWidth)
	h := r.Header.Copy()
	if cte := transferEncoding(body); !strings.EqualFold(h.Get("Content-Transfer-Encoding"), cte) {
		h.Set("Content-Transfer-Encoding", cte)
	}
	cw := &countWriter{w: w}
	wc, err := mail.CreateSingleInlineWriter(cw, h)
	if err != nil {
		return cw.n, err
	}
	if _, err := io.WriteString(wc, body); err != nil {
		return cw.n, err
	}
	if err := wc.Close(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

// Bytes returns the message WriteTo writes.
func (r *Reply) Bytes() ([]byte, error) {
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func transferEncoding(body string) string {
	ascii := true
	for _, line := range strings.Split(body, "\r\n") {
		if len(line) > 998 {
			return "quoted-printable"
		}
		for i := 0; i < len(line); i++ {
			if line[i] >= 0x80 {
				ascii = false
			}
		}
	}
	if ascii {
		return "7bit"
	}
	return "8bit"
}

// flowed encodes text as format=flowed (RFC 3676): paragraphs are wrapped at
// width with a trailing space on each soft break, quoted lines keep their
// depth on every wrapped line, and lines that would be misread are
// space-stuffed. Lines end in CRLF.
func flowed(text string, width int) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line == "-- " {
			// The signature separator is never flowed (section 4.3).
			b.WriteString("-- \r\n")
			continue
		}
		depth, content := quoteDepth(line)
		content = strings.TrimRight(content, " ")
		prefix := strings.Repeat(">", depth)
		if depth > 0 && content != "" {
			prefix += " " // one space after the quote marks, as is usual
		}
		avail := width - len(prefix)
		if depth > 0 {
			// Quoted text is usually wrapped already; re-wrapping its
			// lines at a narrower width would leave them ragged. Only a
			// line too long to read (a paragraph from an HTML part) is
			// wrapped.
			if utf8.RuneCountInString(prefix+content) <= quoteMax {
				avail = len(content) + 1
			} else {
				avail = width
			}
		}
		if avail < 20 {
			avail = 20
		}
		for {
			piece, rest := content, ""
			if utf8.RuneCountInString(content) > avail {
				if cut := breakAt(content, avail); cut >= 0 {
					piece, rest = content[:cut+1], content[cut+1:]
				}
			}
			p := prefix
			if depth == 0 && (strings.HasPrefix(piece, " ") || strings.HasPrefix(piece, ">") || strings.HasPrefix(piece, "From ")) {
				p = " " // space-stuffing (section 4.4)
			}
			b.WriteString(p + piece + "\r\n")
			if rest == "" {
				break
			}
			content = rest
		}
	}
	return b.String()
}

// quoteDepth splits a line into its quote depth ("> > x" and ">> x" are both
// 2) and the text after the marks and one space.
func quoteDepth(line string) (int, string) {
	depth, i := 0, 0
	for i < len(line) {
		if line[i] == '>' {
			depth++
			i++
			continue
		}
		if line[i] == ' ' && depth > 0 && i+1 < len(line) && line[i+1] == '>' {
			i++
			continue
		}
		break
	}
	rest := line[i:]
	if depth > 0 {
		rest = strings.TrimPrefix(rest, " ")
	}
	return depth, rest
}

// breakAt returns the byte index of the space to break s at so that the
// line, trailing space included, has at most n runes: the last such space
// that is followed by a non-space, else the first one after n. -1 when s has
// no usable space.
func breakAt(s string, n int) int {
	last, runes := -1, 0
	for i, r := range s {
		runes++
		if r == ' ' && i+1 < len(s) && s[i+1] != ' ' && s[i+1] != '>' && i > 0 {
			if runes <= n {
				last = i
			} else if last < 0 {
				return i
			} else {
				return last
			}
		}
	}
	return last
}

// replyPrefix matches one reply or forward marker at the start of a subject,
// in the languages mail clients write them: "Re:", "RE :", "Re[2]:",
// "Re(3):", "AW:", "WG:", "Fwd:", "FW:", "TR:", "RV:", "Réf. :", "SV:", "VS:",
// "Antw:", "Odp:", "Enc:", "Res:", and "[Re: …]"-style brackets are
// handled by the caller.
var replyPrefix = regexp.MustCompile(`(?i)^\s*(?:re|aw|wg|fwd?|fw|tr|rv|r[ée]f\.?|sv|vs|antw|odp|enc|res|rif|ynt|atb)\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]\s*`)

// replySubject is "Re: " and the subject without the prefixes earlier
// replies and forwards piled up.
func replySubject(s string) string {
	s = headerText(s)
	for {
		t := strings.TrimSpace(s)
		// "[Re: Interview]" as some gateways write it.
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") && replyPrefix.MatchString(t[1:]) {
			t = t[1 : len(t)-1]
		}
		u := replyPrefix.ReplaceAllString(t, "")
		if u == t {
			s = t
			break
		}
		s = u
	}
	if s == "" {
		return "Re:"
	}
	// A subject is a line, not a document: a pathological one is cut (at
	// a space where there is one) so the header stays foldable.
	if r := []rune(s); len(r) > maxSubject {
		cut := string(r[:maxSubject])
		if i := strings.LastIndexByte(cut, ' '); i > maxSubject/2 {
			cut = cut[:i]
		}
		s = cut + "…"
	}
	return "Re: " + s
}

const maxSubject = 250

// headerText makes a value safe for a header: valid UTF-8, no control
// characters (CR and LF above all), single spaces, and no "=?" that a reader
// could take for an encoded word smuggling a line break back in.
func headerText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u0085' {
			return ' '
		}
		return r
	}, s)
	s = strings.ReplaceAll(s, "=?", "= ?")
	return strings.Join(strings.Fields(s), " ")
}

// displayName cleans a display name; "" when it is unusable.
func displayName(s string) string {
	s = headerText(s)
	if strings.ContainsAny(s, "@<>") {
		// A name holding an address is a spoofing device: leave it out.
		return ""
	}
	return s
}

var (
	msgIDRe  = regexp.MustCompile(`^[!-;=?-~]+@[!-;=?-~]+$`) // no space, '<' or '>'
	domainRe = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$`)
)

// validMsgID reports whether id can be written between angle brackets as
// an RFC 5322 msg-id without breaking the header.
func validMsgID(id string) bool {
	return len(id) <= 250 && msgIDRe.MatchString(id)
}

// references builds the References of a reply (RFC 5322 section 3.6.4):
// the parent's References (or, without them, its single In-Reply-To) and
// then its Message-ID. Invalid IDs are dropped; a very long chain keeps its
// first ID and its most recent ones.
func references(refs, inReplyTo []string, id string) []string {
	var chain []string
	switch {
	case len(refs) > 0:
		chain = append(chain, refs...)
	case len(inReplyTo) == 1:
		chain = append(chain, inReplyTo...)
	}
	if id != "" {
		chain = append(chain, id)
	}
	seen := map[string]bool{}
	out := chain[:0:0]
	for _, c := range chain {
		if validMsgID(c) && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	const keep = 20
	if len(out) > keep {
		out = append(out[:1:1], out[len(out)-keep+1:]...)
	}
	return out
}

// idDomain is the domain part of address for Message-IDs.
func idDomain(address string) string {
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		d := strings.ToLower(strings.TrimSpace(address[i+1:]))
		if domainRe.MatchString(d) {
			return d
		}
	}
	return "rsvp.invalid"
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// DraftMessageID is the Message-ID (without angle brackets) rsvp gives the
// reply to originalID drafted from account: the same inputs always give
// the same ID, on the account's domain, so a daemon retrying after a crash
// can find the draft it already saved.
func DraftMessageID(originalID, account string) string {
	sum := sha256.Sum256([]byte("rsvp draft\x00" + originalID + "\x00" + strings.ToLower(strings.TrimSpace(account))))
	return "rsvp." + strings.ToLower(idEncoding.EncodeToString(sum[:20])) + "@" + idDomain(account)
}

// randomMessageID is a fresh Message-ID on the account's domain.
func randomMessageID(account string) (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "rsvp." + strings.ToLower(idEncoding.EncodeToString(b[:])) + "@" + idDomain(account), nil
}
