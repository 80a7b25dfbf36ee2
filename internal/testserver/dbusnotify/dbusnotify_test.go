package dbusnotify_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/rsvp-mail/rsvp/internal/testserver/dbusnotify"
)

// nextSignal returns the next notification signal, skipping the bus's
// own (NameAcquired reaches every new connection, match rules or not).
func nextSignal(t *testing.T, ch <-chan *dbus.Signal) *dbus.Signal {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s := <-ch:
			if strings.HasPrefix(s.Name, dbusnotify.Interface+".") {
				return s
			}
		case <-timeout:
			t.Fatal("no notification signal within 10s")
			return nil
		}
	}
}

func TestServerSpeaksTheNotificationProtocol(t *testing.T) {
	bus := dbusnotify.StartBus(t)
	srv := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{})
	client := bus.Connect(t)
	sigs := make(chan *dbus.Signal, 16)
	client.Signal(sigs)
	if err := client.AddMatchSignal(dbus.WithMatchInterface(dbusnotify.Interface)); err != nil {
		t.Fatal(err)
	}
	obj := client.Object(dbusnotify.BusName, dbusnotify.Path)

	var caps []string
	if err := obj.Call(dbusnotify.Interface+".GetCapabilities", 0).Store(&caps); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(caps, dbusnotify.DefaultCapabilities) {
		t.Errorf("GetCapabilities = %q, want %q", caps, dbusnotify.DefaultCapabilities)
	}

	notify := func(replaces uint32, summary string) uint32 {
		t.Helper()
		var id uint32
		hints := map[string]dbus.Variant{"resident": dbus.MakeVariant(true)}
		err := obj.Call(dbusnotify.Interface+".Notify", 0, "app", replaces, "", summary, "body",
			[]string{"yes", "Yes"}, hints, int32(0)).Store(&id)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	id := notify(0, "first")
	if again := notify(id, "replaced"); again != id {
		t.Errorf("Notify replacing %d returned %d, want the same id", id, again)
	}
	calls := srv.Notifications()
	if len(calls) != 2 || calls[1].ReplacesID != id || calls[1].Summary != "replaced" || calls[1].Sender != client.Names()[0] {
		t.Fatalf("recorded %+v, want two calls, the second replacing %d from %s", calls, id, client.Names()[0])
	}

	if err := srv.Invoke(id, "no-such-action"); err == nil {
		t.Error("Invoke of an action the notification lacks succeeded, want an error")
	}
	if err := srv.Invoke(id, "yes"); err != nil {
		t.Fatal(err)
	}
	s := nextSignal(t, sigs)
	if s.Name != dbusnotify.Interface+".ActionInvoked" || s.Sender != srv.Name || s.Body[0] != id || s.Body[1] != "yes" {
		t.Errorf("got signal %+v, want ActionInvoked(%d, yes) from %s", s, id, srv.Name)
	}
	if !srv.IsOpen(id) {
		t.Error("a resident notification closed after a click")
	}

	if err := obj.Call(dbusnotify.Interface+".CloseNotification", 0, id).Err; err != nil {
		t.Fatal(err)
	}
	s = nextSignal(t, sigs)
	if s.Name != dbusnotify.Interface+".NotificationClosed" || s.Body[0] != id || s.Body[1] != dbusnotify.ClosedByCall {
		t.Errorf("got signal %+v, want NotificationClosed(%d, %d)", s, id, dbusnotify.ClosedByCall)
	}
	srv.WaitClosed(t, id)

	// A restart: the name is free once the server stops, and a new one
	// takes it with a new unique name.
	srv.Stop()
	if err := obj.Call(dbusnotify.Interface+".GetCapabilities", 0).Err; err == nil {
		t.Error("GetCapabilities succeeded with the server stopped")
	}
	srv2 := dbusnotify.StartServer(t, bus, dbusnotify.ServerOptions{Capabilities: []string{"body"}})
	if srv2.Name == srv.Name {
		t.Errorf("restarted server has the same unique name %s", srv.Name)
	}
	if err := obj.Call(dbusnotify.Interface+".GetCapabilities", 0).Store(&caps); err != nil || !slices.Equal(caps, []string{"body"}) {
		t.Errorf("GetCapabilities on the new server = %q, %v; want [body]", caps, err)
	}
}
