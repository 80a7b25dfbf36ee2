package notifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/rsvp-mail/rsvp/internal/testserver/dbusnotify"
	"github.com/rsvp-mail/rsvp/notifier"
)

const qid = "k3v7qzxa"

// startDesktop starts a Desktop on bus. Without opts.Conn it finds the bus
// the way the daemon does, through DBUS_SESSION_BUS_ADDRESS.
func startDesktop(t *testing.T, bus *dbusnotify.Bus, opts notifier.DesktopOptions) (*notifier.Desktop, *logBuffer) {
	t.Helper()
	if opts.Conn == nil {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	}
	logger, lb := newLogger()
	opts.Logger = logger
	d, err := notifier.NewDesktop(bg, opts)
	if err != nil {
		t.Fatalf("NewDesktop: %v", err)
	}
	t.Cleanup(func() {
		d.Close()
		if t.Failed() {
			t.Logf("notifier log:\n%s", lb.String())
		}
	})
	return d, lb
}

func ask(t *testing.T, n notifier.Notifier, q notifier.Question) {
	t.Helper()
	if err := n.Ask(bg, q); err != nil {
		t.Fatalf("Ask(%s) = %v, want nil", q.ID, err)
	}
}

func invoke(t *testing.T, srv *dbusnotify.Server, id uint32, key string) {
	t.Helper()
	if err := srv.Invoke(id, key); err != nil {
		t.Fatalf("Invoke(%d, %q): %v", id, key, err)
	}
}

func wantAnswer(t *testing.T, n notifier.Notifier, want notifier.Answer) {
	t.Helper()
	if got := nextAnswer(t, n); got != want {
		t.Fatalf("answer = %+v, want %+v", got, want)
	}
}

func questionActions(id string) []string {
	return []string{
		"decline:" + id, "Decline",
		"reschedule:" + id, "Reschedule",
		"ignore:" + id, "Ignore",
		"default", "Details",
	}
}

func TestDesktopShowsTheQuestionAndEachButtonAnswers(t *testing.T) {
	for _, action := range []string{"decline", "reschedule", "ignore"} {
		t.Run("clicking "+action+" answers "+action, func(t *testing.T) {
			bus := dbusnotify.StartBus(t)
			srv := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
			d, _ := startDesktop(t, bus, notifier.DesktopOptions{})

			q := sampleQuestion(qid)
			q.ReplyTo = "talent@recruit-fast.example"
			ask(t, d, q)
			n := srv.WaitNotify(t, 1)

			if n.App != "rsvp" || n.ReplacesID != 0 || n.Expire != 0 {
				t.Errorf("Notify app=%q replaces_id=%d expire=%d, want rsvp, 0, 0 (never expires)", n.App, n.ReplacesID, n.Expire)
			}
			if want := "Interview invitation — Acme: Go Engineer"; n.Summary != want {
				t.Errorf("summary = %q, want %q", n.Summary, want)
			}
			// The default server renders markup: the body is escaped and the
			// Reply-To to another domain is bold.
			wantBody := "From: Jane Doe &lt;jane@acme.example&gt;\n" +
				"<b>Reply goes to: talent@recruit-fast.example — not the sender's domain (acme.example)!</b>\n" +
				"Proposed: Thu 5 Mar 14:00 UTC; Fri 6 Mar 10:30 UTC\n" +
				"Why: asks for a call; names a role; recruiter signature"
			if n.Body != wantBody {
				t.Errorf("body =\n%s\nwant\n%s", n.Body, wantBody)
			}
			if want := questionActions(qid); !slices.Equal(n.Actions, want) {
				t.Errorf("actions = %q, want %q", n.Actions, want)
			}
			if n.Hint("resident") != true || n.Hint("urgency") != byte(1) || n.Hint("category") != "email.arrived" {
				t.Errorf("hints = %v, want resident=true, urgency=byte 1, category=email.arrived", n.Hints)
			}

			invoke(t, srv, n.ID, action+":"+qid)
			wantAnswer(t, d, notifier.Answer{ID: qid, Action: action})
			// Resident notifications stay after a click: rsvp closes it.
			srv.WaitClosed(t, n.ID)
		})
	}
}

func TestDesktopDetailsKeepTheQuestionOpen(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts dbusnotify.ServerOptions
	}{
		{"on a server that keeps resident notifications", dbusnotify.ServerOptions{}},
		{"on a server that closes every notification after a click", dbusnotify.ServerOptions{IgnoreResident: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := dbusnotify.StartBus(t)
			srv := dbusnotify.StartServer(t, bus, tc.opts)
			d, _ := startDesktop(t, bus, notifier.DesktopOptions{})

			ask(t, d, sampleQuestion(qid))
			n1 := srv.WaitNotify(t, 1)
			invoke(t, srv, n1.ID, "default")

			n2 := srv.WaitNotify(t, 2)
			if n2.ID == n1.ID || n2.Summary != n1.Summary {
				t.Errorf("details: id %d summary %q, want a new notification titled %q", n2.ID, n2.Summary, n1.Summary)
			}
			for _, want := range []string{
				"Subject: Quick chat about a Go role?",
				"From: Jane Doe &lt;jane@acme.example&gt;",
				"Reply goes to: jane@acme.example",
				"Account: work",
				"Received: Mon 2 Mar 2026 09:15 UTC",
				"  Thu 5 Mar 2026 14:00 UTC\n  Fri 6 Mar 2026 10:30 UTC",
				"  - asks for a call\n  - names a role\n  - recruiter signature\n  - mentions salary",
				"ID: " + qid,
			} {
				if !strings.Contains(n2.Body, want) {
					t.Errorf("details body lacks %q:\n%s", want, n2.Body)
				}
			}
			if !slices.Equal(n2.Actions, n1.Actions) {
				t.Errorf("details actions = %q, want the question's %q", n2.Actions, n1.Actions)
			}
			waitUntil(t, "the question's first notification to close", func() bool { return !srv.IsOpen(n1.ID) }, func() string { return "" })

			// No answer came from the click on the body: the first answer
			// is the one given on the details.
			invoke(t, srv, n2.ID, "reschedule:"+qid)
			wantAnswer(t, d, notifier.Answer{ID: qid, Action: "reschedule"})
		})
	}
}

func TestDesktopAsksForADeclineReason(t *testing.T) {
	reasons := []string{"I accepted another offer", "The timing is not right"}
	for _, tc := range []struct {
		name       string
		opts       dbusnotify.ServerOptions
		close      bool   // dismiss the follow-up instead of clicking
		key        string // clicked on the follow-up
		wantReason string
	}{
		{name: "a chosen reason is the answer's reason", key: "reason-2:" + qid, wantReason: reasons[1]},
		{name: "no reason / default gives the default", key: "reason-0:" + qid, wantReason: ""},
		{name: "closing the follow-up declines with the default reason", close: true, wantReason: ""},
		{name: "a server that closes notifications after a click still gets the reason",
			opts: dbusnotify.ServerOptions{IgnoreResident: true}, key: "reason-1:" + qid, wantReason: reasons[0]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := dbusnotify.StartBus(t)
			srv := dbusnotify.StartServer(t, bus, tc.opts)
			d, _ := startDesktop(t, bus, notifier.DesktopOptions{Reasons: reasons})

			ask(t, d, sampleQuestion(qid))
			n1 := srv.WaitNotify(t, 1)
			invoke(t, srv, n1.ID, "decline:"+qid)

			n2 := srv.WaitNotify(t, 2)
			if n2.Summary != "Reason for declining?" {
				t.Errorf("follow-up summary = %q, want %q", n2.Summary, "Reason for declining?")
			}
			wantActions := []string{
				"reason-0:" + qid, "No reason / default",
				"reason-1:" + qid, reasons[0],
				"reason-2:" + qid, reasons[1],
			}
			if !slices.Equal(n2.Actions, wantActions) {
				t.Errorf("follow-up actions = %q, want %q", n2.Actions, wantActions)
			}
			if !strings.Contains(n2.Body, "Acme: Go Engineer") {
				t.Errorf("follow-up body %q does not say which invitation", n2.Body)
			}
			waitUntil(t, "the question to close", func() bool { return !srv.IsOpen(n1.ID) }, func() string { return "" })

			if tc.close {
				if err := srv.Close(n2.ID, dbusnotify.ClosedDismissed); err != nil {
					t.Fatal(err)
				}
			} else {
				invoke(t, srv, n2.ID, tc.key)
			}
			wantAnswer(t, d, notifier.Answer{ID: qid, Action: "decline", Reason: tc.wantReason})
		})
	}
}

// sendSignal sends a signal from conn, to dest when it is not "" (a
// unicast signal reaches dest whatever its match rules).
func sendSignal(t *testing.T, conn *dbus.Conn, dest string, path dbus.ObjectPath, iface, member string, body ...any) {
	t.Helper()
	msg := &dbus.Message{
		Type: dbus.TypeSignal,
		Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldPath:      dbus.MakeVariant(path),
			dbus.FieldInterface: dbus.MakeVariant(iface),
			dbus.FieldMember:    dbus.MakeVariant(member),
			dbus.FieldSignature: dbus.MakeVariant(dbus.SignatureOf(body...)),
		},
		Body: body,
	}
	if dest != "" {
		msg.Headers[dbus.FieldDestination] = dbus.MakeVariant(dest)
	}
	if call := conn.Send(msg, nil); call.Err != nil {
		t.Fatalf("send %s.%s: %v", iface, member, call.Err)
	}
}

func TestDesktopIgnoresForgedSignals(t *testing.T) {
	bus := dbusnotify.StartBus(t)
	srv := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
	conn := bus.Connect(t)
	d, lb := startDesktop(t, bus, notifier.DesktopOptions{Conn: conn})
	ask(t, d, sampleQuestion(qid))
	n := srv.WaitNotify(t, 1)

	forger := bus.Connect(t)
	me := conn.Names()[0]
	// A click forged by another program, broadcast and sent straight to rsvp.
	if err := forger.Emit(dbusnotify.Path, dbusnotify.Interface+".ActionInvoked", n.ID, "decline:"+qid); err != nil {
		t.Fatal(err)
	}
	sendSignal(t, forger, me, dbusnotify.Path, dbusnotify.Interface, "ActionInvoked", n.ID, "decline:"+qid)
	// A forged "the notification server is now me", then a click.
	sendSignal(t, forger, me, "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged",
		dbusnotify.BusName, srv.Name, forger.Names()[0])
	sendSignal(t, forger, me, dbusnotify.Path, dbusnotify.Interface, "ActionInvoked", n.ID, "reschedule:"+qid)
	sendSignal(t, forger, me, dbusnotify.Path, dbusnotify.Interface, "NotificationClosed", n.ID, dbusnotify.ClosedDismissed)
	// Messages from one sender arrive in order: once rsvp's connection
	// answers a ping, it has received every forged signal.
	if err := forger.Object(me, "/").Call("org.freedesktop.DBus.Peer.Ping", 0).Err; err != nil {
		t.Fatalf("ping rsvp's connection: %v", err)
	}
	noAnswer(t, d)
	if !srv.IsOpen(n.ID) {
		t.Error("the question was closed by forged signals")
	}

	// The real click still answers, and is the first answer.
	invoke(t, srv, n.ID, "ignore:"+qid)
	wantAnswer(t, d, notifier.Answer{ID: qid, Action: "ignore"})
	if got := lb.Count("does not come from the notification server"); got < 3 {
		t.Errorf("logged %d ignored signals, want at least 3 (the forged click, the unicast one, the one after a forged owner change)", got)
	}
}

func TestDesktopWithoutServerIsUnavailableAndLogsOncePerOutage(t *testing.T) {
	bus := dbusnotify.StartBus(t)
	d, lb := startDesktop(t, bus, notifier.DesktopOptions{})
	const outageLog = "no notification server"

	for i := range 3 {
		err := d.Ask(bg, sampleQuestion(qid))
		if !errors.Is(err, notifier.ErrUnavailable) {
			t.Fatalf("Ask #%d with no server = %v, want ErrUnavailable", i+1, err)
		}
	}
	if got := lb.Count(outageLog); got != 1 {
		t.Fatalf("after 3 failed Asks logged %q %d times, want once:\n%s", outageLog, got, lb)
	}

	srv := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
	ask(t, d, sampleQuestion(qid))
	n := srv.WaitNotify(t, 1)
	invoke(t, srv, n.ID, "ignore:"+qid)
	wantAnswer(t, d, notifier.Answer{ID: qid, Action: "ignore"})
	if got := len(srv.Notifications()); got != 1 {
		t.Errorf("server got %d Notify calls, want 1:\n%v", got, srv.Notifications())
	}

	// A second outage is logged again, once.
	srv.Stop()
	for _, id := range []string{"second2a", "second2b"} {
		if err := d.Ask(bg, sampleQuestion(id)); !errors.Is(err, notifier.ErrUnavailable) {
			t.Fatalf("Ask after the server stopped = %v, want ErrUnavailable", err)
		}
	}
	if got := lb.Count(outageLog); got != 2 {
		t.Fatalf("after a second outage logged %q %d times, want 2:\n%s", outageLog, got, lb)
	}
}

func TestDesktopShowsOpenQuestionsOnANewServer(t *testing.T) {
	bus := dbusnotify.StartBus(t)
	srvA := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
	d, _ := startDesktop(t, bus, notifier.DesktopOptions{})

	ask(t, d, sampleQuestion(qid))
	ask(t, d, sampleQuestion("answered"))
	a1 := srvA.WaitNotify(t, 1)
	a2 := srvA.WaitNotify(t, 2)
	invoke(t, srvA, a2.ID, "ignore:answered")
	wantAnswer(t, d, notifier.Answer{ID: "answered", Action: "ignore"})

	srvA.Stop()
	srvB := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
	b1 := srvB.WaitNotify(t, 1)
	if b1.Summary != a1.Summary || b1.Body != a1.Body || !slices.Equal(b1.Actions, a1.Actions) || b1.ReplacesID != 0 {
		t.Errorf("shown again as %+v, want the first server's %+v with replaces_id 0", b1, a1)
	}
	invoke(t, srvB, b1.ID, "decline:"+qid)
	wantAnswer(t, d, notifier.Answer{ID: qid, Action: "decline"})
	if got := srvB.Notifications(); len(got) != 1 {
		t.Errorf("new server got %d Notify calls, want 1 (the answered question stays answered):\n%+v", len(got), got)
	}
}

func TestDesktopWithoutActionsSaysHowToAnswer(t *testing.T) {
	bus := dbusnotify.StartBus(t)
	srv := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{Capabilities: []string{"body"}})
	d, _ := startDesktop(t, bus, notifier.DesktopOptions{})

	ask(t, d, sampleQuestion(qid))
	n := srv.WaitNotify(t, 1)
	if len(n.Actions) != 0 {
		t.Errorf("actions = %q, want none on a server without the actions capability", n.Actions)
	}
	for _, want := range []string{
		"From: Jane Doe <jane@acme.example>", // no markup capability: plain text
		"answer with: rsvp decide " + qid + " decline|reschedule|ignore",
	} {
		if !strings.Contains(n.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, n.Body)
		}
	}
}

func TestDesktopAskingAgainReplacesTheNotification(t *testing.T) {
	bus := dbusnotify.StartBus(t)
	srv := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
	d, _ := startDesktop(t, bus, notifier.DesktopOptions{})

	q := sampleQuestion(qid)
	ask(t, d, q)
	n1 := srv.WaitNotify(t, 1)
	q.Reminder = true
	ask(t, d, q)
	n2 := srv.WaitNotify(t, 2)
	if n2.ReplacesID != n1.ID || n2.ID != n1.ID {
		t.Errorf("re-ask: replaces_id %d, id %d; want both %d", n2.ReplacesID, n2.ID, n1.ID)
	}
	if want := "Reminder: Interview invitation — Acme: Go Engineer"; n2.Summary != want {
		t.Errorf("reminder summary = %q, want %q", n2.Summary, want)
	}
	invoke(t, srv, n2.ID, "decline:"+qid)
	wantAnswer(t, d, notifier.Answer{ID: qid, Action: "decline"})
}

func TestDesktopStateFileOutlivesTheProcess(t *testing.T) {
	readState := func(t *testing.T, path string) map[string]any {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var st struct{ Notifications map[string]any }
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatalf("state file %s: %v\n%s", path, err, data)
		}
		return st.Notifications
	}

	t.Run("asking again after a restart replaces the notification on screen", func(t *testing.T) {
		bus := dbusnotify.StartBus(t)
		srv := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
		state := filepath.Join(t.TempDir(), "state", "notifications.json")
		d1, _ := startDesktop(t, bus, notifier.DesktopOptions{StateFile: state})
		ask(t, d1, sampleQuestion(qid))
		n1 := srv.WaitNotify(t, 1)
		d1.Close()
		if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("state file: %v, mode %v; want it written with mode 0600", err, fi)
		}

		d2, _ := startDesktop(t, bus, notifier.DesktopOptions{StateFile: state})
		ask(t, d2, sampleQuestion(qid))
		n2 := srv.WaitNotify(t, 2)
		if n2.ReplacesID != n1.ID {
			t.Errorf("after a restart replaces_id = %d, want %d", n2.ReplacesID, n1.ID)
		}
		invoke(t, srv, n2.ID, "reschedule:"+qid)
		wantAnswer(t, d2, notifier.Answer{ID: qid, Action: "reschedule"})
		if st := readState(t, state); st[qid] != nil {
			t.Errorf("answered question still in the state file: %v", st)
		}
	})

	t.Run("a click on the notification left on screen answers the new process", func(t *testing.T) {
		bus := dbusnotify.StartBus(t)
		srv := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
		state := filepath.Join(t.TempDir(), "notifications.json")
		d1, _ := startDesktop(t, bus, notifier.DesktopOptions{StateFile: state})
		ask(t, d1, sampleQuestion(qid))
		n1 := srv.WaitNotify(t, 1)
		d1.Close()

		d2, _ := startDesktop(t, bus, notifier.DesktopOptions{StateFile: state})
		invoke(t, srv, n1.ID, "ignore:"+qid)
		wantAnswer(t, d2, notifier.Answer{ID: qid, Action: "ignore"})
	})

	t.Run("a notification id from another server is not reused", func(t *testing.T) {
		bus := dbusnotify.StartBus(t)
		srvA := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
		state := filepath.Join(t.TempDir(), "notifications.json")
		d1, _ := startDesktop(t, bus, notifier.DesktopOptions{StateFile: state})
		ask(t, d1, sampleQuestion(qid))
		srvA.WaitNotify(t, 1)
		d1.Close()
		srvA.Stop()

		srvB := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
		d2, _ := startDesktop(t, bus, notifier.DesktopOptions{StateFile: state})
		ask(t, d2, sampleQuestion(qid))
		if n := srvB.WaitNotify(t, 1); n.ReplacesID != 0 {
			t.Errorf("on a new server replaces_id = %d, want 0", n.ReplacesID)
		}
	})
}

func TestDesktopWithdrawClosesTheNotification(t *testing.T) {
	bus := dbusnotify.StartBus(t)
	srv := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
	d, _ := startDesktop(t, bus, notifier.DesktopOptions{})

	ask(t, d, sampleQuestion(qid))
	n := srv.WaitNotify(t, 1)
	if err := d.Withdraw(bg, qid); err != nil {
		t.Fatalf("Withdraw: %v", err)
	}
	if !slices.Contains(srv.CloseCalls(), n.ID) || srv.IsOpen(n.ID) {
		t.Errorf("after Withdraw CloseNotification calls = %v, want %d closed", srv.CloseCalls(), n.ID)
	}
	if err := d.Withdraw(bg, "unknown1"); err != nil {
		t.Errorf("Withdraw(unknown) = %v, want nil", err)
	}
	ask(t, d, sampleQuestion(qid))
	if n2 := srv.WaitNotify(t, 2); n2.ReplacesID != 0 {
		t.Errorf("asking after Withdraw: replaces_id = %d, want 0 (a new notification)", n2.ReplacesID)
	}
}

func TestDesktopDismissedQuestionGivesNoAnswer(t *testing.T) {
	bus := dbusnotify.StartBus(t)
	srv := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
	d, lb := startDesktop(t, bus, notifier.DesktopOptions{Reasons: []string{"timing"}})

	ask(t, d, sampleQuestion(qid))
	ask(t, d, sampleQuestion("other234"))
	n1 := srv.WaitNotify(t, 1)
	n2 := srv.WaitNotify(t, 2)
	if err := srv.Close(n1.ID, dbusnotify.ClosedDismissed); err != nil {
		t.Fatal(err)
	}
	// Signals are handled in order: had the dismissal answered, that answer
	// would come first.
	invoke(t, srv, n2.ID, "reschedule:other234")
	wantAnswer(t, d, notifier.Answer{ID: "other234", Action: "reschedule"})
	lb.waitLog(t, "dismissed without an answer")

	// The question is still pending for the daemon, which reminds later.
	q := sampleQuestion(qid)
	q.Reminder = true
	ask(t, d, q)
	n3 := srv.WaitNotify(t, 3)
	invoke(t, srv, n3.ID, "ignore:"+qid)
	wantAnswer(t, d, notifier.Answer{ID: qid, Action: "ignore"})
}

func TestNewDesktopWithoutSessionBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	d, err := notifier.NewDesktop(bg, notifier.DesktopOptions{})
	if !errors.Is(err, notifier.ErrUnavailable) {
		if d != nil {
			d.Close()
		}
		t.Fatalf("NewDesktop without a session bus = %v, want ErrUnavailable", err)
	}
}

func TestNewDesktopRejectsMoreReasonsThanFit(t *testing.T) {
	_, err := notifier.NewDesktop(bg, notifier.DesktopOptions{Reasons: []string{"a", "b", "c", "d"}})
	if err == nil || !strings.Contains(err.Error(), "at most 3") {
		t.Fatalf("NewDesktop with 4 reasons = %v, want an error saying at most 3", err)
	}
}

func TestDesktopAlertShowsAMessageWithoutButtons(t *testing.T) {
	bus := dbusnotify.StartBus(t)
	srv := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
	d, _ := startDesktop(t, bus, notifier.DesktopOptions{})
	if err := d.Alert(context.Background(), "rsvp: sign in again", "run <rsvp auth --account work>"); err != nil {
		t.Fatal(err)
	}
	n := srv.WaitNotify(t, 1)
	if n.Summary != "rsvp: sign in again" || n.Body != "run &lt;rsvp auth --account work&gt;" || len(n.Actions) != 0 {
		t.Errorf("alert = %q / %q / %q; want the message, escaped, without actions", n.Summary, n.Body, n.Actions)
	}
}
