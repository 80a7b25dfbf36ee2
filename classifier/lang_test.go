package classifier_test

import (
	"testing"

	"github.com/rsvp-mail/rsvp/classifier"
)

func TestDetectLang(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"an English invitation is English", "Hi Alex, would you have 20 minutes this week for a quick call about the role? Thanks, Priya", "en"},
		{"a German invitation with an English job title is German", "Hallo Alex, vielen Dank für Ihre Bewerbung als Senior Backend Engineer. Wir würden Sie gerne zu einem ersten Gespräch einladen. Viele Grüße", "de"},
		{"a French invitation is French", "Bonjour Alex, nous vous remercions pour votre candidature et souhaitons échanger avec vous. Seriez-vous disponible jeudi ? Cordialement", "fr"},
		{"a Spanish invitation is Spanish", "Hola Alex, gracias por tu interés en el puesto. Nos gustaría hablar contigo esta semana, ¿tienes disponibilidad el martes? Saludos", "es"},
		{"Spanish and French sharing words are still told apart", "Le agradecemos su candidatura para el puesto de desarrollador y queremos conocerle mejor.", "es"},
		{"French with de and la is not Spanish", "Merci pour votre candidature au poste de développeur, la rencontre se fera dans nos locaux.", "fr"},
		{"an empty text is English", "", "en"},
		{"a single foreign word does not switch the language", "Thanks for the call, see you at the Kaffeehaus und so on.", "en"},
		{"an English mail quoting a German place name is English", "We would love to see you at our Berlin office in Kreuzberg next week for the interview.", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classifier.DetectLang(tt.text); got != tt.want {
				t.Errorf("DetectLang(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}
