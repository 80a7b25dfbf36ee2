package demo

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/internal/testserver/dbusnotify"
	"github.com/rsvp-mail/rsvp/store"
)

// TestDesktopQuestionsAreAnsweredByClicks answers on a notification server
// of a private session bus: Decline with the first reason, Reschedule, then
// Ignore for the rest. Stdin ends at once, which must not end a desktop
// demo.
func TestDemoDesktopQuestionsAreAnsweredByClicks(t *testing.T) {
	bus := dbusnotify.StartBus(t)
	ns := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	m := loadInbox(t)

	var out, logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan struct{})
	var sum *Summary
	var err error
	go func() {
		defer close(done)
		sum, err = Run(ctx, Options{Desktop: true, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &logs})
	}()

	// Click through the notifications as they come: questions (decline:ID
	// ...) in the order asked, and the reason follow-up.
	var order []string // question IDs, in the order first shown
	handled := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
			continue
		case <-time.After(20 * time.Millisecond):
		}
		calls := ns.Notifications()
		for ; handled < len(calls); handled++ {
			n := calls[handled]
			keys := n.ActionKeys()
			var id, reason string
			for _, k := range keys {
				if after, ok := strings.CutPrefix(k, "decline:"); ok {
					id = after
				}
				if strings.HasPrefix(k, "reason-1:") {
					reason = k
				}
			}
			var click string
			switch {
			case reason != "":
				click = reason
			case id != "" && !slices.Contains(order, id):
				order = append(order, id)
				switch len(order) {
				case 1:
					click = "decline:" + id
				case 2:
					click = "reschedule:" + id
				default:
					click = "ignore:" + id
				}
			default:
				continue
			}
			if err := ns.Invoke(n.ID, click); err != nil {
				t.Errorf("click %s on %d: %v", click, n.ID, err)
			}
		}
	}
	if err != nil {
		t.Fatalf("Run = %v\n%s\n%s", err, out.String(), logs.String())
	}
	if logs.Len() > 0 {
		t.Errorf("logged:\n%s", logs.String())
	}
	if len(order) != m.invites || sum.InputEnded || sum.Unanswered != 0 {
		t.Fatalf("%d questions shown, InputEnded %v, %d unanswered; want %d shown and all answered:\n%s",
			len(order), sum.InputEnded, sum.Unanswered, m.invites, out.String())
	}
	byID := map[string]Outcome{}
	for _, o := range sum.Invitations {
		byID[o.ID] = o
	}
	for i, id := range order {
		o := byID[id]
		want := Outcome{State: store.StateIgnored, Action: store.ActionIgnore}
		switch i {
		case 0:
			want = Outcome{State: store.StateDrafted, Action: store.ActionDecline, Reason: "timing"}
		case 1:
			want = Outcome{State: store.StateDrafted, Action: store.ActionReschedule}
		}
		if o.State != want.State || o.Action != want.Action || o.Reason != want.Reason {
			t.Errorf("question %d (%s): %s %s %q, want %s %s %q", i+1, id, o.State, o.Action, o.Reason, want.State, want.Action, want.Reason)
		}
	}
	for _, want := range []string{
		"Invitation " + order[0] + ":",
		"asked on the desktop",
		"answered: decline (timing) (on the desktop)",
		"answered: reschedule (on the desktop)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, n := range ns.Notifications() {
		if ns.IsOpen(n.ID) {
			t.Errorf("notification %d %q is left on screen", n.ID, n.Summary)
		}
	}
}

func TestDemoDesktopFallsBackToTheTerminal(t *testing.T) {
	for _, tc := range []struct {
		name, say string
		setup     func(t *testing.T)
	}{
		{"no notification server on the bus", "No notification server answers on the desktop: asking here instead.",
			func(t *testing.T) { t.Setenv("DBUS_SESSION_BUS_ADDRESS", dbusnotify.StartBus(t).Address) }},
		{"no session bus", "No desktop session to show notifications on",
			func(t *testing.T) {
				t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
				t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup(t)
			m := loadInbox(t)
			sum, out := runDemo(t, Options{Desktop: true, Stdin: strings.NewReader("d\n\nr\n" + strings.Repeat("i\n", m.invites-2))})
			if !strings.Contains(out, tc.say) {
				t.Errorf("output does not say %q:\n%s", tc.say, out)
			}
			if got, want := summaryCounts(t, out), [5]int{len(m.seeds), m.invites, 2, m.invites - 2, 0}; got != want || sum.Drafts != 2 {
				t.Errorf("summary (messages, invitations, drafts, ignored, unanswered) = %v, %d in Drafts; want %v, 2", got, sum.Drafts, want)
			}
		})
	}
}
