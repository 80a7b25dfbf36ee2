// Package config loads rsvp's YAML configuration: strict (an unknown key is
// an error), with every problem reported at once as FILE:LINE: key.path:
// what is wrong, and with defaults for everything a user leaves out. It
// also knows where rsvp keeps its files (XDG base directories).
//
// The rule set is the built-in one (builtin_rules.yaml, also written out in
// config.example.yaml) with the user's detect.rules laid over it by name: a
// rule with a built-in's name replaces it, a new name adds a rule, and
// `score: 0` switches a rule off. detect.builtin_rules: false starts from
// nothing instead.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/drafter"
)

// Config is the whole configuration.
type Config struct {
	Me       Me        `yaml:"me"`
	Accounts []Account `yaml:"accounts"`
	Detect   Detect    `yaml:"detect"`
	Ask      Ask       `yaml:"ask"`
	Reply    Reply     `yaml:"reply"`
	OAuth    OAuth     `yaml:"oauth"`

	// Path is the file the config was read from; "" for the built-in
	// defaults.
	Path string `yaml:"-"`
	// Classifier is the compiled rule set.
	Classifier *classifier.Classifier `yaml:"-"`
	// Templates are the reply templates, built-in ones with the user's
	// overrides, checked at load.
	Templates *drafter.Templates `yaml:"-"`
	// Availability is reply.availability without the busy times, which
	// are read from busy_ics each time a reply is drafted.
	Availability drafter.Availability `yaml:"-"`
}

// Me is who the user is.
type Me struct {
	Name      string   `yaml:"name"`
	Addresses []string `yaml:"addresses"`
	Signature string   `yaml:"signature"`
	TimeZone  string   `yaml:"time_zone"`
}

// Account is one mailbox to watch.
type Account struct {
	Name            string   `yaml:"name"`
	Backend         string   `yaml:"backend"` // imap | gmail
	Address         string   `yaml:"address"`
	Host            string   `yaml:"host"`
	Port            int      `yaml:"port"`
	Security        string   `yaml:"security"` // tls | starttls | plain
	Username        string   `yaml:"username"`
	Password        string   `yaml:"password"`
	PasswordCommand []string `yaml:"password_command"`
	PasswordFile    string   `yaml:"password_file"`
	CAFile          string   `yaml:"ca_file"`
	Mailbox         string   `yaml:"mailbox"`
	Drafts          string   `yaml:"drafts"`
	Flag            *string  `yaml:"flag"`
	Since           Duration `yaml:"since"`
	PollInterval    Duration `yaml:"poll_interval"`

	// Auth is how an IMAP account signs in: "password" (the default) or
	// "xoauth2" (Gmail over IMAP with the token from rsvp auth).
	Auth string `yaml:"auth"`
	// Label is the Gmail label put on invitations (backend gmail; ""
	// puts none).
	Label *string `yaml:"label"`
	// ClientSecretFile and TokenFile are the OAuth files of a gmail or
	// xoauth2 account: the client secret defaults to
	// oauth.client_secret_file, the token to
	// $XDG_STATE_HOME/rsvp/tokens/NAME.json.
	ClientSecretFile string `yaml:"client_secret_file"`
	TokenFile        string `yaml:"token_file"`
}

// UsesOAuth reports whether the account signs in with rsvp auth.
func (a Account) UsesOAuth() bool { return a.Backend == "gmail" || a.Auth == "xoauth2" }

// OAuth holds the OAuth client for Gmail sign-in.
type OAuth struct {
	// ClientSecretFile is the client_secret.json of the user's own OAuth
	// client (Google Cloud Console, application type "Desktop app").
	ClientSecretFile string `yaml:"client_secret_file"`
}

// Detect is how invitations are recognised.
type Detect struct {
	Threshold    *float64 `yaml:"threshold"`
	MaxBodyBytes int      `yaml:"max_body_bytes"`
	MaxMIMEDepth int      `yaml:"max_mime_depth"`
	BuiltinRules *bool    `yaml:"builtin_rules"`
	Senders      Senders  `yaml:"senders"`
	Rules        []Rule   `yaml:"rules"`
}

// Senders are the allow and deny lists.
type Senders struct {
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
}

// Rule is one classifier rule as written in YAML; see package classifier.
type Rule struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	In          []string `yaml:"in"`
	Keywords    []string `yaml:"keywords"`
	Pattern     string   `yaml:"pattern"`
	Present     string   `yaml:"present"`
	AllOf       []string `yaml:"all_of"`
	AnyOf       []string `yaml:"any_of"`
	NoneOf      []string `yaml:"none_of"`
	AtLeast     int      `yaml:"at_least"`
	Of          []string `yaml:"of"`
	Score       *float64 `yaml:"score"`
}

// Ask is how the user is asked about an invitation.
type Ask struct {
	Via            string   `yaml:"via"` // desktop | command | terminal
	Command        []string `yaml:"command"`
	CommandTimeout Duration `yaml:"command_timeout"`
	RemindAfter    Duration `yaml:"remind_after"`
	// Reasons are up to three decline reasons offered after Decline
	// (names of reply reasons); empty: Decline uses the default reason.
	Reasons []string `yaml:"reasons"`
	// QuietHours holds questions back between From and To (local time,
	// "HH:MM"; From after To spans midnight).
	QuietHours QuietHours `yaml:"quiet_hours"`
	// Spacing is the least time between two questions, so that several
	// invitations arriving together are asked one at a time.
	Spacing Duration `yaml:"spacing"`
	// Ntfy is the phone-push backend (via: ntfy).
	Ntfy Ntfy `yaml:"ntfy"`
}

// Ntfy publishes questions to an ntfy topic; its buttons call back to a
// small HTTP endpoint of the daemon.
type Ntfy struct {
	Server    string   `yaml:"server"`     // default https://ntfy.sh
	Topic     string   `yaml:"topic"`      // a long random name: whoever knows it reads the questions
	Token     string   `yaml:"token"`      // ntfy access token, optional (the config must then be 0600)
	Listen    string   `yaml:"listen"`     // the daemon's callback address, e.g. 127.0.0.1:8517
	PublicURL string   `yaml:"public_url"` // where the phone reaches it, e.g. https://home.example/rsvp
	Priority  int      `yaml:"priority"`   // 1..5; 0 is the server's default
	LinkTTL   Duration `yaml:"link_ttl"`   // how long a button works; default 30 days
}

// QuietHours is a daily window without questions.
type QuietHours struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// In reports whether t (in its own zone) falls in the quiet hours, and
// when they end. Empty or invalid hours are never quiet.
func (q QuietHours) In(t time.Time) (bool, time.Time) {
	from, ok1 := clockMinutes(q.From)
	to, ok2 := clockMinutes(q.To)
	if !ok1 || !ok2 || from == to {
		return false, time.Time{}
	}
	now := t.Hour()*60 + t.Minute()
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	at := func(dayOffset, minutes int) time.Time {
		return midnight.AddDate(0, 0, dayOffset).Add(time.Duration(minutes) * time.Minute)
	}
	switch {
	case from < to && now >= from && now < to:
		return true, at(0, to)
	case from > to && now >= from:
		return true, at(1, to)
	case from > to && now < to:
		return true, at(0, to)
	}
	return false, time.Time{}
}

// clockMinutes reads "HH:MM" as minutes after midnight.
func clockMinutes(s string) (int, bool) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// Reply is how replies are written.
type Reply struct {
	DefaultReason      string            `yaml:"default_reason"`
	QuoteOriginal      bool              `yaml:"quote_original"`
	CompensationTarget string            `yaml:"compensation_target"`
	TemplatesDir       string            `yaml:"templates_dir"`
	Templates          map[string]string `yaml:"templates"`
	Availability       Availability      `yaml:"availability"`
}

// Availability is when the user can meet, for reschedule proposals.
type Availability struct {
	Days       string   `yaml:"days"`  // "Mon-Fri", "mon,wed,fri"
	Hours      string   `yaml:"hours"` // "09:30-17:00" or "09:00-12:00, 13:30-17:00"
	TimeZone   string   `yaml:"time_zone"`
	SlotLength Duration `yaml:"slot_length"`
	LeadDays   *int     `yaml:"lead_days"`
	BusyICS    string   `yaml:"busy_ics"`
}

// Defaults for what a config leaves out.
const (
	DefaultThreshold    = 5.0
	DefaultSince        = 14 * 24 * time.Hour
	DefaultPollInterval = 2 * time.Minute
	// DefaultGmailPollInterval: a history.list call costs 2 quota units.
	DefaultGmailPollInterval = 30 * time.Second
	// DefaultLabel is the Gmail label put on invitations.
	DefaultLabel       = "Interview invitations"
	DefaultFlag        = "$Interview"
	DefaultRemindAfter = 24 * time.Hour
	// DefaultSpacing is the least time between two questions.
	DefaultSpacing = 30 * time.Second
	// DefaultCommandTimeout bounds one run of ask.command.
	DefaultCommandTimeout = 10 * time.Minute
)

//go:embed builtin_rules.yaml
var builtinRulesYAML []byte

// BuiltinRulesYAML is the text of the built-in rule set.
func BuiltinRulesYAML() []byte { return bytes.Clone(builtinRulesYAML) }

// builtin is the parsed built-in detect section; parsed once.
var builtin = func() Detect {
	var doc struct {
		Detect Detect `yaml:"detect"`
	}
	var errs Errors
	root := new(yaml.Node)
	if err := yaml.Unmarshal(builtinRulesYAML, root); err != nil {
		panic("config: builtin_rules.yaml: " + err.Error())
	}
	d := &decoder{errs: &errs, file: "builtin_rules.yaml", lines: map[string]int{}}
	d.decode(root, reflect.ValueOf(&doc).Elem(), "")
	if len(errs) > 0 {
		panic("config: " + errs.Error())
	}
	return doc.Detect
}()

// BuiltinRules returns a copy of the built-in rules.
func BuiltinRules() []Rule { return append([]Rule(nil), builtin.Rules...) }

// DefaultPath is where the config lives: $XDG_CONFIG_HOME/rsvp/config.yaml.
func DefaultPath() string {
	return filepath.Join(configHome(), "rsvp", "config.yaml")
}

func configHome() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".config")
}

// StateDir is where rsvp keeps its database: $XDG_STATE_HOME/rsvp.
func StateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "rsvp")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "state", "rsvp")
}

// ErrNotFound is returned (wrapped) by Load when the file does not exist.
var ErrNotFound = errors.New("config file not found")

// Default is the configuration used when there is no config file: built-in
// rules and templates, no accounts.
func Default() *Config {
	cfg, err := Parse("", nil)
	if err != nil {
		panic("config: defaults do not load: " + err.Error())
	}
	return cfg
}

// Load reads and checks the config at path. A missing file is an error
// wrapping ErrNotFound; see LoadOrDefault.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (start from config.example.yaml)", ErrNotFound, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(path, b)
	if err != nil {
		return nil, err
	}
	if err := checkSecretsPermissions(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// LoadOrDefault is Load, except that a missing file at the default path
// (explicit false) gives Default: commands such as classify and draft work
// with no config at all. A missing file the user named is still an error.
func LoadOrDefault(path string, explicit bool) (*Config, error) {
	cfg, err := Load(path)
	if errors.Is(err, ErrNotFound) && !explicit {
		return Default(), nil
	}
	return cfg, err
}

// Parse checks and completes a config held in memory; file names it in
// errors. Empty data gives the defaults.
func Parse(file string, data []byte) (*Config, error) {
	cfg := &Config{Path: file}
	var errs Errors
	d := &decoder{errs: &errs, file: displayName(file), lines: map[string]int{}}
	if len(bytes.TrimSpace(data)) > 0 {
		root := new(yaml.Node)
		if err := yaml.Unmarshal(data, root); err != nil {
			return nil, Errors{syntaxError(d.file, err)}
		}
		if root.Kind == yaml.DocumentNode && len(root.Content) > 0 && root.Content[0].Kind != yaml.MappingNode {
			return nil, Errors{{File: d.file, Line: root.Content[0].Line, Msg: "the config must be a mapping of sections (me, accounts, detect, ask, reply)"}}
		}
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}
	v := validator{d: d, cfg: cfg}
	v.applyDefaults()
	v.validate()
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	return cfg, nil
}

func displayName(file string) string {
	if file == "" {
		return "config.yaml"
	}
	return file
}

func syntaxError(file string, err error) *Error {
	msg := cleanYAMLError(err)
	line := 0
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(s, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			line, _ = strconv.Atoi(rest[:i])
		}
	}
	return &Error{File: file, Line: line, Msg: "YAML syntax: " + msg}
}

// Error is one problem in a config file.
type Error struct {
	File string
	Line int
	Path string // key path, e.g. detect.rules[2].pattern
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one config, in line order.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

func (es Errors) sort() {
	// Stable insertion sort by line: lists are short.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Line < es[j-1].Line; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// Duration is a time.Duration written as Go does ("90s", "10m", "1h30m")
// or in days and weeks ("14d", "2w").
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration reads "90s", "10m", "1h30m", "14d" or "2w".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if num, ok := strings.CutSuffix(s, suffix); ok {
			n, err := strconv.ParseFloat(num, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("%q is not a duration (e.g. 14d, 2w, 36h, 90s)", s)
			}
			return time.Duration(n * float64(unit)), nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a duration (e.g. 14d, 2w, 36h, 90s)", s)
	}
	return v, nil
}

func (d Duration) String() string { return time.Duration(d).String() }
