// Package cli is rsvp's command line: it parses flags and subcommands and
// wires the other packages together. Every subcommand is a function that
// takes its arguments and writers, so tests run them in process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/rsvp-mail/rsvp/config"
)

// env is what a subcommand gets.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name    string
	args    string // synopsis after the name
	summary string
	run     func(e *env, args []string) error
}

func commands() []command {
	return []command{
		{"classify", "[--config F] [--json] FILE...", "verdict, score and the rules that fired, for each message file", runClassify},
		{"draft", "[--config F] --action decline|reschedule|ask-compensation [--reason R] [--quote] FILE | --list-reasons", "write the reply to an invitation to stdout", runDraft},
		{"check-config", "[--config F]", "check the config; list every error with file:line", runCheckConfig},
		{"run", "[--config F] [--debug]", "the daemon: watch the accounts, flag invitations, write the drafts you decide", runRun},
		{"scan", "[--config F] [--since D] [--account NAME]", "read-only dry run over the real mailbox: what would be flagged, and why", runScan},
		{"pending", "[--config F]", "invitations waiting for an answer", runPending},
		{"decide", "[--config F] ID decline|reschedule|ignore|ask-compensation [--reason R]", "answer an invitation; the daemon writes the draft", runDecide},
		{"auth", "[--config F] [--account NAME] [--no-browser]", "sign in to a Gmail account in the browser (OAuth); saves the token", runAuth},
		{"demo", "[--yes | --desktop] [--debug]", "the whole loop on an embedded IMAP server: no account, no network", runDemo},
		{"history", "[--config F] [--csv] [--since D]", "every invitation: date, company, role, contact, decision, reason", runHistory},
	}
}

// exitError carries an exit code out of a subcommand; its message, if any,
// has already been printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Run runs rsvp with args (without the program name) and returns the exit
// code: 0 success, 1 failure, 2 usage error.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		if len(args) > 1 {
			return Run(ctx, []string{args[1], "--help"}, stdin, stdout, stderr)
		}
		usage(stdout)
		return 0
	case "version", "--version":
		fmt.Fprintln(stdout, "rsvp", Version)
		return 0
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(e, args[1:])
		var ex exitError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ex):
			return ex.code
		case errors.As(err, new(usageError)):
			fmt.Fprintf(stderr, "rsvp %s: %v\nusage: rsvp %s %s\n", c.name, err, c.name, c.args)
			return 2
		default:
			fmt.Fprintf(stderr, "rsvp %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "rsvp: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

// Version is set at build time with -ldflags "-X …/cli.Version=…".
var Version = "dev"

func usage(w io.Writer) {
	fmt.Fprintln(w, "rsvp answers job-interview invitations politely: it finds them in your mail,")
	fmt.Fprintln(w, "asks you what to do, and leaves a threaded reply in Drafts. It never sends mail.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage:")
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  rsvp %-13s %s\n", c.name, c.args)
		fmt.Fprintf(w, "      %s\n", c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "--config defaults to %s ($XDG_CONFIG_HOME/rsvp/config.yaml).\n", config.DefaultPath())
	fmt.Fprintln(w, "Run 'rsvp help COMMAND' for a command's flags.")
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// flags is a FlagSet that accepts flags before, between and after
// positional arguments, as `rsvp decide ID decline --reason R` needs.
type flags struct {
	*flag.FlagSet
	cmd    command
	config string
	stdout io.Writer
}

func newFlags(e *env, name string) *flags {
	var cmd command
	for _, c := range commands() {
		if c.name == name {
			cmd = c
		}
	}
	fs := flag.NewFlagSet("rsvp "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f := &flags{FlagSet: fs, cmd: cmd, stdout: e.stdout}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: rsvp %s %s\n  %s\n\n", cmd.name, cmd.args, cmd.summary)
		fs.PrintDefaults()
	}
	return f
}

func (f *flags) withConfig() *flags {
	f.StringVar(&f.config, "config", "", "config `file` (default "+config.DefaultPath()+")")
	return f
}

// parse parses args, allowing flags anywhere, and returns the positional
// arguments. "--" ends flag parsing.
func (f *flags) parse(args []string) ([]string, error) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			f.SetOutput(f.stdout) // asked-for help goes to stdout
		}
	}
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, exitError{2}
		}
		rest := f.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// loadConfig loads the config named by --config, or the default one; with
// allowMissing, a missing default config gives the built-in defaults.
func (f *flags) loadConfig(allowMissing bool) (*config.Config, error) {
	path, explicit := f.config, f.config != ""
	if !explicit {
		path = config.DefaultPath()
	}
	if allowMissing {
		return config.LoadOrDefault(path, explicit)
	}
	return config.Load(path)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func nullable(s string) any {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return s
}
