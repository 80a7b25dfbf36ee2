package mailmsg

import (
	"regexp"
	"strings"
)

// FreshText returns the part of a body the sender wrote in this message: the
// quoted history of a reply (lines starting with ">", and everything after
// an "On … wrote:" attribution or an Outlook "Original Message" / "From: …
// Sent: …" block) is cut away. Classifying only fresh text keeps a
// recruiter's old "thanks for applying" in the quote from deciding a new
// invitation.
func FreshText(text string) string {
	lines := strings.Split(text, "\n")
	// While every line so far is kept, the result is a prefix of text and
	// out stays nil; the first dropped line starts the copy.
	var out []string
	kept := 0  // with out nil: text[:kept] is the result so far
	start := 0 // offset of lines[i] in text
	skip := func(i int) {
		if out == nil {
			out = append(make([]string, 0, len(lines)), lines[:i]...)
		}
	}
	for i := 0; i < len(lines); start, i = start+len(lines[i])+1, i+1 {
		line := lines[i]
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, ">") {
			skip(i)
			continue
		}
		// Each check below runs its expression only on lines that can
		// start a match: most lines of a body can start none.
		if strings.HasPrefix(trim, "--") && originalMarker.MatchString(trim) {
			break
		}
		if mayStartHeaderBlock(trim) && headerBlock(lines, i) {
			break
		}
		if mayStartAttribution(trim) && (isAttribution(trim) || (i+1 < len(lines) && isAttribution(trim+" "+strings.TrimSpace(strings.TrimLeft(lines[i+1], "> "))))) {
			if quotedFollows(lines, i+1) {
				// Skip the attribution line; the quote itself is
				// dropped line by line above, so an answer written
				// between quoted parts is kept.
				skip(i)
				if !attribution.MatchString(trim) {
					start, i = start+len(lines[i])+1, i+1
				}
				continue
			}
		}
		if out != nil {
			out = append(out, line)
		} else {
			kept = start + len(line)
		}
	}
	if out == nil {
		return strings.TrimRight(text[:kept], "\n ")
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n ")
}

// mayStartAttribution reports whether an attribution ("On … wrote:") can
// start with the trimmed line trim, alone or joined to the next by a space:
// it starts with on, am, le or el, then white space or nothing.
func mayStartAttribution(trim string) bool {
	if len(trim) < 2 {
		return false
	}
	switch a, b := trim[0]|0x20, trim[1]|0x20; {
	case a == 'o' && b == 'n', a == 'a' && b == 'm', a == 'l' && b == 'e', a == 'e' && b == 'l':
		return len(trim) == 2 || isRESpace(trim[2])
	}
	return false
}

// isAttribution is attribution.MatchString(s), which can only match a
// line that ends with a colon: most lines that start like one ("On
// Monday …") are not tried.
func isAttribution(s string) bool {
	return strings.HasSuffix(s, ":") && attribution.MatchString(s)
}

// mayStartHeaderBlock reports whether quotedFrom can match trim: after an
// optional "*", one of from, von, de, da, and a colon within the first
// seven bytes ("*from :" is the longest start it matches).
func mayStartHeaderBlock(trim string) bool {
	if strings.IndexByte(trim[:min(len(trim), 7)], ':') < 0 {
		return false
	}
	trim = strings.TrimPrefix(trim, "*")
	if trim == "" {
		return false
	}
	switch trim[0] | 0x20 {
	case 'f', 'v', 'd':
		return true
	}
	return false
}

// isRESpace is \s in Go's regular expressions.
func isRESpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// quotedFollows reports whether a quoted line comes within the next few lines.
func quotedFollows(lines []string, from int) bool {
	for j := from; j < len(lines) && j < from+3; j++ {
		if strings.HasPrefix(strings.TrimSpace(lines[j]), ">") {
			return true
		}
	}
	return false
}

// headerBlock reports whether lines[i:] starts an Outlook-style quoted
// header block: "From:" followed within two lines by "Sent:"/"Date:", in the
// languages rsvp knows.
func headerBlock(lines []string, i int) bool {
	if !quotedFrom.MatchString(strings.TrimSpace(lines[i])) {
		return false
	}
	for j := i + 1; j < len(lines) && j <= i+3; j++ {
		if quotedSent.MatchString(strings.TrimSpace(lines[j])) {
			return true
		}
	}
	return false
}

var (
	originalMarker = regexp.MustCompile(`(?i)^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado)\s*-{2,}$`)
	attribution    = regexp.MustCompile(`(?i)^(on|am|le|el)\s.{4,300}\s(wrote|schrieb|a écrit|escribió)(\s.{0,200})?\s?:$`)
	quotedFrom     = regexp.MustCompile(`(?i)^\*?(from|von|de|da)\s?:\*?\s`)
	quotedSent     = regexp.MustCompile(`(?i)^\*?(sent|date|gesendet|datum|envoyé|enviado|fecha)\s?:\*?\s`)
)
