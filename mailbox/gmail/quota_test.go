package gmail

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/internal/testserver/fakegmail"
	"github.com/rsvp-mail/rsvp/mailbox"
)

// maxUnitsPerMessage is the quota goal per new inbound message in steady
// state, drafts.create not counted.
const maxUnitsPerMessage = 10

// TestQuotaPerNewMessageInSteadyState replays the corpus as steady-state
// traffic at its worst for quota: one message per poll, so no history.list
// is shared between messages. Every message is fetched; the invitations
// (by the corpus labels, half of the corpus, far more than a real inbox)
// are flagged, as the daemon does.
func TestQuotaPerNewMessageInSteadyState(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpusDir, "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var labels map[string]struct{ Label string }
	if err := json.Unmarshal(data, &labels); err != nil {
		t.Fatal(err)
	}
	files := make([]string, 0, len(labels))
	for f := range labels {
		files = append(files, f)
	}
	slices.Sort(files)

	s := newFake(t)
	c := open(t, s, nil)
	first := time.Now().Add(-time.Hour)
	// Warm up: the first sync and the label lookup happen once per process.
	warm, _ := s.Deliver(corpus(t, 2))
	batch, cur := drain(t, c, mailbox.Cursor{}, first)
	if len(batch) != 1 || batch[0].ID != warm {
		t.Fatalf("warm-up fetch = %v", ids(batch))
	}
	if err := c.Flag(testCtx(t), batch[0]); err != nil {
		t.Fatal(err)
	}

	s.ResetCounters()
	invites, handled := 0, 0
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(corpusDir, f))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := s.Deliver(raw)
		batch, next, err := c.Fetch(testCtx(t), cur, first)
		if err != nil || len(batch) != 1 || batch[0].ID != id {
			t.Fatalf("Fetch after delivering %s = %v, %v; want [%s]", f, ids(batch), err, id)
		}
		cur = next
		handled++
		if labels[f].Label == "invite" {
			invites++
			if err := c.Flag(testCtx(t), batch[0]); err != nil {
				t.Fatal(err)
			}
		}
	}
	counts := s.CallCounts()
	units := s.QuotaUnits() - counts["drafts.create"]*fakegmail.Units("drafts.create")
	perMessage := float64(units) / float64(handled)

	var breakdown []string
	for _, m := range slices.Sorted(maps.Keys(counts)) {
		breakdown = append(breakdown, fmt.Sprintf("%s %d×%d", m, counts[m], fakegmail.Units(m)))
	}
	t.Logf("steady state: %d messages (%d invitations flagged), one per poll: %d units = %.2f units per new message (%s)",
		handled, invites, units, perMessage, strings.Join(breakdown, ", "))

	s.ResetCounters()
	if batch, _, err := c.Fetch(testCtx(t), cur, first); err != nil || len(batch) != 0 {
		t.Fatalf("idle Fetch = %v, %v", ids(batch), err)
	}
	idle := s.QuotaUnits()
	t.Logf("an idle poll costs %d units (%d a day at the default %v interval)",
		idle, idle*int(24*time.Hour/DefaultPollInterval), DefaultPollInterval)

	if perMessage > maxUnitsPerMessage {
		t.Errorf("%.2f quota units per new message, want at most %d", perMessage, maxUnitsPerMessage)
	}
	if idle != fakegmail.Units("history.list") {
		t.Errorf("an idle poll costs %d units, want %d (one history.list)", idle, fakegmail.Units("history.list"))
	}
}
