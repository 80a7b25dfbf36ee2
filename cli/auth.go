package cli

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/oauth"
)

func runAuth(e *env, args []string) error {
	f := newFlags(e, "auth").withConfig()
	name := f.String("account", "", "the account to sign in (default: the only Gmail or xoauth2 account)")
	noBrowser := f.Bool("no-browser", false, "print the sign-in address without opening a browser")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"auth takes no arguments"}
	}
	cfg, err := f.loadConfig(false)
	if err != nil {
		return err
	}
	var candidates []config.Account
	for _, a := range cfg.Accounts {
		if a.UsesOAuth() && (*name == "" || a.Name == *name) {
			candidates = append(candidates, a)
		}
	}
	switch {
	case len(candidates) == 0 && *name != "":
		return fmt.Errorf("no account %q that signs in with OAuth (backend: gmail, or auth: xoauth2) in %s", *name, cfg.Path)
	case len(candidates) == 0:
		return fmt.Errorf("no account in %s signs in with OAuth (backend: gmail, or auth: xoauth2)", cfg.Path)
	case len(candidates) > 1:
		var names []string
		for _, a := range candidates {
			names = append(names, a.Name)
		}
		return usageError{"several accounts sign in with OAuth; choose one with --account: " + strings.Join(names, ", ")}
	}
	a := candidates[0]
	scope := oauth.ScopeGmailModify
	if a.Backend != "gmail" {
		scope = oauth.ScopeIMAP // Gmail's IMAP wants the full-mail scope
	}
	var open func(string) error
	if !*noBrowser && (os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "") {
		open = func(url string) error { return exec.Command("xdg-open", url).Run() }
	}
	fmt.Fprintf(e.stdout, "Signing in account %s (%s).\n", a.Name, a.Address)
	if _, err := oauth.Authorize(e.ctx, oauth.FlowOptions{
		ClientSecretFile: a.ClientSecretFile, Scopes: []string{scope}, TokenFile: a.TokenFile,
		Out: e.stdout, OpenBrowser: open, Logger: newLogger(e.stderr, false),
	}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Signed in: the token is in %s (mode 0600). A running rsvp picks it up by itself.\n", a.TokenFile)
	return nil
}
