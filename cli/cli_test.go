package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/rsvp-mail/rsvp/cli"
)

var corpus = filepath.Join("..", "..", "shared", "corpus")

// run runs rsvp in process with an empty XDG config home, so no config of
// the machine's user leaks in.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestClassifyPrintsVerdictRulesAndFields(t *testing.T) {
	out, errOut, code := run(t, "classify", filepath.Join(corpus, "dev-19.eml"))
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"dev-19.eml: INVITATION (score ", "threshold 5.0)", "TALK_ASK", "asks, in one sentence, for a call",
		"reply_to    priya.raman@halcyonfreight.example", "first_name  Priya", "company     Halcyon Freight"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, _ = run(t, "classify", filepath.Join(corpus, "dev-16.eml"))
	if !strings.Contains(out, "not an invitation") || !strings.Contains(out, "JOB_ALERT") {
		t.Errorf("job alert output:\n%s", out)
	}
}

func TestClassifyJSONIsOneObjectPerLineAsDesigned(t *testing.T) {
	files := []string{filepath.Join(corpus, "dev-02.eml"), filepath.Join(corpus, "dev-16.eml")}
	out, _, code := run(t, append([]string{"classify", "--json"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	var lines []map[string]any
	for sc.Scan() {
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, obj)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	keys := func(m map[string]any) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		sort.Strings(k)
		return k
	}
	if got := keys(lines[0]); !reflect.DeepEqual(got, []string{"fields", "file", "invite", "rules", "score", "threshold"}) {
		t.Errorf("keys = %v", got)
	}
	fields := lines[0]["fields"].(map[string]any)
	if got := keys(fields); !reflect.DeepEqual(got, []string{"company", "first_name", "lang", "reply_to", "role"}) {
		t.Errorf("field keys = %v", got)
	}
	if fields["company"] != nil || fields["first_name"] != "Zoë" || lines[0]["invite"] != true {
		t.Errorf("dev-02 = %v (company is not stated: want null)", lines[0])
	}
	rule := lines[0]["rules"].([]any)[0].(map[string]any)
	if got := keys(rule); !reflect.DeepEqual(got, []string{"name", "score"}) {
		t.Errorf("rule keys = %v", got)
	}
	if lines[1]["invite"] != false || lines[1]["file"] != files[1] {
		t.Errorf("dev-16 = %v", lines[1])
	}
}

func TestClassifyGoesOnPastAnUnreadableFile(t *testing.T) {
	out, errOut, code := run(t, "classify", "--json", "does-not-exist.eml", filepath.Join(corpus, "dev-19.eml"))
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(errOut, "does-not-exist.eml") {
		t.Errorf("stderr %q does not name the file", errOut)
	}
	if !strings.Contains(out, "dev-19.eml") {
		t.Errorf("the readable file was not classified: %q", out)
	}
}

func TestClassifyUsesTheGivenConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("detect:\n  senders:\n    deny: [halcyonfreight.example]\n"), 0o600)
	out, _, code := run(t, "classify", "--config", cfg, filepath.Join(corpus, "dev-19.eml"))
	if code != 0 || !strings.Contains(out, "not an invitation") || !strings.Contains(out, "SENDER_DENIED") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	_, errOut, code := run(t, "classify", "--config", filepath.Join(dir, "missing.yaml"), filepath.Join(corpus, "dev-19.eml"))
	if code != 1 || !strings.Contains(errOut, "missing.yaml") {
		t.Errorf("a missing named config: exit %d, %q", code, errOut)
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	example, err := os.ReadFile(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(good, example, 0o600)
	out, _, code := run(t, "check-config", "--config", good)
	if code != 0 || !strings.Contains(out, "OK: 1 account,") || strings.Count(out, "\n") != 1 {
		t.Errorf("good config: exit %d, %q", code, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("detect:\n  rules:\n    - name: X\n      pattern: 'a(b'\n      score: 1\n  treshold: 4\n"), 0o600)
	out, _, code = run(t, "check-config", "--config", bad)
	if code != 1 {
		t.Errorf("bad config: exit %d", code)
	}
	for _, want := range []string{bad + ":4: detect.rules[0].pattern: missing closing )", bad + `:6: detect.treshold: unknown key (did you mean "threshold"?)`, "2 errors found"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	_, errOut, code := run(t, "check-config", "--config", filepath.Join(dir, "none.yaml"))
	if code != 1 || !strings.Contains(errOut, "config file not found") {
		t.Errorf("missing config: exit %d %q", code, errOut)
	}
}

func TestUsage(t *testing.T) {
	out, _, code := run(t, "help")
	if code != 0 || !strings.Contains(out, "rsvp classify") || !strings.Contains(out, "rsvp check-config") {
		t.Errorf("help: %d %q", code, out)
	}
	out, _, code = run(t, "classify", "--help")
	if code != 0 || !strings.Contains(out, "-json") {
		t.Errorf("classify --help: %d %q", code, out)
	}
	_, errOut, code := run(t, "frobnicate")
	if code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
	_, errOut, code = run(t, "classify")
	if code != 2 || !strings.Contains(errOut, "usage: rsvp classify") {
		t.Errorf("classify without files: %d %q", code, errOut)
	}
	_, _, code = run(t)
	if code != 2 {
		t.Errorf("no arguments: exit %d, want 2", code)
	}
}
