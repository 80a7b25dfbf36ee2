package classifier

import (
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// foldReference is fold as it was first written: the whole text decomposed
// at once. fold must give exactly the same, faster.
func foldReference(s string) string {
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

// repoFiles is the text of every mail and prose file of the repository and
// the shared corpus.
func repoFiles(tb testing.TB) []string {
	var out []string
	for _, root := range []string{"..", filepath.Join("..", "..", "shared", "corpus")} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() && d.Name() == ".git" {
				return filepath.SkipDir
			}
			switch filepath.Ext(path) {
			case ".eml", ".md", ".txt", ".tmpl", ".yaml", ".json", ".go":
				if b, err := os.ReadFile(path); err == nil {
					out = append(out, string(b))
				}
			}
			return nil
		})
	}
	if len(out) < 400 {
		tb.Fatalf("only %d files found", len(out))
	}
	return out
}

// foldAlphabet has what makes decomposition hard: combining marks in and
// out of canonical order, precomposed letters, Hangul, odd spaces, the
// characters fold maps, invalid bytes.
var foldAlphabet = []string{"a", "e", "E", " ", "\t", "\n", "\r\n", "`", "'", "é", "É", "e\u0301", "\u0301", "\u0328",
	"\u0301\u0328", "\u0328\u0301", "ą\u0301", "ǻ", "ß", "ẞ", "æ", "Œ", "ø", "Ø", "’", "–", "“", "«", "\u00a0",
	"\u2003", "\u3000", "\u0085", "한", "\u1100\u1161", "ﬁ", "Å", "\u212b", "\u212a", "İ", "ı", "ſ", "Σ", "ς",
	"\u034f", "\u0345", "\xff", "\xc3", "\xe2\x82", "😀", "x", "1", "\u0300\u0300\u0300\u0300\u0300\u0300\u0300\u0300"}

func randomFoldText(rnd *rand.Rand) string {
	var b strings.Builder
	for n := rnd.Intn(60); n > 0; n-- {
		b.WriteString(foldAlphabet[rnd.Intn(len(foldAlphabet))])
	}
	return b.String()
}

func TestFoldMatchesReference(t *testing.T) {
	t.Parallel()
	check := func(s string) {
		if got, want := fold(s), foldReference(s); got != want {
			t.Fatalf("fold(%q) = %q, want %q", s, got, want)
		}
	}
	for _, s := range repoFiles(t) {
		check(s)
		check(strings.ToUpper(s))
	}
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < 100000; i++ {
		check(randomFoldText(rnd))
	}
	// Long runs of combining marks (stream-safe text inserts CGJ).
	check("a" + strings.Repeat("\u0301", 100) + "b")
	check(strings.Repeat("é\u0301", 100))
}

func FuzzFold(f *testing.F) {
	rnd := rand.New(rand.NewSource(2))
	for i := 0; i < 20; i++ {
		f.Add(randomFoldText(rnd))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := fold(s), foldReference(s); got != want {
			t.Fatalf("fold(%q) = %q, want %q", s, got, want)
		}
	})
}

func TestIsPlainASCII(t *testing.T) {
	for n := 0; n <= 20; n++ {
		ascii := strings.Repeat("a", n)
		if !isPlainASCII(ascii) {
			t.Errorf("%q: not plain ASCII", ascii)
		}
		for at := 0; at < n; at++ {
			for _, c := range []byte{0x80, 0xc3, 0xff} {
				b := []byte(ascii)
				b[at] = c
				if isPlainASCII(string(b)) {
					t.Errorf("%q: plain ASCII", b)
				}
			}
		}
	}
}

// TestFoldWordsOfEightBytes tries the eight-byte path of foldASCIIRun on
// the bytes at the edges of its tests: around 'A' and 'Z', space and the
// control characters, `, DEL, runs of spaces across the eight bytes.
func TestFoldWordsOfEightBytes(t *testing.T) {
	alphabet := []byte("aAzZ@[`{ \t\n\x1f\x7f0~_-é")
	rnd := rand.New(rand.NewSource(5))
	for k := 0; k < 200000; k++ {
		b := make([]byte, 1+rnd.Intn(30))
		for i := range b {
			b[i] = alphabet[rnd.Intn(len(alphabet)-1)] // é (2 bytes) is the last; only sometimes
			if rnd.Intn(50) == 0 {
				b[i] = byte(rnd.Intn(128))
			}
		}
		s := string(b)
		if rnd.Intn(20) == 0 {
			s = "é" + s
		}
		if got, want := fold(s), foldReference(s); got != want {
			t.Fatalf("fold(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestFoldOfFoldedASCII covers fold's shortcut for ASCII that folds to
// itself: every string of up to five bytes from an alphabet that has each
// kind of byte the shortcut looks at, against the reference.
func TestFoldOfFoldedASCII(t *testing.T) {
	const alphabet = "aZ -\t\n`'1\x00"
	var walk func(s string)
	walk = func(s string) {
		if got, want := fold(s), foldReference(s); got != want {
			t.Fatalf("fold(%q) = %q, want %q", s, got, want)
		}
		if len(s) == 5 {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			walk(s + alphabet[i:i+1])
		}
	}
	walk("")
	if n := testing.AllocsPerRun(100, func() { fold("interview on monday - 10:30") }); n != 0 {
		t.Errorf("fold of a folded ASCII text allocates %v times, want 0", n)
	}
}

// TestFoldRuneByRune covers foldRuneTab: every rune in its ranges, with
// and without a table entry, alone and next to ASCII, white space, marks
// that reorder or compose, and other runes of the ranges, against the
// reference.
func TestFoldRuneByRune(t *testing.T) {
	var runes []rune
	for r := rune(utf8.RuneSelf); r < foldRunesLow; r++ {
		runes = append(runes, r)
	}
	for r := rune(foldPunctLow); r < foldPunctHigh; r++ {
		runes = append(runes, r)
	}
	known := 0
	for i, r := range runes {
		if foldRune(r) != "" {
			known++
		}
		o := runes[(i*7+3)%len(runes)]
		for _, s := range []string{
			string(r), "a" + string(r) + "b", "A " + string(r) + " B", string(r) + string(o) + string(r),
			string(r) + "\u0301", string(r) + "\u0327\u0301", "e\u0301" + string(r), string(r) + "\u00a0" + string(o),
			"\u0301" + string(r), string(r) + "\u0345\u0301", string(r) + "\u3099",
		} {
			if got, want := fold(s), foldReference(s); got != want {
				t.Errorf("fold(%q) = %q, want %q", s, got, want)
			}
		}
	}
	if known < len(runes)/2 {
		t.Errorf("only %d of %d runes have a table entry", known, len(runes))
	}
	for _, r := range "éÉüßæŒ’—“…" {
		if foldRune(r) == "" {
			t.Errorf("%q has no table entry", r)
		}
	}
	for _, r := range "\u00a0\u2003\u0301" {
		if foldRune(r) != "" {
			t.Errorf("%q has a table entry, want none (white space, a mark)", r)
		}
	}
}
