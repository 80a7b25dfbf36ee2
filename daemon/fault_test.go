package daemon

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/internal/testserver/dovecot"
	"github.com/rsvp-mail/rsvp/internal/testserver/faultproxy"
	"github.com/rsvp-mail/rsvp/store"
)

// TestTheLoopSurvivesCutConnections runs the daemon through a proxy that
// cuts the connection at the worst moments: while fetching, while idling,
// while appending a draft (before the server has it, and after, with only
// the answer lost). Each time the daemon reconnects, and in the end every
// invitation has exactly one draft.
func TestTheLoopSurvivesCutConnections(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{})
	p := faultproxy.Start(t, s.Addr)
	deliverInvites(t, s, 3)
	cfg := testConfig(t, s, "")
	host, port, _ := strings.Cut(p.Addr(), ":")
	cfg.Accounts[0].Host = host
	cfg.Accounts[0].Port, _ = strconv.Atoi(port)
	st := openStore(t, t.TempDir())

	p.CutOnClient("UID FETCH")
	r := start(t, cfg, st, nil)
	waitFor(t, "three invitations despite a cut mid-FETCH", 30*time.Second, func() bool { return r.ev.count(EventFound) == 3 })
	waitFor(t, "idle", 30*time.Second, func() bool { return r.ev.count(EventIdle) > 0 })

	list := invitations(t, st)
	cuts := []func(){
		func() { p.CutOnClient("APPEND") },            // the draft never reaches the server
		func() { p.CutOnServer("[APPENDUID") },        // it does; the answer is lost
		func() { p.CutOnServer("+ idling"); p.Cut() }, // mid-IDLE, then the next IDLE too
	}
	for i, inv := range list {
		cuts[i]()
		before := len(r.ev.errs())
		if _, err := st.Decide(context.Background(), inv.ID, store.ActionDecline, ""); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the draft", 30*time.Second, func() bool { return r.ev.count(EventDrafted) == i+1 })
		if i < 2 && len(r.ev.errs()) == before {
			t.Errorf("decision %d: the cut did not happen (no connection error)", i)
		}
	}
	checkDrafts(t, s, st, corpusRaw(t), corpusInvites(t))
	if n := len(s.Messages(t, s.User, "Drafts")); n != 3 {
		t.Errorf("%d drafts, want 3", n)
	}
	if p.Conns() < 3 {
		t.Errorf("%d connections: the daemon did not reconnect after the cuts", p.Conns())
	}
}
