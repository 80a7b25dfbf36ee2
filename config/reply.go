package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/drafter"
)

// replies loads and checks the reply templates, the default reason and the
// availability, turning each problem into a file:line error.
func (v *validator) replies() {
	c := v.cfg
	r := &c.Reply
	r.TemplatesDir = ExpandHome(r.TemplatesDir)
	r.Availability.BusyICS = ExpandHome(r.Availability.BusyICS)

	tmpl, err := drafter.LoadTemplates(r.TemplatesDir, r.Templates)
	if err != nil {
		v.templateErrors(err)
		tmpl, _ = drafter.BuiltinTemplates()
	}
	c.Templates = tmpl
	known := map[string]bool{}
	var names []string
	for _, rs := range tmpl.Reasons() {
		known[rs.Name] = true
		names = append(names, rs.Name)
	}
	for i, name := range c.Ask.Reasons {
		if !known[name] {
			v.errorf(fmt.Sprintf("ask.reasons[%d]", i), "unknown reason %q: want one of %s", name, strings.Join(names, ", "))
		}
	}

	a := drafter.DefaultAvailability()
	av := r.Availability
	if av.Days != "" {
		days, err := drafter.ParseDays(av.Days)
		if err != nil {
			v.errorf("reply.availability.days", "%v", err)
		}
		a.Days = days
	}
	if av.Hours != "" {
		hours, err := drafter.ParseHours(av.Hours)
		if err != nil {
			v.errorf("reply.availability.hours", "%v", err)
		}
		a.Hours = hours
	}
	zone := av.TimeZone
	if zone == "" {
		zone = c.Me.TimeZone
	}
	if zone != "" {
		if loc, err := time.LoadLocation(zone); err == nil {
			a.Zone = loc
		} else if av.TimeZone != "" {
			v.errorf("reply.availability.time_zone", "unknown time zone %q (use an IANA name such as Europe/Berlin)", av.TimeZone)
		}
	}
	if av.SlotLength != 0 {
		a.SlotLength = time.Duration(av.SlotLength)
	}
	if av.LeadDays != nil {
		if *av.LeadDays < 0 {
			v.errorf("reply.availability.lead_days", "must not be negative")
		}
		a.LeadDays = *av.LeadDays
	}
	if err := a.Validate(); err != nil {
		v.errorf("reply.availability", "%v", err)
	}
	if av.BusyICS != "" {
		if _, err := os.Stat(av.BusyICS); err != nil {
			v.errorf("reply.availability.busy_ics", "%v", err)
		}
	}
	c.Availability = a

	if _, err := drafter.New(drafter.Options{Templates: tmpl, DefaultReason: r.DefaultReason, Availability: a}); err != nil && r.DefaultReason != "" {
		if errors.Is(err, drafter.ErrUnknownReason) {
			v.errorf("reply.default_reason", "%v", errors.Unwrap(err))
		} else {
			v.errorf("reply", "%v", err)
		}
	}
}

// templateErrors reports template problems: a file in templates_dir keeps
// its own FILE:LINE; a template written in the config is placed at its
// line in the config.
func (v *validator) templateErrors(err error) {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var te *drafter.TemplateError
		switch {
		case errors.Is(e, fs.ErrNotExist):
			v.errorf("reply.templates_dir", "%v", e)
		case errors.As(e, &te) && v.cfg.Reply.Templates[te.File] != "":
			path := "reply.templates." + te.File
			line := v.lineOf(path)
			if line > 0 && te.Line > 0 {
				line += te.Line // a block scalar starts on the line after its key
			}
			v.d.errorf(line, path, "%s", te.Msg)
		case errors.As(e, &te):
			// A file of templates_dir: its own name and line say where.
			*v.d.errs = append(*v.d.errs, &Error{File: te.File, Line: te.Line, Msg: te.Msg})
		default:
			v.errorf("reply.templates", "%v", e)
		}
	}
}

// NewDrafter returns a drafter for this config, with the busy times of
// reply.availability.busy_ics read now (the file changes as the calendar
// does). now is the clock; nil means time.Now.
func (c *Config) NewDrafter(now func() time.Time) (*drafter.Drafter, error) {
	a := c.Availability
	if p := c.Reply.Availability.BusyICS; p != "" {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("busy times: %w", err)
		}
		busy, err := drafter.ParseBusyICS(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("busy times from %s: %w", p, err)
		}
		a.Busy = busy
	}
	return drafter.New(drafter.Options{Now: now, Availability: a, Templates: c.Templates, DefaultReason: c.Reply.DefaultReason})
}

// Zone is the user's time zone: me.time_zone, else the machine's.
func (c *Config) Zone() *time.Location {
	if c.Me.TimeZone != "" {
		if loc, err := time.LoadLocation(c.Me.TimeZone); err == nil {
			return loc
		}
	}
	return time.Local
}

// ExpandHome turns a leading "~/" into the home directory.
func ExpandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// ExtractOptions are the field-extraction options the config implies: the
// user's own addresses and name are never taken for the recruiter's, and
// times without a zone are read in me.time_zone when it is set (else in
// the zone of the message's Date header).
func (c *Config) ExtractOptions() classifier.ExtractOptions {
	opts := classifier.ExtractOptions{Own: slices.Clone(c.Me.Addresses), Name: c.Me.Name}
	for _, a := range c.Accounts {
		opts.Own = append(opts.Own, a.Address)
	}
	if c.Me.TimeZone != "" {
		if loc, err := time.LoadLocation(c.Me.TimeZone); err == nil {
			opts.Zone = loc
		}
	}
	return opts
}

// AskReasonLabels are the decline reasons ask.reasons names, as the user
// reads them on a button: their descriptions (the daemon maps an answer
// back to the reason's name).
func (c *Config) AskReasonLabels() []string {
	var out []string
	for _, name := range c.Ask.Reasons {
		label := name
		for _, r := range c.Templates.Reasons() {
			if r.Name == name && r.Description != "" {
				label = r.Description
			}
		}
		out = append(out, label)
	}
	return out
}
