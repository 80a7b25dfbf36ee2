package drafter

import (
	"strings"
	"unicode"
)

// Formality is how the reply addresses the recruiter in languages that make
// the choice (German Sie/du, French vous/tu, Spanish usted/tú).
type Formality int

const (
	// FormalityAuto mirrors the invitation: the reply uses the form the
	// recruiter used. With no sign either way German and French are
	// formal (Sie, vous) and Spanish informal (tú, usual in Spanish tech
	// recruiting); a recruiter who writes "usted" gets "usted".
	FormalityAuto Formality = iota
	Formal
	Informal
)

// detectFormal decides the register for lang from the recruiter's text.
func detectFormal(lang, text string) bool {
	words := strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\''
	})
	count := func(set map[string]bool, caseSensitive bool) int {
		n := 0
		for _, w := range words {
			if !caseSensitive {
				w = strings.ToLower(w)
			}
			if set[w] {
				n++
			}
		}
		return n
	}
	switch lang {
	case "de":
		// "Sie" and "Ihnen" are only formal when capitalised; "sie"
		// (they) and "ihr" (you all / her) are not.
		informal := count(deInformal, false)
		formal := count(deFormal, true)
		return informal <= formal
	case "fr":
		informal := count(frInformal, false)
		for _, w := range words {
			if strings.HasPrefix(strings.ToLower(w), "t'") {
				informal++
			}
		}
		return informal <= count(frFormal, false)
	case "es":
		if count(esUsted, false) > 0 {
			return true
		}
		informal := count(esInformal, false)
		third := count(esThird, false)
		if informal > 0 {
			return third > 2*informal
		}
		// "su candidatura", "le escribimos" with no tú at all.
		return third >= 3
	}
	return true
}

func wordSet(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

var (
	deInformal = wordSet("du", "dich", "dir", "dein", "deine", "deinen", "deinem", "deiner", "deines", "euch", "euer", "eure", "euren", "eurem", "eurer")
	deFormal   = wordSet("Sie", "Ihnen", "Ihr", "Ihre", "Ihren", "Ihrem", "Ihrer", "Ihres")
	frInformal = wordSet("tu", "te", "toi", "ton", "ta", "tes", "tien", "tienne")
	frFormal   = wordSet("vous", "votre", "vos", "vôtre")
	esUsted    = wordSet("usted", "ustedes")
	esInformal = wordSet("tú", "te", "ti", "contigo", "tu", "tus", "tuyo", "tuya", "tienes", "puedes", "quieres", "estás", "eres", "podrías", "tendrías", "cuéntame", "escríbeme", "dime", "avísame")
	esThird    = wordSet("le", "les", "su", "sus", "suyo", "suya", "podría", "puede", "tiene", "desea")
)
