package classifier

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// fold puts text and keywords into one comparable form, so a keyword list
// matches regardless of case, accents, typographic quotes and dashes, or line
// breaks inside a phrase: lower case, diacritics removed ("Gespräch" and
// "Gesprach", "entrevista" and "entrevísta" match alike), ’ and ‘ as ', – and
// — as -, and every run of white space as one space.
func fold(s string) string {
	if isPlainASCII(s) {
		return foldASCII(s)
	}
	s = norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsSpace(r):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
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
			b.WriteString("ss")
			continue
		case 'ø':
			r = 'o'
		case 'Ø':
			r = 'o'
		case 'æ', 'Æ':
			b.WriteString("ae")
			continue
		case 'œ', 'Œ':
			b.WriteString("oe")
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func foldASCII(s string) string {
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			space = true
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
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
