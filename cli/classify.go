package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

func runClassify(e *env, args []string) error {
	f := newFlags(e, "classify").withConfig()
	asJSON := f.Bool("json", false, "print one JSON object per file, one per line")
	files, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageError{"no message files given"}
	}
	cfg, err := f.loadConfig(true)
	if err != nil {
		return err
	}
	failed := 0
	for i, file := range files {
		m, err := readMessageFile(cfg, file)
		if err != nil {
			fmt.Fprintf(e.stderr, "rsvp classify: %v\n", err)
			failed++
			continue
		}
		v := cfg.Classifier.Classify(m)
		fields := classifier.Extract(m, cfg.ExtractOptions())
		if *asJSON {
			if err := writeJSONVerdict(e.stdout, file, v, fields); err != nil {
				return err
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		writeHumanVerdict(e.stdout, file, m, v, fields)
	}
	if failed > 0 {
		return exitError{1}
	}
	return nil
}

// readMessageFile reads one message file within the configured bounds.
func readMessageFile(cfg *config.Config, file string) (*mailmsg.Message, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, err // *PathError names the file
	}
	defer fh.Close()
	m, err := mailmsg.Read(fh, mailmsg.Options{MaxBodyBytes: cfg.Detect.MaxBodyBytes, MaxDepth: cfg.Detect.MaxMIMEDepth})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return m, nil
}

// jsonVerdict is the line `classify --json` prints (DESIGN.md).
type jsonVerdict struct {
	File      string           `json:"file"`
	Invite    bool             `json:"invite"`
	Score     float64          `json:"score"`
	Threshold float64          `json:"threshold"`
	Rules     []classifier.Hit `json:"rules"`
	Fields    jsonFields       `json:"fields"`
}

type jsonFields struct {
	FirstName any `json:"first_name"`
	Company   any `json:"company"`
	Role      any `json:"role"`
	ReplyTo   any `json:"reply_to"`
	Lang      any `json:"lang"`
}

func writeJSONVerdict(w io.Writer, file string, v classifier.Verdict, f classifier.Fields) error {
	hits := v.Hits
	if hits == nil {
		hits = []classifier.Hit{}
	}
	b, err := json.Marshal(jsonVerdict{
		File: file, Invite: v.Invite, Score: v.Score, Threshold: v.Threshold, Rules: hits,
		Fields: jsonFields{
			FirstName: nullable(f.FirstName), Company: nullable(f.Company), Role: nullable(f.Role),
			ReplyTo: nullable(f.ReplyTo), Lang: nullable(f.Lang),
		},
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeHumanVerdict prints a verdict the way `spamassassin -t` reports:
// the decision, then each rule with its points and description.
func writeHumanVerdict(w io.Writer, file string, m *mailmsg.Message, v classifier.Verdict, f classifier.Fields) {
	verdict := "not an invitation"
	if v.Invite {
		verdict = "INVITATION"
	}
	fmt.Fprintf(w, "%s: %s (score %s, threshold %s)\n", file, verdict, num(v.Score), num(v.Threshold))
	fmt.Fprintf(w, "  Subject: %s\n", m.Subject)
	if m.From != nil {
		fmt.Fprintf(w, "  From:    %s\n", m.From.String())
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(v.Hits) == 0 {
		fmt.Fprintln(tw, "  no rule fired")
	} else {
		fmt.Fprintln(tw, "   pts\trule name\tdescription")
		fmt.Fprintln(tw, "  ----\t---------\t-----------")
		for _, h := range v.Hits {
			why := h.Description
			switch {
			case h.Match != "" && h.Where == "": // a combination: the rules it saw
				why += " [" + h.Match + "]"
			case h.Match != "":
				why += fmt.Sprintf(" [%s: %s]", h.Where, quoteMatch(h.Match))
			case h.Where != "":
				why += fmt.Sprintf(" [%s]", h.Where)
			}
			fmt.Fprintf(tw, "  %4s\t%s\t%s\n", num(h.Score), h.Name, why)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  Fields:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{{"reply_to", f.ReplyTo}, {"first_name", f.FirstName}, {"company", f.Company}, {"role", f.Role}, {"lang", f.Lang}} {
		val := kv[1]
		if val == "" {
			val = "-"
		}
		fmt.Fprintf(tw, "    %s\t%s\n", kv[0], val)
	}
	times := "-"
	if len(f.Times) > 0 {
		var ts []string
		for _, t := range f.Times {
			ts = append(ts, t.Format("Mon 2 Jan 2006 15:04 MST"))
		}
		times = strings.Join(ts, "; ")
	}
	fmt.Fprintf(tw, "    times\t%s\n", times)
	tw.Flush()
	for _, p := range m.Problems {
		fmt.Fprintf(w, "  note: %s\n", p)
	}
}

func num(f float64) string {
	return fmt.Sprintf("%.1f", f)
}

func quoteMatch(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:57]) + "..."
	}
	return fmt.Sprintf("%q", s)
}
