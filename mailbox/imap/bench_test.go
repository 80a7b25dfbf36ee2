package imap

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rsvp-mail/rsvp/internal/testserver/dovecot"
	"github.com/rsvp-mail/rsvp/mailbox"
)

// BenchmarkCatchUpOverASlowLink catches up 200 messages in batches of 20
// over a link with a 20 ms round trip, from SELECT to the empty batch. A
// batch whose FETCH went out with the batch before it (see fetch) does not
// wait for the round trip of its own.
func BenchmarkCatchUpOverASlowLink(b *testing.B) {
	const messages, batch, rtt = 200, 20, 20 * time.Millisecond
	s := dovecot.Start(b, dovecot.Options{})
	raws := make([][]byte, messages)
	for i := range raws {
		raws[i] = bigMessage(i + 1)
	}
	s.AppendAllAt(b, raws, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := Dial(ctx, Options{Addr: slowLink(b, s.Addr, rtt), Security: "plain", Username: s.User,
		Password: func() (string, error) { return s.Password, nil }, BatchSize: batch})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	since := time.Now().AddDate(0, 0, -1)
	for b.Loop() {
		cur, n := mailbox.Cursor{}, 0
		for {
			got, next, err := c.FetchUnparsed(ctx, cur, since)
			if err != nil {
				b.Fatal(err)
			}
			if len(got) == 0 {
				break
			}
			n += len(got)
			for i := range got {
				c.Recycle(&got[i])
			}
			cur = next
		}
		if n != messages {
			b.Fatalf("caught up with %d messages, want %d", n, messages)
		}
	}
}

// slowLink forwards the connections it accepts to upstream, each chunk the
// client sends arriving rtt after it was read (the whole round trip on the
// way there), in order and without waiting for the chunks before it. It
// returns its address.
func slowLink(tb testing.TB, upstream string, rtt time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", upstream)
			if err != nil {
				client.Close()
				continue
			}
			type chunk struct {
				b  []byte
				at time.Time
			}
			q := make(chan chunk, 1024)
			go func() {
				defer server.Close()
				for c := range q {
					time.Sleep(time.Until(c.at))
					if _, err := server.Write(c.b); err != nil {
						return
					}
				}
			}()
			go func() {
				io.Copy(client, server)
				client.Close()
			}()
			go func() {
				defer close(q)
				buf := make([]byte, 32<<10)
				for {
					n, err := client.Read(buf)
					if n > 0 {
						q <- chunk{bytes.Clone(buf[:n]), time.Now().Add(rtt)}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}
