package drafter

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"
)

//go:embed templates
var builtinFS embed.FS

// TemplateData is what a reply template is executed with. Every string may
// be empty; templates must read well either way (see the built-in ones).
type TemplateData struct {
	Lang   string // "en", "de", "fr" or "es"
	Formal bool   // Sie / vous / usted rather than du / tu / tú
	Action string // decline, reschedule or ask-compensation
	Reason string // the decline reason; "" for other actions

	FirstName string // the recruiter's first name
	Company   string // the hiring company
	Role      string // the job title

	MyName string // the user's name

	// Late is true when the interview is less than 48 hours away: a
	// decline apologises for the short notice.
	Late bool
	// Proposed are the upcoming times the invitation proposed, written in
	// the user's zone ("Tuesday 1 December at 10:00 GMT");
	// ProposedText joins them with "or".
	Proposed     []string
	ProposedText string
	// Slots are the alternative times a reschedule offers
	// ("Tuesday 1 December, 10:00–10:30 GMT").
	Slots []string

	// CompensationTarget is the user's target ("£110k base"), or "".
	CompensationTarget string
}

// TemplateError is a template that does not parse, fails to execute, or
// renders a bad reply. File is the template's file (or config key), Line is
// 0 when unknown.
type TemplateError struct {
	File string
	Line int
	Msg  string
	Err  error // ErrPlaceholder for a bad rendering, else nil
}

func (e *TemplateError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Templates is a loaded, checked set of reply templates: the built-in ones
// and any overrides. It is safe for concurrent use.
type Templates struct {
	sets    map[string]*template.Template // by key ("decline/timing.de")
	files   map[string]string             // key -> file, for messages
	custom  map[string]string             // custom reason -> description
	parseTo map[string]string             // parse name -> file
}

var (
	builtinOnce sync.Once
	builtinT    *Templates
	builtinErr  error
)

// BuiltinTemplates returns the embedded templates.
func BuiltinTemplates() (*Templates, error) {
	builtinOnce.Do(func() { builtinT, builtinErr = LoadTemplates("", nil) })
	return builtinT, builtinErr
}

// LoadTemplates returns the built-in templates with overrides applied: first
// the files under dir ("" for none), then the template texts in overrides,
// keyed like the files without ".tmpl" ("decline/timing.de", "reschedule.en").
//
// The layout, the same for the built-in templates, is
//
//	common.LANG.tmpl          shared {{define}} blocks: greeting, the-role, late, signoff …
//	decline/REASON.LANG.tmpl  one per decline reason
//	reschedule.LANG.tmpl
//	ask-compensation.LANG.tmpl
//
// with LANG one of en, de, fr, es. A decline/REASON file with a new REASON
// adds a custom reason; a leading {{/* comment */}} is its description.
// Files not ending in .tmpl are ignored. Every template is parsed and
// executed with sample data (names known and unknown), so a typo is
// reported now, as FILE:LINE: message (a *TemplateError; several are
// joined), rather than when a reply is drafted. A dir that does not exist
// is an error that wraps fs.ErrNotExist.
func LoadTemplates(dir string, overrides map[string]string) (*Templates, error) {
	srcs := map[string]tmplSource{}
	var errs []error

	err := fs.WalkDir(builtinFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
			return err
		}
		b, err := builtinFS.ReadFile(p)
		if err != nil {
			return err
		}
		key := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".tmpl")
		srcs[key] = tmplSource{file: "built-in " + p, text: string(b)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read built-in templates: %w", err)
	}

	if dir != "" {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("templates directory: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("templates directory %s: not a directory", dir)
		}
		err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(d.Name(), ".tmpl") {
				return nil
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			key := strings.TrimSuffix(filepath.ToSlash(rel), ".tmpl")
			if err := checkKey(key); err != nil {
				errs = append(errs, &TemplateError{File: p, Msg: err.Error()})
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if !utf8.Valid(b) {
				errs = append(errs, &TemplateError{File: p, Msg: "not UTF-8 text"})
				return nil
			}
			srcs[key] = tmplSource{file: p, text: string(b)}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read templates directory: %w", err)
		}
	}

	for _, k := range sortedKeys(overrides) {
		key := strings.TrimSuffix(strings.TrimSpace(k), ".tmpl")
		if err := checkKey(key); err != nil {
			errs = append(errs, &TemplateError{File: k, Msg: err.Error()})
			continue
		}
		srcs[key] = tmplSource{file: k, text: overrides[k]}
	}

	t := &Templates{
		sets:    map[string]*template.Template{},
		files:   map[string]string{},
		custom:  map[string]string{},
		parseTo: map[string]string{},
	}
	for _, lang := range languages {
		common := template.New("common." + lang).Funcs(funcs).Option("missingkey=error")
		if src, ok := srcs["common."+lang]; ok {
			t.parseTo["common."+lang] = src.file
			if _, err := common.Parse(src.text); err != nil {
				errs = append(errs, t.templateError(src.file, err))
				continue
			}
		}
		for _, key := range sortedKeys(srcs) {
			name, l := splitKey(key)
			if l != lang || name == "common" {
				continue
			}
			src := srcs[key]
			set, err := common.Clone()
			if err == nil {
				t.parseTo[key] = src.file
				_, err = set.New(key).Parse(src.text)
			}
			if err != nil {
				errs = append(errs, t.templateError(src.file, err))
				continue
			}
			t.sets[key] = set.Lookup(key)
			t.files[key] = src.file
			if r, ok := strings.CutPrefix(name, "decline/"); ok && !isBuiltinReason(r) {
				if _, seen := t.custom[r]; !seen || lang == "en" {
					t.custom[r] = description(src.text)
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Execute everything once with sample data, names known and unknown, so
	// a bad field or an unguarded "Hi {{.FirstName}}," shows now.
	for _, key := range sortedKeys(t.sets) {
		name, lang := splitKey(key)
		for _, data := range sampleData(name, lang) {
			if _, err := t.render(key, data); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

type tmplSource struct{ file, text string }

var keyName = regexp.MustCompile(`^(common|reschedule|ask-compensation|decline/[a-z0-9][a-z0-9-]*)$`)

// checkKey validates a template key "NAME.LANG".
func checkKey(key string) error {
	name, lang := splitKey(key)
	if lang == "" {
		return fmt.Errorf("template name %q has no language: want NAME.LANG.tmpl with LANG one of %s", key, strings.Join(languages, ", "))
	}
	if _, ok := locales[lang]; !ok {
		return fmt.Errorf("unknown language %q: want one of %s", lang, strings.Join(languages, ", "))
	}
	if !keyName.MatchString(name) {
		return fmt.Errorf("unknown template %q: want common, reschedule, ask-compensation or decline/REASON", name)
	}
	return nil
}

func splitKey(key string) (name, lang string) {
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return key, ""
	}
	return key[:i], key[i+1:]
}

var leadingComment = regexp.MustCompile(`^\s*\{\{-?\s*/\*\s*([\s\S]*?)\s*\*/\s*-?\}\}`)

func description(text string) string {
	if m := leadingComment.FindStringSubmatch(text); m != nil {
		return strings.Join(strings.Fields(m[1]), " ")
	}
	return "custom reason"
}

var tmplErrRe = regexp.MustCompile(`^template: ([^:]+):(\d+)(?::\d+)?: ([\s\S]*)$`)

// templateError turns a text/template error into FILE:LINE: message.
func (t *Templates) templateError(file string, err error) error {
	msg := err.Error()
	if m := tmplErrRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		if f, ok := t.parseTo[m[1]]; ok {
			file = f
		}
		// "executing "decline/x.de" at <.Foo>: …" says more than needed.
		detail := m[3]
		if i := strings.Index(detail, ">: "); strings.HasPrefix(detail, "executing ") && i > 0 {
			at := detail[strings.Index(detail, " at <")+5 : i]
			detail = fmt.Sprintf("%s: %s", at, detail[i+3:])
		}
		return &TemplateError{File: file, Line: line, Msg: detail}
	}
	return &TemplateError{File: file, Msg: msg}
}

// Reasons lists the decline reasons these templates know: the built-in ones
// and the custom ones a templates directory added.
func (t *Templates) Reasons() []ReasonInfo {
	out := Reasons()
	for _, name := range sortedKeys(t.custom) {
		out = append(out, ReasonInfo{Name: name, Description: t.custom[name]})
	}
	return out
}

func (t *Templates) hasReason(name string) bool {
	if isBuiltinReason(name) {
		return true
	}
	_, ok := t.custom[name]
	return ok
}

// lookup finds the template for name in lang, else in English.
func (t *Templates) lookup(name, lang string) (key string, ok bool) {
	for _, l := range []string{lang, "en"} {
		if _, ok := t.sets[name+"."+l]; ok {
			return name + "." + l, true
		}
	}
	for _, l := range languages {
		if _, ok := t.sets[name+"."+l]; ok {
			return name + "." + l, true
		}
	}
	return "", false
}

// ErrPlaceholder is returned (in a *TemplateError) when a rendered reply
// still holds something a reader must never see: "<no value>", "{{", a
// "[Company Name]" placeholder, "Hi ," …
var ErrPlaceholder = errors.New("the reply would contain a placeholder")

// render executes a template and tidies and checks the text.
func (t *Templates) render(key string, data TemplateData) (string, error) {
	var b strings.Builder
	if err := t.sets[key].Execute(&b, data); err != nil {
		return "", t.templateError(t.files[key], err)
	}
	text := tidy(b.String(), data.Lang)
	if bad := badText(text, data); bad != "" {
		return "", &TemplateError{File: t.files[key], Msg: fmt.Sprintf("%v: %s (with %s)", ErrPlaceholder, bad, describe(data)), Err: ErrPlaceholder}
	}
	return text, nil
}

// Unwrap lets errors.Is find ErrPlaceholder.
func (e *TemplateError) Unwrap() error { return e.Err }

func describe(d TemplateData) string {
	var known []string
	for _, f := range []struct{ name, v string }{{"first name", d.FirstName}, {"company", d.Company}, {"role", d.Role}} {
		if f.v == "" {
			known = append(known, "no "+f.name)
		} else {
			known = append(known, f.name+" "+strconv.Quote(f.v))
		}
	}
	return strings.Join(known, ", ")
}

var (
	multiSpace = regexp.MustCompile(`(\S) {2,}`)
	blankRuns  = regexp.MustCompile(`\n{3,}`)
	// French puts a (non-breaking) space before : ; ? ! — non-breaking so
	// that wrapping never strands the mark at the start of a line.
	frPunct = regexp.MustCompile(` ([:;?!])`)
)

// tidy normalises rendered text: LF line ends, no trailing spaces, single
// spaces inside lines, at most one blank line in a row, no leading or
// trailing blank lines.
func tidy(s, lang string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	// Each expression runs only where it can match (a configuration's
	// templates are rendered hundreds of times whenever it is loaded).
	for i, l := range lines {
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if strings.Contains(l, "  ") {
			l = multiSpace.ReplaceAllString(l, "$1 ")
		}
		lines[i] = l
	}
	s = strings.Join(lines, "\n")
	if strings.Contains(s, "\n\n\n") {
		s = blankRuns.ReplaceAllString(s, "\n\n")
	}
	s = strings.Trim(s, "\n")
	if lang == "fr" && (strings.Contains(s, " :") || strings.Contains(s, " ;") || strings.Contains(s, " ?") || strings.Contains(s, " !")) {
		s = frPunct.ReplaceAllString(s, "\u00a0$1")
	}
	return s
}

// placeholderPatterns are what badText looks for, in order. A pattern is
// searched for only where mayMatch finds what every match contains:
// package regexp steps through a text at ~50 ns a byte for most of them,
// and a configuration's templates are rendered and checked hundreds of
// times whenever it is loaded (every rsvp command).
var placeholderPatterns = []struct {
	re       *regexp.Regexp
	what     string
	mayMatch func(string) bool
}{
	{regexp.MustCompile(`<no value>|<nil>`), "an empty template value",
		func(s string) bool { return strings.Contains(s, "<n") }},
	{regexp.MustCompile(`\{\{|\}\}|\$\{|%!`), "template or format syntax",
		func(s string) bool { return strings.ContainsAny(s, "{}%") }},
	{regexp.MustCompile(`\[[A-Z][A-Za-z ]{1,40}\]|<[A-Z][A-Za-z ]{1,40}>`), `a placeholder like "[Company Name]"`,
		func(s string) bool { return strings.ContainsAny(s, "[<") }},
	{regexp.MustCompile(`\b(XXX|TODO|TBD|FIXME)\b|(?i:lorem ipsum)`), "a placeholder word",
		// No letter of "lorem ip" folds to a rune outside ASCII (the
		// s of ipsum does: ſ).
		func(s string) bool {
			return strings.Contains(s, "XXX") || strings.Contains(s, "TODO") || strings.Contains(s, "TBD") ||
				strings.Contains(s, "FIXME") || containsFoldASCII(s, "lorem ip")
		}},
	{regexp.MustCompile(`[ \x{a0}][,.]|\(\s*\)`), "an empty field (a space before a comma or full stop, or empty brackets)",
		func(s string) bool {
			return strings.Contains(s, " ,") || strings.Contains(s, " .") || strings.Contains(s, "\u00a0,") ||
				strings.Contains(s, "\u00a0.") || strings.Contains(s, "(")
		}},
}

// containsFoldASCII reports whether s contains lower (lower-case ASCII
// letters and spaces) in any mix of ASCII cases.
func containsFoldASCII(s, lower string) bool {
	for i := 0; i+len(lower) <= len(s); i++ {
		j := 0
		for j < len(lower) && s[i+j]|0x20 == lower[j] {
			j++
		}
		if j == len(lower) {
			return true
		}
	}
	return false
}

// badText returns what is wrong with rendered text, or "". Field values are
// blanked first: a role may legitimately contain brackets.
func badText(text string, d TemplateData) string {
	check := text
	values := []string{d.FirstName, d.Company, d.Role, d.MyName, d.CompensationTarget, d.ProposedText}
	values = append(values, d.Proposed...)
	values = append(values, d.Slots...)
	// Longest first, so a value inside another is not blanked out of it.
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	for _, v := range values {
		if v != "" {
			check = strings.ReplaceAll(check, v, "x")
		}
	}
	for _, p := range placeholderPatterns {
		if !p.mayMatch(check) {
			continue
		}
		if loc := p.re.FindStringIndex(check); loc != nil {
			// Quote the line it is on, for context.
			start := strings.LastIndexByte(check[:loc[0]], '\n') + 1
			end := strings.IndexByte(check[loc[1]:], '\n')
			if end < 0 {
				end = len(check)
			} else {
				end += loc[1]
			}
			return fmt.Sprintf("%s, in %q", p.what, truncate(check[start:end], 60))
		}
	}
	if strings.TrimSpace(text) == "" {
		return "an empty reply"
	}
	return ""
}

// sampleData are the data every template is tried with when loaded.
func sampleData(name, lang string) []TemplateData {
	action, reason := name, ""
	if r, ok := strings.CutPrefix(name, "decline/"); ok {
		action, reason = ActionDecline, r
	}
	if name == "common" {
		return nil
	}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	slot := Slot{Start: now.Add(50 * time.Hour), End: now.Add(50*time.Hour + 30*time.Minute)}
	full := TemplateData{
		Lang: lang, Action: action, Reason: reason,
		FirstName: "Sam", Company: "Example Corp", Role: "Staff Engineer", MyName: "Alex Example",
		Proposed:           []string{formatMoment(lang, now.Add(30*time.Hour), now, true)},
		Slots:              []string{formatSlot(lang, slot, now), formatSlot(lang, slot, now), formatSlot(lang, slot, now)},
		CompensationTarget: "100k",
	}
	full.ProposedText = full.Proposed[0]
	empty := TemplateData{Lang: lang, Action: action, Reason: reason, Slots: full.Slots}
	var out []TemplateData
	for _, formal := range []bool{true, false} {
		for _, late := range []bool{false, true} {
			f, e := full, empty
			f.Formal, e.Formal, f.Late, e.Late = formal, formal, late, late
			out = append(out, f, e)
		}
	}
	two := full
	two.Proposed = append(two.Proposed, two.Proposed[0])
	two.ProposedText = joinOr(lang, two.Proposed)
	return append(out, two)
}

// funcs are the functions templates may call besides text/template's own.
var funcs = template.FuncMap{
	// elide writes a French word before another with elision where the
	// next word starts with a vowel: {{elide "de" .Role}} gives
	// "de Data Engineer" or "d'Engineering Manager".
	"elide": func(word, next string) string {
		r, _ := utf8.DecodeRuneInString(next)
		if strings.ContainsRune("aeiouAEIOUàâéèêëîïôöûüÀÂÉÈÊËÎÏÔÖÛÜ", r) && len(word) > 1 {
			return word[:len(word)-1] + "'" + next
		}
		return word + " " + next
	},
}
