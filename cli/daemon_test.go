package cli_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/store"
)

// seedStore records invitations in a fresh $XDG_STATE_HOME, as a daemon
// would, and returns their IDs.
func seedStore(t *testing.T) []string {
	t.Helper()
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	st, err := store.Open(filepath.Join(state, "rsvp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []string
	for i, f := range []store.Found{
		{MessageID: "a@x", Subject: "Interview: Go engineer", FromName: "Jane Roe", FromAddr: "jane@acme.example",
			ReplyTo: "talent@acme.example", Received: time.Now().Add(-3 * time.Hour),
			Fields: store.Fields{Company: "Acme", Role: "Go Engineer"}},
		{MessageID: "b@x", Subject: "Chat?", FromAddr: "bob@beta.example", Received: time.Now().Add(-50 * time.Hour),
			Fields: store.Fields{Company: "Beta, Inc.", Role: ""}},
	} {
		f.Account, f.Mailbox, f.UID = "work", "INBOX", uint32(i+1)
		inv, _, err := st.AddInvitation(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inv.ID)
	}
	return ids
}

func TestPendingDecideHistory(t *testing.T) {
	ids := seedStore(t)
	out, errOut, code := run(t, "pending")
	if code != 0 {
		t.Fatalf("pending: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"ID", "AGE", "COMPANY", "ROLE", "FROM", ids[0], "3h", "Acme", "Go Engineer",
		"Jane Roe <talent@acme.example>", ids[1], "2d", "Beta, Inc.", "bob@beta.example", "rsvp decide ID"} {
		if !strings.Contains(out, want) {
			t.Errorf("pending lacks %q:\n%s", want, out)
		}
	}

	out, errOut, code = run(t, "decide", strings.ToUpper(ids[0]), "decline", "--reason", "timing")
	if code != 0 || !strings.Contains(out, ids[0]+": decline (timing)") {
		t.Fatalf("decide: exit %d: %s%s", code, out, errOut)
	}
	if _, errOut, code = run(t, "decide", ids[0], "reschedule"); code != 1 || !strings.Contains(errOut, "already answered") {
		t.Errorf("a second answer: exit %d, %q; want 1 and 'already answered'", code, errOut)
	}
	if _, errOut, code = run(t, "decide", ids[1], "decline", "--reason", "bored"); code != 2 || !strings.Contains(errOut, `unknown reason "bored"`) {
		t.Errorf("an unknown reason: exit %d, %q; want 2", code, errOut)
	}
	if _, errOut, code = run(t, "decide", "zzzzzzzz", "ignore"); code != 1 || !strings.Contains(errOut, "no invitation") {
		t.Errorf("an unknown ID: exit %d, %q", code, errOut)
	}
	if _, errOut, code = run(t, "decide", ids[1], "maybe"); code != 2 || !strings.Contains(errOut, "not an answer") {
		t.Errorf("a bad answer: exit %d, %q", code, errOut)
	}
	if out, _, code = run(t, "decide", ids[1], "ignore"); code != 0 || !strings.Contains(out, "ignored") {
		t.Errorf("ignore: exit %d, %s", code, out)
	}
	if out, _, _ = run(t, "pending"); !strings.Contains(out, "No invitations waiting") {
		t.Errorf("pending after answering all:\n%s", out)
	}

	out, _, code = run(t, "history", "--csv")
	if code != 0 {
		t.Fatalf("history --csv: exit %d", code)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("history CSV: %v\n%s", err, out)
	}
	want := [][]string{
		{"date", "company", "role", "contact", "decision", "reason", "state", "id", "account"},
		{time.Now().Add(-50 * time.Hour).Local().Format(time.DateOnly), "Beta, Inc.", "", "bob@beta.example", "ignore", "", "ignored", ids[1], "work"},
		{time.Now().Add(-3 * time.Hour).Local().Format(time.DateOnly), "Acme", "Go Engineer", "Jane Roe <talent@acme.example>", "decline", "timing", "decided", ids[0], "work"},
	}
	if len(recs) != len(want) {
		t.Fatalf("history has %d rows, want %d:\n%s", len(recs), len(want), out)
	}
	for i := range want {
		if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("history row %d = %q, want %q", i, recs[i], want[i])
		}
	}
	out, _, _ = run(t, "history")
	for _, w := range []string{"DATE", "COMPANY", "Beta, Inc.", "ignore", "decline", "timing"} {
		if !strings.Contains(out, w) {
			t.Errorf("history table lacks %q:\n%s", w, out)
		}
	}
}

func TestRunNeedsAConfigWithAnAccount(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	_, errOut, code := run(t, "run")
	if code != 1 || !strings.Contains(errOut, "config file not found") {
		t.Errorf("run without a config: exit %d, %q", code, errOut)
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("me:\n  name: Alex\n"), 0o600)
	_, errOut, code = run(t, "run", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "no accounts configured") {
		t.Errorf("run without accounts: exit %d, %q", code, errOut)
	}
}
