package mailmsg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"golang.org/x/text/encoding/charmap"

	"github.com/rsvp-mail/rsvp/internal/bufpool"
)

func init() {
	// Mail labelled ISO-8859-1 is, in practice, windows-1252: mail clients
	// and the WHATWG Encoding Standard read it so, and the bytes 0x80–0x9F
	// (curly quotes, dashes, €) only make sense that way.
	for _, label := range []string{"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1", "cp819", "ibm819"} {
		charset.RegisterEncoding(label, charmap.Windows1252)
	}
}

// Defaults for Options fields left zero.
const (
	DefaultMaxBodyBytes = 64 << 10
	DefaultMaxReadBytes = 4 << 20
	DefaultMaxDepth     = 16
	maxHeaderBytes      = 256 << 10
	maxCalendarBytes    = 64 << 10
	// An HTML part carries several times its text in markup; read this many
	// times MaxBodyBytes of it before rendering.
	htmlReadFactor = 8
)

// Options bound the work Read does. The zero value uses the defaults.
type Options struct {
	// MaxBodyBytes is the most decoded body text kept, in bytes.
	MaxBodyBytes int
	// MaxReadBytes is the most raw message bytes read from the input.
	MaxReadBytes int64
	// MaxDepth is the deepest MIME nesting looked into; deeper parts are
	// skipped.
	MaxDepth int
}

func (o Options) withDefaults() Options {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxReadBytes <= 0 {
		o.MaxReadBytes = DefaultMaxReadBytes
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	return o
}

// Message is a decoded mail message.
type Message struct {
	// Header is the top-level header, undecoded; use HeaderText for decoded
	// values.
	Header mail.Header

	MessageID  string   // without angle brackets; "" when absent
	InReplyTo  []string // without angle brackets
	References []string // without angle brackets, oldest first
	Subject    string
	Date       time.Time // zero when absent or unparsable

	From    *mail.Address   // nil when absent or unparsable
	ReplyTo []*mail.Address // as given; see ReplyAddress
	To      []*mail.Address
	Cc      []*mail.Address

	// Text is the readable body: the first inline text/plain part, else the
	// first text/html part rendered as text. At most MaxBodyBytes long.
	Text string
	text []byte // Text's memory, for Recycle
	// HTMLOnly is true when Text was rendered from HTML.
	HTMLOnly bool
	// Calendar is the first text/calendar (or .ics) part, nil when none.
	Calendar *Calendar

	// Truncated is true when a limit cut the reading short: the raw input,
	// the text, or a part nested too deep.
	Truncated bool
	// Problems lists what was recovered from while reading (unknown
	// charset, malformed part …), for logs and `rsvp classify`.
	Problems []string
}

// Recycle hands the memory of m.Text back, for the text of a message read
// later, and sets m.Text to "". Nothing taken from m.Text (FreshText of it,
// a classifier Hit's Match, a copy of m) may be used afterwards.
func Recycle(m *Message) {
	bufpool.Put(m.text)
	m.text, m.Text = nil, ""
}

// ReplyAddress is where a reply goes: the first Reply-To address, else From
// (RFC 5322 section 3.6.2). Nil when neither is usable.
func (m *Message) ReplyAddress() *mail.Address {
	for _, a := range m.ReplyTo {
		if a != nil && a.Address != "" {
			return a
		}
	}
	if m.From != nil && m.From.Address != "" {
		return m.From
	}
	return nil
}

// HeaderText returns the decoded values of the named header field, in order.
func (m *Message) HeaderText(name string) []string {
	fields := m.Header.FieldsByKey(name)
	var out []string
	for fields.Next() {
		v, err := fields.Text()
		if err != nil {
			v = fields.Value()
		}
		out = append(out, v)
	}
	return out
}

// HasHeader reports whether the named header field is present.
func (m *Message) HasHeader(name string) bool { return m.Header.Has(name) }

// ErrNoHeader is returned by Read when the input has no parsable header.
var ErrNoHeader = errors.New("not a mail message: no header")

// Read parses a message from r within the bounds of opts.
func Read(r io.Reader, opts Options) (*Message, error) {
	return read(r, opts, false)
}

// read is Read; with goMessage, the MIME entities are go-message's own
// (message.ReadWithOptions, Entity.MultipartReader), which Read's must
// equal (see mime.go).
func read(r io.Reader, opts Options, goMessage bool) (*Message, error) {
	opts = opts.withDefaults()
	lr := &io.LimitedReader{R: r, N: opts.MaxReadBytes}
	// Nothing read keeps a slice of the readers' or the walker's buffers
	// (header fields, text and calendar are copies), so they go back to
	// their pools when the message is read.
	br := getReader(lr)
	defer putReader(br)
	var w walker
	defer w.lent.giveBack() // the quoted-printable parts' readers

	var ent *message.Entity
	var err error
	if goMessage {
		ent, err = message.ReadWithOptions(br, &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
	} else {
		hr := getReader(nil)
		defer putReader(hr)
		ent, err = readEntity(br, maxHeaderBytes, hr, &w.lent)
	}
	if ent == nil {
		return nil, fmt.Errorf("%w: %v", ErrNoHeader, err)
	}
	m := &Message{Header: mail.Header{Header: ent.Header}}
	if err != nil {
		m.Problems = append(m.Problems, err.Error())
	}
	if m.Header.Len() == 0 {
		return nil, ErrNoHeader
	}
	m.readHeader()

	w.opts, w.msg, w.goMessage, w.plain, w.html = opts, m, goMessage, getBuffer(), getBuffer()
	defer putBuffer(w.plain)
	defer putBuffer(w.html)
	if l, ok := r.(interface{ Len() int }); ok {
		w.sizeHint = l.Len()
	}
	w.walk(ent, 0)
	if lr.N <= 0 {
		m.Truncated = true
	}
	switch {
	case w.plainText:
		m.text = normalizeText(w.plain.Bytes())
	case w.html.Len() > 0:
		m.text = htmlToText(w.html.Bytes(), opts.MaxBodyBytes)
		m.HTMLOnly = true
	}
	m.Text = unsafe.String(unsafe.SliceData(m.text), len(m.text)) // nothing writes to m.text but Recycle's next user
	if len(m.Text) > opts.MaxBodyBytes {
		m.Text = truncateUTF8(m.Text, opts.MaxBodyBytes)
		m.Truncated = true
	}
	return m, nil
}

func (m *Message) readHeader() {
	h := &m.Header
	if s, err := h.Subject(); err == nil {
		m.Subject = s
	} else {
		m.Subject = h.Get("Subject")
	}
	m.Subject = strings.Join(strings.Fields(sanitize(m.Subject)), " ")
	if id, err := h.MessageID(); err == nil {
		m.MessageID = id
	}
	m.InReplyTo = msgIDs(h, "In-Reply-To")
	m.References = msgIDs(h, "References")
	if d, err := parseDate(h.Get("Date")); err == nil {
		m.Date = d
	}
	if from := m.addresses("From"); len(from) > 0 {
		m.From = from[0]
	}
	m.ReplyTo = m.addresses("Reply-To")
	m.To = m.addresses("To")
	m.Cc = m.addresses("Cc")
}

// rfc5322Date is the form nearly every Date field has.
const rfc5322Date = "Mon, 2 Jan 2006 15:04:05 -0700"

// parseDate is net/mail.ParseDate (what mail.Header.Date calls), which
// tries 24 layouts without a day of the week, each failing with an error
// allocated, before the usual form. A value starting with a letter cannot
// match those; when the first layout with a day of the week takes the
// whole value, ParseDate would have stopped there too: no line break, no
// comment, and the only + or - is the zone, the end of the value.
func parseDate(v string) (time.Time, error) {
	if len(v) > 0 && ('A' <= v[0] && v[0] <= 'Z' || 'a' <= v[0] && v[0] <= 'z') && !strings.ContainsAny(v, "\r\n(") {
		if t, err := time.Parse(rfc5322Date, v); err == nil {
			return t, nil
		}
	}
	return netmail.ParseDate(v)
}

func msgIDs(h *mail.Header, key string) []string {
	ids, err := h.MsgIDList(key)
	if err == nil {
		return ids
	}
	// Lenient fallback for IDs that break RFC 5322 syntax: take whatever sits
	// between angle brackets.
	var out []string
	v := h.Get(key)
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(v[i+1 : i+j]); id != "" {
			out = append(out, id)
		}
		v = v[i+j+1:]
	}
	return out
}

// addresses parses an address-list field, falling back to net/mail and then
// to picking addresses out by hand, so a sloppy sender still gets a reply
// address.
func (m *Message) addresses(key string) []*mail.Address {
	if !m.Header.Has(key) {
		return nil
	}
	list, err := m.Header.AddressList(key)
	if err == nil {
		return clean(list)
	}
	raw := m.Header.Get(key)
	dec := new(mime.WordDecoder)
	dec.CharsetReader = message.CharsetReader
	if decoded, derr := dec.DecodeHeader(raw); derr == nil {
		raw = decoded
	}
	if l, err2 := netmail.ParseAddressList(raw); err2 == nil {
		out := make([]*mail.Address, len(l))
		for i, a := range l {
			out[i] = (*mail.Address)(a)
		}
		return clean(out)
	}
	m.Problems = append(m.Problems, fmt.Sprintf("%s: %v", key, err))
	var out []*mail.Address
	for _, part := range strings.Split(raw, ",") {
		if a := looseAddress(part); a != nil {
			out = append(out, a)
		}
	}
	return clean(out)
}

func clean(list []*mail.Address) []*mail.Address {
	out := list[:0]
	for _, a := range list {
		if a == nil {
			continue
		}
		a.Name = strings.Join(strings.Fields(sanitize(a.Name)), " ")
		a.Address = strings.TrimSpace(sanitize(a.Address))
		out = append(out, a)
	}
	return out
}

// looseAddress picks "Name <addr>" or a bare addr out of s.
func looseAddress(s string) *mail.Address {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			addr := strings.TrimSpace(s[i+1 : i+j])
			if strings.Contains(addr, "@") {
				name := strings.Trim(strings.TrimSpace(s[:i]), `"`)
				return &mail.Address{Name: name, Address: addr}
			}
		}
	}
	for _, f := range strings.Fields(s) {
		f = strings.Trim(f, `<>"'(),;`)
		if strings.Count(f, "@") == 1 && !strings.HasPrefix(f, "@") && !strings.HasSuffix(f, "@") {
			return &mail.Address{Address: f}
		}
	}
	return nil
}

// walker visits the MIME tree once, collecting the first text/plain, the
// first text/html and the first calendar part.
type walker struct {
	lent     lent
	opts     Options
	msg      *Message
	plain    *bytes.Buffer
	html     *bytes.Buffer
	havePln  bool
	haveHTML bool
	// plainText is true once a text/plain part with more than white
	// space was read: the text is that, and no HTML part is read.
	plainText bool
	// sizeHint is the size of the whole input when known: no part's
	// body is longer.
	sizeHint  int
	goMessage bool // see read
}

func (w *walker) walk(e *message.Entity, depth int) {
	if depth > w.opts.MaxDepth {
		w.msg.Truncated = true
		w.problem(fmt.Sprintf("MIME parts nested deeper than %d skipped", w.opts.MaxDepth))
		return
	}
	var mr message.MultipartReader
	if w.goMessage {
		mr = e.MultipartReader()
	} else if p := parts(e, &w.lent); p != nil {
		mr = p
	}
	if mr != nil {
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				// A part that fails to parse is skipped; when it is
				// unknown encoding or charset go-message still hands
				// us a readable entity.
				if p == nil {
					if !errors.Is(err, io.ErrUnexpectedEOF) {
						w.problem("multipart: " + err.Error())
					}
					return
				}
				w.problem("part: " + err.Error())
			}
			w.walk(p, depth+1)
		}
	}
	w.leaf(e)
}

func (w *walker) problem(s string) {
	for _, p := range w.msg.Problems {
		if p == s {
			return
		}
	}
	w.msg.Problems = append(w.msg.Problems, s)
}

func (w *walker) leaf(e *message.Entity) {
	ct, params, err := w.lent.contentType(e.Header)
	if err != nil || ct == "" {
		ct = "text/plain" // RFC 2045 section 5.2 default
	}
	disp, dparams, _ := e.Header.ContentDisposition()
	filename := strings.ToLower(dparams["filename"] + params["name"])
	isCalendar := ct == "text/calendar" || ct == "application/ics" || strings.HasSuffix(filename, ".ics")
	switch {
	case isCalendar:
		if w.msg.Calendar == nil {
			var b bytes.Buffer
			w.read(&b, e, params, maxCalendarBytes)
			if cal := ParseCalendar(b.Bytes()); cal != nil {
				w.msg.Calendar = cal
			}
		}
	case disp == "attachment":
		return
	case ct == "text/plain" && !w.havePln:
		w.havePln = true
		w.read(w.plain, e, params, w.opts.MaxBodyBytes)
		w.plainText = len(bytes.TrimSpace(w.plain.Bytes())) > 0
	case ct == "text/html" && !w.haveHTML && !w.plainText:
		w.haveHTML = true
		w.read(w.html, e, params, w.opts.MaxBodyBytes*htmlReadFactor)
	}
}

// readChunk is the size of every Read of a part's body.
const readChunk = 16 << 10

// readChunks appends what r gives to dst until EOF, as dst.ReadFrom(r)
// does, but in Reads of readChunk bytes whatever dst's capacity: what a
// decoder reports depends on the size of the reads (base64 says where in
// the current chunk it found a bad byte), and dst comes from a pool with
// the capacity an earlier message left.
func readChunks(dst *bytes.Buffer, r io.Reader) error {
	for {
		dst.Grow(readChunk)
		p := dst.AvailableBuffer()[:readChunk]
		n, err := r.Read(p)
		dst.Write(p[:n]) // p is dst's free space: no copy
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// read writes at most limit bytes of the part's decoded body, as UTF-8,
// into the empty buffer dst.
func (w *walker) read(dst *bytes.Buffer, e *message.Entity, params map[string]string, limit int) {
	if w.sizeHint > 0 {
		dst.Grow(min(w.sizeHint, limit) + readChunk) // readChunks wants a chunk free at the end
	}
	err := readChunks(dst, io.LimitReader(e.Body, int64(limit)+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		w.problem("body: " + err.Error())
	}
	if dst.Len() > limit {
		dst.Truncate(limit)
		w.msg.Truncated = true
	}
	if b := dst.Bytes(); !utf8.Valid(b) {
		// go-message already converted a known charset; bytes that are
		// still not UTF-8 come from an unknown or missing charset. Most
		// such mail is Latin-1 or its Windows superset.
		if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
			w.problem(fmt.Sprintf("unknown charset %q, read as windows-1252", cs))
		}
		if d, err := charmap.Windows1252.NewDecoder().Bytes(b); err == nil {
			dst.Reset()
			dst.Write(d)
		}
	}
}

// sanitize removes control characters (CR and LF included) from a header
// value, so no decoded value can smuggle a line break into a header we write.
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r >= 0x80 && r < 0xa0 {
			// C1 controls come from windows-1252 text labelled
			// ISO-8859-1 (Go's RFC 2047 decoder reads that label
			// itself): read them as windows-1252 does.
			if w := charmap.Windows1252.DecodeByte(byte(r)); w >= 0xa0 {
				return w
			}
			return ' '
		}
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
