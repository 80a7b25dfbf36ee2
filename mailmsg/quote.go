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
	// The text is walked line by line (the lines of strings.Split(text,
	// "\n")): line starts at at, and the next at next. While every line
	// so far is kept, out is nil and the result is the prefix
	// text[:kept]; the first dropped line starts out, a copy of the kept
	// lines joined by "\n" (lines of them).
	var out []byte
	kept, lines := 0, 0
	skip := func(at int) {
		if out == nil {
			out = make([]byte, 0, len(text))
			if at > 0 {
				out, lines = append(out, text[:at-1]...), 1
			}
		}
	}
	for at := 0; at <= len(text); {
		line, next := lineAt(text, at)
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, ">") {
			skip(at)
			at = next
			continue
		}
		// Each check below runs its expression only on lines that can
		// start a match: most lines of a body can start none.
		if strings.HasPrefix(trim, "--") && originalMarker.MatchString(trim) {
			break
		}
		if mayStartHeaderBlock(trim) && headerBlock(text, trim, next) {
			break
		}
		if mayStartAttribution(trim) && (isAttribution(trim) || (next <= len(text) && isAttribution(trim+" "+strings.TrimSpace(strings.TrimLeft(firstLine(text, next), "> "))))) {
			if quotedFollows(text, next) {
				// Skip the attribution line; the quote itself is
				// dropped line by line above, so an answer written
				// between quoted parts is kept.
				skip(at)
				if !attribution.MatchString(trim) {
					_, next = lineAt(text, next) // the attribution's second line
				}
				at = next
				continue
			}
		}
		if out != nil {
			if lines > 0 {
				out = append(out, '\n')
			}
			out, lines = append(out, line...), lines+1
		} else {
			kept = at + len(line)
		}
		at = next
	}
	if out == nil {
		return strings.TrimRight(text[:kept], "\n ")
	}
	return strings.TrimRight(string(out), "\n ")
}

// lineAt is the line of text that starts at offset at (at most len(text))
// and where the next one starts: after its "\n", or past the end.
func lineAt(text string, at int) (line string, next int) {
	if i := strings.IndexByte(text[at:], '\n'); i >= 0 {
		return text[at : at+i], at + i + 1
	}
	return text[at:], len(text) + 1
}

// firstLine is the line of text that starts at offset at.
func firstLine(text string, at int) string {
	line, _ := lineAt(text, at)
	return line
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

// quotedFollows reports whether a quoted line comes within the three lines
// of text from offset at.
func quotedFollows(text string, at int) bool {
	for j := 0; j < 3 && at <= len(text); j++ {
		line, next := lineAt(text, at)
		if strings.HasPrefix(strings.TrimSpace(line), ">") {
			return true
		}
		at = next
	}
	return false
}

// headerBlock reports whether the line trim (trimmed), followed by the
// lines of text from offset at, starts an Outlook-style quoted header
// block: "From:" followed within three lines by "Sent:"/"Date:", in the
// languages rsvp knows.
func headerBlock(text, trim string, at int) bool {
	if !quotedFrom.MatchString(trim) {
		return false
	}
	for j := 0; j < 3 && at <= len(text); j++ {
		line, next := lineAt(text, at)
		if quotedSent.MatchString(strings.TrimSpace(line)) {
			return true
		}
		at = next
	}
	return false
}

var (
	originalMarker = regexp.MustCompile(`(?i)^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado)\s*-{2,}$`)
	attribution    = regexp.MustCompile(`(?i)^(on|am|le|el)\s.{4,300}\s(wrote|schrieb|a écrit|escribió)(\s.{0,200})?\s?:$`)
	quotedFrom     = regexp.MustCompile(`(?i)^\*?(from|von|de|da)\s?:\*?\s`)
	quotedSent     = regexp.MustCompile(`(?i)^\*?(sent|date|gesendet|datum|envoyé|enviado|fecha)\s?:\*?\s`)
)
