package cli

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/notifier"
)

// Each ask.via makes its backend.
func TestNewNotifierFollowsAskVia(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		yaml string
		want string
	}{
		{"ask:\n  via: terminal\n", "*notifier.Terminal"},
		{"ask:\n  via: command\n  command: [/bin/true]\n", "*notifier.Command"},
		{"ask:\n  via: ntfy\n  ntfy:\n    topic: rsvp-test\n    listen: 127.0.0.1:0\n    public_url: http://127.0.0.1:1\n", "*notifier.Ntfy"},
		{"ask:\n  via: desktop\n", "*cli.lazyDesktop"},
	} {
		cfg, err := config.Parse("c.yaml", []byte(tc.yaml))
		if err != nil {
			t.Fatal(err)
		}
		n, err := newNotifier(context.Background(), cfg, strings.NewReader(""), io.Discard, log)
		if err != nil {
			t.Fatalf("%s: %v", tc.want, err)
		}
		if got := typeName(n); got != tc.want {
			t.Errorf("ask.via %s made %s, want %s", cfg.Ask.Via, got, tc.want)
		}
		n.Close()
	}
}

func typeName(n notifier.Notifier) string {
	switch n.(type) {
	case *notifier.Terminal:
		return "*notifier.Terminal"
	case *notifier.Command:
		return "*notifier.Command"
	case *notifier.Ntfy:
		return "*notifier.Ntfy"
	case *lazyDesktop:
		return "*cli.lazyDesktop"
	}
	return "?"
}
