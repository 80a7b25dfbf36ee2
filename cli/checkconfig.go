package cli

import (
	"errors"
	"fmt"

	"github.com/rsvp-mail/rsvp/config"
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
	fmt.Fprintf(e.stdout, "%s: OK: %s, %s (threshold %s), ask via %s\n", cfg.Path,
		plural(len(cfg.Accounts), "account", "accounts"),
		plural(cfg.Classifier.RuleCount(), "rule", "rules"), num(cfg.Classifier.Threshold()), cfg.Ask.Via)
	return nil
}
