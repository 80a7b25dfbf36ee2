package cli

import (
	"errors"
	"fmt"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/oauth"
)

func runCheckConfig(e *env, args []string) error {
	f := newFlags(e, "check-config").withConfig()
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"check-config takes no arguments"}
	}
	cfg, err := f.loadConfig(false)
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e2 := range errs {
			fmt.Fprintln(e.stdout, e2)
		}
		fmt.Fprintf(e.stdout, "%s found\n", plural(len(errs), "error", "errors"))
		return exitError{1}
	}
	if err != nil {
		return err
	}
	// Files the config names but that are read only when an account starts.
	var problems []string
	for _, a := range cfg.Accounts {
		if a.UsesOAuth() {
			for _, err := range oauth.CheckFiles(a.ClientSecretFile, a.TokenFile) {
				problems = append(problems, fmt.Sprintf("account %s: %v", a.Name, err))
			}
		}
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(e.stdout, p)
		}
		fmt.Fprintf(e.stdout, "%s found\n", plural(len(problems), "error", "errors"))
		return exitError{1}
	}
	fmt.Fprintf(e.stdout, "%s: OK: %s, %s (threshold %s), ask via %s\n", cfg.Path,
		plural(len(cfg.Accounts), "account", "accounts"),
		plural(cfg.Classifier.RuleCount(), "rule", "rules"), num(cfg.Classifier.Threshold()), cfg.Ask.Via)
	return nil
}
