package classifier

import (
	"strings"
	"sync"

	"github.com/emersion/go-message/mail"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

// texts gives each place of a message as text, computed once per message;
// places are named by their index in the classifier's places.
// Folded texts live in a buffer that release hands to the next message:
// they must not outlive it (a Verdict quotes the raw text).
type texts struct {
	m      *mailmsg.Message
	places []source
	slots  []textSlot // by place
	buf    *[]byte
}

// textSlot is what texts has worked out for one place.
type textSlot struct {
	raw, folded       string
	hits              *pfHits
	haveRaw, haveFold bool
}

// foldBufs holds the buffers of folded texts between messages: a folded
// body is as long as the body, and one is made for every message.
var foldBufs = sync.Pool{New: func() any { return new([]byte) }}

func newTexts(m *mailmsg.Message, places []source) *texts {
	return &texts{m: m, places: places, slots: make([]textSlot, len(places)), buf: foldBufs.Get().(*[]byte)}
}

// release gives the buffer of the folded texts back; t's folded texts must
// not be used after it.
func (t *texts) release() {
	if cap(*t.buf) <= maxFoldBuf {
		*t.buf = (*t.buf)[:0]
		foldBufs.Put(t.buf)
	}
	t.buf = nil
	for i := range t.slots {
		t.slots[i].folded, t.slots[i].haveFold = "", false
	}
}

// releaseHits gives the prefilter's occurrences back; they must not be used
// after it.
func (t *texts) releaseHits() {
	for i := range t.slots {
		if h := t.slots[i].hits; h != nil {
			h.release()
			t.slots[i].hits = nil
		}
	}
}

// maxFoldBuf is the largest buffer kept for the next message.
const maxFoldBuf = 1 << 20

// prefilterHits is where the pattern rules' literals occur in a place.
func (t *texts) prefilterHits(place int, p *pfProgram) *pfHits {
	sl := &t.slots[place]
	if sl.hits == nil {
		sl.hits = p.scan(t.raw(place))
	}
	return sl.hits
}

func (t *texts) raw(place int) string {
	sl := &t.slots[place]
	if sl.haveRaw {
		return sl.raw
	}
	m := t.m
	var v string
	switch s := t.places[place]; s.kind {
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
	sl.raw, sl.haveRaw = v, true
	return v
}

func (t *texts) folded(place int) string {
	sl := &t.slots[place]
	if sl.haveFold {
		return sl.folded
	}
	// Each text is folded into the free end of the buffer; when it does
	// not fit, into a new one that becomes the buffer (the texts before
	// stay where they are).
	b := *t.buf
	f := foldAppend(b[len(b):], t.raw(place))
	if len(f) > 0 && cap(f) == cap(b)-len(b) {
		*t.buf = b[:len(b)+len(f)]
	} else if cap(f) > cap(b)-len(b) {
		*t.buf = f
	}
	sl.folded, sl.haveFold = bytesString(f), true
	return sl.folded
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
