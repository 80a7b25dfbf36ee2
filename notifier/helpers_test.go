package notifier_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/internal/syncbuf"
	"github.com/rsvp-mail/rsvp/notifier"
)

// waitLimit bounds every wait for something that should happen; a test
// that reaches it has failed, so it is generous for a loaded machine.
const waitLimit = 15 * time.Second

// quietWindow is how long a test watches for something that must not
// happen (an answer to a forged click). Tests that can also prove the
// absence by ordering do so; the window only adds to that.
const quietWindow = 200 * time.Millisecond

func sampleQuestion(id string) notifier.Question {
	return notifier.Question{
		ID:       id,
		Account:  "work",
		Company:  "Acme",
		Role:     "Go Engineer",
		FromName: "Jane Doe",
		FromAddr: "jane@acme.example",
		ReplyTo:  "jane@acme.example",
		Subject:  "Quick chat about a Go role?",
		Received: time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC),
		Times: []time.Time{
			time.Date(2026, 3, 5, 14, 0, 0, 0, time.UTC),
			time.Date(2026, 3, 6, 10, 30, 0, 0, time.UTC),
		},
		Why: []string{"asks for a call", "names a role", "recruiter signature", "mentions salary"},
	}
}

// nextAnswer waits for the next answer.
func nextAnswer(t *testing.T, n notifier.Notifier) notifier.Answer {
	t.Helper()
	select {
	case a, ok := <-n.Answers():
		if !ok {
			t.Fatal("Answers() closed, want an answer")
		}
		return a
	case <-time.After(waitLimit):
		t.Fatalf("no answer within %v", waitLimit)
	}
	return notifier.Answer{}
}

// noAnswer fails if an answer arrives within quietWindow.
func noAnswer(t *testing.T, n notifier.Notifier) {
	t.Helper()
	select {
	case a := <-n.Answers():
		t.Fatalf("got answer %+v, want none", a)
	case <-time.After(quietWindow):
	}
}

// logBuffer collects what a notifier logs.
type logBuffer struct{ syncbuf.Buffer }

// Count returns how many logged lines contain s.
func (l *logBuffer) Count(s string) int {
	n := 0
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// waitLog waits until a logged line contains s.
func (l *logBuffer) waitLog(t *testing.T, s string) {
	t.Helper()
	waitUntil(t, "log line containing "+s, func() bool { return l.Count(s) > 0 }, l.String)
}

func newLogger() (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// waitUntil polls cond until it holds, failing after waitLimit with what
// state() says.
func waitUntil(t *testing.T, what string, cond func() bool, state func() string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; state:\n%s", waitLimit, what, state())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var bg = context.Background()
