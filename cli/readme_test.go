package cli_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMECommandsAreReal checks every rsvp command line the README shows:
// the subcommand exists and takes every flag shown. (What each command
// does is tested where it is built: cli, daemon, demo, internal/e2e.)
func TestREADMECommandsAreReal(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	seen := 0
	for _, blk := range blocks {
		for _, line := range strings.Split(blk[1], "\n") {
			line, _, _ = strings.Cut(line, "#")
			line = strings.TrimSpace(line)
			for _, cmd := range strings.Split(line, "&&") {
				f := strings.Fields(cmd)
				switch {
				case len(f) >= 2 && f[0] == "rsvp":
					f = f[1:]
				case len(f) >= 4 && f[0] == "go" && f[1] == "run" && f[2] == "./cmd/rsvp":
					f = f[3:]
				default:
					continue
				}
				seen++
				sub := f[0]
				help, _, code := run(t, sub, "--help")
				if code != 0 {
					t.Errorf("README: rsvp %s: no such command (exit %d)", sub, code)
					continue
				}
				for _, a := range f[1:] {
					if strings.HasPrefix(a, "--") {
						name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
						if !strings.Contains(help, "-"+name+" ") && !strings.Contains(help, "-"+name+"\n") {
							t.Errorf("README: rsvp %s has no flag --%s:\n%s", sub, name, help)
						}
					}
				}
			}
		}
	}
	if seen < 10 {
		t.Errorf("found only %d rsvp command lines in the README", seen)
	}
}
