package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

// demoInvite is an invitation of the demo's inbox, as demo/inbox/labels.json
// labels it.
type demoInvite struct {
	file, replyTo, subject string
}

// demoInbox reads demo/inbox: the number of messages and the invitations by
// Message-ID.
func demoInbox(t *testing.T) (messages int, invites map[string]demoInvite) {
	t.Helper()
	dir := filepath.Join("..", "demo", "inbox")
	b, err := os.ReadFile(filepath.Join(dir, "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var labels map[string]struct {
		Label   string `json:"label"`
		ReplyTo string `json:"reply_to"`
	}
	if err := json.Unmarshal(b, &labels); err != nil {
		t.Fatal(err)
	}
	invites = map[string]demoInvite{}
	for name, l := range labels {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		m, err := mailmsg.Read(bytes.NewReader(raw), mailmsg.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if l.Label == "invite" {
			invites[m.MessageID] = demoInvite{file: name, replyTo: l.ReplyTo, subject: m.Subject}
		}
	}
	return len(labels), invites
}

func runDemoCmd(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	err = runDemo(&env{ctx: ctx, stdin: stdin, stdout: &out, stderr: &errb}, args)
	return out.String(), errb.String(), err
}

var (
	demoDraftRE   = regexp.MustCompile(`(?s)\n── Draft (\d+), saved in Drafts: [^\n]*\n(.*?)\n── end of draft (\d+)\n`)
	demoSummaryRE = regexp.MustCompile(`(?m)^Summary: (\d+) messages, (\d+) invitations: (\d+) drafts? written, (\d+) ignored(?:, (\d+) unanswered)?\.$`)
)

func demoSummary(t *testing.T, out string) []int {
	t.Helper()
	m := demoSummaryRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary in:\n%s", out)
	}
	var n []int
	for _, s := range m[1:] {
		v, _ := strconv.Atoi(s)
		n = append(n, v)
	}
	return n
}

func TestDemoYesDraftsAThreadedReplyToEveryInvitationAndNothingElse(t *testing.T) {
	messages, invites := demoInbox(t)
	out, errOut, err := runDemoCmd(t, strings.NewReader(""), "--yes")
	if err != nil || errOut != "" {
		t.Fatalf("rsvp demo --yes = %v, stderr %q; want success and no warnings\n%s", err, errOut, out)
	}
	if got, want := demoSummary(t, out), []int{messages, len(invites), len(invites), 0, 0}; !slices.Equal(got, want) {
		t.Errorf("summary (messages, invitations, drafts, ignored, unanswered) = %v, want %v", got, want)
	}
	drafts := demoDraftRE.FindAllStringSubmatch(out, -1)
	if len(drafts) != len(invites) {
		t.Fatalf("printed %d drafts, want %d (one per invitation):\n%s", len(drafts), len(invites), out)
	}
	answered := map[string]int{}
	for _, d := range drafts {
		msg, err := mail.ReadMessage(strings.NewReader(d[2] + "\n"))
		if err != nil {
			t.Fatalf("draft %s does not parse: %v\n%s", d[1], err, d[2])
		}
		irt := strings.Trim(msg.Header.Get("In-Reply-To"), "<>")
		inv, ok := invites[irt]
		if !ok {
			t.Errorf("draft %s replies to <%s>, which is not an invitation of the demo inbox", d[1], irt)
			continue
		}
		answered[irt]++
		if refs := msg.Header.Get("References"); !strings.Contains(refs, "<"+irt+">") {
			t.Errorf("draft %s (%s): References %q lacks the invitation", d[1], inv.file, refs)
		}
		to, err := mail.ParseAddress(msg.Header.Get("To"))
		if err != nil || !strings.EqualFold(to.Address, inv.replyTo) {
			t.Errorf("draft %s (%s): To %q, want %s", d[1], inv.file, msg.Header.Get("To"), inv.replyTo)
		}
		if subj := msg.Header.Get("Subject"); subj != "Re: "+inv.subject {
			t.Errorf("draft %s (%s): Subject %q, want %q", d[1], inv.file, subj, "Re: "+inv.subject)
		}
		if body, _ := io.ReadAll(msg.Body); len(bytes.TrimSpace(body)) == 0 {
			t.Errorf("draft %s (%s) has no text", d[1], inv.file)
		}
	}
	for id, inv := range invites {
		if answered[id] != 1 {
			t.Errorf("%s: %d drafts printed, want 1", inv.file, answered[id])
		}
	}
}

func TestDemoFollowsTheAnswersTyped(t *testing.T) {
	messages, invites := demoInbox(t)
	// decline (Enter: the default reason), reschedule, ignore; then the
	// input ends with the rest unanswered.
	out, errOut, err := runDemoCmd(t, strings.NewReader("d\n\nr\ni\n"))
	if err != nil || errOut != "" {
		t.Fatalf("rsvp demo = %v, stderr %q\n%s", err, errOut, out)
	}
	// The questions come one at a time: the fourth meets the end of input.
	ids := regexp.MustCompile(`(?m)^ID: ([a-z0-9]+)$`).FindAllStringSubmatch(out, -1)
	if len(ids) != 4 {
		t.Fatalf("asked %d questions, want 4 (three answered, one at the end of input):\n%s", len(ids), out)
	}
	rows := map[string]string{} // ID → answer, from the summary table
	for _, r := range regexp.MustCompile(`(?m)^  ([a-z2-7]{8})  +(\S+)`).FindAllStringSubmatch(out, -1) {
		rows[r[1]] = r[2]
	}
	if len(rows) != len(invites) {
		t.Fatalf("the summary lists %d invitations, want %d:\n%s", len(rows), len(invites), out)
	}
	want := map[string]string{ids[0][1]: "decline", ids[1][1]: "reschedule", ids[2][1]: "ignore"}
	for id, got := range rows {
		w, ok := want[id]
		if !ok {
			w = "unanswered"
		}
		if got != w {
			t.Errorf("invitation %s: summary says %s, want %s", id, got, w)
		}
	}
	if got, want := demoSummary(t, out), []int{messages, len(invites), 2, 1, len(invites) - 3}; !slices.Equal(got, want) {
		t.Errorf("summary (messages, invitations, drafts, ignored, unanswered) = %v, want %v", got, want)
	}
	if !strings.Contains(out, "The input ended with 2 invitations unanswered.") {
		t.Errorf("the demo does not say the input ended with questions left:\n%s", out)
	}
}

func TestDemoUsage(t *testing.T) {
	_, _, err := runDemoCmd(t, nil, "now")
	if !errors.As(err, new(usageError)) {
		t.Errorf("rsvp demo now = %v, want a usage error", err)
	}
	if _, _, err := runDemoCmd(t, nil, "--yes", "--desktop"); !errors.As(err, new(usageError)) {
		t.Errorf("rsvp demo --yes --desktop = %v, want a usage error", err)
	}
	_, errOut, err := runDemoCmd(t, nil, "--no-such-flag")
	if ex := (exitError{}); !errors.As(err, &ex) || ex.code != 2 || !strings.Contains(errOut, "-yes") {
		t.Errorf("rsvp demo --no-such-flag = %v, stderr %q; want exit 2 and the flags listed", err, errOut)
	}
}
