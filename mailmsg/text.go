package mailmsg

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/rsvp-mail/rsvp/internal/bufpool"
)

// normalizeText makes body text uniform: valid UTF-8, LF line ends, no
// trailing spaces, no runs of more than one blank line, no control
// characters but newlines. Tabs and no-break spaces become spaces;
// zero-width spaces and joiners, byte order marks and soft hyphens go.
//
// It is one pass over the text, bytes at a time where they are ASCII: every
// message read goes through it. The result is in a buffer from bufpool
// (see Recycle), nil when no text is left.
func normalizeText(s []byte) []byte {
	if !utf8.Valid(s) {
		s = bytes.ToValidUTF8(s, []byte("\uFFFD"))
	}
	// Lines are written straight into b, each after the separator it
	// needs if it turns out not to be blank (a blank line only raises
	// blank, which is known when the next line starts): flush trims the
	// line's trailing spaces, and drops it with its separator if nothing
	// is left. The text is never longer than s, plus a separator.
	b := bufpool.Get(len(s) + 2)[:0]
	blank := 0             // blank lines since the last line written
	lineAt, textAt := 0, 0 // where the current line's separator and text start
	startLine := func() {
		lineAt = len(b)
		switch {
		case len(b) == 0:
		case blank > 0:
			b = append(b, '\n', '\n')
		default:
			b = append(b, '\n')
		}
		textAt = len(b)
	}
	flush := func() {
		n := len(b)
		for n > textAt && b[n-1] == ' ' {
			n--
		}
		if n == textAt {
			b = b[:lineAt]
			blank++
		} else {
			b = b[:n]
			blank = 0
		}
		startLine()
	}
	startLine()
	for i := 0; i < len(s); {
		c := s[i]
		if plainByte[c] {
			// The common case: a run of printable ASCII, copied at once.
			j := plainRunEnd(s, i+1)
			b = append(b, s[i:j]...)
			i = j
			continue
		}
		if c < utf8.RuneSelf {
			switch {
			case c == '\n':
				flush()
			case c == '\r': // CRLF and a lone CR both end a line
				if i+1 < len(s) && s[i+1] == '\n' {
					i++
				}
				flush()
			case c == '\t':
				b = append(b, ' ')
			case c < 0x20, c == 0x7f:
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		switch r {
		case '\u00a0':
			b = append(b, ' ')
		case '\u200b', '\ufeff', '\u200c', '\u00ad':
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	flush()
	b = b[:lineAt] // the separator of the line after the last
	if len(b) == 0 {
		bufpool.Put(b)
		return nil
	}
	return b
}

// plainByte is true for the printable ASCII bytes normalizeText keeps as
// they are.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	return t
}()

// plainRunEnd returns where the run of plainByte bytes in s from i ends,
// testing eight bytes at a time while they all are.
func plainRunEnd(s []byte, i int) int {
	for i+8 <= len(s) && printable8(binary.LittleEndian.Uint64(s[i:])) == 0 {
		i += 8
	}
	for i < len(s) && plainByte[s[i]] {
		i++
	}
	return i
}

// Byte masks for the tests of eight bytes at a time.
const ones, high = 0x0101010101010101, 0x8080808080808080

// printable8 is zero when each of the eight bytes in w is printable
// ASCII (0x20 to 0x7e), and has a high bit set otherwise. When all bytes
// are below 0x80 no sum carries into the next byte: the high bit of
// b+0x60 says b >= 0x20, and that of b+1 says b >= 0x7f. A byte of 0x80
// or more sets its own high bit, whatever the sums carry.
func printable8(w uint64) uint64 {
	return (w | (w + ones) | ^(w + (0x80-0x20)*ones)) & high
}

// spaces8 has the high bit of each byte of w that is ' ' set, and no
// other bit, when every byte is printable ASCII.
func spaces8(w uint64) uint64 {
	const low7 = 0x7f7f7f7f7f7f7f7f
	y := w ^ ' '*ones
	return ^((y&low7 + low7) | y | low7)
}

// htmlToText renders HTML as the plain text a reader would see: no markup,
// scripts, styles or hidden preheaders; block elements and <br> as line
// breaks; list items as "- " lines; table cells side by side.
//
// The tokens come from fastTokenizer, or, for what it declines, from
// golang.org/x/net/html's Tokenizer: the same tokens either way.
func htmlToText(src []byte, limit int) []byte {
	cp := textBufs.Get().(*[]byte)
	fast := newFastTokenizer(src, *cp)
	defer func() {
		if cap(fast.buf) <= maxPooled {
			*cp = fast.buf[:0]
			textBufs.Put(cp)
		}
	}()
	if s := tokensToText(fast, limit); !fast.declined {
		return s
	}
	return tokensToText(html.NewTokenizer(bytes.NewReader(src)), limit)
}

// tokensToText is htmlToText with the tokens of z. (A fastTokenizer that
// declines ends its tokens early; htmlToText then starts again.)
func tokensToText(z htmlTokens, limit int) []byte {
	// The text is built in a pooled buffer: normalizeText copies it.
	bp := textBufs.Get().(*[]byte)
	b := (*bp)[:0]
	defer func() {
		if cap(b) <= maxPooled {
			*bp = b[:0]
			textBufs.Put(bp)
		}
	}()
	skip := 0 // depth inside elements whose text is not shown
	var hidden []atom.Atom
	newline := func(n int) {
		b = bytes.TrimRight(b, " ")
		have := len(b) - len(bytes.TrimRight(b, "\n"))
		for ; have < n && len(b) > 0; have++ {
			b = append(b, '\n')
		}
	}
	space := func() {
		if len(b) > 0 && b[len(b)-1] != ' ' && b[len(b)-1] != '\n' {
			b = append(b, ' ')
		}
	}
	for len(b) < limit {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return normalizeText(b)
		case html.TextToken:
			if skip > 0 {
				continue
			}
			t := z.Text()
			// Collapse source whitespace as a browser does.
			if !hasField(t) {
				if len(t) > 0 {
					space()
				}
				continue
			}
			if t[0] == ' ' || t[0] == '\n' || t[0] == '\t' || t[0] == '\r' {
				space()
			}
			b = appendFields(b, t)
			if last := t[len(t)-1]; last == ' ' || last == '\n' || last == '\t' || last == '\r' {
				b = append(b, ' ')
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			if tt == html.StartTagToken && (invisible[a] || (hasAttr && isHidden(z))) {
				if !voidElement[a] {
					skip++
					hidden = append(hidden, a)
				}
				continue
			}
			if skip > 0 {
				if tt == html.StartTagToken && !voidElement[a] && a == hidden[len(hidden)-1] {
					// Nested element of the same kind inside a
					// hidden one: count it so the right end tag
					// closes the hidden region.
					skip++
					hidden = append(hidden, a)
				}
				continue
			}
			switch {
			case a == atom.Br:
				b = append(bytes.TrimRight(b, " "), '\n')
			case a == atom.Li:
				newline(1)
				b = append(b, "- "...)
			case a == atom.Td || a == atom.Th:
				space()
			case block[a]:
				newline(blockGap(a))
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if skip > 0 {
				if a == hidden[len(hidden)-1] {
					skip--
					hidden = hidden[:len(hidden)-1]
				}
				continue
			}
			if block[a] {
				newline(blockGap(a))
			}
		}
	}
	return normalizeText(b)
}

// hasField reports whether t has a character that is not white space
// (unicode.IsSpace), that is, whether strings.Fields would find a field.
func hasField(t []byte) bool {
	for i := 0; i < len(t); {
		if c := t[i]; c < utf8.RuneSelf {
			if !asciiSpace[c] {
				return true
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(t[i:])
		if !unicode.IsSpace(r) {
			return true
		}
		i += n
	}
	return false
}

// appendFields appends strings.Join(strings.Fields(t), " ") to b, without
// making either.
func appendFields(b, t []byte) []byte {
	inField, sep := false, false
	for i := 0; i < len(t); {
		c := t[i]
		if c < utf8.RuneSelf && !asciiSpace[c] {
			// A run of ASCII words with single spaces between them is
			// copied at once.
			j := fieldsRunEnd(t, i+1)
			if sep {
				b = append(b, ' ')
				sep = false
			}
			b = append(b, t[i:j]...)
			inField = true
			i = j
			continue
		}
		n, space := 1, true
		if c >= utf8.RuneSelf {
			var r rune
			r, n = utf8.DecodeRune(t[i:])
			space = unicode.IsSpace(r) // a bad byte is RuneError: not a space
		}
		switch {
		case space:
			sep = sep || inField
			inField = false
		default:
			if sep {
				b = append(b, ' ')
				sep = false
			}
			b = append(b, t[i:i+n]...)
			inField = true
		}
		i += n
	}
	return b
}

// fieldsRunEnd returns where the text appendFields copies as it is, which
// goes on from a byte of a field at i-1, ends: ASCII other than white
// space, and single spaces each followed by such a byte. Where it can, it
// tests eight bytes at a time.
func fieldsRunEnd(t []byte, i int) int {
	space := false // t[i-1] is a space
	for i < len(t) {
		if i+8 <= len(t) {
			// Eight printable bytes, with no space after a space.
			w := binary.LittleEndian.Uint64(t[i:])
			if printable8(w) == 0 {
				sp := spaces8(w)
				if sp&(sp<<8) == 0 && !(space && sp&0x80 != 0) {
					i += 8
					space = sp>>63 != 0
					continue
				}
			}
		}
		c := t[i]
		if c == ' ' {
			if space {
				break
			}
			space = true
		} else if c >= utf8.RuneSelf || asciiSpace[c] {
			break
		} else {
			space = false
		}
		i++
	}
	if space {
		i-- // the run ends before its last space
	}
	return i
}

// asciiSpace is unicode.IsSpace for ASCII.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

func blockGap(a atom.Atom) int {
	switch a {
	case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Table, atom.Blockquote, atom.Ul, atom.Ol:
		return 2
	}
	return 1
}

// isHidden reports whether the current tag carries display:none or the
// hidden attribute: marketing mail hides "preheader" text that no reader sees.
func isHidden(z htmlTokens) bool {
	if f, ok := z.(*fastTokenizer); ok {
		return f.hidden()
	}
	for {
		k, v, more := z.TagAttr()
		if hiding(k, v) {
			return true
		}
		if !more {
			return false
		}
	}
}

// hiding reports whether attribute key=val hides its element.
func hiding(key, val []byte) bool {
	switch string(key) {
	case "hidden":
		return true
	case "style":
		st := strings.ToLower(strings.ReplaceAll(string(val), " ", ""))
		return strings.Contains(st, "display:none") || strings.Contains(st, "visibility:hidden")
	}
	return false
}

var invisible = map[atom.Atom]bool{
	atom.Head: true, atom.Script: true, atom.Style: true, atom.Title: true,
	atom.Noscript: true, atom.Template: true, atom.Svg: true, atom.Object: true,
}

var voidElement = map[atom.Atom]bool{
	atom.Br: true, atom.Img: true, atom.Hr: true, atom.Meta: true, atom.Link: true,
	atom.Input: true, atom.Wbr: true, atom.Area: true, atom.Base: true, atom.Col: true,
	atom.Embed: true, atom.Source: true, atom.Track: true,
}

var block = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Tr: true, atom.Table: true, atom.H1: true,
	atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Ul: true, atom.Ol: true, atom.Blockquote: true, atom.Pre: true, atom.Hr: true,
	atom.Section: true, atom.Article: true, atom.Header: true, atom.Footer: true,
	atom.Center: true, atom.Dl: true, atom.Dt: true, atom.Dd: true, atom.Address: true,
}
