package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

// BenchmarkReadClassifyExtract is the CPU work of a backfill without the
// network and the store, on one core: 3,000 generated messages (one in
// twenty an invitation), as rsvp fetches them (header and the first
// 64 KB of text), read as the IMAP backend reads them, classified with the
// built-in rules, and the invitations' fields extracted. It is the quick
// loop for work on parsing and classification; go run . measures the
// whole.
func BenchmarkReadClassifyExtract(b *testing.B) {
	cfg := config.Default()
	g := newGenerator(1, testSources(b), time.Unix(1790000000, 0))
	views := make([][]byte, 3000)
	size := 0
	for i := range views {
		views[i] = fetchedView(g.next(i, i%20 == 0), bodyBytes)
		size += len(views[i])
	}
	opts := mailmsg.Options{MaxBodyBytes: bodyBytes} // as mailbox/imap reads what it fetched
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range views {
			m, err := mailmsg.Read(bytes.NewReader(v), opts)
			if err != nil {
				b.Fatal(err)
			}
			if cfg.Classifier.Classify(m).Invite {
				classifier.Extract(m, cfg.ExtractOptions())
			}
		}
	}
}

// BenchmarkStages is BenchmarkReadClassifyExtract a stage at a time, on
// the same 3,000 messages: read (each message), classify (each message,
// read beforehand) and extract (each invitation).
func BenchmarkStages(b *testing.B) {
	cfg := config.Default()
	g := newGenerator(1, testSources(b), time.Unix(1790000000, 0))
	opts := mailmsg.Options{MaxBodyBytes: bodyBytes}
	views := make([][]byte, 3000)
	msgs := make([]*mailmsg.Message, len(views))
	var invites []*mailmsg.Message
	for i := range views {
		views[i] = fetchedView(g.next(i, i%20 == 0), bodyBytes)
		m, err := mailmsg.Read(bytes.NewReader(views[i]), opts)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = m
		if cfg.Classifier.Classify(m).Invite {
			invites = append(invites, m)
		}
	}
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, v := range views {
				if _, err := mailmsg.Read(bytes.NewReader(v), opts); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("classify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, m := range msgs {
				cfg.Classifier.Classify(m)
			}
		}
	})
	b.Run("extract", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, m := range invites {
				classifier.Extract(m, cfg.ExtractOptions())
			}
		}
	})
}
