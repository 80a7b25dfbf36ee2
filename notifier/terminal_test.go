package notifier_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/rsvp-mail/rsvp/notifier"
)

func startTerminal(t *testing.T, in io.Reader, reasons []string) (*notifier.Terminal, *logBuffer) {
	t.Helper()
	out := &logBuffer{} // a writer safe to read while the terminal writes
	term := notifier.NewTerminal(notifier.TerminalOptions{In: in, Out: out, Reasons: reasons})
	t.Cleanup(func() {
		term.Close()
		if t.Failed() {
			t.Logf("terminal output:\n%s", out)
		}
	})
	return term, out
}

func TestTerminalAsksInOrder(t *testing.T) {
	reasons := []string{"I accepted another offer", "The timing is not right"}
	// first111: a typo, then decline with reason 2; second22: reschedule;
	// third333: skipped; fourth44: the input ends.
	in := strings.NewReader("x\nd\n7\n2\nreschedule\ns\n")
	term, out := startTerminal(t, in, reasons)
	for _, id := range []string{"first111", "second22", "third333", "fourth44"} {
		ask(t, term, sampleQuestion(id))
	}
	wantAnswer(t, term, notifier.Answer{ID: "first111", Action: "decline", Reason: reasons[1]})
	wantAnswer(t, term, notifier.Answer{ID: "second22", Action: "reschedule"})
	waitUntil(t, "the fourth question", func() bool { return strings.Contains(out.String(), "ID: fourth44") }, out.String)
	noAnswer(t, term)

	got := out.String()
	for _, want := range []string{
		"Interview invitation — Acme: Go Engineer\nFrom: Jane Doe <jane@acme.example>\nReply goes to: jane@acme.example\n" +
			"Proposed: Thu 5 Mar 14:00 UTC; Fri 6 Mar 10:30 UTC\nWhy: asks for a call; names a role; recruiter signature\nID: first111\n",
		"[d]ecline, [r]eschedule, [i]gnore, [s]kip? Please answer d, r, i or s.\n",
		"Reason for declining?\n  0) No reason / default\n  1) I accepted another offer\n  2) The timing is not right\n",
		"Reason [0]: Please choose 0 to 2.\nReason [0]: ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// After the end of input, asking still succeeds: the question stays
	// pending for the caller.
	ask(t, term, sampleQuestion("fifth555"))
}

func TestTerminalDeclineWithoutReasonsAsksNoReason(t *testing.T) {
	term, out := startTerminal(t, strings.NewReader("D\n"), nil)
	ask(t, term, sampleQuestion(qid))
	wantAnswer(t, term, notifier.Answer{ID: qid, Action: "decline"})
	if strings.Contains(out.String(), "Reason") {
		t.Errorf("asked for a reason with none configured:\n%s", out)
	}
}

func TestTerminalWithdraw(t *testing.T) {
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	term, out := startTerminal(t, pr, []string{"timing"})
	ask(t, term, sampleQuestion("first111"))
	ask(t, term, sampleQuestion("second22"))
	ask(t, term, sampleQuestion("third333"))
	waitUntil(t, "the first question", func() bool { return strings.Contains(out.String(), "ID: first111") }, out.String)

	if err := term.Withdraw(bg, "second22"); err != nil { // queued
		t.Fatal(err)
	}
	if err := term.Withdraw(bg, "first111"); err != nil { // on screen
		t.Fatal(err)
	}
	waitUntil(t, "the third question", func() bool { return strings.Contains(out.String(), "ID: third333") }, out.String)
	if _, err := io.WriteString(pw, "i\n"); err != nil {
		t.Fatal(err)
	}
	wantAnswer(t, term, notifier.Answer{ID: "third333", Action: "ignore"})
	if got := out.String(); !strings.Contains(got, "(first111 was answered elsewhere)") || strings.Contains(got, "second22") {
		t.Errorf("output:\n%s\nwant first111 taken back and second22 never shown", got)
	}
}

func TestTerminalAlertPrints(t *testing.T) {
	out := &logBuffer{}
	term := notifier.NewTerminal(notifier.TerminalOptions{In: strings.NewReader(""), Out: out})
	defer term.Close()
	if err := term.Alert(context.Background(), "rsvp: sign in again", "run rsvp auth"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "rsvp: sign in again\nrun rsvp auth\n") {
		t.Errorf("printed %q", out.String())
	}
}
