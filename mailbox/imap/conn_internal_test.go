package imap

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// scriptedConn hands out its data in the chunks given, the last with err,
// and counts the reads.
type scriptedConn struct {
	net.Conn
	chunks [][]byte
	err    error
	reads  int
}

func (c *scriptedConn) Read(p []byte) (int, error) {
	c.reads++
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	if len(c.chunks[0]) > 0 {
		return n, nil
	}
	c.chunks = c.chunks[1:]
	if len(c.chunks) == 0 {
		return n, c.err
	}
	return n, nil
}

func TestTrackedConnReadsAheadAndKeepsTheStream(t *testing.T) {
	data := make([]byte, 3*readAhead+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	boom := errors.New("connection reset")
	// Chunks of every size around the buffer's, the last with an error
	// that comes with bytes.
	sizes := []int{1, 100, readAhead - 1, readAhead, readAhead + 1, 5000}
	var chunks [][]byte
	rest := data
	for i := 0; len(rest) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(rest))
		chunks = append(chunks, bytes.Clone(rest[:n]))
		rest = rest[n:]
	}
	under := &scriptedConn{chunks: chunks, err: boom}
	c := newTrackedConn(under)
	var got []byte
	var err error
	for i := 0; ; i++ {
		p := make([]byte, []int{1, 10, 4096, 15000, readAhead, readAhead + 10}[i%6])
		var n int
		n, err = c.Read(p)
		got = append(got, p[:n]...)
		if err != nil {
			break
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not the %d written (first difference at %d)", len(got), len(data), firstDiff(got, data))
	}
	if err != boom {
		t.Errorf("the read after the last bytes = %v, want %v", err, boom)
	}
	if c.silence() > time.Minute {
		t.Errorf("silence() = %v after reading", c.silence())
	}
}

func TestTrackedConnSmallReadsShareOneSystemRead(t *testing.T) {
	under := &scriptedConn{chunks: [][]byte{bytes.Repeat([]byte("x"), 40000)}}
	c := newTrackedConn(under)
	p := make([]byte, 100)
	for range 400 {
		if n, err := c.Read(p); n != 100 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
	}
	if under.reads != 1 {
		t.Errorf("400 reads of 100 bytes made %d reads of the connection, want 1", under.reads)
	}
	if n, err := c.Read(nil); n != 0 || err != nil || under.reads != 1 {
		t.Errorf("Read(nil) = %d, %v after %d reads of the connection; want 0, nil and no read", n, err, under.reads)
	}
	if n, err := c.Read(p); n != 0 || err != io.EOF {
		t.Errorf("Read at the end = %d, %v; want 0, EOF", n, err)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
