package faultproxy

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// echo is a TCP echo server that records what each connection sent it.
type echo struct {
	addr string
	mu   sync.Mutex
	got  []*bytes.Buffer // by connection, in accept order
}

func startEcho(t *testing.T) *echo {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echo{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		e.mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		e.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rec := &bytes.Buffer{}
			e.mu.Lock()
			e.got = append(e.got, rec)
			conns = append(conns, c)
			e.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						e.mu.Lock()
						rec.Write(buf[:n])
						e.mu.Unlock()
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return e
}

// received is what connection i (in accept order) has sent the server.
func (e *echo) received(i int) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i >= len(e.got) {
		return ""
	}
	return e.got[i].String()
}

func connect(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c net.Conn, s string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("write %q: %v", s, err)
	}
}

// expect reads exactly want from c.
func expect(t *testing.T, c net.Conn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading %d bytes: %v (got %q)", len(want), err, got)
	}
	if string(got) != want {
		t.Fatalf("read %q, want %q", got, want)
	}
}

// expectCut fails unless c ends (EOF or a reset) with no more data.
func expectCut(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open 5s after the cut (read %d bytes)", n)
	}
	if n != 0 {
		t.Fatalf("read %d bytes after the cut, want none", n)
	}
}

// expectNothing checks that nothing arrives on c for a while: the only way
// to see that bytes are held.
func expectNothing(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %q, %v while stalled; want nothing", buf[:n], err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestForwardsBothWaysAndCountsConnections(t *testing.T) {
	e := startEcho(t)
	p := Start(t, e.addr)
	a, b := connect(t, p), connect(t, p)
	send(t, a, "hello from a")
	send(t, b, "hello from b")
	expect(t, a, "hello from a")
	expect(t, b, "hello from b")

	// More than one chunk, both ways, byte for byte.
	big := make([]byte, 300<<10)
	rand.Read(big)
	go a.Write(big)
	expect(t, a, string(big))

	if n := p.Conns(); n != 2 {
		t.Errorf("Conns() = %d, want 2", n)
	}
}

func TestCutResetsCurrentConnectionsOnly(t *testing.T) {
	e := startEcho(t)
	p := Start(t, e.addr)
	a := connect(t, p)
	send(t, a, "x")
	expect(t, a, "x")
	p.Cut()
	expectCut(t, a)

	b := connect(t, p)
	send(t, b, "after the cut")
	expect(t, b, "after the cut")
	if n := p.Conns(); n != 2 {
		t.Errorf("Conns() = %d, want 2", n)
	}
}

func TestStallHoldsBytesUntilResume(t *testing.T) {
	e := startEcho(t)
	p := Start(t, e.addr)
	a := connect(t, p)
	send(t, a, "before ")
	expect(t, a, "before ")

	p.Stall()
	send(t, a, "held ")
	send(t, a, "and more")
	expectNothing(t, a, 300*time.Millisecond)
	if got := e.received(0); got != "before " {
		t.Fatalf("server received %q while stalled, want only %q", got, "before ")
	}
	// A connection made during the stall is accepted but held as well.
	b := connect(t, p)
	send(t, b, "new")
	expectNothing(t, b, 100*time.Millisecond)

	p.Resume()
	expect(t, a, "held and more")
	expect(t, b, "new")
}

func TestCutOnClient(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string // each is echoed before the next is sent, except the last
		seen   string   // what the server must have received in the end
	}{
		{"drops the chunk holding the string and cuts", []string{"a1 NOOP\r\n", "a2 QUIT now\r\n"}, "a1 NOOP\r\n"},
		{"matches a string split across chunks", []string{"a1 QU", "IT\r\n"}, "a1 QU"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEcho(t)
			p := Start(t, e.addr)
			p.CutOnClient("QUIT")
			a := connect(t, p)
			last := len(tc.writes) - 1
			for _, w := range tc.writes[:last] {
				send(t, a, w)
				expect(t, a, w)
			}
			send(t, a, tc.writes[last])
			expectCut(t, a)
			if got := e.received(0); got != tc.seen {
				t.Errorf("server received %q, want %q", got, tc.seen)
			}

			// One-shot: the next connection is not cut.
			b := connect(t, p)
			send(t, b, "QUIT\r\n")
			expect(t, b, "QUIT\r\n")
		})
	}
}

func TestCutOnServerDeliversTheRequestAndDropsTheAnswer(t *testing.T) {
	e := startEcho(t)
	p := Start(t, e.addr)
	p.CutOnServer("PING")
	a := connect(t, p)
	send(t, a, "PING\r\n")
	expectCut(t, a)
	waitFor(t, "the server to receive PING", func() bool { return e.received(0) == "PING\r\n" })
}

func TestStallOnClientHoldsTheMatchingChunk(t *testing.T) {
	e := startEcho(t)
	p := Start(t, e.addr)
	p.StallOnClient("IDLE")
	a := connect(t, p)
	send(t, a, "a1 NOOP\r\n")
	expect(t, a, "a1 NOOP\r\n")
	send(t, a, "a2 IDLE\r\n")
	expectNothing(t, a, 300*time.Millisecond)
	if got := e.received(0); got != "a1 NOOP\r\n" {
		t.Fatalf("server received %q while stalled, want only the NOOP", got)
	}
	p.Resume()
	expect(t, a, "a2 IDLE\r\n")

	// One-shot.
	send(t, a, "a3 IDLE\r\n")
	expect(t, a, "a3 IDLE\r\n")
}

func TestStallOnServer(t *testing.T) {
	e := startEcho(t)
	p := Start(t, e.addr)
	p.StallOnServer("DONE")
	a := connect(t, p)
	send(t, a, "DONE\r\n")
	waitFor(t, "the server to receive DONE", func() bool { return e.received(0) == "DONE\r\n" })
	expectNothing(t, a, 300*time.Millisecond)
	p.Resume()
	expect(t, a, "DONE\r\n")
}
