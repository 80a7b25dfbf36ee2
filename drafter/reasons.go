package drafter

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Actions a reply can take.
const (
	ActionDecline         = "decline"
	ActionReschedule      = "reschedule"
	ActionAskCompensation = "ask-compensation"
)

// Actions lists the actions Reply accepts.
func Actions() []string {
	return []string{ActionDecline, ActionReschedule, ActionAskCompensation}
}

// ReasonNone declines without giving a reason; it is the reason used when
// neither the request nor Options.DefaultReason names one.
const ReasonNone = "none"

// ReasonInfo names a decline reason and says in one line when to use it.
type ReasonInfo struct {
	Name        string
	Description string
}

// builtinReasons are the decline reasons with built-in templates, in the
// order `rsvp draft --list-reasons` shows them.
var builtinReasons = []ReasonInfo{
	{ReasonNone, "no reason given: a short, clear decline"},
	{"accepted-offer", "you have accepted an offer elsewhere"},
	{"not-a-fit", "the role does not match the direction you want to take"},
	{"timing", "your schedule or bandwidth does not allow it"},
	{"compensation", "the pay is not in line with what you are looking for"},
	{"happy-where-i-am", "you are happy in your current role"},
	{"relocation", "location, remote policy or logistics do not work for you"},
	{"personal", "personal reasons, not explained"},
	{"open-to-future", "not this role, but interested in the company: stay in touch"},
	{"refer-someone", "stepping back, offering to introduce a colleague"},
	{"withdraw", "withdrawing after a first conversation"},
}

// Reasons lists the built-in decline reasons. Templates.Reasons adds the
// ones a templates directory defines.
func Reasons() []ReasonInfo {
	return append([]ReasonInfo(nil), builtinReasons...)
}

// ErrUnknownAction and ErrUnknownReason are returned, wrapped with the valid
// choices, for an action or decline reason rsvp does not know.
var (
	ErrUnknownAction = errors.New("unknown action")
	ErrUnknownReason = errors.New("unknown decline reason")
)

func unknownAction(a string) error {
	return fmt.Errorf("%w %q (valid: %s)", ErrUnknownAction, a, strings.Join(Actions(), ", "))
}

func unknownReason(r string, known []ReasonInfo) error {
	names := make([]string, len(known))
	for i, k := range known {
		names[i] = k.Name
	}
	return fmt.Errorf("%w %q (valid: %s)", ErrUnknownReason, r, strings.Join(names, ", "))
}

func isBuiltinReason(name string) bool {
	for _, r := range builtinReasons {
		if r.Name == name {
			return true
		}
	}
	return false
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
