package mailmsg

import (
	"bytes"

	"golang.org/x/net/html"
)

// htmlTokens is what htmlToText asks of an HTML tokenizer: the subset of
// *html.Tokenizer it uses.
type htmlTokens interface {
	Next() html.TokenType
	Text() []byte
	TagName() (name []byte, hasAttr bool)
	TagAttr() (key, val []byte, moreAttr bool)
}

// fastTokenizer gives the same tokens as golang.org/x/net/html's Tokenizer
// (v0.62.0, token.go) for the HTML mail is made of, from a slice, without
// the Tokenizer's byte-at-a-time reads through an io.Reader and its
// allocations per tag and attribute. Each step below follows the function
// of token.go it is named after.
//
// What it does not follow it declines: script and plaintext elements (the
// script data states), NUL bytes, and an attribute value with a character
// reference (attribute-mode unescaping is not exported) when it is read:
// by TagAttr, or by hidden for a style attribute. Then Next returns
// ErrorToken and declined is set, and the caller starts again with
// html.Tokenizer. FuzzFastTokenizer holds the two to the same tokens.
type fastTokenizer struct {
	buf      []byte // the input, line breaks normalized (see newFastTokenizer)
	pos      int    // where the next token starts
	tt       html.TokenType
	data     span // the text of a text token, the name of a tag
	attrs    []attrSpan
	nAttr    int    // attributes returned by TagAttr
	rawTag   string // the element whose raw text comes next, as in Tokenizer.rawTag
	textRaw  bool   // the text token is not unescaped (Tokenizer.textIsRaw)
	declined bool
	eof      bool // the input ended: the next token is ErrorToken
}

type span struct{ start, end int }

type attrSpan struct{ key, val span }

// newFastTokenizer tokenizes a copy of src in which CRLF and CR are LF:
// html.Tokenizer does that to the text and attribute values it returns
// (convertNewlines), and everywhere else it treats CR and LF alike, so the
// tokens are the same; the copy is also what TagName lowers in place. buf
// is used for the copy when it is big enough.
func newFastTokenizer(src, buf []byte) *fastTokenizer {
	b := buf[:0]
	if cap(b) < len(src) {
		b = make([]byte, 0, len(src))
	}
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\r')
		if i < 0 {
			b = append(b, src...)
			break
		}
		b = append(b, src[:i]...)
		b = append(b, '\n')
		if i+1 < len(src) && src[i+1] == '\n' {
			i++
		}
		src = src[i+1:]
	}
	z := &fastTokenizer{buf: b}
	if bytes.IndexByte(b, 0) >= 0 {
		z.decline()
	}
	return z
}

func (z *fastTokenizer) decline() {
	z.declined, z.eof = true, true
}

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'
}

func isASCIILetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// Next is Tokenizer.Next.
func (z *fastTokenizer) Next() html.TokenType {
	z.attrs, z.nAttr = z.attrs[:0], 0
	if z.eof {
		z.tt = html.ErrorToken
		return z.tt
	}
	b := z.buf
	start := z.pos
	if z.rawTag != "" {
		end := z.rawEnd(start)
		z.textRaw = z.rawTag != "textarea" && z.rawTag != "title"
		z.rawTag = ""
		z.pos = end
		if end == len(b) {
			z.eof = true
		}
		if end > start {
			z.data = span{start, end}
			z.tt = html.TextToken
			return z.tt
		}
		if z.eof {
			z.tt = html.ErrorToken
			return z.tt
		}
	}
	z.textRaw = false
	i := start
	for {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 || i+j+1 >= len(b) {
			// Text to the end (a '<' that ends the input is text).
			z.pos, z.eof = len(b), true
			if start < len(b) {
				z.data = span{start, len(b)}
				z.tt = html.TextToken
				return z.tt
			}
			z.tt = html.ErrorToken
			return z.tt
		}
		lt := i + j
		c := b[lt+1]
		if !(isASCIILetter(c) || c == '/' || c == '!' || c == '?') {
			i = lt + 1 // the '<' is text
			continue
		}
		if start < lt {
			// The text before the tag first.
			z.pos = lt
			z.data = span{start, lt}
			z.tt = html.TextToken
			return z.tt
		}
		switch {
		case isASCIILetter(c):
			z.tt = z.readStartTag(lt + 1)
		case c == '/':
			z.tt = z.readEndTag(lt + 2)
		case c == '!':
			z.tt = z.readMarkupDeclaration(lt + 2)
		default: // '?': a bogus comment, from the '?'
			z.tt = z.readUntilCloseAngle(lt + 1)
		}
		return z.tt
	}
}

// rawEnd is where the raw text of z.rawTag that starts at i ends: at the
// first "</" followed by the tag name (either case) and a space, '/' or
// '>' (readRawOrRCDATA, readRawEndTag), or at the end.
func (z *fastTokenizer) rawEnd(i int) int {
	b, tag := z.buf, z.rawTag
	for {
		j := bytes.Index(b[i:], []byte("</"))
		if j < 0 {
			return len(b)
		}
		k := i + j + 2
		n := 0
		for n < len(tag) && k+n < len(b) && (b[k+n] == tag[n] || b[k+n] == tag[n]-('a'-'A')) {
			n++
		}
		if n == len(tag) && k+n < len(b) {
			if c := b[k+n]; isHTMLSpace(c) || c == '/' || c == '>' {
				return i + j
			}
		}
		i = i + j + 1
	}
}

// readStartTag is Tokenizer.readStartTag; i is the tag name's first byte.
func (z *fastTokenizer) readStartTag(i int) html.TokenType {
	end, ok := z.readTag(i, true)
	if !ok {
		z.eof = true
		return html.ErrorToken
	}
	z.pos = end
	name := z.buf[z.data.start:z.data.end]
	switch {
	case tagIs(name, "script"), tagIs(name, "plaintext"):
		z.decline()
		return html.ErrorToken
	case tagIs(name, "iframe"), tagIs(name, "noembed"), tagIs(name, "noframes"), tagIs(name, "noscript"),
		tagIs(name, "style"), tagIs(name, "textarea"), tagIs(name, "title"), tagIs(name, "xmp"):
		z.rawTag = string(bytes.ToLower(name))
	}
	if n := len(z.attrs); z.buf[end-2] == '/' && (n == 0 || end-2 != z.attrs[n-1].val.end-1) {
		return html.SelfClosingTagToken
	}
	return html.StartTagToken
}

// tagIs reports whether name is s (lower case) in any case.
func tagIs(name []byte, s string) bool {
	if len(name) != len(s) {
		return false
	}
	for i := range len(s) {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// readEndTag is Next's EndTagToken case; i is after "</".
func (z *fastTokenizer) readEndTag(i int) html.TokenType {
	b := z.buf
	if i == len(b) {
		// "</" at the end is text (Next breaks its loop at the end).
		z.data = span{i - 2, i}
		z.pos, z.eof = i, true
		return html.TextToken
	}
	switch c := b[i]; {
	case c == '>':
		z.pos = i + 1
		return html.CommentToken
	case isASCIILetter(c):
		end, ok := z.readTag(i, false)
		if !ok {
			z.eof = true
			return html.ErrorToken
		}
		z.pos = end
		return html.EndTagToken
	}
	return z.readUntilCloseAngle(i)
}

// readUntilCloseAngle is Tokenizer.readUntilCloseAngle: a bogus comment
// from i to the next '>'.
func (z *fastTokenizer) readUntilCloseAngle(i int) html.TokenType {
	j := bytes.IndexByte(z.buf[i:], '>')
	if j < 0 {
		z.pos, z.eof = len(z.buf), true
	} else {
		z.pos = i + j + 1
	}
	return html.CommentToken
}

// readMarkupDeclaration is Tokenizer.readMarkupDeclaration, i after "<!".
// A doctype, like any declaration but a comment, ends at the next '>'
// (readDoctype, then readUntilCloseAngle, from i: "DOCTYPE" and the white
// space after it hold no '>').
func (z *fastTokenizer) readMarkupDeclaration(i int) html.TokenType {
	b := z.buf
	if len(b)-i < 2 {
		z.pos, z.eof = len(b), true
		return html.CommentToken
	}
	if b[i] == '-' && b[i+1] == '-' {
		z.readComment(i + 2)
		return html.CommentToken
	}
	tt := html.CommentToken
	if len(b)-i >= 7 && tagIs(b[i:i+7], "doctype") {
		tt = html.DoctypeToken
	}
	z.readUntilCloseAngle(i)
	return tt
}

// readComment is Tokenizer.readComment, from i after "<!--".
func (z *fastTokenizer) readComment(i int) {
	b := z.buf
	dashes, beginning := 0, true
	for i < len(b) {
		c := b[i]
		i++
		switch c {
		case '-':
			dashes++
			continue
		case '>':
			if dashes >= 2 || beginning {
				z.pos = i
				return
			}
		case '!':
			if dashes >= 2 {
				if i == len(b) {
					break
				}
				c = b[i]
				i++
				if c == '>' {
					z.pos = i
					return
				}
				if c == '-' {
					dashes, beginning = 1, false
					continue
				}
			}
		}
		dashes, beginning = 0, false
	}
	z.pos, z.eof = len(b), true
}

// readTag is Tokenizer.readTag from i, the tag name's first byte. It
// returns the offset after the closing '>', or false when the input ends
// first. With saveAttr it keeps the attributes as Tokenizer does: with a
// key, the first of each key (compared in lower case). Keys are lowered
// in place.
func (z *fastTokenizer) readTag(i int, saveAttr bool) (int, bool) {
	b := z.buf
	// readTagName: to white space, '/' or '>'.
	z.data.start = i
	for i++; i < len(b) && !isHTMLSpace(b[i]) && b[i] != '/' && b[i] != '>'; i++ {
	}
	z.data.end = i
	if i < len(b) && isHTMLSpace(b[i]) {
		i++
	}
	i = z.skipWhiteSpace(i)
	for i < len(b) && b[i] != '>' {
		var a attrSpan
		i, a.key = z.readTagAttrKey(i)
		i, a.val = z.readTagAttrVal(i)
		if saveAttr && a.key.start != a.key.end {
			key := lower(b[a.key.start:a.key.end])
			dup := false
			for _, o := range z.attrs {
				dup = dup || bytes.Equal(b[o.key.start:o.key.end], key)
			}
			if !dup {
				z.attrs = append(z.attrs, a)
			}
		}
		i = z.skipWhiteSpace(i)
	}
	if i >= len(b) {
		return len(b), false
	}
	return i + 1, true
}

func (z *fastTokenizer) skipWhiteSpace(i int) int {
	for i < len(z.buf) && isHTMLSpace(z.buf[i]) {
		i++
	}
	return i
}

// readTagAttrKey is Tokenizer.readTagAttrKey.
func (z *fastTokenizer) readTagAttrKey(i int) (int, span) {
	b := z.buf
	s := span{start: i}
	for ; i < len(b); i++ {
		c := b[i]
		if c == '=' && i == s.start {
			continue // an '=' before the name begins is part of it
		}
		if c == '=' || isHTMLSpace(c) || c == '/' || c == '>' {
			s.end = i
			return i, s
		}
	}
	s.end = i
	return i, s
}

// readTagAttrVal is Tokenizer.readTagAttrVal.
func (z *fastTokenizer) readTagAttrVal(i int) (int, span) {
	b := z.buf
	s := span{i, i}
	if i = z.skipWhiteSpace(i); i == len(b) {
		return i, s
	}
	switch b[i] {
	case '/':
		return i + 1, s
	case '=':
		i++
	default:
		return i, s
	}
	if i = z.skipWhiteSpace(i); i == len(b) {
		return i, s
	}
	switch quote := b[i]; quote {
	case '>':
		return i, s
	case '\'', '"':
		i++
		s.start = i
		j := bytes.IndexByte(b[i:], quote)
		if j < 0 {
			s.end = len(b)
			return len(b), s
		}
		s.end = i + j
		return i + j + 1, s
	}
	s.start = i
	for i++; i < len(b); i++ {
		if c := b[i]; isHTMLSpace(c) {
			s.end = i
			return i + 1, s
		} else if c == '>' {
			s.end = i
			return i, s
		}
	}
	s.end = i
	return i, s
}

// Text is Tokenizer.Text, for a text token.
func (z *fastTokenizer) Text() []byte {
	if z.tt != html.TextToken {
		return nil
	}
	s := z.buf[z.data.start:z.data.end]
	z.data = span{z.pos, z.pos}
	if !z.textRaw && bytes.IndexByte(s, '&') >= 0 {
		return []byte(html.UnescapeString(string(s)))
	}
	return s
}

// TagName is Tokenizer.TagName.
func (z *fastTokenizer) TagName() ([]byte, bool) {
	switch z.tt {
	case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
		if z.data.start < z.data.end {
			s := lower(z.buf[z.data.start:z.data.end])
			z.data = span{z.pos, z.pos}
			return s, z.nAttr < len(z.attrs)
		}
	}
	return nil, false
}

// TagAttr is Tokenizer.TagAttr. A value with a character reference is
// declined.
func (z *fastTokenizer) TagAttr() ([]byte, []byte, bool) {
	if z.nAttr >= len(z.attrs) || (z.tt != html.StartTagToken && z.tt != html.SelfClosingTagToken) {
		return nil, nil, false
	}
	a := z.attrs[z.nAttr]
	z.nAttr++
	val := z.buf[a.val.start:a.val.end]
	if bytes.IndexByte(val, '&') >= 0 {
		z.decline()
		return nil, nil, false
	}
	return z.buf[a.key.start:a.key.end], val, z.nAttr < len(z.attrs)
}

// hidden is isHidden for the current tag. Only a style attribute's value
// is read, so only a character reference there is declined: links full of
// &amp; are the rule in mail.
func (z *fastTokenizer) hidden() bool {
	for _, a := range z.attrs {
		key, val := z.buf[a.key.start:a.key.end], z.buf[a.val.start:a.val.end] // keys are lowered
		if string(key) == "style" && bytes.IndexByte(val, '&') >= 0 {
			z.decline()
			return false
		}
		if hiding(key, val) {
			return true
		}
	}
	return false
}

// lower lowers the ASCII letters of b in place, as token.go's lower.
func lower(b []byte) []byte {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}
