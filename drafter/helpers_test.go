package drafter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

// fixedNow is the clock of every golden reply: a Sunday morning.
var fixedNow = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func clockAt(t time.Time) func() time.Time { return func() time.Time { return t } }

// label is one entry of a labels.json (the corpus's, or testdata's, which
// adds the user's zone, the proposed times and the expected register).
type label struct {
	Label     string   `json:"label"`
	ReplyTo   string   `json:"reply_to"`
	FirstName *string  `json:"first_name"`
	Company   *string  `json:"company"`
	Role      *string  `json:"role"`
	Lang      string   `json:"lang"`
	Zone      string   `json:"zone"`
	Times     []string `json:"times"`
	Formal    *bool    `json:"formal"`
}

// invite is a labelled invitation ready to answer.
type invite struct {
	name  string // file name without .eml
	path  string
	label label
	msg   *mailmsg.Message
	inv   Invitation
	me    Me
}

// corpusTimes are the interview times the corpus invitations propose, as
// the classifier would pass them (the ones with a calendar entry are left
// to it).
var corpusTimes = map[string][]string{
	"dev-02.eml": {"2026-11-18T12:30:00Z", "2026-11-19T09:00:00Z", "2026-11-19T16:00:00Z"},
	"dev-06.eml": {"2026-11-24T10:00:00+01:00", "2026-11-25T15:30:00+01:00", "2026-11-27T11:00:00+01:00"},
	"dev-07.eml": {"2026-12-01T10:00:00Z", "2026-12-02T14:00:00Z"},
	"dev-12.eml": {"2026-11-23T10:30:00Z"},
	"dev-13.eml": {"2026-11-24T14:00:00Z", "2026-11-25T10:00:00Z", "2026-11-27T13:30:00Z"},
	"dev-26.eml": {"2026-12-01T14:00:00-05:00"},
}

func corpusDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "corpus")
	if _, err := os.Stat(filepath.Join(dir, "labels.json")); err != nil {
		t.Fatalf("the shared corpus is missing: %v (want it at %s)", err, dir)
	}
	return dir
}

// invites loads every invitation of the shared corpus and of testdata.
func invites(t testing.TB) []invite {
	t.Helper()
	var out []invite
	out = append(out, loadInvites(t, corpusDir(t), "Europe/London")...)
	out = append(out, loadInvites(t, "testdata", "")...)
	return out
}

func loadInvites(t testing.TB, dir, defaultZone string) []invite {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var labels map[string]label
	if err := json.Unmarshal(b, &labels); err != nil {
		t.Fatalf("%s/labels.json: %v", dir, err)
	}
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []invite
	for _, file := range names {
		l := labels[file]
		if l.Label != "invite" {
			continue
		}
		path := filepath.Join(dir, file)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mailmsg.Read(f, mailmsg.Options{})
		f.Close()
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		zoneName := l.Zone
		if zoneName == "" {
			zoneName = defaultZone
		}
		zone, err := time.LoadLocation(zoneName)
		if err != nil {
			t.Fatal(err)
		}
		times := l.Times
		if ct, ok := corpusTimes[file]; ok && len(times) == 0 {
			times = ct
		}
		var ts []time.Time
		for _, s := range times {
			tt, err := time.Parse(time.RFC3339, s)
			if err != nil {
				t.Fatalf("%s: time %q: %v", file, s, err)
			}
			ts = append(ts, tt)
		}
		out = append(out, invite{
			name: file[:len(file)-len(filepath.Ext(file))], path: path, label: l, msg: m,
			inv: Invitation{
				Message: m, FirstName: deref(l.FirstName), Company: deref(l.Company),
				Role: deref(l.Role), Lang: l.Lang, Times: ts,
			},
			me: Me{Name: "Alex Morgan", Address: "alex.morgan@example.net", Zone: zone},
		})
	}
	if len(out) == 0 {
		t.Fatalf("no invitations in %s", dir)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// variant is one reply drafted for every invitation.
type variant struct {
	name string
	req  Request
}

var compensationTargets = map[string]string{
	"en": "£110k base", "de": "95.000 € brutto im Jahr", "fr": "65 000 € bruts annuels", "es": "55.000 € brutos anuales",
}

func variants(lang string) []variant {
	var out []variant
	for _, r := range Reasons() {
		out = append(out, variant{"decline-" + r.Name, Request{Action: ActionDecline, Reason: r.Name}})
	}
	out = append(out,
		variant{"decline-none-quoted", Request{Action: ActionDecline, Reason: ReasonNone, QuoteOriginal: true}},
		variant{"reschedule", Request{Action: ActionReschedule}},
		variant{"ask-compensation", Request{Action: ActionAskCompensation, CompensationTarget: compensationTargets[normLang(lang)]}},
		variant{"ask-compensation-no-target", Request{Action: ActionAskCompensation}},
	)
	for i := range out {
		out[i].req.DeterministicID = true
	}
	return out
}

func newTestDrafter(t testing.TB, opts Options) *Drafter {
	t.Helper()
	if opts.Now == nil {
		opts.Now = clockAt(fixedNow)
	}
	d, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}
