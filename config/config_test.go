package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/config"
)

func TestEmptyConfigGivesTheDefaults(t *testing.T) {
	cfg, err := config.Parse("c.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *cfg.Detect.Threshold != 5 {
		t.Errorf("threshold = %v, want 5", *cfg.Detect.Threshold)
	}
	if cfg.Classifier == nil || cfg.Classifier.RuleCount() != len(config.BuiltinRules()) {
		t.Errorf("the built-in rules should be compiled")
	}
	if cfg.Ask.Via != "desktop" || time.Duration(cfg.Ask.RemindAfter) != 24*time.Hour {
		t.Errorf("ask defaults = %+v", cfg.Ask)
	}
}

func TestAccountDefaults(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/state")
	cfg, err := config.Parse("c.yaml", []byte(`oauth:
  client_secret_file: /secret.json
accounts:
  - name: a
    address: a@example.org
    host: imap.example.org
    password_command: [pass, mail]
  - name: g
    backend: gmail
    address: g@gmail.example
  - name: gi
    address: g@gmail.example
    host: imap.gmail.example
    auth: xoauth2
`))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Accounts[0]
	if a.Port != 993 || a.Security != "tls" || a.Mailbox != "INBOX" || *a.Flag != "$Interview" || a.Auth != "password" ||
		time.Duration(a.Since) != 14*24*time.Hour || a.Username != "a@example.org" || a.Backend != "imap" ||
		time.Duration(a.PollInterval) != 2*time.Minute || a.UsesOAuth() {
		t.Errorf("IMAP defaults not applied: %+v", a)
	}
	g := cfg.Accounts[1]
	if *g.Label != "Interview invitations" || time.Duration(g.PollInterval) != 30*time.Second || !g.UsesOAuth() ||
		g.ClientSecretFile != "/secret.json" || g.TokenFile != "/state/rsvp/tokens/g.json" {
		t.Errorf("Gmail defaults not applied: %+v", g)
	}
	if gi := cfg.Accounts[2]; !gi.UsesOAuth() || gi.TokenFile != "/state/rsvp/tokens/gi.json" {
		t.Errorf("xoauth2 defaults not applied: %+v", gi)
	}
}

func TestNtfyNeedsATopicAndAListenAddress(t *testing.T) {
	_, err := config.Parse("c.yaml", []byte("ask:\n  via: ntfy\n  ntfy:\n    priority: 9\n"))
	for _, want := range []string{"ask.ntfy.topic", "ask.ntfy.listen", "c.yaml:4: ask.ntfy.priority: 9"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte("ask:\n  via: ntfy\n  ntfy:\n    topic: rsvp-x\n    listen: 127.0.0.1:0\n    token: tk_secret\n"), 0o644)
	if _, err := config.Load(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a readable config with an ntfy token: %v, want a refusal", err)
	}
	os.Chmod(path, 0o600)
	if _, err := config.Load(path); err != nil {
		t.Errorf("Load(0600 with token) = %v", err)
	}
}

func TestOAuthAccountsAreChecked(t *testing.T) {
	_, err := config.Parse("c.yaml", []byte(`accounts:
  - name: g
    backend: gmail
    address: g@gmail.example
    password: x
  - name: i
    address: i@example.org
    host: imap.example.org
    auth: oauth
`))
	for _, want := range []string{
		"c.yaml:5: accounts[0].password: this account signs in with rsvp auth (OAuth): remove the password",
		`oauth.client_secret_file: account "g" signs in with OAuth and needs your OAuth client's client_secret.json`,
		`c.yaml:9: accounts[1].auth: "oauth": want password or xoauth2`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

// Every problem in a config is reported at once, each with file, line and
// key path.
func TestEveryErrorIsReportedWithFileAndLine(t *testing.T) {
	src := `me:
  name: Alex
  time_zone: Mars/Olympus
  adresses: [a@example.org]
detect:
  threshold: high
  rules:
    - name: GOOD
      keywords: [interview]
      score: 1
    - name: BROKEN_RE
      pattern: 'interview(s'
      score: 1
    - name: GOOD
      keywords: [x]
      score: 1
    - name: NO_SCORE
      keywords: [y]
    - name: BAD_REF
      all_of: [NOPE]
      score: 1
    - name: BAD_PLACE
      in: [subjekt]
      keywords: [z]
      score: 1
accounts:
  - name: work
    address: me@example.org
    security: plain
    host: mail.example.org
ask:
  via: pigeon
  quiet_hours: {from: "22:00", to: "8am"}
  reasons: [timing, bored]
`
	_, err := config.Parse("config.yaml", []byte(src))
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse = %v, want config.Errors", err)
	}
	want := []string{
		"config.yaml:3: me.time_zone: unknown time zone",
		`config.yaml:4: me.adresses: unknown key (did you mean "addresses"?)`,
		`config.yaml:6: detect.threshold: want a number, got "high"`,
		"config.yaml:12: detect.rules[1].pattern: missing closing )",
		`config.yaml:14: detect.rules[2].name: "GOOD" is already the name of detect.rules[0]`,
		"config.yaml:17: detect.rules[3]: a rule needs a score",
		`config.yaml:20: detect.rules[4].all_of[0]: no rule is named "NOPE"`,
		`config.yaml:23: detect.rules[5].in[0]: unknown place "subjekt"`,
		`config.yaml:27: accounts[0].password: an IMAP account needs password_command, password_file or password`,
		`config.yaml:29: accounts[0].security: plain (unencrypted) IMAP is only allowed to a loopback host`,
		`config.yaml:32: ask.via: "pigeon": want desktop, command, terminal or ntfy`,
		`config.yaml:33: ask.quiet_hours.to: "8am": want a time of day as HH:MM`,
		`config.yaml:34: ask.reasons[1]: unknown reason "bored"`,
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("errors lack %q\ngot:\n%s", w, got)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("got %d errors, want %d:\n%s", len(errs), len(want), got)
	}
}

func TestYAMLSyntaxErrorHasALine(t *testing.T) {
	_, err := config.Parse("c.yaml", []byte("me:\n  name: [unclosed\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "c.yaml:") || !strings.Contains(err.Error(), "YAML syntax") {
		t.Fatalf("Parse = %v, want c.yaml:LINE: YAML syntax …", err)
	}
}

func TestUserRulesReplaceBuiltinsByName(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte(`detect:
  rules:
    - name: INTERVIEW_WORD
      keywords: [gespräch]
      score: 0
    - name: MY_RULE
      keywords: [rsvp-test-word]
      score: 9
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Classifier.RuleCount(), len(config.BuiltinRules())+1; got != want {
		t.Errorf("RuleCount = %d, want %d", got, want)
	}
	off, err := config.Parse("c.yaml", []byte("detect:\n  builtin_rules: false\n  rules:\n    - name: ONLY\n      keywords: [x]\n      score: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if off.Classifier.RuleCount() != 1 {
		t.Errorf("builtin_rules: false kept %d rules, want 1", off.Classifier.RuleCount())
	}
}

func TestAPasswordInAReadableConfigIsRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yaml")
	src := "accounts:\n  - name: a\n    address: a@example.org\n    host: imap.example.org\n    password: hunter2\n"
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(p)
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+p) {
		t.Fatalf("Load(0644 with password) = %v, want the chmod 600 fix", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error shows the password: %v", err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(p); err != nil {
		t.Fatalf("Load(0600 with password) = %v", err)
	}
}

func TestMissingConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "none.yaml")
	if _, err := config.Load(p); !errors.Is(err, config.ErrNotFound) {
		t.Errorf("Load(missing) = %v, want ErrNotFound", err)
	}
	cfg, err := config.LoadOrDefault(p, false)
	if err != nil || cfg.Classifier == nil {
		t.Errorf("LoadOrDefault(missing default path) = %v, want the defaults", err)
	}
	if _, err := config.LoadOrDefault(p, true); !errors.Is(err, config.ErrNotFound) {
		t.Errorf("LoadOrDefault(missing named file) = %v, want ErrNotFound", err)
	}
}

func TestDurations(t *testing.T) {
	for in, want := range map[string]time.Duration{"14d": 14 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "90s": 90 * time.Second, "1h30m": 90 * time.Minute, "0.5d": 12 * time.Hour} {
		got, err := config.ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "fortnight", "-3d", "d"} {
		if _, err := config.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded, want an error", in)
		}
	}
}

func TestXDGPaths(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/cfg")
	t.Setenv("XDG_STATE_HOME", "/state")
	if got := config.DefaultPath(); got != "/cfg/rsvp/config.yaml" {
		t.Errorf("DefaultPath = %q", got)
	}
	if got := config.StateDir(); got != "/state/rsvp" {
		t.Errorf("StateDir = %q", got)
	}
	t.Setenv("XDG_CONFIG_HOME", "relative/ignored")
	t.Setenv("HOME", "/home/u")
	if got := config.DefaultPath(); got != "/home/u/.config/rsvp/config.yaml" {
		t.Errorf("DefaultPath with a relative XDG_CONFIG_HOME = %q (the spec says ignore it)", got)
	}
}

func TestReplySettingsAreCheckedAtLoad(t *testing.T) {
	src := `me:
  time_zone: Europe/Berlin
reply:
  default_reason: bored
  templates:
    decline/timing.en: |
      {{template "greeting" .}}

      {{template "wihs" .}}
  availability:
    days: Mon-Sun-Fri
    hours: "17:00-09:00"
    busy_ics: /nonexistent/cal.ics
`
	_, err := config.Parse("c.yaml", []byte(src))
	if err == nil {
		t.Fatal("a bad reply section loaded")
	}
	for _, want := range []string{
		"c.yaml:4: reply.default_reason: ",
		`c.yaml:9: reply.templates.decline/timing.en: `, `template "wihs" not defined`,
		"c.yaml:11: reply.availability.days: ",
		"c.yaml:12: reply.availability.hours: ",
		"c.yaml:13: reply.availability.busy_ics: ",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "decline"), 0o755)
	os.WriteFile(filepath.Join(dir, "decline", "timing.en.tmpl"), []byte("Hello\n{{if}}\n"), 0o644)
	_, err = config.Parse("c.yaml", []byte("reply:\n  templates_dir: "+dir+"\n"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "decline", "timing.en.tmpl")+":2: ") {
		t.Errorf("a broken template file: %v, want its FILE:LINE", err)
	}
	cfg, err := config.Parse("c.yaml", []byte("reply:\n  default_reason: accepted-offer\n  availability:\n    days: Mon,Wed\n    hours: 10:00-12:00\n    lead_days: 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.Availability; len(a.Days) != 2 || len(a.Hours) != 1 || a.LeadDays != 0 {
		t.Errorf("availability = %+v", a)
	}
}
