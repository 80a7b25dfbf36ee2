package classifier_test

import (
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

// The corpus owner, as a user would configure rsvp.
var extractOwner = classifier.ExtractOptions{
	Own:  []string{"alex.morgan@example.net", "alex@morgan.example"},
	Name: "Alex Morgan",
}

func labelText(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// extractFieldNames are the compared fields, in report order.
var extractFieldNames = []string{"reply_to", "first_name", "company", "role", "lang"}

// compareExtractedFields extracts every invite of a labelled directory and returns
// per-field counts of right answers and a line for each wrong one.
func compareExtractedFields(t *testing.T, dir string) (right map[string]int, total int, wrong []string) {
	labels := loadLabels(t, dir)
	names := make([]string, 0, len(labels))
	for name, l := range labels {
		if l.Label == "invite" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	right = map[string]int{}
	for _, name := range names {
		l := labels[name]
		got := classifier.Extract(readMessage(t, filepath.Join(dir, name)), extractOwner)
		total++
		check := func(field, got, want string, fold bool) {
			ok := got == want
			if fold {
				ok = strings.EqualFold(strings.TrimSpace(got), strings.TrimSpace(want))
			}
			if ok {
				right[field]++
				return
			}
			wrong = append(wrong, fmt.Sprintf("%s: %s = %q, want %q", name, field, got, want))
		}
		check("reply_to", got.ReplyTo, labelText(l.ReplyTo), false)
		check("first_name", got.FirstName, labelText(l.FirstName), false)
		check("company", got.Company, labelText(l.Company), true)
		check("role", withoutGenderMarker(got.Role), withoutGenderMarker(labelText(l.Role)), true)
		check("lang", got.Lang, labelText(l.Lang), false)
	}
	return right, total, wrong
}

// genderMarkers are the markers job ads add to a title; rsvp drops them
// from the role it writes in a reply, so the comparison ignores them.
var genderMarkers = []string{"(m/w/d)", "(w/m/d)", "(f/m/d)", "(m/f/d)", "(H/F)", "(F/H)", "(h/f)", "(M/F)"}

func withoutGenderMarker(s string) string {
	for _, g := range genderMarkers {
		s = strings.ReplaceAll(s, g, "")
	}
	return strings.Join(strings.Fields(s), " ")
}

func fieldAccuracy(right map[string]int, total int) string {
	var parts []string
	for _, f := range extractFieldNames {
		parts = append(parts, fmt.Sprintf("%s %d/%d", f, right[f], total))
	}
	return strings.Join(parts, ", ")
}

func TestExtractGetsEveryFieldOfTheSharedCorpusRight(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "corpus")
	if _, err := os.Stat(filepath.Join(dir, "labels.json")); err != nil {
		t.Fatalf("shared corpus missing: %v", err)
	}
	right, total, wrong := compareExtractedFields(t, dir)
	fmt.Printf("extract: shared corpus, %d invites: %s\n", total, fieldAccuracy(right, total))
	for _, w := range wrong {
		t.Error(w)
	}
}

// The project's own sets: testdata/mail was used to tune the extraction,
// testdata/holdout was written after it and is a check of how it
// generalises. Every field must be right on both.
func TestExtractGetsEveryFieldOfTheOwnCorporaRight(t *testing.T) {
	for _, dir := range []string{filepath.Join("..", "testdata", "mail"), filepath.Join("..", "testdata", "holdout")} {
		if _, err := os.Stat(filepath.Join(dir, "labels.json")); err != nil {
			t.Fatalf("corpus missing: %v", err)
		}
		right, total, wrong := compareExtractedFields(t, dir)
		fmt.Printf("extract: %s, %d invites: %s\n", dir, total, fieldAccuracy(right, total))
		for _, w := range wrong {
			t.Errorf("%s: %s", dir, w)
		}
	}
}

// extractMsg builds a message from header fields and a body.
func extractMsg(from, replyTo, subject, body string) *mailmsg.Message {
	m := &mailmsg.Message{Subject: subject, Text: body, Date: time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)}
	if from != "" {
		a, err := mail.ParseAddress(from)
		if err != nil {
			panic(err)
		}
		m.From = (*gomail.Address)(a)
	}
	if replyTo != "" {
		a, err := mail.ParseAddress(replyTo)
		if err != nil {
			panic(err)
		}
		m.ReplyTo = []*gomail.Address{(*gomail.Address)(a)}
	}
	m.To = []*gomail.Address{{Name: "Alex Morgan", Address: "alex.morgan@example.net"}}
	return m
}

func TestExtractFirstName(t *testing.T) {
	tests := []struct {
		name          string
		from, replyTo string
		body          string
		want          string
	}{
		{"a reply-to written last name first is turned around", `"Brookfield Talent" <ats@talent.icims-mail.example>`, `"O'Neill, Siobhan" <siobhan.oneill@brookfield.example>`, "Dear Alex,\n\nHello.", "Siobhan"},
		{"a from name keeps its accents", `"Zoë Brennan" <zoe.brennan@harbourline.example>`, "", "Hi Alex,\n\nHello.", "Zoë"},
		{"a via suffix is dropped from the from name", `"Renée Fournier via GoodTime" <scheduling@goodtime-mail.example>`, "", "Hi Alex,\n\nHello.", "Renée"},
		{"a Jira-style suffix is dropped", `"Marek Nowak (Jira)" <jira@acme.example>`, "", "Hi,", "Marek"},
		{"a company display name falls back to the sign-off", `"Copperleaf Health" <no-reply@hire.lever-mail.example>`, `<maya.ostrowski@copperleafhealth.example>`, "Hi Alex,\n\nLet's talk.\n\nLooking forward to speaking,\nMaya Ostrowski\nTechnical Recruiter, Copperleaf Health", "Maya"},
		{"a no-reply system with no sign-off has no name", `"Meridian Mutual Careers" <meridianmutual@myworkday-mail.example>`, "", "Dear Alex Morgan,\n\nPlease sign in.\n\nMeridian Mutual Insurance Group", ""},
		{"a hiring team display name is not a person", `"Aurelia Payments Hiring Team" <noreply@smartrecruiters-mail.example>`, "", "Dear Alex,\n\nPick a slot.", ""},
		{"a German sign-off gives the name", `"Flinkwerk Karriere" <karriere@flinkwerk.example>`, "", "Hallo Alex,\n\nwie geht's?\n\nViele Grüße\nKatrin Vogel\nPeople & Talent", "Katrin"},
		{"a French sign-off gives the name", `<recrutement@atelier.example>`, "", "Bonjour Alex,\n\nÀ bientôt.\n\nCordialement,\nClaire Dubois", "Claire"},
		{"a Spanish sign-off keeps its accent", `"Equipo de Selección" <seleccion@mar.example>`, "", "Hola Alex,\n\nGracias.\n\nSaludos,\nLucía", "Lucía"},
		{"the user's own name in the signature is not the recruiter", `<jobs@acme.example>`, "", "Hi,\n\nBest,\nAlex Morgan", ""},
		{"a one-line sign-off gives the name", `<careers@acme.example>`, "", "Hi Alex,\n\nCan we talk?\n\nCheers, Gabe", "Gabe"},
		{"a short form signed above the signature is how the sender is greeted", `"Beatrix Oyelaran" <bea@quillworks.example>`, "", "Hi Alex,\n\nGrab a slot.\n\nBea\n\n--\nBeatrix Oyelaran\nCo-founder & CEO, Quillworks", "Bea"},
		{"a group's display name is not a person", `"London Backend Engineers" <info@gatherly.example>`, "", "London Backend Engineers has a new event.", ""},
		{"a display name nothing confirms gives way to the person who signs", `"Copper Beech" <no-reply@hire.lever-mail.example>`, "", "Hi Alex,\n\nLet's talk.\n\nBest,\nMaya Ostrowski", "Maya"},
		{"a family name written first is turned around when the address starts with the given name", `"Lindqvist Maren" <maren.lindqvist@fjordcraft.example>`, "", "Hej Alex,\n\nA call on Monday?", "Maren"},
		{"a family name in capitals before the given name is skipped", `"OKONKWO Chiamaka" <c.okonkwo@tidewell.example>`, "", "Hi Alex,\n\nA call on Monday?", "Chiamaka"},
		{"a sign-off starting with the last word of the display name shows the given name", `"Haverkamp Joost" <haverkamp@brinkwater.example>`, "", "Hi Alex,\n\nA call on Monday?\n\nBest regards,\nJoost Haverkamp", "Joost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classifier.Extract(extractMsg(tt.from, tt.replyTo, "Interview", tt.body), extractOwner)
			if got.FirstName != tt.want {
				t.Errorf("FirstName = %q, want %q", got.FirstName, tt.want)
			}
		})
	}
}

func TestExtractCompany(t *testing.T) {
	tests := []struct {
		name          string
		from, replyTo string
		subject, body string
		want          string
	}{
		{"a pipe in the signature names the company", `"Priya Raman" <priya@gmail.example>`, "", "Quick chat?", "Hi Alex,\n\nWould you have 20 minutes?\n\nThanks,\nPriya\n\n--\nPriya Raman\nTalent Partner | Halcyon Freight", "Halcyon Freight"},
		{"a legal suffix is stripped", `"Katrin Vogel" <katrin.vogel@flinkwerk.example>`, "", "Einladung", "Hallo Alex,\n\nwir freuen uns.\n\nViele Grüße\nKatrin Vogel\n\nFlinkwerk GmbH\nTel. +49 30 5550 1427", "Flinkwerk"},
		{"an at-phrase in the subject names the company", `"Priya Raman" <priya.raman@halcyonfreight.example>`, "", "Platform role at Halcyon Freight", "Hi Alex,\n\nA chat?\n\nPriya", "Halcyon Freight"},
		{"an agency recruiter with an unnamed client gives no company", `"Zoë Brennan" <zoe.brennan@harbourline-talent.example>`, "", "Senior Backend Engineer (Go) - confidential fintech client", "Hi Alex,\n\nI can't share the client name yet.\n\nKind regards,\n\nZoë Brennan\nSenior Consultant – Engineering\nHarbourline Talent", ""},
		{"an agency recruiter naming the client gives the client", `"Callum Reid" <callum@brightpath-recruitment.example>`, "", "Re: Backend Tech Lead – Tessellate – next steps", "Hi Alex,\n\nTessellate came back to me this morning.\n\nSpeak soon,\nCallum\n\nCallum Reid | Principal Consultant | Brightpath Recruitment", "Tessellate"},
		{"a hiring team display name names the company", `"Aurelia Payments Hiring Team" <noreply@smartrecruiters-mail.example>`, "", "Invitation: Technical Interview", "Dear Alex,\n\nPlease pick a slot.", "Aurelia Payments"},
		{"the sender domain names the company when the mail mentions it", `"Ines Polder" <ines@quarrystone-ai.example>`, "", "hey", "Hey Alex,\n\nQuarrystone is growing fast. Grab a slot.\n\nInes", "Quarrystone"},
		{"a sender domain the mail never mentions names no company", `"Bram Totten" <bram@lindenfall.example>`, "", "platform job", "Free Friday for a call re the platform job?\n\nB", ""},
		{"an employment term in the subject is not a company", `"Oskar Wend" <oskar@gmail.example>`, "", "Platform contract - Inside IR35", "Hi Alex,\n\nGot time for a call?\n\nOskar", ""},
		{"a recruiter speaking of one of their clients is an agency, so its firm is not the company", `"Petra Lindgren" <p.lindgren@nordwerk-partner.example>`, "", "Projektanfrage Kotlin", "Hallo Alex,\n\nfür einen unserer Kunden suche ich einen Kotlin-Entwickler.\n\nViele Grüße\nPetra Lindgren\n\nNordwerk Partner GmbH", ""},
		{"a transliterated domain corroborates a name with an umlaut", `"Lisa Brandt" <lisa@schoenfeld.example>`, "", "Einladung", "Hallo Alex,\n\nwir freuen uns auf das Gespräch mit Schönfeld Optik.\n\nViele Grüße\nLisa", "Schönfeld Optik"},
		{"a job board relaying a message names the company that wrote it, not itself", `"Hireline" <notifications@hireline.example>`, "", "New message from Brightwater Logistics", "Hireline\n\nBrightwater Logistics sent you a message:\n\nHi Alex, can we talk on Monday?\n\nPaula", "Brightwater Logistics"},
		{"a relayed writer's company in parentheses is the company", `"Talentbord" <notifications@talentbord.example>`, "", "Nouveau message de Léa (Atelier Sorbier)", "Bonjour Alex,\n\nPouvons-nous échanger ?\n\nLéa", "Atelier Sorbier"},
		{"a recruiter mentioning a message from someone is not relaying it", `"Hugo Varga" <hugo@kettlebrook.example>`, "", "Chat?", "Hi Alex,\n\nI got a message from Dana Reyes about you. Coffee?\n\nHugo\n\n--\nHugo Varga\nTalent Partner | Kettlebrook Analytics", "Kettlebrook Analytics"},
		{"a free mail domain names no company", `"Tom Achterberg" <tom.achterberg@gmail.example>`, "", "hey", "Hey Alex,\n\nGrab a slot.\n\nTom", ""},
		{"the user's previous employer is not the company", `"Joaquín Ortega" <joaquin@gmail.example>`, "", "Chat", "Hi Alex,\n\nI saw your time at Ferrous Labs and would love a chat.\n\nJoaquín", ""},
		{"a GoodTime footer names the company", `"Renée Fournier via GoodTime" <scheduling@goodtime-mail.example>`, "", "Confirmed", "Hi Alex,\n\nSee you then.\n\n--\nSent by GoodTime on behalf of Ostara Bio", "Ostara Bio"},
		{"an agency consultant's firm is not the client", `"Thibault Garnier" <t.garnier@altitude-rh.example>`, "", "RE: Poste d’architecte logiciel – Ombelle Santé", "Bonjour Alex,\n\nJe vous confirme votre entretien avec la directrice technique d'Ombelle Santé.\n\nBien à vous,\n\nThibault Garnier\nConsultant senior – Tech & Digital\nAltitude RH", "Ombelle Santé"},
		{"a time is not a company", `"Harsh Vaidya" <harsh.vaidya@corrigan-digital.example>`, "", "RE: second stage", "Hi Alex,\n\nBoth are free on Thursday 3 December at 2pm.\n\nKind regards,\nHarsh\n\nHarsh Vaidya\nTalent Partner | Corrigan Digital", "Corrigan Digital"},
		{"chez names the company in French", `"Claire Dubois" <claire@gmail.example>`, "", "Entretien", "Bonjour Alex,\n\nJe suis recruteuse chez Atelier Rivage et j'aimerais échanger.\n\nCordialement,\nClaire", "Atelier Rivage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classifier.Extract(extractMsg(tt.from, tt.replyTo, tt.subject, tt.body), extractOwner)
			if got.Company != tt.want {
				t.Errorf("Company = %q, want %q", got.Company, tt.want)
			}
		})
	}
}

func TestExtractRole(t *testing.T) {
	tests := []struct {
		name, subject, body, want string
	}{
		{"a title before 'position' keeps its comma part", "Let's talk", "Thank you for applying for the Senior Backend Engineer, Patient Messaging position at Copperleaf Health.", "Senior Backend Engineer, Patient Messaging"},
		{"a title after 'hiring a' ends at the lower-case word", "Chat?", "We're hiring a Senior Platform Engineer to help move our dispatch system.", "Senior Platform Engineer"},
		{"a requisition id is stripped from the subject", "Action Required: Schedule Your Interview - Senior Software Engineer (R-20418)", "Please sign in.", "Senior Software Engineer"},
		{"a gender marker is stripped", "Einladung zum Kennenlerngespräch · Senior Backend Engineer (m/w/d)", "Hallo Alex,", "Senior Backend Engineer"},
		{"a meaningful parenthesis is kept", "Invitation: Technical Interview - Backend Engineer II (Payments Core)", "Dear Alex,", "Backend Engineer II (Payments Core)"},
		{"a language in parentheses is kept", "Senior Backend Engineer (Go) - confidential fintech client", "Hi Alex,", "Senior Backend Engineer (Go)"},
		{"German 'als' introduces the title", "Einladung", "vielen Dank für Ihre Bewerbung als Senior Backend Engineer bei Flinkwerk.", "Senior Backend Engineer"},
		{"French 'au poste de' introduces a lower-case title", "Entretien", "Suite à votre candidature au poste de développeur backend senior (H/F) chez Atelier Rivage, nous aimerions vous rencontrer.", "développeur backend senior"},
		{"Spanish 'para el puesto de' introduces the title", "Entrevista", "Nos gustaría invitarte a una entrevista para el puesto de Ingeniera de Datos en Marea Labs.", "Ingeniera de Datos"},
		{"a subject dash segment is the title", "Interview - Senior Site Reliability Engineer - Cairnstone Capital", "Dear Alex,", "Senior Site Reliability Engineer"},
		{"a trailing 'application' is not part of the title", "Re: Data Engineer application - Alex Morgan", "Hi Alex,", "Data Engineer"},
		{"a Role label line gives the title with its comma part", "Reminder", "When: Wednesday, 2 December, 11:00\nRole: Senior Backend Engineer, Live Services\n", "Senior Backend Engineer, Live Services"},
		{"a quoted title after Position is taken whole", "Terminauswahl", "vielen Dank für Ihr Interesse an der Position „Senior Software Engineer Plattform (m/w/d)“ bei der Grünwerk Mobility GmbH.", "Senior Software Engineer Plattform"},
		{"an inclusive Spanish title keeps its dash part", "Invitación", "para el puesto de Ingeniero/a de Software Senior – Backend: una entrevista técnica", "Ingeniero/a de Software Senior – Backend"},
		{"a title in parentheses after the candidate's name", "Invitación: Entrevista técnica - Alex Morgan (Backend Senior) @ mié 16 dic 2026", "Hola Alex", "Backend Senior"},
		{"a German 'und' does not continue a title", "Bewerbung", "vielen Dank für Ihre Bewerbung als Backend Developer und Ihr Interesse an uns.", "Backend Developer"},
		{"the subject's application word is not part of the title", "RE: Candidatura Tech Lead de Plataforma - próximos pasos", "Hola Alex:", "Tech Lead de Plataforma"},
		{"no title stated gives none", "hey - saw your pg_partman PR", "I'm one of the founders. We're thinking about who our next couple of engineers are.", ""},
		{"a sender's own title is not the role", "Hello", "Daniel Okafor\nHead of Engineering at Kestrel Maps\n\nHi Alex, would you be open to a call?", ""},
		{"a plural title after a number is made singular", "Contract", "We need three Senior Rust Engineers to help us finish the migration.", "Senior Rust Engineer"},
		{"a bare 'una' before a word that is no title gives no title", "Siguiente paso", "Te propongo una reunión técnica de una hora con el equipo.", ""},
		{"Spanish 'candidatura para' introduces the title", "Hola", "Leímos tu candidatura para Data Engineer y nos encantó.", "Data Engineer"},
		{"'búsqueda de' introduces the title", "Visita", "Queremos invitarte a la última etapa de la búsqueda de Analista Funcional Senior.", "Analista Funcional Senior"},
		{"'oferta de' introduces an inclusive title", "Mensaje", "Hemos revisado tu CV para la oferta de Programador/a Python y queremos llamarte.", "Programador/a Python"},
		{"an application label line is read to its end", "Nouveau message", "Candidature : Product Designer - Outils internes\nLyon", "Product Designer - Outils internes"},
		{"an abbreviation keeps its point in a subject title", "Llamada - Analista de Datos Sr.", "Hola Alex,", "Analista de Datos Sr."},
		{"the quoted message gives the role when the reply names none", "Re: take-home", "Hi Alex,\n\nGot it, thanks. Does Tuesday at 3pm work for a debrief?\n\nKai\n\nOn Mon, 7 Dec 2026 at 09:12, Alex Morgan <alex.morgan@example.net> wrote:\n> Hi Kai,\n> here is my exercise for the Senior\n> Mobile Engineer role.\n", "Senior Mobile Engineer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classifier.Extract(extractMsg(`"Sam Lee" <sam@acme.example>`, "", tt.subject, tt.body), extractOwner)
			if got.Role != tt.want {
				t.Errorf("Role = %q, want %q", got.Role, tt.want)
			}
		})
	}
}

func TestExtractReplyToPrefersReplyToOverFrom(t *testing.T) {
	got := classifier.Extract(extractMsg(`"Jordan Ellis" <no-reply@us.greenhouse-mail.example>`, `"Jordan Ellis" <jordan.ellis@northwindlabs.example>`, "Next steps", "Hi"), extractOwner)
	if got.ReplyTo != "jordan.ellis@northwindlabs.example" {
		t.Errorf("ReplyTo = %q, want the Reply-To address", got.ReplyTo)
	}
	got = classifier.Extract(extractMsg(`"Tom" <tom@stillwater-ai.example>`, "", "hey", "Hi"), extractOwner)
	if got.ReplyTo != "tom@stillwater-ai.example" {
		t.Errorf("ReplyTo = %q, want the From address", got.ReplyTo)
	}
	if got := classifier.Extract(&mailmsg.Message{}, extractOwner); got.ReplyTo != "" || got.Lang != "en" {
		t.Errorf("Extract(empty) = %+v, want no reply address and lang en", got)
	}
}
