package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/drafter"
)

func runDraft(e *env, args []string) error {
	f := newFlags(e, "draft").withConfig()
	action := f.String("action", "", "decline, reschedule or ask-compensation")
	reason := f.String("reason", "", "decline `reason` (default: reply.default_reason; see --list-reasons)")
	quote := f.Bool("quote", false, "quote the invitation under the reply (default: reply.quote_original)")
	listReasons := f.Bool("list-reasons", false, "list the decline reasons and exit")
	files, err := f.parse(args)
	if err != nil {
		return err
	}
	cfg, err := f.loadConfig(true)
	if err != nil {
		return err
	}
	if *listReasons {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		for _, r := range cfg.Templates.Reasons() {
			def := ""
			if r.Name == cfg.Reply.DefaultReason || (cfg.Reply.DefaultReason == "" && r.Name == drafter.ReasonNone) {
				def = " (default)"
			}
			fmt.Fprintf(tw, "%s\t%s%s\n", r.Name, r.Description, def)
		}
		return tw.Flush()
	}
	switch {
	case len(files) != 1:
		return usageError{"give exactly one message file"}
	case *action == "":
		return usageError{"--action is required: " + strings.Join(drafter.Actions(), ", ")}
	case *reason != "" && *action != drafter.ActionDecline:
		return usageError{"--reason goes with --action decline"}
	}
	m, err := readMessageFile(cfg, files[0])
	if err != nil {
		return err
	}
	if v := cfg.Classifier.Classify(m); !v.Invite {
		fmt.Fprintf(e.stderr, "note: %s does not look like an interview invitation (score %s, threshold %s); drafting anyway\n",
			files[0], num(v.Score), num(v.Threshold))
	}
	fields := classifier.Extract(m, cfg.ExtractOptions())
	d, err := cfg.NewDrafter(nil)
	if err != nil {
		return err
	}
	me := drafter.Me{Name: cfg.Me.Name, Signature: strings.TrimRight(cfg.Me.Signature, "\n"), Zone: cfg.Zone()}
	switch {
	case len(cfg.Accounts) > 0:
		me.Address = cfg.Accounts[0].Address
	case len(cfg.Me.Addresses) > 0:
		me.Address = cfg.Me.Addresses[0]
	}
	reply, err := d.Reply(drafter.Invitation{
		Message: m, FirstName: fields.FirstName, Company: fields.Company, Role: fields.Role,
		Lang: fields.Lang, Times: fields.Times,
	}, me, drafter.Request{
		Action: *action, Reason: *reason, CompensationTarget: cfg.Reply.CompensationTarget,
		QuoteOriginal: *quote || cfg.Reply.QuoteOriginal,
	})
	if err != nil {
		return err
	}
	for _, w := range reply.Warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	_, err = reply.WriteTo(e.stdout)
	return err
}
