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
	out := make([]string, 0, len(lines))
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, ">") {
			continue
		}
		if originalMarker.MatchString(trim) {
			break
		}
		if headerBlock(lines, i) {
			break
		}
		if attribution.MatchString(trim) || (i+1 < len(lines) && attribution.MatchString(trim+" "+strings.TrimSpace(strings.TrimLeft(lines[i+1], "> ")))) {
			if quotedFollows(lines, i+1) {
				// Skip the attribution line; the quote itself is
				// dropped line by line above, so an answer written
				// between quoted parts is kept.
				if !attribution.MatchString(trim) {
					i++
				}
				continue
			}
		}
		out = append(out, line)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n ")
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
