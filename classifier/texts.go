package classifier

import (
	"strings"
	"sync"

	"github.com/emersion/go-message/mail"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

// texts gives each place of a message as text, computed once per message.
// Folded texts live in a buffer that release hands to the next message:
// they must not outlive it (a Verdict quotes the raw text).
type texts struct {
	m     *mailmsg.Message
	raws  map[source]string
	folds map[source]string
	hits  map[source]*pfHits
	buf   *[]byte
}

// foldBufs holds the buffers of folded texts between messages: a folded
// body is as long as the body, and one is made for every message.
var foldBufs = sync.Pool{New: func() any { return new([]byte) }}

func newTexts(m *mailmsg.Message) *texts {
	return &texts{m: m, raws: map[source]string{}, folds: map[source]string{}, buf: foldBufs.Get().(*[]byte)}
}

// release gives the buffer of the folded texts back; t's folded texts must
// not be used after it.
func (t *texts) release() {
	if cap(*t.buf) <= maxFoldBuf {
		*t.buf = (*t.buf)[:0]
		foldBufs.Put(t.buf)
	}
	t.buf, t.folds = nil, nil
}

// maxFoldBuf is the largest buffer kept for the next message.
const maxFoldBuf = 1 << 20

// prefilterHits is where the pattern rules' literals occur in a place.
func (t *texts) prefilterHits(s source, p *pfProgram) *pfHits {
	if h, ok := t.hits[s]; ok {
		return h
	}
	if t.hits == nil {
		t.hits = map[source]*pfHits{}
	}
	h := p.scan(t.raw(s))
	t.hits[s] = h
	return h
}

func (t *texts) raw(s source) string {
	if v, ok := t.raws[s]; ok {
		return v
	}
	m := t.m
	var v string
	switch s.kind {
	case "subject":
		v = m.Subject
	case "body":
		v = mailmsg.FreshText(m.Text)
	case "from":
		if m.From != nil {
			v = m.From.Name + " <" + m.From.Address + ">"
		}
	case "from_name":
		if m.From != nil {
			v = m.From.Name
		}
	case "from_address":
		if m.From != nil {
			v = m.From.Address
		}
	case "reply_to":
		v = joinAddresses(m.ReplyTo)
	case "to":
		v = joinAddresses(append(append([]*mail.Address{}, m.To...), m.Cc...))
	case "calendar":
		if c := m.Calendar; c != nil {
			v = strings.Join([]string{c.Summary, c.Description, c.Location}, "\n")
		}
	case "header":
		v = strings.Join(m.HeaderText(s.header), "\n")
	}
	t.raws[s] = v
	return v
}

func (t *texts) folded(s source) string {
	if v, ok := t.folds[s]; ok {
		return v
	}
	// Each text is folded into the free end of the buffer; when it does
	// not fit, into a new one that becomes the buffer (the texts before
	// stay where they are).
	b := *t.buf
	f := foldAppend(b[len(b):], t.raw(s))
	if len(f) > 0 && cap(f) == cap(b)-len(b) {
		*t.buf = b[:len(b)+len(f)]
	} else if cap(f) > cap(b)-len(b) {
		*t.buf = f
	}
	v := bytesString(f)
	t.folds[s] = v
	return v
}

func (t *texts) present(s source) bool {
	m := t.m
	switch s.kind {
	case "calendar":
		return m.Calendar != nil
	case "reply_to":
		return len(m.ReplyTo) > 0
	case "thread":
		return len(m.InReplyTo) > 0 || len(m.References) > 0
	case "header":
		return m.HasHeader(s.header)
	}
	return false
}

func joinAddresses(list []*mail.Address) string {
	parts := make([]string, 0, len(list))
	for _, a := range list {
		if a == nil {
			continue
		}
		if a.Name != "" {
			parts = append(parts, a.Name+" <"+a.Address+">")
		} else {
			parts = append(parts, a.Address)
		}
	}
	return strings.Join(parts, ", ")
}
