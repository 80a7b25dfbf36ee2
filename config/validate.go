package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rsvp-mail/rsvp/classifier"
)

type validator struct {
	d   *decoder
	cfg *Config
}

func (v *validator) errorf(path, format string, args ...any) {
	line := v.lineOf(path)
	v.d.errorf(line, path, format, args...)
}

// lineOf finds the line of a key path, or of its nearest parent present.
func (v *validator) lineOf(path string) int {
	for p := path; p != ""; {
		if l, ok := v.d.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func (v *validator) applyDefaults() {
	c := v.cfg
	if c.Detect.Threshold == nil {
		t := DefaultThreshold
		if builtin.Threshold != nil {
			t = *builtin.Threshold
		}
		c.Detect.Threshold = &t
	}
	if c.Ask.Via == "" {
		c.Ask.Via = "desktop"
	}
	if c.Ask.RemindAfter == 0 {
		c.Ask.RemindAfter = Duration(DefaultRemindAfter)
	}
	if c.Ask.Spacing == 0 {
		c.Ask.Spacing = Duration(DefaultSpacing)
	}
	if c.Ask.CommandTimeout == 0 {
		c.Ask.CommandTimeout = Duration(DefaultCommandTimeout)
	}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		if a.Backend == "" {
			a.Backend = "imap"
		}
		if a.Mailbox == "" {
			a.Mailbox = "INBOX"
		}
		if a.Security == "" {
			a.Security = "tls"
		}
		if a.Port == 0 {
			a.Port = 993
			if a.Security != "tls" {
				a.Port = 143
			}
		}
		if a.Flag == nil {
			f := DefaultFlag
			a.Flag = &f
		}
		if a.Since == 0 {
			a.Since = Duration(DefaultSince)
		}
		if a.PollInterval == 0 {
			a.PollInterval = Duration(DefaultPollInterval)
			if a.Backend == "gmail" {
				a.PollInterval = Duration(DefaultGmailPollInterval)
			}
		}
		if a.Auth == "" {
			a.Auth = "password"
		}
		if a.Label == nil {
			l := DefaultLabel
			a.Label = &l
		}
		if a.UsesOAuth() {
			if a.ClientSecretFile == "" {
				a.ClientSecretFile = c.OAuth.ClientSecretFile
			}
			a.ClientSecretFile = ExpandHome(a.ClientSecretFile)
			if a.TokenFile == "" && a.Name != "" {
				a.TokenFile = filepath.Join(StateDir(), "tokens", a.Name+".json")
			}
			a.TokenFile = ExpandHome(a.TokenFile)
		}
		if a.Username == "" {
			a.Username = a.Address
		}
	}
}

func (v *validator) validate() {
	c := v.cfg
	if c.Me.TimeZone != "" {
		if _, err := time.LoadLocation(c.Me.TimeZone); err != nil {
			v.errorf("me.time_zone", "unknown time zone %q (use an IANA name such as Europe/Berlin)", c.Me.TimeZone)
		}
	}
	for i, a := range c.Me.Addresses {
		if !strings.Contains(a, "@") {
			v.errorf(fmt.Sprintf("me.addresses[%d]", i), "%q is not an email address", a)
		}
	}
	names := map[string]int{}
	for i, a := range c.Accounts {
		p := fmt.Sprintf("accounts[%d]", i)
		switch {
		case a.Name == "":
			v.errorf(p+".name", "an account needs a name (used by rsvp auth --account and in logs)")
		case names[a.Name] > 0:
			v.errorf(p+".name", "%q is already the name of accounts[%d]", a.Name, names[a.Name]-1)
		default:
			names[a.Name] = i + 1
		}
		if !strings.Contains(a.Address, "@") {
			v.errorf(p+".address", "an account needs its email address (drafts are written From it)")
		}
		switch a.Backend {
		case "imap":
			if a.Host == "" {
				v.errorf(p+".host", "an IMAP account needs a host")
			}
		case "gmail":
			if a.Host != "" {
				v.errorf(p+".host", "a gmail account uses the Gmail API, not a host; for Gmail over IMAP use backend: imap with auth: xoauth2")
			}
		default:
			v.errorf(p+".backend", "%q: want imap or gmail", a.Backend)
		}
		switch a.Security {
		case "tls", "starttls":
		case "plain":
			if !isLoopback(a.Host) {
				v.errorf(p+".security", "plain (unencrypted) IMAP is only allowed to a loopback host, not %q", a.Host)
			}
		default:
			v.errorf(p+".security", "%q: want tls, starttls or plain", a.Security)
		}
		if a.Port < 1 || a.Port > 65535 {
			v.errorf(p+".port", "%d is not a TCP port", a.Port)
		}
		sources := 0
		for _, set := range []bool{a.Password != "", len(a.PasswordCommand) > 0, a.PasswordFile != ""} {
			if set {
				sources++
			}
		}
		if sources > 1 {
			v.errorf(p+".password", "give only one of password, password_command and password_file")
		}
		switch a.Auth {
		case "password", "xoauth2":
		default:
			v.errorf(p+".auth", "%q: want password or xoauth2", a.Auth)
		}
		if a.Auth == "xoauth2" && a.Backend != "imap" {
			v.errorf(p+".auth", "xoauth2 is for backend imap; a gmail account signs in with rsvp auth anyway")
		}
		if a.UsesOAuth() {
			if sources > 0 {
				v.errorf(p+".password", "this account signs in with rsvp auth (OAuth): remove the password")
			}
			if a.ClientSecretFile == "" {
				v.errorf("oauth.client_secret_file", "account %q signs in with OAuth and needs your OAuth client's client_secret.json (see the README, \"Gmail\")", a.Name)
			}
		} else if a.Backend == "imap" && sources == 0 {
			v.errorf(p+".password", "an IMAP account needs password_command, password_file or password (or auth: xoauth2 for Gmail)")
		}
		if f := *a.Flag; strings.ContainsAny(f, " ()[]{}%*\"\\") {
			v.errorf(p+".flag", "%q is not a valid IMAP keyword", f)
		}
	}
	switch c.Ask.Via {
	case "ntfy":
		n := c.Ask.Ntfy
		if strings.TrimSpace(n.Topic) == "" {
			v.errorf("ask.ntfy.topic", "ask.via is ntfy, so ask.ntfy.topic needs a topic (a long random name)")
		}
		if n.Listen == "" {
			v.errorf("ask.ntfy.listen", "ask.via is ntfy, so ask.ntfy.listen needs the address the daemon listens on for the buttons, e.g. 127.0.0.1:8517")
		}
		if n.Priority < 0 || n.Priority > 5 {
			v.errorf("ask.ntfy.priority", "%d: want 1 to 5, or 0 for the server's default", n.Priority)
		}
	case "desktop", "terminal":
	case "command":
		if len(c.Ask.Command) == 0 {
			v.errorf("ask.command", "ask.via is command, so ask.command needs the program and its arguments")
		}
	default:
		v.errorf("ask.via", "%q: want desktop, command, terminal or ntfy", c.Ask.Via)
	}
	if q := c.Ask.QuietHours; q.From != "" || q.To != "" {
		for path, s := range map[string]string{"ask.quiet_hours.from": q.From, "ask.quiet_hours.to": q.To} {
			if _, ok := clockMinutes(s); !ok {
				v.errorf(path, "%q: want a time of day as HH:MM, e.g. 22:00", s)
			}
		}
	}
	if len(c.Ask.Reasons) > 3 {
		v.errorf("ask.reasons", "%d reasons: a notification has room for 3", len(c.Ask.Reasons))
	}
	d := c.Detect
	if d.MaxBodyBytes < 0 {
		v.errorf("detect.max_body_bytes", "must not be negative")
	}
	if d.MaxMIMEDepth < 0 {
		v.errorf("detect.max_mime_depth", "must not be negative")
	}
	v.compileRules()
	v.replies()
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// origin says where a rule of the merged set was written.
type origin struct {
	builtin bool
	index   int
}

// compileRules merges the user's rules over the built-ins and compiles
// them, turning every classifier error into a file:line error.
func (v *validator) compileRules() {
	c := v.cfg
	var merged []classifier.Rule
	var from []origin
	pos := map[string]int{}
	if c.Detect.BuiltinRules == nil || *c.Detect.BuiltinRules {
		for i, r := range builtin.Rules {
			pos[r.Name] = len(merged)
			merged = append(merged, toClassifierRule(r))
			from = append(from, origin{builtin: true, index: i})
		}
	}
	userNames := map[string]int{}
	for i, r := range c.Detect.Rules {
		if j, dup := userNames[r.Name]; dup && r.Name != "" {
			v.errorf(fmt.Sprintf("detect.rules[%d].name", i), "%q is already the name of detect.rules[%d]", r.Name, j)
			continue
		}
		userNames[r.Name] = i
		if r.Score == nil && !isCombination(r) {
			v.errorf(fmt.Sprintf("detect.rules[%d]", i), "a rule needs a score (0 to switch it off)")
		}
		if j, ok := pos[r.Name]; ok && r.Name != "" && from[j].builtin {
			merged[j] = toClassifierRule(r)
			from[j] = origin{index: i}
			continue
		}
		pos[r.Name] = len(merged)
		merged = append(merged, toClassifierRule(r))
		from = append(from, origin{index: i})
	}
	spec := classifier.Spec{
		Threshold: *c.Detect.Threshold,
		Rules:     merged,
		Allow:     c.Detect.Senders.Allow,
		Deny:      c.Detect.Senders.Deny,
		Own:       c.Me.Addresses,
	}
	for _, a := range c.Accounts {
		spec.Own = append(spec.Own, a.Address)
	}
	cl, err := classifier.Compile(spec)
	var errs classifier.Errors
	switch {
	case err == nil:
		c.Classifier = cl
		return
	case !errors.As(err, &errs):
		v.errorf("detect.rules", "%v", err)
		return
	}
	for _, e := range errs {
		var path string
		switch {
		case e.Rule < 0 && (e.Field == classifier.FieldAllow || e.Field == classifier.FieldDeny):
			path = "detect.senders." + e.Field
		case e.Rule < 0:
			path = "detect." + e.Field
		case from[e.Rule].builtin:
			// Only reachable when a user rule breaks a built-in one,
			// e.g. by giving a combination's part a new kind.
			v.d.errorf(0, fmt.Sprintf("builtin rule %s", merged[e.Rule].Name), "%v", e.Err)
			continue
		default:
			path = fmt.Sprintf("detect.rules[%d].%s", from[e.Rule].index, e.Field)
		}
		if e.Item >= 0 {
			path += fmt.Sprintf("[%d]", e.Item)
		}
		v.errorf(path, "%v", e.Err)
	}
}

func isCombination(r Rule) bool {
	return len(r.AllOf)+len(r.AnyOf)+len(r.NoneOf)+len(r.Of) > 0
}

func toClassifierRule(r Rule) classifier.Rule {
	score := 0.0
	if r.Score != nil {
		score = *r.Score
	}
	return classifier.Rule{
		Name: r.Name, Description: r.Description, In: r.In, Keywords: r.Keywords,
		Pattern: r.Pattern, Present: r.Present, AllOf: r.AllOf, AnyOf: r.AnyOf,
		NoneOf: r.NoneOf, AtLeast: r.AtLeast, Of: r.Of, Score: score,
	}
}

// checkSecretsPermissions refuses a config that holds a password and can be
// read by other users (product rule 4).
func checkSecretsPermissions(c *Config) error {
	if c.Ask.Ntfy.Token != "" && c.Path != "" {
		if fi, err := os.Stat(c.Path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return Errors{{File: c.Path, Path: "ask.ntfy.token",
				Msg: fmt.Sprintf("the file holds an ntfy access token but other users can read it (mode %04o); run: chmod 600 %s", fi.Mode().Perm(), c.Path)}}
		}
	}
	for i, a := range c.Accounts {
		if a.Password == "" {
			continue
		}
		fi, err := os.Stat(c.Path)
		if err != nil {
			return fmt.Errorf("stat config: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return Errors{{File: c.Path, Path: fmt.Sprintf("accounts[%d].password", i),
				Msg: fmt.Sprintf("the file holds a password but other users can read it (mode %04o); run: chmod 600 %s", fi.Mode().Perm(), c.Path)}}
		}
	}
	return nil
}
