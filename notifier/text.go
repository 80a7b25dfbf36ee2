package notifier

import (
	"fmt"
	"strings"
	"time"
)

// What a question says, shared by every backend so that a notification, a
// dialog and a terminal prompt read the same.

const (
	shortTime = "Mon 2 Jan 15:04 MST"
	longTime  = "Mon 2 Jan 2006 15:04 MST"
	// shownTimes and shownWhy bound the short form; details show all.
	shownTimes = 3
	shownWhy   = 3
)

// textOptions says how the text will be displayed.
type textOptions struct {
	// markup: the notification server renders body markup (capability
	// "body-markup"), so text is escaped and warnings are bold.
	markup bool
	// howToAnswer: there are no buttons, so say how to answer instead.
	howToAnswer bool
}

// summaryOf is the one-line title: "Interview invitation — Acme: Go
// Engineer", degrading to whichever of company and role is known, then to
// the sender.
func summaryOf(q Question) string {
	s := "Interview invitation"
	switch {
	case q.Company != "" && q.Role != "":
		s += " — " + q.Company + ": " + q.Role
	case q.Company != "":
		s += " — " + q.Company
	case q.Role != "":
		s += " — " + q.Role
	case q.FromName != "":
		s += " from " + q.FromName
	case q.FromAddr != "":
		s += " from " + q.FromAddr
	}
	if q.Reminder {
		s = "Reminder: " + s
	}
	return s
}

// decideHint tells how to answer without buttons.
func decideHint(id string) string {
	return "answer with: rsvp decide " + id + " decline|reschedule|ignore"
}

// bodyOf is the short form: sender, where the reply goes, proposed times
// and why rsvp thinks this is an invitation.
func bodyOf(q Question, o textOptions) string {
	var w textWriter
	w.markup = o.markup
	w.text("From: " + sender(q))
	w.newline()
	w.replyTo(q)
	if len(q.Times) > 0 {
		w.newline()
		w.text("Proposed: " + formatTimes(q.Times, shownTimes, shortTime))
	}
	if len(q.Why) > 0 {
		why := q.Why
		if len(why) > shownWhy {
			why = why[:shownWhy]
		}
		w.newline()
		w.text("Why: " + strings.Join(why, "; "))
	}
	if o.howToAnswer {
		w.newline()
		w.text(decideHint(q.ID))
	}
	return w.String()
}

// detailsOf is everything rsvp knows about the invitation, shown when the
// user clicks the notification's body.
func detailsOf(q Question, o textOptions) string {
	var w textWriter
	w.markup = o.markup
	if q.Subject != "" {
		w.text("Subject: " + q.Subject)
		w.newline()
	}
	w.text("From: " + sender(q))
	w.newline()
	w.replyTo(q)
	if q.Account != "" {
		w.newline()
		w.text("Account: " + q.Account)
	}
	if !q.Received.IsZero() {
		w.newline()
		w.text("Received: " + q.Received.Format(longTime))
	}
	if len(q.Times) > 0 {
		w.newline()
		w.text("Proposed times:")
		for _, t := range q.Times {
			w.newline()
			w.text("  " + t.Format(longTime))
		}
	}
	if len(q.Why) > 0 {
		w.newline()
		w.text("Why:")
		for _, why := range q.Why {
			w.newline()
			w.text("  - " + why)
		}
	}
	w.newline()
	w.text("ID: " + q.ID + " (" + decideHint(q.ID) + ")")
	return w.String()
}

// reasonBody is the text of the follow-up that asks for a decline reason.
func reasonBody(q Question, o textOptions) string {
	var w textWriter
	w.markup = o.markup
	w.text("Declining: " + strings.TrimPrefix(summaryOf(q), "Reminder: "))
	w.newline()
	w.text("Closing this declines with the default reason.")
	return w.String()
}

func sender(q Question) string {
	switch {
	case q.FromName != "" && q.FromAddr != "":
		return q.FromName + " <" + q.FromAddr + ">"
	case q.FromAddr != "":
		return q.FromAddr
	case q.FromName != "":
		return q.FromName
	}
	return "(unknown sender)"
}

// formatTimes lists up to max times and says how many more there are.
func formatTimes(ts []time.Time, max int, layout string) string {
	var parts []string
	for i, t := range ts {
		if i == max {
			parts[len(parts)-1] += fmt.Sprintf(" (+%d more)", len(ts)-max)
			break
		}
		parts = append(parts, t.Format(layout))
	}
	return strings.Join(parts, "; ")
}

// textWriter builds a body, escaping it for servers that render markup
// (the specification's subset of XML: <b>, <i>, <u>, <a>, <img>).
type textWriter struct {
	b      strings.Builder
	markup bool
}

var markupEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func (w *textWriter) text(s string) {
	if w.markup {
		s = markupEscaper.Replace(s)
	}
	w.b.WriteString(s)
}

func (w *textWriter) bold(s string) {
	if !w.markup {
		w.b.WriteString(s)
		return
	}
	w.b.WriteString("<b>" + markupEscaper.Replace(s) + "</b>")
}

func (w *textWriter) newline() { w.b.WriteByte('\n') }

func (w *textWriter) String() string { return w.b.String() }

// replyTo writes where the reply goes, loudly when that is another domain
// than the sender's: a Reply-To pointing elsewhere is how a phishing
// "recruiter" harvests answers.
func (w *textWriter) replyTo(q Question) {
	to := q.ReplyTo
	if to == "" {
		to = q.FromAddr
	}
	if to == "" {
		w.text("Reply goes to: (unknown)")
		return
	}
	if from, rt := domainOf(q.FromAddr), domainOf(to); from != "" && rt != "" && !sameOrg(from, rt) {
		w.bold(fmt.Sprintf("Reply goes to: %s — not the sender's domain (%s)!", to, from))
		return
	}
	w.text("Reply goes to: " + to)
}

func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.Trim(addr[i+1:], " <>."))
}

// sameOrg treats a subdomain as the same organisation
// (mail.acme.example and acme.example), nothing else.
func sameOrg(a, b string) bool {
	return a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a)
}
