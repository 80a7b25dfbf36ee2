package cli

import "github.com/rsvp-mail/rsvp/demo"

// runDemo is `rsvp demo`: the whole loop on an IMAP server inside the
// process, with a made-up inbox and a throwaway store. No config, no
// account, no network; the user's config and state are never read.
func runDemo(e *env, args []string) error {
	f := newFlags(e, "demo")
	yes := f.Bool("yes", false, "answer every invitation automatically: decline, with the default reason")
	desktop := f.Bool("desktop", false, "ask with desktop notifications instead of here (falls back to here when none can be shown)")
	debug := f.Bool("debug", false, "log at debug level, with the IMAP protocol trace (password redacted)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"demo takes no arguments"}
	}
	if *yes && *desktop {
		return usageError{"--yes answers every question itself: it goes without --desktop"}
	}
	_, err = demo.Run(e.ctx, demo.Options{Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr,
		Yes: *yes, Desktop: *desktop, Debug: *debug})
	return err
}
