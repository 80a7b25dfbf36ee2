// Package faultproxy is a TCP proxy for tests that breaks connections on cue.
//
// Start listens on a free loopback port and forwards every accepted
// connection to an upstream address, both directions, byte for byte. A test
// then makes the network misbehave:
//
//   - Cut closes every current connection abruptly (a TCP reset to both
//     ends), the way a dropped route or a crashed NAT box looks.
//   - Stall stops forwarding in both directions on every connection, the way
//     a silently dead peer looks: connections stay open, bytes sent meanwhile
//     are held (not lost) and flow again after Resume.
//   - CutOnClient, CutOnServer, StallOnClient and StallOnServer arm one-shot
//     triggers that fire when the client→server (or server→client) stream
//     next contains a string, e.g. "UID FETCH", "IDLE" or "APPEND".
//
// Forwarding works in chunks (one read from one side, up to 32 KiB). A
// trigger looks at each chunk together with the end of the stream before
// it, so a string split across chunks still matches; it fires on the chunk
// in which the match completes:
//
//   - a cut trigger drops that chunk (the other side never sees it, while
//     everything before it was forwarded) and cuts that connection;
//   - a stall trigger stalls the whole proxy, as Stall does, before that
//     chunk is forwarded; the chunk is held and goes out after Resume.
//
// New connections are accepted and forwarded while the proxy is stalled, but
// their bytes are held too. Everything stops on t.Cleanup.
package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// MaxMatch is the longest string a trigger can look for.
const MaxMatch = 1024

const chunkSize = 32 << 10

// Proxy is a running fault-injecting TCP proxy.
type Proxy struct {
	t        testing.TB
	upstream string
	ln       net.Listener
	wg       sync.WaitGroup

	mu       sync.Mutex
	links    map[*link]struct{}
	accepted int
	stalled  bool
	resume   chan struct{} // closed by Resume; a new one per stall
	triggers []trigger
	closed   bool
}

type direction int

const (
	fromClient direction = iota
	fromServer
)

type action int

const (
	actCut action = iota
	actStall
)

type trigger struct {
	dir    direction
	substr []byte
	act    action
}

// link is one proxied connection.
type link struct {
	client, server *net.TCPConn
	done           chan struct{} // closed when the link is torn down
	once           sync.Once
	mu             sync.Mutex
	halfDone       int // directions that reached EOF
}

// Start starts a proxy to upstream (host:port) on 127.0.0.1 and stops it on
// t.Cleanup.
func Start(t testing.TB, upstream string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("faultproxy: listen: %v", err)
	}
	p := &Proxy{t: t, upstream: upstream, ln: ln, links: map[*link]struct{}{}, resume: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the host:port clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Conns is the number of connections accepted so far.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Cut resets every current connection, on both sides. Bytes held by a stall
// are lost with them. Later connections are forwarded as usual.
func (p *Proxy) Cut() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.teardown(true)
	}
}

// Stall stops forwarding on every connection, current and new, until
// Resume. Nothing is lost: what either side sends meanwhile is held by the
// proxy or by the kernel's buffers.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stallLocked()
}

func (p *Proxy) stallLocked() {
	if !p.stalled {
		p.stalled = true
		p.resume = make(chan struct{})
	}
}

// Resume ends a stall: held bytes are forwarded, in order.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled {
		p.stalled = false
		close(p.resume)
	}
}

// CutOnClient arms a one-shot trigger: when the client→server stream of any
// connection next contains substr, the chunk in which it completes is
// dropped (the server never sees it) and that connection is cut. It models
// a request lost on the way.
func (p *Proxy) CutOnClient(substr string) { p.arm(fromClient, substr, actCut) }

// CutOnServer arms a one-shot trigger: when the server→client stream of any
// connection next contains substr, the chunk in which it completes is
// dropped (the client never sees it) and that connection is cut. It models
// a request carried out whose answer was lost.
func (p *Proxy) CutOnServer(substr string) { p.arm(fromServer, substr, actCut) }

// StallOnClient arms a one-shot trigger: when the client→server stream of
// any connection next contains substr, the proxy stalls (as Stall) before
// forwarding the chunk in which it completes; the chunk goes out on Resume.
func (p *Proxy) StallOnClient(substr string) { p.arm(fromClient, substr, actStall) }

// StallOnServer is StallOnClient for the server→client stream.
func (p *Proxy) StallOnServer(substr string) { p.arm(fromServer, substr, actStall) }

func (p *Proxy) arm(dir direction, substr string, act action) {
	if substr == "" || len(substr) > MaxMatch {
		p.t.Fatalf("faultproxy: trigger string must have 1 to %d bytes, got %d", MaxMatch, len(substr))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.triggers = append(p.triggers, trigger{dir: dir, substr: []byte(substr), act: act})
}

// fire looks for an armed trigger of dir whose string completes in window
// after its first tailLen bytes (the already forwarded end of the stream).
// A trigger that matches is disarmed; a stall trigger stalls the proxy
// before fire returns, so the chunk is held.
func (p *Proxy) fire(dir direction, window []byte, tailLen int) (action, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, tr := range p.triggers {
		if tr.dir != dir {
			continue
		}
		// A match starting at or after from ends inside the new chunk.
		from := max(0, tailLen-len(tr.substr)+1)
		if !bytes.Contains(window[from:], tr.substr) {
			continue
		}
		p.triggers = append(p.triggers[:i], p.triggers[i+1:]...)
		if tr.act == actStall {
			p.stallLocked()
		}
		return tr.act, true
	}
	return 0, false
}

// hold blocks while the proxy is stalled. It reports false when the link
// was torn down meanwhile.
func (p *Proxy) hold(l *link) bool {
	for {
		p.mu.Lock()
		stalled, resume := p.stalled, p.resume
		p.mu.Unlock()
		if !stalled {
			return true
		}
		select {
		case <-resume:
		case <-l.done:
			return false
		}
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepted++
		p.mu.Unlock()
		p.wg.Add(1)
		go p.serve(c.(*net.TCPConn))
	}
}

func (p *Proxy) serve(client *net.TCPConn) {
	defer p.wg.Done()
	up, err := net.DialTimeout("tcp", p.upstream, 10*time.Second)
	if err != nil {
		p.t.Logf("faultproxy: dial upstream %s: %v", p.upstream, err)
		client.Close()
		return
	}
	l := &link{client: client, server: up.(*net.TCPConn), done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		l.teardown(false)
		return
	}
	p.links[l] = struct{}{}
	p.mu.Unlock()

	var pumps sync.WaitGroup
	pumps.Add(2)
	go func() { defer pumps.Done(); p.pump(l, fromClient, l.client, l.server) }()
	go func() { defer pumps.Done(); p.pump(l, fromServer, l.server, l.client) }()
	pumps.Wait()
	l.teardown(false)
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// pump forwards src to dst until src ends, a write fails or the link is
// torn down. An orderly end of src (EOF) is passed on as a half-close, so a
// server's last words before it closes still arrive.
func (p *Proxy) pump(l *link, dir direction, src, dst *net.TCPConn) {
	buf := make([]byte, chunkSize)
	var tail []byte // the last bytes forwarded, for matches across chunks
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			window := append(tail, chunk...)
			if act, ok := p.fire(dir, window, len(tail)); ok && act == actCut {
				l.teardown(true)
				return
			}
			if !p.hold(l) {
				return
			}
			if _, werr := dst.Write(chunk); werr != nil {
				l.teardown(false)
				return
			}
			tail = append(tail[:0], window[max(0, len(window)-MaxMatch):]...)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				l.teardown(false)
				return
			}
			if !p.hold(l) {
				return
			}
			dst.CloseWrite()
			if l.halfClosed() {
				l.teardown(false)
			}
			return
		}
	}
}

// halfClosed records that one direction ended and reports whether both
// have.
func (l *link) halfClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.halfDone++
	return l.halfDone == 2
}

// teardown closes both sides once. abrupt sends a TCP reset (SO_LINGER 0)
// instead of an orderly close.
func (l *link) teardown(abrupt bool) {
	l.once.Do(func() {
		if abrupt {
			l.client.SetLinger(0)
			l.server.SetLinger(0)
		}
		l.client.Close()
		l.server.Close()
		close(l.done)
	})
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.triggers = nil
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	p.ln.Close()
	for _, l := range links {
		l.teardown(false)
	}
	p.wg.Wait()
}
