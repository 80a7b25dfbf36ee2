package classifier

import (
	"encoding/binary"
	"slices"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/unicode/norm"
)

// fold puts text and keywords into one comparable form, so a keyword list
// matches regardless of case, accents, typographic quotes and dashes, or line
// breaks inside a phrase: lower case, diacritics removed ("Gespräch" and
// "Gesprach", "entrevista" and "entrevísta" match alike), ’ and ‘ as ', – and
// — as -, and every run of white space as one space.
func fold(s string) string {
	if isPlainASCII(s) {
		if foldsToItself(s) {
			return s // most words of a text, folded one by one
		}
		return foldASCII(s)
	}
	return bytesString(foldAppend(make([]byte, 0, len(s)+len(s)/16), s))
}

// foldAppend appends fold(s) to b, which must be empty (its capacity is
// used: a buffer can be reused for the next text).
func foldAppend(b []byte, s string) []byte {
	if isPlainASCII(s) {
		b, _ = foldASCIIRun(b, s, &foldTabASCII, false)
		return b
	}
	if !utf8.ValidString(s) {
		b, _ = foldRunesSpace(norm.NFD.String(s), b, false)
		return b
	}
	// ASCII characters neither decompose nor combine with what is next to
	// them, so the text is decomposed a stretch of non-ASCII characters at
	// a time, and ASCII characters are mapped directly, as foldRunes would.
	space := false
	var seg []byte
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] < utf8.RuneSelf {
			j++
		}
		b, space = foldASCIIRun(b, s[i:j], &foldTabRunes, space)
		if i = j; i == len(s) {
			break
		}
		for j < len(s) && s[j] >= utf8.RuneSelf {
			j++
		}
		if f, sp, ok := foldKnownRunes(b, s[i:j], space); ok {
			b, space = f, sp
		} else if norm.NFD.IsNormalString(s[i:j]) {
			b, space = foldRunesSpace(s[i:j], b, space)
		} else {
			seg = norm.NFD.AppendString(seg[:0], s[i:j])
			b, space = foldRunesSpace(string(seg), b, space)
		}
		i = j
	}
	return b
}

// foldKnownRunes is foldRunesSpace(norm.NFD.String(s), b, space) when
// every rune of s is in foldRuneTab (ok), which is most non-ASCII text in
// mail: accented Latin letters, typographic quotes and dashes.
func foldKnownRunes(b []byte, s string, space bool) ([]byte, bool, bool) {
	n := len(b)
	for _, r := range s {
		f := foldRune(r)
		if f == "" {
			return b[:n], space, false
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		b = append(b, f...)
	}
	return b, space, true
}

// foldRune is foldRuneTab's entry for r, or "".
func foldRune(r rune) string {
	switch {
	case r >= utf8.RuneSelf && r < foldRunesLow:
		return foldRuneTab[r-utf8.RuneSelf]
	case r >= foldPunctLow && r < foldPunctHigh:
		return foldRuneTab[r-foldPunctLow+foldRunesLow-utf8.RuneSelf]
	}
	return ""
}

// The runes foldRuneTab covers: Latin-1 Supplement, Latin Extended-A and
// -B, and General Punctuation.
const (
	foldRunesLow  = 0x250
	foldPunctLow  = 0x2000
	foldPunctHigh = 0x2070
)

// foldRuneTab holds, for the runes it covers, the folded form of those
// whose form does not depend on what is around them: not white space, a
// starter whose decomposition is a starter that is not a nonspacing mark
// followed only by nonspacing marks. Canonical reordering only moves the
// marks, which fold drops, so a stretch of such runes folds rune by rune.
// Other runes have "".
var foldRuneTab = func() []string {
	t := make([]string, foldRunesLow-utf8.RuneSelf+foldPunctHigh-foldPunctLow)
	add := func(i int, r rune) {
		if unicode.IsSpace(r) || norm.NFD.PropertiesString(string(r)).CCC() != 0 {
			return
		}
		d := []rune(norm.NFD.String(string(r)))
		if unicode.Is(unicode.Mn, d[0]) || unicode.IsSpace(d[0]) || norm.NFD.PropertiesString(string(d[0])).CCC() != 0 {
			return
		}
		for _, m := range d[1:] {
			if !unicode.Is(unicode.Mn, m) {
				return
			}
		}
		f, _ := foldRunesSpace(string(d), nil, false)
		t[i] = string(f)
	}
	for r := rune(utf8.RuneSelf); r < foldRunesLow; r++ {
		add(int(r-utf8.RuneSelf), r)
	}
	for r := rune(foldPunctLow); r < foldPunctHigh; r++ {
		add(int(r-foldPunctLow+foldRunesLow-utf8.RuneSelf), r)
	}
	return t
}()

// foldASCIIRun appends the folded form of the ASCII text s to b, after text
// that ended in white space when space is true, and says whether s does.
// (It avoids branching on every space, which costs more than the rest.)
func foldASCIIRun(b []byte, s string, tab *[256]byte, space bool) ([]byte, bool) {
	i := 0
	for i < len(s) && tab[s[i]] == foldSpace {
		i++
		space = true
	}
	if i == len(s) {
		return b, space
	}
	b = slices.Grow(b, len(s)-i+1)
	n := len(b)
	b = b[:cap(b)]
	if space && n > 0 {
		b[n] = ' '
		n++
	}
	// Every byte is written; a space only moves on when it follows
	// something else, so a run of spaces leaves one.
	prev := 0
	for i < len(s) {
		// Eight bytes at once when all they need is lower case: no
		// white space but single spaces, no ` (see foldWord).
		if i+8 <= len(s) {
			if out, last, ok := foldWord(load64(s, i), prev); ok {
				binary.LittleEndian.PutUint64(b[n:], out)
				n, i, prev = n+8, i+8, last
				continue
			}
		}
		for end := min(i+8, len(s)); i < end; i++ {
			c := tab[s[i]]
			sp := int(foldIsSpace[c])
			b[n] = foldOut[c]
			n += 1 - sp&prev
			prev = sp
		}
	}
	if prev == 1 {
		// A trailing run of spaces is only written if more follows.
		return b[:n-1], true
	}
	return b[:n], false
}

// foldWord folds eight ASCII bytes (little-endian in w) that follow a
// space when prev is 1, when nothing but case changes: every byte is at
// least ' ', none is `, and no space follows a space. It returns the bytes
// in lower case and whether the last is a space.
func foldWord(w uint64, prev int) (out uint64, last int, ok bool) {
	const ones, high, low7 = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	// The high bit of each byte of w+k*ones says whether that byte is at
	// least 0x80-k (no byte carries into the next: all are below 0x80).
	if (w+(0x80-' ')*ones)&high != high {
		return 0, 0, false // a control character: tab, line break...
	}
	zero := func(y uint64) uint64 { return ^((y&low7 + low7) | y | low7) } // 0x80 where y's byte is 0
	if zero(w^'`'*ones) != 0 {
		return 0, 0, false
	}
	sp := zero(w ^ ' '*ones)
	if sp&(sp<<8) != 0 || prev == 1 && sp&0x80 != 0 {
		return 0, 0, false // spaces to collapse
	}
	upper := (w + (0x80-'A')*ones) &^ (w + (0x80-'Z'-1)*ones) & high
	return w | upper>>2, int(sp >> 63), true
}

// foldIsSpace is 1 for foldSpace; foldOut writes it as ' '.
var foldIsSpace, foldOut = func() (sp, out [256]byte) {
	for c := range out {
		out[c] = byte(c)
	}
	sp[foldSpace], out[foldSpace] = 1, ' '
	return sp, out
}()

const foldSpace = 0xff

// foldTabASCII folds the bytes of an ASCII text; foldTabRunes folds ASCII
// characters as foldRunes does, which also turns ` into '.
var foldTabASCII, foldTabRunes = func() (a, r [256]byte) {
	for c := 0; c < utf8.RuneSelf; c++ {
		a[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			a[c] += 'a' - 'A'
		}
	}
	for _, c := range " \t\n\r\v\f" {
		a[c] = foldSpace
	}
	r = a
	r['`'] = '\''
	return a, r
}()

// foldRunesSpace appends the folded form of s, decomposed (NFD), to b,
// continuing after text that ended in white space when space is true, and
// says whether s does.
func foldRunesSpace(s string, b []byte, space bool) ([]byte, bool) {
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsSpace(r):
			space = true
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		switch r {
		case '’', '‘', '´', '`', 'ʼ':
			r = '\''
		case '–', '—', '‐', '‑', '−':
			r = '-'
		case '“', '”', '„', '«', '»':
			r = '"'
		case 'ß':
			b = append(b, "ss"...)
			continue
		case 'ø':
			r = 'o'
		case 'Ø':
			r = 'o'
		case 'æ', 'Æ':
			b = append(b, "ae"...)
			continue
		case 'œ', 'Œ':
			b = append(b, "oe"...)
			continue
		}
		b = utf8.AppendRune(b, unicode.ToLower(r))
	}
	return b, space
}

func isPlainASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 { // eight bytes at a time: one load, one test of their high bits
		if load64(s, i)&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldsToItself reports whether foldASCII(s) == s: every byte stays as it
// is, and spaces are single ' ' between other bytes.
func foldsToItself(s string) bool {
	space := true // a leading space is dropped
	for i := 0; i < len(s); i++ {
		c := foldTabASCII[s[i]]
		if foldIsSpace[c] == 1 {
			if space || s[i] != ' ' {
				return false
			}
			space = true
			continue
		}
		if foldOut[c] != s[i] {
			return false
		}
		space = false
	}
	return !space || s == ""
}

func foldASCII(s string) string {
	// foldASCIIRun asks for a byte more than s, for a space it may put
	// first; without it the slice would be made twice.
	b, _ := foldASCIIRun(make([]byte, 0, len(s)+1), s, &foldTabASCII, false)
	return bytesString(b)
}

// bytesString is string(b) without the copy, for a b that nothing writes to
// afterwards (as strings.Builder does): a folded body is as long as the
// body, and made for every message.
// load64 is s[i:i+8] as a little-endian word (the compiler makes it one
// load).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// isWordRune reports whether r continues a word: a keyword only matches
// where the text has no word rune right before and after it.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// boundaryBefore reports whether text[:i] ends outside a word.
func boundaryBefore(text string, i int) bool {
	if i == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return !isWordRune(r)
}

// boundaryAfter reports whether text[j:] starts outside a word.
func boundaryAfter(text string, j int) bool {
	if j >= len(text) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(text[j:])
	return !isWordRune(r)
}
