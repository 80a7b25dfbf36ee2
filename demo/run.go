package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/daemon"
	"github.com/rsvp-mail/rsvp/mailmsg"
	"github.com/rsvp-mail/rsvp/store"
)

// runner follows the daemon: it prints what happens and knows when the
// demo is over.
type runner struct {
	out io.Writer
	srv *server
	st  *store.Store
	w   *watch
	via func(id string) string // how question id was put, if not on the terminal

	printed  map[string]bool // invitations whose outcome is on screen
	drafts   int             // drafts printed
	messages int             // messages the daemon read
	idle     bool            // the daemon caught up with INBOX once
}

// loop returns when every invitation is drafted or ignored, when Stdin
// ended and nothing moves any more, or when ctx ends.
func (r *runner) loop(ctx context.Context, daemonDone <-chan struct{}) (*Summary, error) {
	sum := &Summary{}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		wake := r.w.wake()
		for _, e := range r.w.takeEvents() {
			switch e.Kind {
			case daemon.EventBatch:
				r.messages += e.Count
			case daemon.EventIdle:
				r.idle = true
			case daemon.EventError:
				return nil, fmt.Errorf("%w: %w", errDaemon, e.Err)
			}
		}
		sum.Messages = r.messages
		if ctx.Err() != nil {
			sum.Interrupted = true
			return sum, nil
		}
		list, err := r.st.History(ctx, store.HistoryFilter{})
		if err != nil {
			if ctx.Err() != nil {
				sum.Interrupted = true
				return sum, nil
			}
			return nil, err
		}
		open := 0
		for _, inv := range list {
			switch {
			case r.printed[inv.ID]:
			case inv.State == store.StateDrafted:
				if err := r.showDraft(ctx, inv); err != nil {
					if ctx.Err() != nil {
						sum.Interrupted = true
						return sum, nil
					}
					return nil, err
				}
			case inv.State == store.StateIgnored:
				printIgnored(r.out, inv)
				r.printed[inv.ID] = true
				r.w.settle(inv.ID)
			default:
				open++
			}
		}
		switch {
		case r.idle && open == 0:
			return sum, nil
		case r.idle && r.w.still(time.Now()):
			sum.InputEnded = true
			return sum, nil
		}
		select {
		case <-wake:
		case <-tick.C:
		case <-ctx.Done():
		case <-daemonDone:
			return nil, fmt.Errorf("%w: it stopped on its own", errDaemon)
		}
	}
}

// showDraft prints inv's reply as the server holds it in Drafts.
func (r *runner) showDraft(ctx context.Context, inv store.Invitation) error {
	drafts, err := r.srv.messages(ctx, "Drafts")
	if err != nil {
		return fmt.Errorf("demo server: %w", err)
	}
	raw := findByMessageID(drafts, inv.DraftMessageID)
	if raw == nil {
		return fmt.Errorf("%w: invitation %s is recorded as drafted, but Drafts holds no message <%s>",
			errDaemon, inv.ID, bare(inv.DraftMessageID))
	}
	r.drafts++
	if err := printDraft(r.out, r.drafts, inv, raw, r.via(inv.ID)); err != nil {
		return err
	}
	r.printed[inv.ID] = true
	r.w.settle(inv.ID)
	return nil
}

func findByMessageID(msgs []stored, id string) []byte {
	for _, m := range msgs {
		p, err := mailmsg.Read(bytes.NewReader(m.Raw), mailmsg.Options{})
		if err == nil && p.MessageID != "" && p.MessageID == bare(id) {
			return m.Raw
		}
	}
	return nil
}

func bare(id string) string { return strings.Trim(strings.TrimSpace(id), "<>") }

// finish fills in the summary from the store and the server, once the
// daemon has stopped.
func (r *runner) finish(ctx context.Context, sum *Summary, cfg *config.Config, before []stored) error {
	list, err := r.st.History(ctx, store.HistoryFilter{})
	if err != nil {
		return err
	}
	after, err := r.srv.messages(ctx, "INBOX")
	if err != nil {
		return fmt.Errorf("demo server: %w", err)
	}
	drafts, err := r.srv.messages(ctx, "Drafts")
	if err != nil {
		return fmt.Errorf("demo server: %w", err)
	}
	sum.Drafts = len(drafts)
	invUIDs := map[uint32]bool{}
	for _, inv := range list {
		o := Outcome{ID: inv.ID, MessageID: bare(inv.MessageID), Subject: inv.Subject, ReplyTo: inv.ReplyTo,
			State: inv.State, Action: inv.Action, Reason: inv.Reason}
		if o.ReplyTo == "" {
			o.ReplyTo = inv.FromAddr
		}
		switch inv.State {
		case store.StateDrafted:
			sum.Drafted++
			o.Draft = findByMessageID(drafts, inv.DraftMessageID)
		case store.StateIgnored:
			sum.Ignored++
		case store.StateFound, store.StateAsked:
			sum.Unanswered++
		}
		sum.Invitations = append(sum.Invitations, o)
		invUIDs[inv.UID] = true
	}
	if f := cfg.Accounts[0].Flag; f != nil {
		sum.Flag = *f
	}
	sum.Flagged, sum.InboxChanges = compareInbox(before, after, sum.Flag, invUIDs)
	return nil
}

// compareInbox counts the invitations that gained the keyword flag and
// lists every other difference between two views of INBOX.
func compareInbox(before, after []stored, flag string, invitation map[uint32]bool) (flagged int, changes []string) {
	was := map[uint32]stored{}
	for _, m := range before {
		was[m.UID] = m
	}
	for _, m := range after {
		old, ok := was[m.UID]
		if !ok {
			changes = append(changes, fmt.Sprintf("UID %d is new", m.UID))
			continue
		}
		delete(was, m.UID)
		if !bytes.Equal(old.Raw, m.Raw) {
			changes = append(changes, fmt.Sprintf("UID %d: the message changed", m.UID))
		}
		if !old.InternalDate.Equal(m.InternalDate) {
			changes = append(changes, fmt.Sprintf("UID %d: INTERNALDATE changed", m.UID))
		}
		added := slices.DeleteFunc(slices.Clone(m.Flags), old.hasFlag)
		removed := slices.DeleteFunc(slices.Clone(old.Flags), m.hasFlag)
		if flag != "" && invitation[m.UID] {
			if i := slices.IndexFunc(added, func(f string) bool { return strings.EqualFold(f, flag) }); i >= 0 {
				added = slices.Delete(added, i, i+1)
				flagged++
			}
		}
		if len(added) > 0 {
			changes = append(changes, fmt.Sprintf("UID %d gained %s", m.UID, strings.Join(added, " ")))
		}
		if len(removed) > 0 {
			changes = append(changes, fmt.Sprintf("UID %d lost %s", m.UID, strings.Join(removed, " ")))
		}
	}
	for uid := range was {
		changes = append(changes, fmt.Sprintf("UID %d is gone", uid))
	}
	slices.Sort(changes)
	return flagged, changes
}
