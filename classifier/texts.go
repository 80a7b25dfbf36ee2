package classifier

import (
	"strings"

	"github.com/emersion/go-message/mail"
	"github.com/rsvp-mail/rsvp/mailmsg"
)

// texts gives each place of a message as text, computed once per message.
type texts struct {
	m     *mailmsg.Message
	raws  map[source]string
	folds map[source]string
	hits  map[source]*pfHits
}

func newTexts(m *mailmsg.Message) *texts {
	return &texts{m: m, raws: map[source]string{}, folds: map[source]string{}}
}

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
	v := fold(t.raw(s))
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
