package classifier

import (
	"math/bits"
	"strings"
	"unicode"
)

// Stop words that tell the four languages rsvp answers in apart. Words two
// of them share ("de", "la", "que", "en", "in", "die" …) are left out of
// all but one list or out of every list, so each hit is evidence for one
// language. Words are lower case with their accents, as written.
var langStopWords = map[string]map[string]bool{
	"en": setOf(`the and to of you your for with is we would be this that are at it as will our have my if or
		can thanks thank hi hello regards best looking forward please let know just about from any all there here
		what which they their by not but hope well great could should been has had were them its i'm i'd i'll
		we're we'd you're you'd it's don't can't week next time interview call chat role`),
	"de": setOf(`und der die das ich sie ihnen wir nicht mit zu ein eine einen einem einer für ist auf dem uns ihre ihr
		gerne gern bei von vielen dank wenn auch noch oder wie wird werden haben hat sind unser unsere unserem
		unseren nach über gespräch grüße grüßen freundlichen hallo liebe lieber diese dieser dieses kann können
		würden möchten möchte bitte im zum zur sehr einen freuen freue termin termine uhr ihnen ihrer ihren
		gespräche vorstellungsgespräch bewerbung stelle passt leider schon aber dass mich mir`),
	"fr": setOf(`le les et des du vous nous pour avec une est pas qui dans sur votre vos je au aux ce cette ces mais
		sont être avoir été très bien merci bonjour cordialement entretien poste serait pourriez disponible
		disponibilités où même aussi notre nos leur il elle ne plus c'est j'ai n'hésitez d'un d'une l'équipe
		madame monsieur vous-même candidature échange souhaitez suis avons pouvez semaine prochaine heure`),
	"es": setOf(`el los las y para con una por es su sus nos usted gracias hola del al muy como más puesto
		entrevista estamos está están nuestro nuestra nuestros tiene tienes pero también sobre cuando hay ser
		equipo saludos lo mi esta este estos quería podemos puedes semana próxima disponibilidad candidatura
		hablar llamada perfil experiencia empresa estaré estás gustaría queremos podrías avísame cordial
		atentamente muchas`),
}

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// DetectLang guesses the language of text from stop-word frequency: "de",
// "fr" or "es" when that language's stop words outnumber the others',
// else "en".
func DetectLang(text string) string {
	var counts [len(langOrder)]int
	for w := range strings.FieldsFuncSeq(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\'' && r != '’' && r != '-'
	}) {
		w = strings.Trim(strings.ReplaceAll(w, "’", "'"), "'-")
		for langs := stopWordLangs[w]; langs != 0; langs &= langs - 1 {
			counts[bits.TrailingZeros8(langs)]++
		}
	}
	best, n := "en", counts[0]
	for i, lang := range langOrder[1:] {
		// Two hits at least, so a stray "und" in an English mail does not
		// switch the reply's language.
		if c := counts[i+1]; c > n && c >= 2 {
			best, n = lang, c
		}
	}
	return best
}

// langOrder is the order DetectLang weighs the languages in: English first
// (the default), then the others, each winning only with more hits.
var langOrder = [...]string{"en", "de", "fr", "es"}

// stopWordLangs has, for each stop word, a bit for each language of
// langOrder whose list holds it: one lookup a word.
var stopWordLangs = func() map[string]uint8 {
	m := map[string]uint8{}
	for i, lang := range langOrder {
		for w := range langStopWords[lang] {
			m[w] |= 1 << i
		}
	}
	return m
}()
