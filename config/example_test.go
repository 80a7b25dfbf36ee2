package config_test

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rsvp-mail/rsvp/config"
)

var update = flag.Bool("update", false, "rewrite the built-in rules in config.example.yaml")

const examplePath = "../config.example.yaml"
const rulesMarker = "  # The built-in rules follow, as shipped (this list is checked by a test).\n"

// builtinRulesSection is the rules list of builtin_rules.yaml as it
// appears under detect: in config.example.yaml.
func builtinRulesSection(t *testing.T) string {
	t.Helper()
	src := string(config.BuiltinRulesYAML())
	i := strings.Index(src, "\n  rules:\n")
	if i < 0 {
		t.Fatal("builtin_rules.yaml has no rules list")
	}
	return src[i+1:]
}

func TestExampleConfigLoadsAndCarriesTheBuiltinRules(t *testing.T) {
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(string(b), rulesMarker)
	if !ok {
		t.Fatalf("config.example.yaml lost the marker line %q", rulesMarker)
	}
	want := head + rulesMarker + builtinRulesSection(t)
	if *update {
		if err := os.WriteFile(examplePath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		b = []byte(want)
	}
	if string(b) != want {
		t.Errorf("the rules in config.example.yaml differ from config/builtin_rules.yaml; run go test ./config -run Example -update")
	}
	cfg, err := config.Parse(examplePath, b)
	if err != nil {
		t.Fatalf("config.example.yaml does not load:\n%v", err)
	}
	if !reflect.DeepEqual(cfg.Detect.Rules, config.BuiltinRules()) {
		t.Errorf("config.example.yaml rules differ from the built-in ones")
	}
	if got := cfg.Classifier.RuleCount(); got != len(config.BuiltinRules()) {
		t.Errorf("example has %d rules compiled, want %d (the built-in set, replaced by name)", got, len(config.BuiltinRules()))
	}
	if len(cfg.Accounts) == 0 || cfg.Accounts[0].Address == "" {
		t.Errorf("example config should show an account")
	}
}

func TestExampleConfigPassesCheckFromDisk(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(p); err != nil {
		t.Fatalf("Load(example) = %v", err)
	}
}

// Every YAML example in the README is a config that loads.
func TestREADMEConfigExamplesLoad(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(b), "```yaml\n")
	if len(blocks) < 2 {
		t.Fatal("README has no yaml example")
	}
	for i, blk := range blocks[1:] {
		src, _, ok := strings.Cut(blk, "```")
		if !ok {
			t.Fatalf("README yaml block %d is not closed", i)
		}
		if _, err := config.Parse("README.md block "+string(rune('1'+i)), []byte(src)); err != nil {
			t.Errorf("README yaml block %d does not load:\n%v", i+1, err)
		}
	}
}

// The commented-out Gmail accounts in the example load when uncommented.
func TestExampleGmailAccountsLoad(t *testing.T) {
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "  # - name: gmail\n")
	end := strings.Index(text, "\n\n# The OAuth client")
	if start < 0 || end < start {
		t.Fatal("config.example.yaml has no commented Gmail accounts")
	}
	var lines []string
	for _, l := range strings.Split(text[start:end], "\n") {
		l = strings.TrimPrefix(l, "  #")
		yamlLine := strings.HasPrefix(l, " - ") || strings.HasPrefix(l, "   ")
		if !yamlLine || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue // prose, a comment inside the block, or the separator
		}
		lines = append(lines, strings.TrimPrefix(l, " "))
	}
	src := "oauth:\n  client_secret_file: /x/client_secret.json\naccounts:\n" + indent(strings.Join(lines, "\n"))
	cfg, err := config.Parse("gmail.yaml", []byte(src))
	if err != nil {
		t.Fatalf("the Gmail examples do not load: %v\n%s", err, src)
	}
	if len(cfg.Accounts) != 2 || cfg.Accounts[0].Backend != "gmail" || cfg.Accounts[1].Auth != "xoauth2" {
		t.Errorf("accounts %+v", cfg.Accounts)
	}
}

func indent(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		out = append(out, "  "+l)
	}
	return strings.Join(out, "\n") + "\n"
}
