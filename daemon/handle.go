package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/drafter"
	"github.com/rsvp-mail/rsvp/internal/workers"
	"github.com/rsvp-mail/rsvp/mailbox"
	"github.com/rsvp-mail/rsvp/mailmsg"
	"github.com/rsvp-mail/rsvp/store"
)

// recordAll records the invitations of a classified batch, in one store
// transaction, and returns their indexes in batch and their records. Only
// an error of the store is returned (the session restarts); a message that
// cannot be read is logged and skipped.
func (d *Daemon) recordAll(ctx context.Context, s *accountState, batch []mailbox.Message, vs []classified) ([]int, []store.Invitation, error) {
	var at []int
	var fs []store.Found
	for i, m := range batch {
		if f, ok := d.found(s, m, vs[i]); ok {
			at, fs = append(at, i), append(fs, f)
		}
	}
	if len(fs) == 0 {
		return nil, nil, nil
	}
	d.expect(s.name, d.opts.OpTimeout)
	added, err := d.store.AddInvitations(ctx, fs)
	if err != nil {
		return nil, nil, err
	}
	invs := make([]store.Invitation, len(added))
	for k, a := range added {
		inv, uid := a.Invitation, batch[at[k]].UID
		if a.New {
			s.log.Info("invitation found", "invitation", inv.ID, "uid", uid, "score", inv.Score,
				"company", inv.Fields.Company, "role", inv.Fields.Role, "from", inv.FromAddr)
			d.emit(Event{Kind: EventFound, Account: s.name, Invitation: &inv, UID: uid})
		} else {
			s.log.Debug("invitation seen again", "invitation", inv.ID, "uid", uid, "state", inv.State)
		}
		invs[k] = inv
	}
	return at, invs, nil
}

// found is what the store records of m when it is an invitation (true).
// A message that cannot be read is logged and reported as skipped.
func (d *Daemon) found(s *accountState, m mailbox.Message, v classified) (store.Found, bool) {
	if !v.readable {
		s.log.Warn("skipping a message that cannot be read", "uid", m.UID, "id", m.ID, "err", m.ParseErr)
		d.emit(Event{Kind: EventSkipped, Account: s.name, UID: m.UID, Err: m.ParseErr})
		return store.Found{}, false
	}
	if !v.Invite {
		s.log.Debug("not an invitation", "uid", m.UID, "score", v.Score, "subject", v.subject)
		return store.Found{}, false
	}
	msg := m.Parsed
	fields := v.fields
	f := store.Found{
		Account: s.name, Mailbox: m.Mailbox, UIDValidity: m.UIDValidity, UID: m.UID,
		MessageID: StoreKey(msg),
		Received:  receivedAt(m),
		Subject:   msg.Subject,
		ReplyTo:   fields.ReplyTo,
		Score:     v.Score,
		Fields: store.Fields{FirstName: fields.FirstName, Company: fields.Company, Role: fields.Role,
			Lang: fields.Lang, Times: fields.Times},
		Raw: m.Raw,
	}
	if msg.From != nil {
		f.FromName, f.FromAddr = msg.From.Name, msg.From.Address
	}
	for _, h := range v.Hits {
		f.Rules = append(f.Rules, h.Name)
	}
	return f, true
}

// flag adds the keyword to the recorded invitations msgs (invs, in the same
// order), in one command. It runs every time an invitation is seen: after a
// crash between recording and flagging, or a rebuilt mailbox, this is where
// the keyword comes back. +FLAGS of a keyword already there changes nothing.
func (d *Daemon) flag(ctx context.Context, s *accountState, msgs []mailbox.Message, invs []store.Invitation) error {
	if len(msgs) == 0 {
		return nil
	}
	acct, _, err := d.account(s.name)
	if err != nil {
		return err
	}
	if acct.Flag == nil || *acct.Flag == "" {
		return nil
	}
	octx, cancel := context.WithTimeout(ctx, flagTimeout(d.opts.OpTimeout))
	err = s.mb.Flag(octx, msgs...)
	cancel()
	if err != nil {
		return err
	}
	for i := range invs {
		d.emit(Event{Kind: EventFlagged, Account: s.name, Invitation: &invs[i], UID: msgs[i].UID})
	}
	return nil
}

// flagTimeout bounds a Flag during a catch-up: the connection may first be
// busy with the fetching stage's FETCH (itself bounded by op), then the
// STORE gets op of its own.
func flagTimeout(op time.Duration) time.Duration { return 2 * op }

// classified is what the classifier makes of one fetched message: the
// verdict and, for an invitation, the fields of the reply.
type classified struct {
	classifier.Verdict
	fields   classifier.Fields
	readable bool   // the message could be parsed
	subject  string // for the log
}

// classifyAll classifies a batch, and extracts the fields of its
// invitations, on every core, and lets go of the other messages' text: in
// a backfill the rules, not the network, are the bottleneck. The
// classifier is safe for concurrent use. Each message is given to parse
// first, in the same step (a no-op when Fetch parsed the batch), and a
// message that is not an invitation to recycle once classified (its raw
// bytes can then be fetched into again).
func classifyAll(cfg *config.Config, batch []mailbox.Message, parse, recycle func(*mailbox.Message)) []classified {
	out := make([]classified, len(batch))
	opts := cfg.ExtractOptions()
	workers.Each(len(batch), func(i int) {
		m := &batch[i]
		parse(m)
		if m.Parsed == nil {
			return
		}
		v := &out[i]
		v.readable, v.subject = true, m.Parsed.Subject
		v.Verdict = cfg.Classifier.Classify(m.Parsed)
		if v.Invite {
			v.fields = classifier.Extract(m.Parsed, opts)
		} else {
			// Only an invitation's message is kept: in a backfill,
			// batches wait in catchUp's pipeline. The hits go with
			// the text they quote; only the score is logged.
			v.Hits = nil
			recycle(m)
			m.Raw, m.Parsed = nil, nil
		}
	})
	return out
}

func receivedAt(m mailbox.Message) time.Time {
	if !m.InternalDate.IsZero() {
		return m.InternalDate
	}
	if m.Parsed != nil {
		return m.Parsed.Date
	}
	return time.Time{}
}

// StoreKey is the key an invitation is recorded under: its Message-ID, or,
// for the rare message without one, a stand-in derived from its headers so
// that fetching it again finds the same record.
func StoreKey(m *mailmsg.Message) string {
	if id := strings.TrimSpace(m.MessageID); id != "" {
		return id
	}
	sum := sha256.Sum256([]byte(m.Header.Get("From") + "\x00" + m.Header.Get("Date") + "\x00" + m.Subject))
	return "no-message-id." + hex.EncodeToString(sum[:12]) + "@rsvp.invalid"
}

// writeDrafts writes the reply of every decided invitation of this account.
func (d *Daemon) writeDrafts(ctx context.Context, s *accountState) error {
	list, err := d.store.AwaitingDraft(ctx)
	if err != nil {
		return err
	}
	for _, inv := range list {
		if inv.Account != s.name || s.reported[inv.ID] {
			continue
		}
		full, err := d.store.Get(ctx, inv.ID) // with the message, which lists leave out
		if err != nil {
			return err
		}
		if err := d.writeDraft(ctx, s, full); err != nil {
			if !errors.Is(err, errNotNow) {
				return err
			}
		}
	}
	return nil
}

// errNotNow marks a draft that cannot be written in this session for a
// reason already logged; the session goes on.
var errNotNow = errors.New("draft postponed")

// writeDraft saves inv's reply into Drafts unless a draft with its
// Message-ID is already there, then records it as drafted.
func (d *Daemon) writeDraft(ctx context.Context, s *accountState, inv store.Invitation) error {
	acct, cfg, err := d.account(s.name)
	if err != nil {
		return err
	}
	postpone := func(msg string, err error) error {
		s.log.Error(msg, "invitation", inv.ID, "err", err)
		if s.reported == nil {
			s.reported = map[string]bool{}
		}
		s.reported[inv.ID] = true
		return errNotNow
	}
	reply, err := BuildReply(cfg, acct, inv, d.now)
	if err != nil {
		return postpone("cannot write the reply to this invitation; fix the templates and reload", err)
	}
	d.expect(s.name, d.opts.OpTimeout)
	octx, cancel := context.WithTimeout(ctx, d.opts.OpTimeout)
	defer cancel()
	// Search first, always: the previous run may have died between the
	// APPEND and recording it.
	there, err := s.mb.FindDraft(octx, reply.MessageID)
	if errors.Is(err, mailbox.ErrNoDrafts) {
		return postpone("no Drafts mailbox to save the reply in: create one, or name it with drafts: in the account's config", err)
	}
	if err != nil {
		return err
	}
	if !there {
		raw, err := reply.Bytes()
		if err != nil {
			return postpone("cannot write the reply to this invitation", err)
		}
		err = s.mb.SaveDraft(octx, reply.MessageID, raw)
		if errors.Is(err, mailbox.ErrNoDrafts) {
			return postpone("no Drafts mailbox to save the reply in", err)
		}
		if err != nil {
			return err
		}
	} else {
		s.log.Info("the draft was already saved (by an earlier run); recording it", "invitation", inv.ID)
	}
	done, err := d.store.MarkDrafted(ctx, inv.ID, reply.MessageID)
	if errors.Is(err, store.ErrBadState) {
		return nil // recorded meanwhile (another daemon on the same store)
	}
	if err != nil {
		return err
	}
	s.log.Info("draft saved", "invitation", inv.ID, "action", inv.Action, "reason", inv.Reason,
		"to", reply.Header.Get("To"), "subject", reply.Header.Get("Subject"))
	d.emit(Event{Kind: EventDrafted, Account: s.name, Invitation: &done})
	return nil
}

// BuildReply writes the reply to a recorded invitation as decided, with the
// deterministic Message-ID that lets a retry find it in Drafts.
func BuildReply(cfg *config.Config, acct config.Account, inv store.Invitation, now func() time.Time) (*drafter.Reply, error) {
	if len(inv.Raw) == 0 {
		return nil, fmt.Errorf("invitation %s: the message was not kept", inv.ID)
	}
	m, err := mailmsg.Read(bytes.NewReader(inv.Raw), mailmsg.Options{MaxBodyBytes: cfg.Detect.MaxBodyBytes, MaxDepth: cfg.Detect.MaxMIMEDepth})
	if err != nil {
		return nil, fmt.Errorf("invitation %s: %w", inv.ID, err)
	}
	dr, err := cfg.NewDrafter(now)
	if err != nil {
		return nil, err
	}
	me := drafter.Me{Name: cfg.Me.Name, Address: acct.Address,
		Signature: strings.TrimRight(cfg.Me.Signature, "\n"), Zone: cfg.Zone()}
	return dr.Reply(drafter.Invitation{
		Message: m, FirstName: inv.Fields.FirstName, Company: inv.Fields.Company, Role: inv.Fields.Role,
		Lang: inv.Fields.Lang, Times: inv.Fields.Times,
	}, me, drafter.Request{
		Action: string(inv.Action), Reason: inv.Reason, CompensationTarget: cfg.Reply.CompensationTarget,
		QuoteOriginal: cfg.Reply.QuoteOriginal, DeterministicID: true,
	})
}
