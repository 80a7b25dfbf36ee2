package fakegmail

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// query is a parsed search (the q parameter): every term must match.
type query struct {
	terms []func(*message) bool
	// spamTrash is set when the query names SPAM or TRASH, which then
	// are not left out.
	spamTrash bool
}

func (q *query) match(m *message) bool {
	for _, t := range q.terms {
		if !t(m) {
			return false
		}
	}
	return true
}

var inLabels = map[string]string{"inbox": "INBOX", "drafts": "DRAFT", "draft": "DRAFT", "sent": "SENT",
	"spam": "SPAM", "trash": "TRASH", "starred": "STARRED"}

func hasLabel(id string) func(*message) bool {
	return func(m *message) bool { return slices.Contains(m.labels, id) }
}

// parseQuery parses the subset of Gmail's search syntax the package doc
// lists; s.mu is held (label: looks labels up).
func (s *Server) parseQuery(q string, now time.Time) (*query, error) {
	out := &query{}
	for _, tok := range strings.Fields(q) {
		neg := strings.HasPrefix(tok, "-")
		key, val, ok := strings.Cut(strings.TrimPrefix(tok, "-"), ":")
		if !ok || val == "" {
			return nil, fmt.Errorf("fakegmail: unsupported search term %q (only operator:value terms)", tok)
		}
		var term func(*message) bool
		switch strings.ToLower(key) {
		case "in":
			v := strings.ToLower(val)
			if v == "anywhere" {
				term = func(*message) bool { return true }
				out.spamTrash = true
				break
			}
			id, ok := inLabels[v]
			if !ok {
				return nil, fmt.Errorf("fakegmail: unsupported search term %q", tok)
			}
			term = hasLabel(id)
			out.spamTrash = out.spamTrash || id == "SPAM" || id == "TRASH"
		case "label":
			name := strings.ReplaceAll(val, "-", " ")
			var l *label
			for _, c := range s.labels {
				if strings.EqualFold(c.name, val) || strings.EqualFold(strings.ReplaceAll(c.name, "-", " "), name) {
					l = c
					break
				}
			}
			if l == nil {
				term = func(*message) bool { return false }
			} else {
				term = hasLabel(l.id)
			}
		case "is":
			switch strings.ToLower(val) {
			case "unread":
				term = hasLabel("UNREAD")
			case "read":
				term = func(m *message) bool { return !slices.Contains(m.labels, "UNREAD") }
			case "starred":
				term = hasLabel("STARRED")
			default:
				return nil, fmt.Errorf("fakegmail: unsupported search term %q", tok)
			}
		case "after", "before":
			t, err := parseDate(val)
			if err != nil {
				return nil, fmt.Errorf("fakegmail: search term %q: %v", tok, err)
			}
			if strings.EqualFold(key, "after") {
				term = func(m *message) bool { return !m.internalDate.Before(t) }
			} else {
				term = func(m *message) bool { return m.internalDate.Before(t) }
			}
		case "newer_than", "older_than":
			t, err := relative(val, now)
			if err != nil {
				return nil, fmt.Errorf("fakegmail: search term %q: %v", tok, err)
			}
			if strings.EqualFold(key, "newer_than") {
				term = func(m *message) bool { return m.internalDate.After(t) }
			} else {
				term = func(m *message) bool { return !m.internalDate.After(t) }
			}
		case "rfc822msgid":
			id := strings.Trim(val, "<>")
			term = func(m *message) bool { return m.msgID != "" && strings.EqualFold(m.msgID, id) }
		default:
			return nil, fmt.Errorf("fakegmail: unsupported search operator %q in %q", key, tok)
		}
		if neg {
			t := term
			term = func(m *message) bool { return !t(m) }
		}
		out.terms = append(out.terms, term)
	}
	return out, nil
}

// parseDate reads epoch seconds or yyyy/mm/dd (UTC midnight; Gmail uses
// the account's time zone).
func parseDate(v string) (time.Time, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	for _, layout := range []string{"2006/01/02", "2006/1/2", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not epoch seconds or yyyy/mm/dd")
}

// relative reads Nd, Nm (months), Ny or Nh back from now.
func relative(v string, now time.Time) (time.Time, error) {
	if len(v) < 2 {
		return time.Time{}, fmt.Errorf("want a number and d, m, y or h")
	}
	n, err := strconv.Atoi(v[:len(v)-1])
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("want a number and d, m, y or h")
	}
	switch v[len(v)-1] {
	case 'd':
		return now.AddDate(0, 0, -n), nil
	case 'm':
		return now.AddDate(0, -n, 0), nil
	case 'y':
		return now.AddDate(-n, 0, 0), nil
	case 'h':
		return now.Add(-time.Duration(n) * time.Hour), nil
	}
	return time.Time{}, fmt.Errorf("want a number and d, m, y or h")
}
