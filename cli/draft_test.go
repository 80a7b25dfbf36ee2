package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"
)

func TestDraftWritesAThreadedReplyWithNoConfig(t *testing.T) {
	out, errOut, code := run(t, "draft", "--action", "decline", "--reason", "timing", filepath.Join(corpus, "dev-19.eml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	r, err := mail.CreateReader(strings.NewReader(out))
	if err != nil {
		t.Fatalf("the reply does not parse: %v\n%s", err, out)
	}
	h := r.Header
	to, _ := h.AddressList("To")
	from, _ := h.AddressList("From")
	subj, _ := h.Subject()
	irt, _ := h.MsgIDList("In-Reply-To")
	if len(to) != 1 || to[0].Address != "priya.raman@halcyonfreight.example" {
		t.Errorf("To = %v", to)
	}
	// With no config, the user is who the invitation was sent to.
	if len(from) != 1 || from[0].Address != "alex.morgan@example.net" || from[0].Name != "Alex Morgan" {
		t.Errorf("From = %v", from)
	}
	if subj != "Re: Platform role at Halcyon Freight" {
		t.Errorf("Subject = %q", subj)
	}
	if len(irt) != 1 || !strings.HasPrefix(irt[0], "CAK4pRm8v") {
		t.Errorf("In-Reply-To = %v", irt)
	}
	if !strings.Contains(out, "Hi Priya,") || !strings.Contains(out, "decline") {
		t.Errorf("body:\n%s", out)
	}
}

func TestDraftUsesTheConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`me:
  name: Sam Doe
  signature: "Sam Doe\nsam.example"
  time_zone: Europe/Berlin
accounts:
  - name: main
    address: sam@doe.example
    host: imap.doe.example
    password_command: [pass, mail]
reply:
  default_reason: accepted-offer
  templates:
    decline/accepted-offer.en: |
      {{template "greeting" .}}

      Thanks, but I have signed elsewhere.

      {{template "signoff" .}}
`), 0o600)
	out, errOut, code := run(t, "draft", "--config", cfg, "--action", "decline", filepath.Join(corpus, "dev-28.eml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{`From: "Sam Doe" <sam@doe.example>`, "Hi Daniel,", "Thanks, but I have signed elsewhere.", "sam.example"} {
		if !strings.Contains(out, want) {
			t.Errorf("reply lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "warning:") {
		t.Logf("no warning for a LinkedIn relay address: %q", errOut)
	}
}

func TestDraftReschedulesInTheRecruitersLanguage(t *testing.T) {
	out, _, code := run(t, "draft", "--action", "reschedule", filepath.Join(corpus, "dev-06.eml"))
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out, "Content-Language: de") || strings.Count(out, "\n- ") != 3 {
		t.Errorf("want a German reply with three slots:\n%s", out)
	}
}

func TestDraftReasonsAndMistakes(t *testing.T) {
	out, _, code := run(t, "draft", "--list-reasons")
	if code != 0 || !strings.Contains(out, "accepted-offer") || !strings.Contains(out, "refer-someone") || !strings.Contains(out, "(default)") {
		t.Errorf("--list-reasons: %d\n%s", code, out)
	}
	msg := filepath.Join(corpus, "dev-19.eml")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no action", []string{"draft", msg}, 2, "--action is required"},
		{"a reason with reschedule", []string{"draft", "--action", "reschedule", "--reason", "timing", msg}, 2, "--reason goes with --action decline"},
		{"an unknown reason lists the known ones", []string{"draft", "--action", "decline", "--reason", "bored", msg}, 1, "accepted-offer"},
		{"an unknown action", []string{"draft", "--action", "accept", msg}, 1, "decline"},
		{"no file", []string{"draft", "--action", "decline"}, 2, "exactly one message file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := run(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.want)
			}
		})
	}
	_, errOut, _ := run(t, "draft", "--action", "decline", filepath.Join(corpus, "dev-16.eml"))
	if !strings.Contains(errOut, "does not look like an interview invitation") {
		t.Errorf("drafting to a job alert gave no note: %q", errOut)
	}
}
