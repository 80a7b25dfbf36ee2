package demo

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/mailmsg"
	"github.com/rsvp-mail/rsvp/store"
)

// What the demo prints. Each block goes out in one Write, so that the
// terminal's questions never cut through it.

func intro(out io.Writer, cfg *config.Config, messages int, opts Options) {
	var b strings.Builder
	fmt.Fprintf(&b, "rsvp demo: the whole loop, on a made-up inbox.\n\n")
	fmt.Fprintf(&b, "An IMAP server inside this process holds %s for %s <%s>.\n",
		plural(messages, "message", "messages"), cfg.Me.Name, cfg.Accounts[0].Address)
	b.WriteString("The rsvp daemon watches it as it would watch your mailbox: it finds the\n" +
		"interview invitations, flags them, asks you what to do and saves each reply\n" +
		"in Drafts. Nothing leaves this process, and nothing is ever sent.\n\n")
	switch {
	case opts.Yes:
		b.WriteString("--yes: every invitation is declined, with the default reason.\n")
	case opts.Desktop:
		b.WriteString("Each invitation is asked as a desktop notification: Decline (then a\n" +
			"reason), Reschedule (the reply proposes times) or Ignore (no reply).\n" +
			"Stop with Ctrl-C.\n")
	default:
		b.WriteString("For each invitation: d declines it (then pick a reason, or Enter for none),\n" +
			"r asks for other times (the reply proposes some), i ignores it (no reply),\n" +
			"s skips it for now. End the input (Ctrl-D) to stop.\n")
	}
	io.WriteString(out, b.String())
}

func printIgnored(out io.Writer, inv store.Invitation) {
	fmt.Fprintf(out, "\n── Ignored %s: %q: no reply will be written.\n", inv.ID, inv.Subject)
}

// printDraft prints a draft as saved: the header fields a reader checks
// (decoded) and the text. When the question was not on the terminal just
// above (via says how it was put), it first says which invitation this
// answers.
func printDraft(out io.Writer, n int, inv store.Invitation, raw []byte, via string) error {
	m, err := mailmsg.Read(bytes.NewReader(raw), mailmsg.Options{})
	if err != nil {
		return fmt.Errorf("the draft for %s does not read back: %w", inv.ID, err)
	}
	var b strings.Builder
	if via != "" {
		from := inv.FromAddr
		if inv.FromName != "" {
			from = inv.FromName + " <" + inv.FromAddr + ">"
		}
		fmt.Fprintf(&b, "\nInvitation %s from %s:\n  %q\n  answered: %s (%s)\n", inv.ID, from, inv.Subject, answer(inv), via)
	}
	fmt.Fprintf(&b, "\n── Draft %d, saved in Drafts: %s, in reply to %s\n", n, answer(inv), inv.ID)
	for _, f := range []struct{ label, key string }{
		{"From", "From"}, {"To", "To"}, {"Subject", "Subject"}, {"Date", "Date"},
		{"Message-ID", "Message-Id"}, {"In-Reply-To", "In-Reply-To"}, {"References", "References"},
	} {
		for _, v := range m.HeaderText(f.key) {
			fmt.Fprintf(&b, "%s: %s\n", f.label, v)
		}
	}
	b.WriteString("\n")
	b.WriteString(strings.TrimRight(m.Text, "\n"))
	fmt.Fprintf(&b, "\n── end of draft %d\n", n)
	_, err = io.WriteString(out, b.String())
	return err
}

// answer is the decision as a reader says it: "decline (timing)".
func answer(inv store.Invitation) string {
	s := string(inv.Action)
	if inv.Reason != "" {
		s += " (" + inv.Reason + ")"
	}
	return s
}

func printSummary(out io.Writer, s *Summary) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\nSummary: %s, %s: %s written, %d ignored",
		plural(s.Messages, "message", "messages"), plural(len(s.Invitations), "invitation", "invitations"),
		plural(s.Drafted, "draft", "drafts"), s.Ignored)
	if s.Unanswered > 0 {
		fmt.Fprintf(&b, ", %d unanswered", s.Unanswered)
	}
	b.WriteString(".\n")
	if len(s.Invitations) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tANSWER\tREPLY TO\tSUBJECT")
		for _, o := range s.Invitations {
			a := string(o.Action)
			switch o.State {
			case store.StateFound, store.StateAsked:
				a = "unanswered"
			case store.StateDecided:
				a += ", no draft yet"
			}
			if o.Reason != "" {
				a += " (" + o.Reason + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", o.ID, a, o.ReplyTo, o.Subject)
		}
		tw.Flush()
	}
	switch {
	case len(s.InboxChanges) > 0:
		fmt.Fprintf(&b, "INBOX changed beyond the %s keyword (this is a bug):\n  %s\n", s.Flag, strings.Join(s.InboxChanges, "\n  "))
	case s.Flag != "":
		fmt.Fprintf(&b, "INBOX: untouched but for the %s keyword on %s; nothing marked as read.\n",
			s.Flag, plural(s.Flagged, "invitation", "invitations"))
	default:
		b.WriteString("INBOX: untouched; nothing marked as read.\n")
	}
	fmt.Fprintf(&b, "Drafts: %s to review and send from your mail client; rsvp never sends mail.\n",
		plural(s.Drafts, "reply", "replies"))
	switch {
	case s.InputEnded:
		fmt.Fprintf(&b, "The input ended with %s. The daemon would keep them:\n"+
			"rsvp pending lists them, rsvp decide ID decline|reschedule|ignore answers one.\n",
			plural(s.Unanswered, "invitation unanswered", "invitations unanswered"))
	case s.Interrupted:
		b.WriteString("Interrupted.\n")
	}
	out.Write(b.Bytes())
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
