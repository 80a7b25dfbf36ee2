package drafter

import (
	"errors"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuiltinTemplatesCoverEveryLanguage(t *testing.T) {
	tm, err := BuiltinTemplates()
	if err != nil {
		t.Fatalf("BuiltinTemplates: %v", err)
	}
	for _, lang := range languages {
		names := []string{ActionReschedule, ActionAskCompensation}
		for _, r := range Reasons() {
			names = append(names, "decline/"+r.Name)
		}
		for _, n := range names {
			if _, ok := tm.sets[n+"."+lang]; !ok {
				t.Errorf("no built-in template %s.%s", n, lang)
			}
		}
	}
	if len(tm.Reasons()) != len(Reasons()) {
		t.Errorf("built-in templates define custom reasons: %v", tm.Reasons())
	}
}

func TestLoadTemplates(t *testing.T) {
	msg, _ := mailmsg.Read(strings.NewReader("From: Katrin <k@x.example>\r\nTo: a@example.net\r\nSubject: Einladung\r\n\r\nHallo, wir laden Sie ein.\r\n"), mailmsg.Options{})
	reply := func(t *testing.T, tm *Templates, lang, reason string) string {
		t.Helper()
		d := newTestDrafter(t, Options{Templates: tm})
		r, err := d.Reply(Invitation{Message: msg, FirstName: "Katrin", Company: "Flinkwerk", Lang: lang}, Me{Name: "Alex", Address: "a@example.net"}, Request{Action: ActionDecline, Reason: reason})
		if err != nil {
			t.Fatalf("Reply: %v", err)
		}
		return r.Body
	}

	t.Run("a file in the directory replaces the built-in one", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"decline/timing.de.tmpl": "{{template \"greeting\" .}}\n\nleider passt es zeitlich gerade nicht.\n\n{{template \"signoff\" .}}\n",
			"README.md":              "not a template",
		})
		tm, err := LoadTemplates(dir, nil)
		if err != nil {
			t.Fatalf("LoadTemplates: %v", err)
		}
		if got := reply(t, tm, "de", "timing"); got != "Hallo Katrin,\n\nleider passt es zeitlich gerade nicht.\n\nViele Grüße\nAlex\n" {
			t.Errorf("body = %q", got)
		}
		if got := reply(t, tm, "en", "timing"); !strings.Contains(got, "Unfortunately my schedule") {
			t.Errorf("the English template changed too:\n%s", got)
		}
	})

	t.Run("config text wins over a file", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"decline/none.en.tmpl": "{{template \"greeting\" .}}\n\nFrom the file.\n"})
		tm, err := LoadTemplates(dir, map[string]string{"decline/none.en": "{{template \"greeting\" .}}\n\nFrom the config.\n"})
		if err != nil {
			t.Fatalf("LoadTemplates: %v", err)
		}
		if got := reply(t, tm, "en", "none"); !strings.Contains(got, "From the config.") {
			t.Errorf("body = %q", got)
		}
	})

	t.Run("a new reason file adds a custom reason", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"decline/too-junior.en.tmpl": "{{/* the role is more junior than you are looking for */}}\n{{template \"greeting\" .}}\n\nThanks, but the role is more junior than I'm looking for.\n\n{{template \"signoff\" .}}\n",
		})
		tm, err := LoadTemplates(dir, nil)
		if err != nil {
			t.Fatalf("LoadTemplates: %v", err)
		}
		var found bool
		for _, r := range tm.Reasons() {
			if r.Name == "too-junior" && r.Description == "the role is more junior than you are looking for" {
				found = true
			}
		}
		if !found {
			t.Errorf("Reasons() = %v, want too-junior with its description", tm.Reasons())
		}
		// No German version: the English one is used.
		if got := reply(t, tm, "de", "too-junior"); !strings.Contains(got, "more junior") {
			t.Errorf("body = %q", got)
		}
		d := newTestDrafter(t, Options{Templates: tm, DefaultReason: "too-junior"})
		if d.defaultReason != "too-junior" {
			t.Errorf("a custom reason is not accepted as the default")
		}
	})

	t.Run("shared blocks can be overridden", func(t *testing.T) {
		tm, err := LoadTemplates("", map[string]string{
			"common.en": `{{define "greeting"}}{{if .FirstName}}Dear {{.FirstName}},{{else}}Dear Sir or Madam,{{end}}{{end}}{{define "the-role"}}the role{{end}}{{define "thanks"}}Thank you.{{end}}{{define "late"}}{{end}}{{define "wish"}}All the best.{{end}}{{define "signoff"}}Yours sincerely,{{end}}`,
		})
		if err != nil {
			t.Fatalf("LoadTemplates: %v", err)
		}
		if got := reply(t, tm, "en", "none"); !strings.HasPrefix(got, "Dear Katrin,") || !strings.Contains(got, "Yours sincerely,\nAlex") {
			t.Errorf("body = %q", got)
		}
	})
}

func TestLoadTemplatesErrors(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		overrides map[string]string
		want      []string // substrings of the error
		sentinel  error
	}{
		{
			name:  "a parse error names the file and line",
			files: map[string]string{"decline/timing.en.tmpl": "Hi,\n\nline two\n{{if .FirstName}\n"},
			want:  []string{filepath.Join("decline", "timing.en.tmpl") + ":4: bad character U+007D '}'"},
		},
		{
			name:  "an unknown field names the file and line",
			files: map[string]string{"reschedule.de.tmpl": "Hallo,\n\n{{.Firma}}\n"},
			want:  []string{filepath.Join("reschedule.de.tmpl") + ":3: .Firma: can't evaluate field Firma"},
		},
		{
			name:  "an unknown function names the file and line",
			files: map[string]string{"decline/none.fr.tmpl": "\n\n{{upper .Role}}\n"},
			want:  []string{"none.fr.tmpl:3: function \"upper\" not defined"},
		},
		{
			name:     "an unguarded first name is caught when loading",
			files:    map[string]string{"decline/none.en.tmpl": "Hi {{.FirstName}},\n\nNo thanks.\n"},
			want:     []string{"none.en.tmpl: the reply would contain a placeholder", `"Hi ,"`},
			sentinel: ErrPlaceholder,
		},
		{
			name:     "a placeholder left in is caught",
			files:    map[string]string{"ask-compensation.es.tmpl": "Hola:\n\n¿Cuál es la banda salarial en [Company Name]?\n"},
			want:     []string{"[Company Name]"},
			sentinel: ErrPlaceholder,
		},
		{
			name:  "an unknown language",
			files: map[string]string{"decline/none.it.tmpl": "Ciao"},
			want:  []string{`unknown language "it"`},
		},
		{
			name:  "a file with no language",
			files: map[string]string{"reschedule.tmpl": "Hi"},
			want:  []string{"has no language"},
		},
		{
			name:  "an unknown template name",
			files: map[string]string{"accept.en.tmpl": "Hi"},
			want:  []string{`unknown template "accept"`},
		},
		{
			name:      "a config override is named by its key",
			overrides: map[string]string{"decline/none.en": "{{.Nope}}"},
			want:      []string{"decline/none.en:1: .Nope: can't evaluate field Nope"},
		},
		{
			name: "every error at once",
			files: map[string]string{
				"decline/none.en.tmpl":   "{{if}}",
				"decline/timing.de.tmpl": "{{end}}",
			},
			want: []string{"none.en.tmpl:1:", "timing.de.tmpl:1:"},
		},
		{
			name:  "a broken shared block is reported against its file",
			files: map[string]string{"common.es.tmpl": "{{define \"greeting\"}}\n{{.Nombre}}{{end}}"},
			want:  []string{"common.es.tmpl:2: .Nombre: can't evaluate field Nombre"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := ""
			if tc.files != nil {
				dir = writeFiles(t, tc.files)
			}
			_, err := LoadTemplates(dir, tc.overrides)
			if err == nil {
				t.Fatalf("LoadTemplates succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Errorf("error %v is not a *TemplateError", err)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
		})
	}
	if _, err := LoadTemplates(filepath.Join(t.TempDir(), "missing"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadTemplates(missing dir) = %v, want fs.ErrNotExist", err)
	}
}

// TestRenderRefusesPlaceholders: the check before a reply is drafted, with
// field values that are fine even when they look odd.
func TestRenderRefusesPlaceholders(t *testing.T) {
	for _, tc := range []struct {
		text string
		data TemplateData
		bad  bool
	}{
		{"Hi Sam,\n\nThanks.", TemplateData{FirstName: "Sam"}, false},
		{"Hi ,\n\nThanks.", TemplateData{}, true},
		{"Hello,\n\nThe role at <no value>.", TemplateData{}, true},
		{"Hello,\n\nThe role at {{.Company}}.", TemplateData{}, true},
		{"Hello,\n\n%!s(MISSING)", TemplateData{}, true},
		{"Hello,\n\nThe role at [Company Name].", TemplateData{}, true},
		{"Hello,\n\nThe Backend Engineer [Remote] role.", TemplateData{Role: "Backend Engineer [Remote]"}, false},
		{"Hello,\n\nThe role ().", TemplateData{}, true},
		{"Hola:\n\nNo encaja del todo.", TemplateData{}, false},
		{"Hello,\n\nTODO: write this.", TemplateData{}, true},
	} {
		if got := badText(tc.text, tc.data) != ""; got != tc.bad {
			t.Errorf("badText(%q) = %q, want bad %v", tc.text, badText(tc.text, tc.data), tc.bad)
		}
	}
}

// TestPlaceholderGuardsMissNothing: a pattern badText skips because its
// guard says it cannot match must indeed not match, on texts made of what
// the patterns look for (in every case, with ſ and no-break spaces).
func TestPlaceholderGuardsMissNothing(t *testing.T) {
	pieces := []string{"{", "}", "$", "%", "!", "[", "]", "<", ">", "(", ")", ".", ",", " ", "\u00a0", "\n", "\t",
		"X", "TODO", "TBD", "FIXME", "XX", "lorem", "LoReM", "ipsum", "IPſUM", "ip", "sum", "no value", "nil",
		"Company Name", "A", "z", "é", "K", "<no value>", "<nil>", "<n"}
	rnd := rand.New(rand.NewSource(1))
	texts := []string{"", "lorem ipſum", "LOREM IPSUM", "x\u00a0.", "( \t)", "<nil>", "${x}", "%!s", "[Company Name]", "<Your Name>"}
	for range 50000 {
		var b strings.Builder
		for n := rnd.Intn(12); n > 0; n-- {
			b.WriteString(pieces[rnd.Intn(len(pieces))])
		}
		texts = append(texts, b.String())
	}
	matched := make([]int, len(placeholderPatterns))
	for _, text := range texts {
		for i, p := range placeholderPatterns {
			if p.re.MatchString(text) {
				matched[i]++
				if !p.mayMatch(text) {
					t.Fatalf("pattern %d (%s) matches %q, but its guard says it cannot", i, p.re, text)
				}
			}
		}
	}
	for i, n := range matched {
		if n < 50 {
			t.Errorf("pattern %d matched only %d texts: the test proves little for it", i, n)
		}
	}
}

// TestRegister: the reply mirrors the recruiter's form of address.
func TestRegister(t *testing.T) {
	for _, tc := range []struct {
		lang, text string
		formal     bool
	}{
		{"de", "Hallo Alex, wir würden Sie gern kennenlernen. Passt Ihnen Dienstag?", true},
		{"de", "Hi Alex, hast du Lust auf einen Kaffee? Sag mir einfach, wann es dir passt.", false},
		{"de", "Hallo Alex, sie haben mir von dir erzählt. Hast du Zeit?", false},
		{"de", "", true},
		{"fr", "Bonjour Alex, seriez-vous disponible pour un échange ? Votre profil nous intéresse.", true},
		{"fr", "Salut Alex, ça te dirait qu'on en parle ? Ton profil m'a plu, t'es dispo ?", false},
		{"fr", "", true},
		{"es", "Hola Alex, ¿te vendría bien una llamada? Tu perfil nos encaja.", false},
		{"es", "Estimado Alex: le escribimos en relación con su candidatura. ¿Podría usted confirmar?", true},
		{"es", "Estimado Alex: le escribimos en relación con su candidatura y su perfil.", true},
		{"es", "", false},
		{"en", "Hi Alex", true},
	} {
		if got := detectFormal(tc.lang, tc.text); got != tc.formal {
			t.Errorf("detectFormal(%s, %q) = %v, want %v", tc.lang, tc.text, got, tc.formal)
		}
	}
	// An explicit choice wins over the detection.
	m, _ := mailmsg.Read(strings.NewReader("From: Jonas <j@x.example>\r\nTo: a@example.net\r\nSubject: Hi\r\n\r\nHast du Zeit?\r\n"), mailmsg.Options{})
	d := newTestDrafter(t, Options{})
	for _, tc := range []struct {
		f    Formality
		want string
	}{{FormalityAuto, "deine Einladung"}, {Formal, "Ihre Einladung"}, {Informal, "deine Einladung"}} {
		r, err := d.Reply(Invitation{Message: m, FirstName: "Jonas", Lang: "de-AT", Formality: tc.f}, Me{Address: "a@example.net"}, Request{Action: ActionDecline})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Body, tc.want) {
			t.Errorf("Formality %v: body lacks %q:\n%s", tc.f, tc.want, r.Body)
		}
	}
}

// TestLanguageFallback: a language without templates gets English.
func TestLanguageFallback(t *testing.T) {
	m, _ := mailmsg.Read(strings.NewReader("From: Gio <g@x.example>\r\nTo: a@example.net\r\nSubject: Colloquio\r\n\r\nCiao\r\n"), mailmsg.Options{})
	d := newTestDrafter(t, Options{Now: clockAt(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))})
	r, err := d.Reply(Invitation{Message: m, FirstName: "Gio", Lang: "it"}, Me{Address: "a@example.net"}, Request{Action: ActionReschedule})
	if err != nil {
		t.Fatal(err)
	}
	if r.Lang != "en" || !strings.HasPrefix(r.Body, "Hi Gio,") || r.Header.Get("Content-Language") != "en" {
		t.Errorf("Italian invitation: Lang %s, body %q", r.Lang, r.Body)
	}
}
