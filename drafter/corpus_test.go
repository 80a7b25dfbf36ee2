package drafter

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/rsvp-mail/rsvp/mailmsg"
)

// parsedReply is a written reply read back with go-message.
type parsedReply struct {
	header mail.Header
	body   string
	keys   []string
}

func parseReply(t *testing.T, raw []byte) parsedReply {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the reply does not parse: %v\n%s", err, raw)
	}
	p := parsedReply{header: mr.Header}
	fields := mr.Header.Fields()
	for fields.Next() {
		p.keys = append(p.keys, strings.ToLower(fields.Key()))
	}
	part, err := mr.NextPart()
	if err != nil {
		t.Fatalf("the reply has no body part: %v", err)
	}
	b, err := io.ReadAll(part.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	p.body = string(b)
	if _, err := mr.NextPart(); err != io.EOF {
		t.Fatalf("the reply has more than one part (err %v)", err)
	}
	return p
}

// allowedHeader are the only fields a reply may have.
var allowedHeader = map[string]bool{
	"date": true, "from": true, "to": true, "subject": true, "message-id": true,
	"in-reply-to": true, "references": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "content-language": true,
}

var forbiddenInBody = regexp.MustCompile(`<no value>|<nil>|\{\{|\}\}|%!|\[Company|\[Name|\[Role|(?m)^(Hi|Hello|Hallo|Bonjour|Hola|Dear)\s*[,:]?\s*[,:]$|(?m)^(Hi|Hallo|Bonjour|Hola),? ,`)

// TestRepliesToEveryInvitation checks the properties every reply must have,
// for every invitation, action and reason.
func TestRepliesToEveryInvitation(t *testing.T) {
	avail := DefaultAvailability()
	d := newTestDrafter(t, Options{Availability: avail})
	for _, iv := range invites(t) {
		for _, v := range variants(iv.label.Lang) {
			t.Run(iv.name+"/"+v.name, func(t *testing.T) {
				r, err := d.Reply(iv.inv, iv.me, v.req)
				if err != nil {
					t.Fatalf("Reply: %v", err)
				}
				raw, err := r.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				p := parseReply(t, raw)
				checkHeader(t, iv, p)
				for _, k := range p.keys {
					if !allowedHeader[k] {
						t.Errorf("reply has header field %q", k)
					}
				}
				if m := forbiddenInBody.FindString(p.body); m != "" {
					t.Errorf("reply body contains %q:\n%s", m, p.body)
				}
				_, wire, ok := strings.Cut(string(raw), "\r\n\r\n")
				if !ok {
					t.Fatalf("no blank line between header and body")
				}
				for _, line := range strings.Split(strings.TrimSuffix(wire, "\r\n"), "\r\n") {
					if len([]rune(line)) > 78 && !strings.HasPrefix(line, ">") && !strings.Contains(line, "@") {
						t.Errorf("line longer than 78 characters: %q", line)
					}
				}
				checkGreeting(t, iv, r)
				if iv.label.Formal != nil && r.Formal != *iv.label.Formal {
					t.Errorf("Formal = %v, want %v", r.Formal, *iv.label.Formal)
				}
				if v.req.Action == ActionReschedule {
					checkSlots(t, r, iv.me.Zone, avail)
				} else if len(r.Slots) > 0 {
					t.Errorf("%s proposes slots", v.req.Action)
				}
				// The reply reads back with rsvp's own reader, too.
				back, err := mailmsg.Read(bytes.NewReader(raw), mailmsg.Options{})
				if err != nil {
					t.Fatalf("mailmsg.Read(reply): %v", err)
				}
				if strings.TrimSpace(back.Text) == "" || len(back.Problems) > 0 {
					t.Errorf("mailmsg reads the reply with text %q and problems %v", back.Text, back.Problems)
				}
			})
		}
	}
}

func checkHeader(t *testing.T, iv invite, p parsedReply) {
	t.Helper()
	h := p.header
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || !strings.EqualFold(to[0].Address, iv.label.ReplyTo) {
		t.Errorf("To = %v (%v), want %s", to, err, iv.label.ReplyTo)
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != iv.me.Address || from[0].Name != iv.me.Name {
		t.Errorf("From = %v (%v), want %s <%s>", from, err, iv.me.Name, iv.me.Address)
	}
	for _, k := range []string{"Cc", "Bcc", "Reply-To", "Sender"} {
		if h.Has(k) {
			t.Errorf("reply has a %s field: %q", k, h.Get(k))
		}
	}
	subj, err := h.Subject()
	if err != nil {
		t.Errorf("Subject does not decode: %v", err)
	}
	if !strings.HasPrefix(subj, "Re: ") {
		t.Errorf("Subject = %q, want a Re: prefix", subj)
	}
	if rest := subj[len("Re: "):]; replyPrefix.MatchString(rest) {
		t.Errorf("Subject = %q keeps a reply or forward prefix after Re:", subj)
	}
	if !strings.Contains(iv.msg.Subject, strings.TrimPrefix(subj, "Re: ")) {
		t.Errorf("Subject = %q is not taken from %q", subj, iv.msg.Subject)
	}
	irt, err := h.MsgIDList("In-Reply-To")
	if err != nil || len(irt) != 1 || irt[0] != iv.msg.MessageID {
		t.Errorf("In-Reply-To = %v (%v), want <%s>", irt, err, iv.msg.MessageID)
	}
	refs, err := h.MsgIDList("References")
	if err != nil || len(refs) == 0 || refs[len(refs)-1] != iv.msg.MessageID {
		t.Errorf("References = %v (%v), want them to end with <%s>", refs, err, iv.msg.MessageID)
	}
	wantRefs := iv.msg.References
	if len(wantRefs) == 0 && len(iv.msg.InReplyTo) == 1 {
		wantRefs = iv.msg.InReplyTo
	}
	if len(refs) != len(wantRefs)+1 {
		t.Errorf("References = %v, want %v then <%s>", refs, wantRefs, iv.msg.MessageID)
	} else {
		for i, id := range wantRefs {
			if refs[i] != id {
				t.Errorf("References[%d] = %s, want %s", i, refs[i], id)
			}
		}
	}
	id, err := h.MessageID()
	if err != nil || !strings.HasSuffix(id, "@example.net") || id != DraftMessageID(iv.msg.MessageID, iv.me.Address) {
		t.Errorf("Message-ID = %q (%v), want the deterministic one on example.net", id, err)
	}
	date, err := h.Date()
	if err != nil || !date.Equal(fixedNow) {
		t.Errorf("Date = %v (%v), want %v", date, err, fixedNow)
	}
	mt, params, err := h.ContentType()
	if err != nil || mt != "text/plain" || params["charset"] != "utf-8" || params["format"] != "flowed" {
		t.Errorf("Content-Type = %q %v (%v)", mt, params, err)
	}
	if h.Get("Mime-Version") != "1.0" {
		t.Errorf("MIME-Version = %q", h.Get("Mime-Version"))
	}
}

// checkGreeting: the first line greets the recruiter by first name when it
// is known, and never leaves a gap where it is not.
func checkGreeting(t *testing.T, iv invite, r *Reply) {
	t.Helper()
	first, _, _ := strings.Cut(r.Body, "\n")
	if iv.inv.FirstName != "" && !strings.Contains(first, iv.inv.FirstName) {
		t.Errorf("greeting %q does not name %s", first, iv.inv.FirstName)
	}
	if iv.inv.FirstName == "" {
		switch first {
		case "Hello,", "Hallo,", "Guten Tag,", "Bonjour,", "Hola:":
		default:
			t.Errorf("greeting without a name = %q", first)
		}
	}
	for _, f := range []string{iv.inv.Company, cleanRole(iv.inv.Role)} {
		if f != "" && !strings.Contains(r.Body, f) {
			t.Logf("note: %q not named in the %s reply", f, r.Action)
		}
	}
}

func checkSlots(t *testing.T, r *Reply, zone *time.Location, a Availability) {
	t.Helper()
	if len(r.Slots) != 3 {
		t.Fatalf("reschedule proposes %d slots, want 3", len(r.Slots))
	}
	days := map[string]bool{}
	for i, s := range r.Slots {
		if !s.Start.After(fixedNow) {
			t.Errorf("slot %v is not in the future", s.Start)
		}
		if s.Start.Location().String() != zone.String() {
			t.Errorf("slot %v is in %s, want %s", s.Start, s.Start.Location(), zone)
		}
		checkInHours(t, s, a)
		days[s.Start.Format("2006-01-02")] = true
		for _, o := range r.Slots[:i] {
			if s.Start.Before(o.End) && o.Start.Before(s.End) {
				t.Errorf("slots %v and %v overlap", o.Start, s.Start)
			}
		}
		if !strings.Contains(r.Body, formatSlot(r.Lang, s, fixedNow)) {
			t.Errorf("slot %q is not written in the body", formatSlot(r.Lang, s, fixedNow))
		}
	}
	if len(days) != 3 {
		t.Errorf("slots fall on %d days, want 3 different days", len(days))
	}
}

func checkInHours(t *testing.T, s Slot, a Availability) {
	t.Helper()
	a = a.withDefaults(s.Start.Location())
	st, en := s.Start, s.End.In(s.Start.Location())
	okDay := false
	for _, d := range a.Days {
		if st.Weekday() == d {
			okDay = true
		}
	}
	if !okDay {
		t.Errorf("slot %v is on a %s, not a working day", st, st.Weekday())
	}
	sm, em := st.Hour()*60+st.Minute(), en.Hour()*60+en.Minute()
	if en.Day() != st.Day() {
		em = 24 * 60
	}
	in := false
	for _, w := range a.Hours {
		if sm >= w.Start && em <= w.End {
			in = true
		}
	}
	if !in {
		t.Errorf("slot %s–%s is outside the working hours %v", st.Format("Mon 15:04 MST"), en.Format("15:04 MST"), a.Hours)
	}
}

// TestHostileHeadersAddNoField feeds display names and subjects carrying
// line breaks, raw and RFC 2047-encoded, and checks the reply's header has
// exactly the fields it should.
func TestHostileHeadersAddNoField(t *testing.T) {
	raws := map[string]string{
		"encoded subject and name": "From: =?UTF-8?Q?Eve=0D=0ABcc:_x@evil.example?= <eve@evil.example>\r\n" +
			"Reply-To: =?UTF-8?B?TWFsbG9yeQ0KQ2M6IHlAZXZpbC5leGFtcGxl?= <mallory@evil.example>\r\n" +
			"To: Alex <alex@example.net>\r\n" +
			"Subject: =?UTF-8?Q?a=0D=0ABcc:_x@evil?=\r\n" +
			"Message-ID: <hostile-1@evil.example>\r\n\r\nHi, shall we talk?\r\n",
		"raw CR in values": "From: \"Eve\rBcc: x@evil.example\" <eve@evil.example>\r\n" +
			"To: alex@example.net\r\n" +
			"Subject: Interview\rBcc: x@evil.example\r\n" +
			"Message-ID: <hostile-2@evil.example>\r\n\r\nHi\r\n",
		"encoded word inside the decoded subject": "From: eve@evil.example\r\n" +
			"To: alex@example.net\r\n" +
			"Subject: =?UTF-8?B?PT9VVEYtOD9RP2E9MEQ9MEFCY2M6X3hAZXZpbD89?=\r\n" +
			"Message-ID: <hostile-3@evil.example>\r\n\r\nHi\r\n",
		"bad message ids": "From: eve@evil.example\r\n" +
			"To: alex@example.net\r\n" +
			"Subject: Interview\r\n" +
			"References: <a b@evil> <ok@evil.example> <x>y@evil>\r\n" +
			"Message-ID: <hostile-4@evil.example>\r\n\r\nHi\r\n",
	}
	d := newTestDrafter(t, Options{})
	for name, raw := range raws {
		t.Run(name, func(t *testing.T) {
			m, err := mailmsg.Read(strings.NewReader(raw), mailmsg.Options{})
			if err != nil {
				t.Fatal(err)
			}
			hostile := "Mallory\r\nBcc: z@evil.example"
			inv := Invitation{Message: m, FirstName: hostile, Company: hostile, Role: "Role\nBcc: z@evil"}
			me := Me{Name: "Alex\r\nCc: w@evil.example", Address: "alex@example.net"}
			for _, action := range Actions() {
				r, err := d.Reply(inv, me, Request{Action: action, QuoteOriginal: true})
				if err != nil {
					t.Fatalf("Reply(%s): %v", action, err)
				}
				out, err := r.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				p := parseReply(t, out)
				seen := map[string]int{}
				for _, k := range p.keys {
					seen[k]++
					if !allowedHeader[k] {
						t.Errorf("hostile input added the header field %q:\n%s", k, out)
					}
					if seen[k] > 1 {
						t.Errorf("header field %q appears twice", k)
					}
				}
				head, _, _ := strings.Cut(string(out), "\r\n\r\n")
				if strings.ContainsAny(strings.ReplaceAll(strings.ReplaceAll(head, "\r\n ", ""), "\r\n", ""), "\r\n") {
					t.Errorf("bare CR or LF in the header:\n%q", head)
				}
				if subj, _ := p.header.Subject(); strings.ContainsAny(subj, "\r\n") {
					t.Errorf("decoded Subject %q holds a line break", subj)
				}
				for _, k := range []string{"From", "To"} {
					list, err := p.header.AddressList(k)
					if err != nil || len(list) != 1 || strings.ContainsAny(list[0].Name, "\r\n") {
						t.Errorf("%s = %v (%v)", k, list, err)
					}
				}
				refs, err := p.header.MsgIDList("References")
				if err != nil {
					t.Errorf("References do not parse: %v", err)
				}
				for _, id := range refs {
					if !validMsgID(id) {
						t.Errorf("References keep the invalid ID %q", id)
					}
				}
				if strings.Contains(strings.ReplaceAll(p.body, "\r\n", "\n"), "\r") {
					t.Errorf("a CR survived into the body")
				}
			}
		})
	}
}

// FuzzReplyHeaders drafts replies to messages whose subject and sender name
// are arbitrary (CR, LF and encoded words included) with arbitrary extracted
// fields: the reply is always a well-formed message with exactly the
// expected header fields and no placeholder.
func FuzzReplyHeaders(f *testing.F) {
	f.Add("Interview", "Sam Recruiter", "Sam", "Acme", "Engineer")
	f.Add("a\r\nBcc: x@evil", "Eve\r\nCc: y@evil", "Eve\nBcc: z", "{{.Company}}", "<no value>")
	f.Add("=?UTF-8?Q?a=0D=0ABcc:_x@evil?=", "=?UTF-8?B?RXZlDQpCY2M6IHhAZXZpbA==?=", "", "[Company Name]", "Hi ,")
	d := newTestDrafter(f, Options{})
	f.Fuzz(func(t *testing.T, subject, fromName, first, company, role string) {
		raw := "From: " + mime.QEncoding.Encode("utf-8", fromName) + " <sender@x.example>\r\n" +
			"To: alex@example.net\r\nSubject: " + mime.QEncoding.Encode("utf-8", subject) + "\r\n" +
			"Message-ID: <1@x.example>\r\n\r\nHi\r\n"
		m, err := mailmsg.Read(strings.NewReader(raw), mailmsg.Options{})
		if err != nil {
			t.Skip()
		}
		inv := Invitation{Message: m, FirstName: first, Company: company, Role: role, Lang: "de"}
		for _, action := range Actions() {
			r, err := d.Reply(inv, Me{Name: fromName, Address: "alex@example.net"}, Request{Action: action})
			if err != nil {
				if errors.Is(err, ErrNoRecipient) {
					t.Skip()
				}
				t.Fatalf("Reply(%s): %v", action, err)
			}
			out, err := r.Bytes()
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			mr, err := mail.CreateReader(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("the reply does not parse: %v", err)
			}
			seen := map[string]bool{}
			fields := mr.Header.Fields()
			for fields.Next() {
				k := strings.ToLower(fields.Key())
				if !allowedHeader[k] || seen[k] {
					t.Fatalf("header field %q (repeated %v):\n%s", k, seen[k], out)
				}
				seen[k] = true
			}
		}
	})
}

// TestReplyNeedsAnAnswerableMessage: unknown actions and reasons name the
// valid ones; a message without an address cannot be answered.
func TestReplyErrors(t *testing.T) {
	d := newTestDrafter(t, Options{})
	m, _ := mailmsg.Read(strings.NewReader("From: r@x.example\r\nTo: a@example.net\r\nSubject: s\r\n\r\nhi\r\n"), mailmsg.Options{})
	inv := Invitation{Message: m}
	me := Me{Address: "a@example.net"}
	_, err := d.Reply(inv, me, Request{Action: "accept"})
	if !errors.Is(err, ErrUnknownAction) || !strings.Contains(err.Error(), "decline, reschedule, ask-compensation") {
		t.Errorf("Reply(action accept) = %v, want ErrUnknownAction listing the actions", err)
	}
	_, err = d.Reply(inv, me, Request{Action: "decline", Reason: "bored"})
	if !errors.Is(err, ErrUnknownReason) || !strings.Contains(err.Error(), "happy-where-i-am") {
		t.Errorf("Reply(reason bored) = %v, want ErrUnknownReason listing the reasons", err)
	}
	if _, err := New(Options{DefaultReason: "bored"}); !errors.Is(err, ErrUnknownReason) {
		t.Errorf("New(DefaultReason bored) = %v, want ErrUnknownReason", err)
	}
	if _, err := d.Reply(Invitation{}, me, Request{Action: "decline"}); !errors.Is(err, ErrNoMessage) {
		t.Errorf("Reply(no message) = %v, want ErrNoMessage", err)
	}
	noFrom, _ := mailmsg.Read(strings.NewReader("To: a@example.net\r\nSubject: s\r\n\r\nhi\r\n"), mailmsg.Options{})
	if _, err := d.Reply(Invitation{Message: noFrom}, me, Request{Action: "decline"}); !errors.Is(err, ErrNoRecipient) {
		t.Errorf("Reply(no From) = %v, want ErrNoRecipient", err)
	}
	noTo, _ := mailmsg.Read(strings.NewReader("From: r@x.example\r\nSubject: s\r\n\r\nhi\r\n"), mailmsg.Options{})
	if _, err := d.Reply(Invitation{Message: noTo}, Me{}, Request{Action: "decline"}); !errors.Is(err, ErrNoSender) {
		t.Errorf("Reply(no From address, no To) = %v, want ErrNoSender", err)
	}
}

// TestReplyWithoutConfig: with no name or address (rsvp draft without a
// config) the reply is From the invitation's To and signs with its name or
// with nothing.
func TestReplyWithoutConfig(t *testing.T) {
	d := newTestDrafter(t, Options{})
	for _, tc := range []struct {
		to, wantFrom, wantSig string
	}{
		{"Alex Morgan <alex@example.net>", "alex@example.net", "Best regards,\nAlex Morgan\n"},
		{"alex@example.net", "alex@example.net", "Best regards,\n"},
	} {
		m, _ := mailmsg.Read(strings.NewReader("From: Sam <sam@x.example>\r\nTo: "+tc.to+"\r\nSubject: Chat?\r\nMessage-ID: <1@x.example>\r\n\r\nHi\r\n"), mailmsg.Options{})
		r, err := d.Reply(Invitation{Message: m, FirstName: "Sam"}, Me{}, Request{Action: "decline"})
		if err != nil {
			t.Fatal(err)
		}
		from, _ := r.Header.AddressList("From")
		if len(from) != 1 || from[0].Address != tc.wantFrom {
			t.Errorf("To %q: From = %v, want %s", tc.to, from, tc.wantFrom)
		}
		if !strings.HasSuffix(r.Body, tc.wantSig) {
			t.Errorf("To %q: body ends %q, want %q", tc.to, r.Body[max(0, len(r.Body)-40):], tc.wantSig)
		}
		if !strings.HasSuffix(r.MessageID, "@example.net") {
			t.Errorf("Message-ID %q is not on the account's domain", r.MessageID)
		}
	}
}

// TestMessageIDs: the deterministic ID is stable for the same invitation and
// account and differs otherwise; the random one differs every time.
func TestMessageIDs(t *testing.T) {
	a := DraftMessageID("abc@x.example", "alex@example.net")
	if a != DraftMessageID("abc@x.example", "Alex@Example.net") {
		t.Errorf("DraftMessageID depends on the address's case")
	}
	if a == DraftMessageID("abd@x.example", "alex@example.net") || a == DraftMessageID("abc@x.example", "alex@other.example") {
		t.Errorf("DraftMessageID does not depend on its inputs")
	}
	if !validMsgID(a) || !strings.HasSuffix(a, "@example.net") {
		t.Errorf("DraftMessageID = %q", a)
	}
	if got := DraftMessageID("abc@x.example", "no-domain"); !strings.HasSuffix(got, "@rsvp.invalid") {
		t.Errorf("DraftMessageID without a domain = %q", got)
	}
	d := newTestDrafter(t, Options{})
	m, _ := mailmsg.Read(strings.NewReader("From: s@x.example\r\nTo: a@example.net\r\nSubject: s\r\n\r\nhi\r\n"), mailmsg.Options{})
	me := Me{Address: "a@example.net"}
	r1, _ := d.Reply(Invitation{Message: m}, me, Request{Action: "decline", DeterministicID: true})
	r2, _ := d.Reply(Invitation{Message: m}, me, Request{Action: "decline", DeterministicID: true})
	r3, _ := d.Reply(Invitation{Message: m}, me, Request{Action: "decline"})
	r4, _ := d.Reply(Invitation{Message: m}, me, Request{Action: "decline"})
	if r1.MessageID != r2.MessageID {
		t.Errorf("deterministic IDs for a message without Message-ID differ: %s, %s", r1.MessageID, r2.MessageID)
	}
	if r3.MessageID == r4.MessageID || r3.MessageID == r1.MessageID || !validMsgID(r3.MessageID) {
		t.Errorf("random IDs %s, %s (deterministic %s)", r3.MessageID, r4.MessageID, r1.MessageID)
	}
	if r1.Header.Has("In-Reply-To") || r1.Header.Has("References") {
		t.Errorf("a reply to a message without Message-ID has In-Reply-To %q, References %q", r1.Header.Get("In-Reply-To"), r1.Header.Get("References"))
	}
}

// TestWarnings: an unmonitored reply address is pointed out.
func TestWarnings(t *testing.T) {
	d := newTestDrafter(t, Options{})
	for _, tc := range []struct {
		head, text string
		warn       bool
	}{
		{"From: Acme <no-reply@acme.example>\r\n", "We'd like to invite you.", true},
		{"From: Acme <careers@acme.example>\r\n", "Please do not reply to this email as this mailbox is not monitored.", true},
		{"From: Acme <no-reply@acme.example>\r\nReply-To: Sam <sam@acme.example>\r\n", "Do not reply to this email.", false},
		{"From: Sam <sam@acme.example>\r\n", "Just reply to this email.", false},
	} {
		m, _ := mailmsg.Read(strings.NewReader(tc.head+"To: a@example.net\r\nSubject: s\r\n\r\n"+tc.text+"\r\n"), mailmsg.Options{})
		r, err := d.Reply(Invitation{Message: m}, Me{Address: "a@example.net"}, Request{Action: "decline"})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(r.Warnings) > 0; got != tc.warn {
			t.Errorf("%q / %q: warnings %v, want warning %v", tc.head, tc.text, r.Warnings, tc.warn)
		}
	}
}
