package mailmsg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// go-message builds every entity with message.New, which decodes a
// quoted-printable body with mime/quotedprintable. That reader moves its
// position in a heap field byte by byte, which the garbage collector's
// write barrier makes slow while it runs; on a backfill it was the largest
// single cost of reading mail. Read makes the same entities the same way,
// except that a quoted-printable body is decoded by qpReader, a port of
// mime/quotedprintable's Reader that gives the same bytes and the same
// errors from the same reads of the same underlying bufio.Reader
// (FuzzQPReader). TestReadIsGoMessage and FuzzRead hold Read to the plain
// go-message way (see goMessage).

// The buffers Read uses for each message, kept for the next one.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReader(nil) }}
	buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	// textBufs hold the text htmlToText builds.
	textBufs = sync.Pool{New: func() any { return new([]byte) }}
)

// maxPooled is the largest buffer kept for the next message.
const maxPooled = 1 << 20

func getReader(r io.Reader) *bufio.Reader {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	return br
}

func putReader(br *bufio.Reader) {
	br.Reset(nil) // not to keep the input alive
	readers.Put(br)
}

func getBuffer() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooled {
		b.Reset()
		buffers.Put(b)
	}
}

// errHeaderTooBig is go-message's error for a header over MaxHeaderBytes.
var errHeaderTooBig = errors.New("message: header exceeds maximum size")

// lent are the pooled readers the entities of one message read through;
// read gives them back when the message is read. It also remembers the
// last Content-Type parsed (see contentType).
type lent struct {
	readers []*bufio.Reader
	first   [2]*bufio.Reader // most messages have no more parts to decode
	ct      struct {
		set          bool
		value, media string
		params       map[string]string
		err          error
	}
}

// contentType is h.ContentType(), which depends on nothing but the field's
// value: the last value's result is kept, as each entity's is asked for
// three times (newEntity, parts, leaf). The params are only read.
func (l *lent) contentType(h message.Header) (string, map[string]string, error) {
	v := h.Get("Content-Type")
	if c := &l.ct; c.set && c.value == v {
		return c.media, c.params, c.err
	}
	media, params, err := h.ContentType()
	l.ct.set, l.ct.value, l.ct.media, l.ct.params, l.ct.err = true, v, media, params, err
	return media, params, err
}

func (l *lent) reader(r io.Reader) *bufio.Reader {
	br := getReader(r)
	if l.readers == nil {
		l.readers = l.first[:0]
	}
	l.readers = append(l.readers, br)
	return br
}

func (l *lent) giveBack() {
	for _, br := range l.readers {
		putReader(br)
	}
	l.readers = nil
}

// readEntity is message.ReadWithOptions, reading through br (reset to r).
func readEntity(r io.Reader, maxHeader int64, br *bufio.Reader, l *lent) (*message.Entity, error) {
	lr := &headerLimit{R: r, N: maxHeader}
	br.Reset(lr)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return nil, err
	}
	lr.N = math.MaxInt64
	return newEntity(message.Header{Header: h}, br, l)
}

// headerLimit is go-message's limitedReader.
type headerLimit struct {
	R io.Reader
	N int64
}

func (lr *headerLimit) Read(p []byte) (int, error) {
	if lr.N <= 0 {
		return 0, errHeaderTooBig
	}
	if int64(len(p)) > lr.N {
		p = p[0:lr.N]
	}
	n, err := lr.R.Read(p)
	lr.N -= int64(n)
	return n, err
}

// newEntity is message.New(h, body), with qpReader decoding a
// quoted-printable body. message.New is given a header with only the
// Content-Type, so it applies the charset to the decoded body as it would
// have, and the entity gets the whole header back.
func newEntity(h message.Header, body io.Reader, l *lent) (*message.Entity, error) {
	mediaType, _, _ := l.contentType(h)
	if strings.HasPrefix(mediaType, "multipart/") || strings.ToLower(h.Get("Content-Transfer-Encoding")) != "quoted-printable" {
		return message.New(h, body)
	}
	var ct message.Header
	if v := h.Get("Content-Type"); v != "" {
		ct.Set("Content-Type", v)
	}
	e, err := message.New(ct, newQPReader(l.reader(body)))
	if e != nil {
		e.Header = h
	}
	return e, err
}

// parts is e.MultipartReader(), nil when e is not multipart.
func parts(e *message.Entity, l *lent) *partReader {
	mediaType, params, _ := l.contentType(e.Header)
	if !strings.HasPrefix(mediaType, "multipart/") {
		return nil
	}
	return &partReader{textproto.NewMultipartReader(e.Body, params["boundary"]), l}
}

// partReader is go-message's multipartReader, making parts with newEntity.
type partReader struct {
	r *textproto.MultipartReader
	l *lent
}

func (r *partReader) NextPart() (*message.Entity, error) {
	p, err := r.r.NextPart()
	if err != nil {
		return nil, err
	}
	return newEntity(message.Header{Header: p.Header}, p, r.l)
}

// Close implements message.MultipartReader; like go-message's, it does
// nothing.
func (r *partReader) Close() error { return nil }

// qpReader is mime/quotedprintable's Reader, written to keep its position
// in locals while it decodes and to copy runs of literal bytes at once.
type qpReader struct {
	br   *bufio.Reader
	rerr error  // last read error
	line []byte // to be consumed before more of br
}

func newQPReader(br *bufio.Reader) *qpReader { return &qpReader{br: br} }

// qpLiteral is true for the bytes that decode as themselves: not '=', and
// printable ASCII, tab, CR, LF, or 0x80 and above (accepted, as Go does).
var qpLiteral = func() (t [256]bool) {
	for b := range t {
		t[b] = b != '=' && (b == '\t' || b == '\r' || b == '\n' || b >= 0x80 || ' ' <= b && b <= '~')
	}
	return t
}()

var (
	qpCRLF = []byte("\r\n")
	qpLF   = []byte("\n")
)

func (r *qpReader) Read(p []byte) (n int, err error) {
	// The deviations from RFC 2045 are mime/quotedprintable's: "=\n" is
	// a soft line break too, a lone CR or LF passes through, a soft line
	// break may end the input, and "=" not followed by two hex digits is
	// a literal "=" unless it ends the line.
	line := r.line
	defer func() { r.line = line }()
	for n < len(p) {
		if len(line) == 0 {
			if r.rerr != nil {
				return n, r.rerr
			}
			line, r.rerr = r.br.ReadSlice('\n')

			// Does the line end in CRLF instead of just LF?
			hasLF := bytes.HasSuffix(line, qpLF)
			hasCR := bytes.HasSuffix(line, qpCRLF)
			wholeLine := line
			line = bytes.TrimRight(wholeLine, "\n\r \t")
			if bytes.HasSuffix(line, []byte("=")) {
				rightStripped := bytes.TrimLeft(wholeLine[len(line):], " \t")
				line = line[:len(line)-1]
				if !bytes.HasPrefix(rightStripped, qpLF) && !bytes.HasPrefix(rightStripped, qpCRLF) &&
					!(len(rightStripped) == 0 && len(line) > 0 && r.rerr == io.EOF) {
					r.rerr = fmt.Errorf("quotedprintable: invalid bytes after =: %q", rightStripped)
				}
			} else if hasLF {
				if hasCR {
					line = append(line, '\r', '\n')
				} else {
					line = append(line, '\n')
				}
			}
			continue
		}
		// A run of literal bytes, as far as p has room.
		k, m := 0, min(len(line), len(p)-n)
		for k < m && qpLiteral[line[k]] {
			k++
		}
		n += copy(p[n:], line[:k])
		line = line[k:]
		if k == m {
			continue
		}
		switch b := line[0]; b {
		case '=':
			d, err := qpHexByte(line[1:])
			if err != nil {
				if len(line) >= 2 && line[1] != '\r' && line[1] != '\n' {
					// Take the = as a literal =.
					p[n] = '='
					n++
					line = line[1:]
					continue
				}
				return n, err
			}
			p[n] = d
			n++
			line = line[3:]
		default:
			return n, fmt.Errorf("quotedprintable: invalid unescaped byte 0x%02x in body", b)
		}
	}
	return n, nil
}

func qpHexByte(v []byte) (byte, error) {
	if len(v) < 2 {
		return 0, io.ErrUnexpectedEOF
	}
	hb, err := qpFromHex(v[0])
	if err != nil {
		return 0, err
	}
	lb, err := qpFromHex(v[1])
	if err != nil {
		return 0, err
	}
	return hb<<4 | lb, nil
}

func qpFromHex(b byte) (byte, error) {
	switch {
	case b >= '0' && b <= '9':
		return b - '0', nil
	case b >= 'A' && b <= 'F':
		return b - 'A' + 10, nil
	case b >= 'a' && b <= 'f': // badly encoded, accepted
		return b - 'a' + 10, nil
	}
	return 0, fmt.Errorf("quotedprintable: invalid hex byte 0x%02x", b)
}
