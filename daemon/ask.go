package daemon

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rsvp-mail/rsvp/classifier"
	"github.com/rsvp-mail/rsvp/mailmsg"
	"github.com/rsvp-mail/rsvp/notifier"
	"github.com/rsvp-mail/rsvp/store"
)

// retryAsk is how soon a question that could not be shown (no notification
// server, a failing command) is tried again.
const retryAsk = time.Minute

// asker asks the user about invitations through the notifier, one at a
// time, and records the answers. Every invitation in the store waiting for
// an answer is its work list, whichever account found it.
type asker struct {
	d *Daemon
	n notifier.Notifier
	// shown holds the questions shown by this process (a restart shows
	// every waiting invitation again, replacing what is on screen).
	shown     map[string]bool
	lastAsk   time.Time
	failedAt  map[string]time.Time // last failed attempt per invitation
	reportedQ bool                 // quiet hours logged
}

// runAsker runs until ctx ends.
func (d *Daemon) runAsker(ctx context.Context, n notifier.Notifier) {
	a := &asker{d: d, n: n, shown: map[string]bool{}, failedAt: map[string]time.Time{}}
	changes := make(chan struct{}, 1)
	go func() {
		seq, err := d.store.ChangeSeq(ctx)
		for err == nil {
			if seq, err = d.store.WaitChange(ctx, seq); err == nil {
				select {
				case changes <- struct{}{}:
				default:
				}
			}
		}
	}()
	for {
		next := a.round(ctx)
		last := time.Now()
		wait := time.Until(next)
		if next.IsZero() || wait > time.Hour {
			wait = time.Hour
		}
		wait = max(wait, 10*time.Millisecond)
		due := last.Add(wait)
		t := time.NewTimer(wait)
	waiting:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case ans, ok := <-n.Answers():
				t.Stop()
				if !ok {
					d.log.Warn("the notifier stopped answering; answer with rsvp decide")
					<-ctx.Done()
					return
				}
				a.answer(ctx, ans)
				break waiting
			case <-changes:
				// A backfill records invitations batch after batch: one
				// round, which reads every waiting invitation, for all
				// the changes of changeRoundGap.
				if soon := last.Add(changeRoundGap); time.Now().Before(soon) {
					if soon.Before(due) {
						due = soon
						t.Reset(time.Until(due))
					}
					continue
				}
				t.Stop()
				break waiting
			case <-t.C:
				break waiting
			}
		}
	}
}

// changeRoundGap is the shortest time between the end of a round and one
// started by a change in the store.
const changeRoundGap = 500 * time.Millisecond

// round withdraws questions answered elsewhere and asks at most one
// question. It returns when it wants to run again (zero: on a change).
func (a *asker) round(ctx context.Context) time.Time {
	d := a.d
	cfg := d.cfg.Load()
	pending, err := d.store.Waiting(ctx)
	if ctx.Err() != nil {
		return time.Time{} // stopping
	}
	if err != nil {
		d.log.Error("reading the invitations waiting for an answer", "err", err)
		return d.now().Add(retryAsk)
	}
	waiting := map[string]bool{}
	for _, inv := range pending {
		waiting[inv.ID] = true
	}
	for id := range a.shown {
		if !waiting[id] {
			// Answered elsewhere (rsvp decide): take the question away.
			delete(a.shown, id)
			if err := a.n.Withdraw(ctx, id); err != nil {
				d.log.Debug("withdrawing a question", "invitation", id, "err", err)
			}
		}
	}

	now := d.now()
	remind := time.Duration(cfg.Ask.RemindAfter)
	var due time.Time // the earliest reminder still to come
	var pick *store.Waiting
	reminder := false
	for i := range pending {
		inv := &pending[i]
		if at, ok := a.failedAt[inv.ID]; ok && now.Sub(at) < retryAsk {
			due = earliest(due, at.Add(retryAsk))
			continue
		}
		switch {
		case inv.State == store.StateFound || !a.shown[inv.ID]:
			pick = inv // new, or waiting since before a restart
		case inv.AskedCount == 1 && remind > 0:
			if at := inv.AskedAt.Add(remind); !now.Before(at) {
				pick, reminder = inv, true
			} else {
				due = earliest(due, at)
			}
		}
		if pick != nil {
			break
		}
	}
	if pick == nil {
		return due
	}
	if quiet, until := cfg.Ask.QuietHours.In(now.In(cfg.Zone())); quiet {
		if !a.reportedQ {
			a.reportedQ = true
			d.log.Info("quiet hours: holding questions back", "until", until.Format("15:04"))
		}
		return until
	}
	a.reportedQ = false
	if next := a.lastAsk.Add(time.Duration(cfg.Ask.Spacing)); now.Before(next) {
		return next
	}

	// Record the question before showing it: a crash in between shows it
	// again on restart rather than never.
	var inv store.Invitation
	what := "recording a question"
	if pick.State == store.StateFound || reminder {
		inv, err = d.store.MarkAsked(ctx, pick.ID)
	} else {
		what = "reading the invitation to ask about"
		inv, err = d.store.Get(ctx, pick.ID)
	}
	if err != nil {
		if errors.Is(err, store.ErrBadState) || errors.Is(err, store.ErrNotFound) {
			return now // answered or gone meanwhile
		}
		d.log.Error(what, "invitation", pick.ID, "err", err)
		return now.Add(retryAsk)
	}
	q := a.question(inv, inv.AskedCount > 1)
	// Spacing runs from the moment a question is shown, which is after it
	// was recorded: measured from the earlier now, a slow store write would
	// eat into the gap before the next one.
	now = d.now()
	a.lastAsk = now
	if err := a.n.Ask(ctx, q); err != nil {
		a.failedAt[inv.ID] = now
		if errors.Is(err, notifier.ErrUnavailable) {
			d.log.Debug("cannot ask now; asking again later (or answer with rsvp decide)", "invitation", inv.ID, "err", err)
		} else {
			d.log.Warn("cannot ask; asking again later (or answer with rsvp decide)", "invitation", inv.ID, "err", err)
		}
		return now.Add(retryAsk)
	}
	delete(a.failedAt, inv.ID)
	a.shown[inv.ID] = true
	d.log.Info("asked", "invitation", inv.ID, "reminder", q.Reminder, "company", inv.Fields.Company, "role", inv.Fields.Role)
	d.emit(Event{Kind: EventAsked, Account: inv.Account, Invitation: &inv})
	return now // more may be waiting; spacing decides when
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// question is what the user is asked about inv.
func (a *asker) question(inv store.Invitation, reminder bool) notifier.Question {
	q := notifier.Question{
		ID: inv.ID, Account: inv.Account, Company: inv.Fields.Company, Role: inv.Fields.Role,
		FromName: inv.FromName, FromAddr: inv.FromAddr, ReplyTo: inv.ReplyTo, Subject: inv.Subject,
		Received: inv.Received, Times: inv.Fields.Times, Reminder: reminder,
	}
	// Why: the rules that fire now, best first, with their descriptions.
	cfg := a.d.cfg.Load()
	if m, err := mailmsg.Read(bytes.NewReader(inv.Raw), mailmsg.Options{MaxBodyBytes: cfg.Detect.MaxBodyBytes}); err == nil && len(inv.Raw) > 0 {
		hits := cfg.Classifier.Classify(m).Hits
		slices.SortStableFunc(hits, func(x, y classifier.Hit) int { return cmp.Compare(y.Score, x.Score) })
		for _, h := range hits {
			if h.Score <= 0 {
				continue
			}
			why := h.Description
			if why == "" {
				why = h.Name
			}
			q.Why = append(q.Why, fmt.Sprintf("%s (+%.1f)", why, h.Score))
		}
	} else {
		q.Why = inv.Rules
	}
	return q
}

// answer records the user's answer; one for an invitation already answered
// (say, through rsvp decide) is ignored.
func (a *asker) answer(ctx context.Context, ans notifier.Answer) {
	d := a.d
	delete(a.shown, ans.ID)
	// A notifier may show a reason's description: record its name. A
	// reason the templates do not know would make a decision that can never
	// be drafted: decline with the default reason instead.
	if ans.Reason != "" && ans.Action == notifier.ActionDecline {
		known := false
		for _, r := range d.cfg.Load().Templates.Reasons() {
			if ans.Reason == r.Name || ans.Reason == r.Description {
				ans.Reason, known = r.Name, true
				break
			}
		}
		if !known {
			d.log.Warn("the answer names an unknown decline reason; using the default reason", "invitation", ans.ID, "reason", ans.Reason)
			ans.Reason = ""
		}
	}
	var err error
	switch ans.Action {
	case notifier.ActionIgnore:
		_, err = d.store.Ignore(ctx, ans.ID, ans.Reason)
	case notifier.ActionDecline, notifier.ActionReschedule:
		_, err = d.store.Decide(ctx, ans.ID, store.Action(ans.Action), ans.Reason)
	default:
		d.log.Warn("the notifier gave an unknown answer; ignored", "invitation", ans.ID, "action", ans.Action)
		return
	}
	switch {
	case errors.Is(err, store.ErrAlreadyDecided):
		d.log.Info("an answer for an invitation already answered; ignored", "invitation", ans.ID, "action", ans.Action)
	case errors.Is(err, store.ErrNotFound):
		d.log.Warn("an answer for an unknown invitation; ignored", "invitation", ans.ID, "action", ans.Action)
	case err != nil:
		d.log.Error("recording an answer", "invitation", ans.ID, "err", err)
	default:
		d.log.Info("answered", "invitation", ans.ID, "action", ans.Action, "reason", ans.Reason)
	}
}
