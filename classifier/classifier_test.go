package classifier_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

func msg(t testing.TB, raw string) *mailmsg.Message {
	t.Helper()
	m, err := mailmsg.Read(strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n")), mailmsg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const plainMail = `From: "Jana Novak" <jana@brightwater.example>
Reply-To: Jana Novak <jana.novak@brightwater.example>
To: Alex <alex@example.net>
Subject: Quick chat about the Staff Engineer role?
List-Id: <news.brightwater.example>
Message-ID: <1@brightwater.example>
In-Reply-To: <0@example.net>
Content-Type: text/plain; charset=utf-8

Hallo Alex, hätten Sie nächste Woche Zeit für ein kurzes Gespräch?
Wir suchen eine:n Staff-Engineer (m/w/d).

> earlier: thanks for applying
`

func TestEachRuleKind(t *testing.T) {
	tests := []struct {
		name string
		rule classifier.Rule
		want bool
	}{
		{"a keyword matches case-insensitively in the subject", classifier.Rule{Keywords: []string{"QUICK CHAT"}}, true},
		{"a keyword needs word boundaries", classifier.Rule{Keywords: []string{"chat about the staff engineer r"}}, false},
		{"a keyword with a trailing star matches longer words", classifier.Rule{Keywords: []string{"engin*"}}, true},
		{"a keyword with a leading star matches word endings", classifier.Rule{Keywords: []string{"*gespräch"}, In: []string{"body"}}, true},
		{"a keyword matches without its accents", classifier.Rule{Keywords: []string{"hatten sie"}, In: []string{"body"}}, true},
		{"a phrase matches across a line break", classifier.Rule{Keywords: []string{"gespräch? wir suchen"}, In: []string{"body"}}, true},
		{"quoted history is not body", classifier.Rule{Keywords: []string{"thanks for applying"}, In: []string{"body"}}, false},
		{"a keyword only looks where it is told", classifier.Rule{Keywords: []string{"quick chat"}, In: []string{"body"}}, false},
		{"a pattern matches", classifier.Rule{Pattern: `staff[- ]engineer`, In: []string{"body"}}, true},
		{"a pattern is case-insensitive", classifier.Rule{Pattern: `^QUICK`, In: []string{"subject"}}, true},
		{"a pattern that does not match", classifier.Rule{Pattern: `\bvideo\b`}, false},
		{"from_name is the display name", classifier.Rule{Keywords: []string{"novak"}, In: []string{"from_name"}}, true},
		{"from_address is the address", classifier.Rule{Pattern: `@brightwater\.example$`, In: []string{"from_address"}}, true},
		{"reply_to is searched", classifier.Rule{Keywords: []string{"jana.novak"}, In: []string{"reply_to"}}, true},
		{"a header is searched by name", classifier.Rule{Keywords: []string{"news.brightwater.example"}, In: []string{"header:list-id"}}, true},
		{"a present header fires", classifier.Rule{Present: "header:List-Id"}, true},
		{"an absent header does not", classifier.Rule{Present: "header:Precedence"}, false},
		{"a thread fires on In-Reply-To", classifier.Rule{Present: "thread"}, true},
		{"no calendar part", classifier.Rule{Present: "calendar"}, false},
	}
	m := msg(t, plainMail)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.rule.Name, tc.rule.Score = "R", 10
			c, err := classifier.Compile(classifier.Spec{Threshold: 5, Rules: []classifier.Rule{tc.rule}})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Classify(m).Invite; got != tc.want {
				t.Errorf("Classify with %+v = %v, want %v", tc.rule, got, tc.want)
			}
		})
	}
}

func TestCombinations(t *testing.T) {
	base := []classifier.Rule{
		{Name: "A", Keywords: []string{"quick chat"}},
		{Name: "B", Keywords: []string{"role"}},
		{Name: "C", Keywords: []string{"absent-word"}},
	}
	tests := []struct {
		name string
		rule classifier.Rule
		want bool
	}{
		{"all_of fires when every part fires", classifier.Rule{AllOf: []string{"A", "B"}}, true},
		{"all_of fails when one part is missing", classifier.Rule{AllOf: []string{"A", "C"}}, false},
		{"any_of fires on one part", classifier.Rule{AnyOf: []string{"C", "B"}}, true},
		{"none_of fires when no part fires", classifier.Rule{NoneOf: []string{"C"}}, true},
		{"none_of fails when a part fires", classifier.Rule{AllOf: []string{"A"}, NoneOf: []string{"B"}}, false},
		{"at_least 2 of 3", classifier.Rule{AtLeast: 2, Of: []string{"A", "B", "C"}}, true},
		{"at_least 3 of 3", classifier.Rule{AtLeast: 3, Of: []string{"A", "B", "C"}}, false},
	}
	m := msg(t, plainMail)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.rule.Name, tc.rule.Score = "COMBO", 10
			c, err := classifier.Compile(classifier.Spec{Threshold: 5, Rules: append(append([]classifier.Rule{}, base...), tc.rule)})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Classify(m).Invite; got != tc.want {
				t.Errorf("Classify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCombinationOfCombinationsIsOrdered(t *testing.T) {
	// Written out of order on purpose: TOP needs MID which needs A.
	c, err := classifier.Compile(classifier.Spec{Threshold: 1, Rules: []classifier.Rule{
		{Name: "TOP", AllOf: []string{"MID"}, Score: 1},
		{Name: "MID", AllOf: []string{"A"}},
		{Name: "A", Keywords: []string{"role"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	v := c.Classify(msg(t, plainMail))
	if !v.Invite || len(v.Hits) != 1 || v.Hits[0].Name != "TOP" {
		t.Errorf("Classify = %+v, want TOP to fire", v)
	}
	_, err = classifier.Compile(classifier.Spec{Rules: []classifier.Rule{
		{Name: "X", AllOf: []string{"Y"}}, {Name: "Y", AllOf: []string{"X"}},
	}})
	if err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("a cycle compiled: %v", err)
	}
}

func TestScoresAddUpAndExplain(t *testing.T) {
	c, err := classifier.Compile(classifier.Spec{Threshold: 5, Rules: []classifier.Rule{
		{Name: "CHAT", Description: "asks for a chat", Keywords: []string{"quick chat"}, Score: 3.5},
		{Name: "ROLE", Keywords: []string{"role"}, Score: 2},
		{Name: "BULK", Present: "header:List-Id", Score: -1},
		{Name: "ZERO", Keywords: []string{"staff"}, Score: 0},
	}})
	if err != nil {
		t.Fatal(err)
	}
	v := c.Classify(msg(t, plainMail))
	if v.Score != 4.5 || v.Invite {
		t.Errorf("score %v invite %v, want 4.5 and not an invitation", v.Score, v.Invite)
	}
	if len(v.Hits) != 3 || v.Hits[0].Name != "CHAT" || v.Hits[0].Match != "quick chat" || v.Hits[0].Where != "subject" {
		t.Errorf("hits = %+v", v.Hits)
	}
}

func TestSenderListsAndOwnAddresses(t *testing.T) {
	rules := []classifier.Rule{{Name: "CHAT", Keywords: []string{"quick chat"}, Score: 6}}
	tests := []struct {
		name     string
		spec     classifier.Spec
		want     bool
		wantRule string
	}{
		{"a denied domain is never an invitation", classifier.Spec{Deny: []string{"brightwater.example"}}, false, classifier.RuleSenderDeny},
		{"a denied glob matches the address", classifier.Spec{Deny: []string{"jana@*.example"}}, false, classifier.RuleSenderDeny},
		{"an allowed address always is", classifier.Spec{Allow: []string{"jana@brightwater.example"}, Threshold: 50}, true, classifier.RuleSenderAllow},
		{"an allowed *@domain matches Reply-To too", classifier.Spec{Allow: []string{"*@brightwater.example"}, Threshold: 50}, true, classifier.RuleSenderAllow},
		{"deny wins over allow", classifier.Spec{Allow: []string{"brightwater.example"}, Deny: []string{"*@brightwater.example"}}, false, classifier.RuleSenderDeny},
		{"mail from the user's own address is never an invitation", classifier.Spec{Own: []string{"JANA@brightwater.example"}}, false, classifier.RuleFromMe},
		{"a subdomain rule does not match a look-alike domain", classifier.Spec{Deny: []string{"water.example"}}, true, "CHAT"},
	}
	m := msg(t, plainMail)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Rules = rules
			if tc.spec.Threshold == 0 {
				tc.spec.Threshold = 5
			}
			c, err := classifier.Compile(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			v := c.Classify(m)
			if v.Invite != tc.want || v.Hits[len(v.Hits)-1].Name != tc.wantRule {
				t.Errorf("Classify = %v %+v, want %v by %s", v.Invite, v.Hits, tc.want, tc.wantRule)
			}
		})
	}
}

func TestBadRulesAreErrorsNeverIgnored(t *testing.T) {
	tests := []struct {
		name  string
		rules []classifier.Rule
		want  string
	}{
		{"a pattern that does not compile", []classifier.Rule{{Name: "R", Pattern: "a(b"}}, "rules[0].pattern: missing closing )"},
		{"a repeat count over 1000", []classifier.Rule{{Name: "R", Pattern: "a{1001}"}}, "rules[0].pattern: invalid repeat count"},
		{"a pattern of a megabyte", []classifier.Rule{{Name: "R", Pattern: strings.Repeat("a", 1<<20)}}, "more than the limit"},
		{"a rule with two kinds", []classifier.Rule{{Name: "R", Keywords: []string{"a"}, Pattern: "b"}}, "exactly one of"},
		{"a rule with no kind", []classifier.Rule{{Name: "R"}}, "exactly one of"},
		{"an empty keyword", []classifier.Rule{{Name: "R", Keywords: []string{"  "}}}, "rules[0].keywords[0]: empty keyword"},
		{"a star inside a keyword", []classifier.Rule{{Name: "R", Keywords: []string{"a*b"}}}, "only allowed at the start or end"},
		{"an unknown place", []classifier.Rule{{Name: "R", In: []string{"bodyy"}, Keywords: []string{"a"}}}, `unknown place "bodyy"`},
		{"an unknown presence", []classifier.Rule{{Name: "R", Present: "attachment"}}, `unknown place "attachment"`},
		{"a bad name", []classifier.Rule{{Name: "my rule", Keywords: []string{"a"}}}, "letters, digits and _"},
		{"at_least more than of", []classifier.Rule{{Name: "A", Keywords: []string{"a"}}, {Name: "R", AtLeast: 3, Of: []string{"A"}}}, "at_least is 3 but of lists 1"},
		{"a reference to itself", []classifier.Rule{{Name: "R", AnyOf: []string{"R"}}}, "cannot refer to itself"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := classifier.Compile(classifier.Spec{Rules: tc.rules})
			var errs classifier.Errors
			if !errors.As(err, &errs) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	_, err := classifier.Compile(classifier.Spec{Deny: []string{"[bad"}})
	if err == nil || !strings.Contains(err.Error(), "deny[0]") {
		t.Errorf("a bad sender glob compiled: %v", err)
	}
}

func TestHostileRuleSetsRunInLinearTime(t *testing.T) {
	// RE2 has no backtracking: the classic catastrophic pattern is linear.
	c, err := classifier.Compile(classifier.Spec{Threshold: 1, Rules: []classifier.Rule{
		{Name: "EVIL", Pattern: `(a+)+$`, In: []string{"body"}, Score: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("a", 60000) + "!"
	m := msg(t, "From: x@example.org\nSubject: s\n\n"+body)
	// A backtracking engine would not finish this in our lifetime; RE2
	// does it in linear time (BenchmarkHostilePattern shows the scaling).
	if v := c.Classify(m); v.Invite {
		t.Errorf("(a+)+$ matched a text ending in '!'")
	}

	// Thousands of keyword rules compile and share one automaton.
	var rules []classifier.Rule
	for i := 0; i < 5000; i++ {
		rules = append(rules, classifier.Rule{Name: fmt.Sprintf("K%d", i), Keywords: []string{fmt.Sprintf("word%d", i), fmt.Sprintf("phrase number %d", i)}, Score: 1})
	}
	if _, err := classifier.Compile(classifier.Spec{Rules: rules}); err != nil {
		t.Fatalf("5000 keyword rules: %v", err)
	}
	// More than the limit of rules, or of regexps, is refused clearly.
	if _, err := classifier.Compile(classifier.Spec{Rules: append(rules, rules[:1]...)}); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("5001 rules: %v, want a limit error", err)
	}
	var res []classifier.Rule
	for i := 0; i <= classifier.MaxPatternRules; i++ {
		res = append(res, classifier.Rule{Name: fmt.Sprintf("P%d", i), Pattern: "x", Score: 1})
	}
	if _, err := classifier.Compile(classifier.Spec{Rules: res}); err == nil || !strings.Contains(err.Error(), "pattern rules") {
		t.Errorf("%d pattern rules: %v, want a limit error", len(res), err)
	}
}
