package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/rsvp-mail/rsvp/config"
	"github.com/rsvp-mail/rsvp/mailmsg"
	"github.com/rsvp-mail/rsvp/store"
)

// benchEnv is what both phases share.
type benchEnv struct {
	bin     string
	srv     *server
	sources []source
	peerBin string
}

type latencyResult struct {
	idle       []time.Duration // doveadm save started → EXISTS, bare IDLE client
	found      []time.Duration // doveadm save started → "invitation found" read
	draft      []time.Duration // Decide called → "draft saved" read
	save       []time.Duration // doveadm save alone
	drafts     int             // messages in Drafts at the end
	wantDrafts int
	flagged    int // INBOX messages with $Interview at the end
	rss        int64
	stopTime   time.Duration
	problems   []string
}

// classifies reports whether rsvp, configured as cfg, takes raw for an
// invitation when it fetches it (header and the first bodyBytes of text).
func classifies(cfg *config.Config, raw []byte) bool {
	m, err := mailmsg.Read(bytes.NewReader(fetchedView(raw, bodyBytes)), mailmsg.Options{MaxBodyBytes: bodyBytes})
	if err != nil {
		return false
	}
	return cfg.Classifier.Classify(m).Invite
}

// latency runs `rsvp run` in IDLE on the latency user's INBOX and times
// single deliveries to "invitation found", and decisions to "draft saved".
func (b *bench) latency(ctx context.Context, env *benchEnv) (latencyResult, error) {
	var res latencyResult
	n := b.opts.samples
	dir := filepath.Join(b.tmp, "latency")
	cfgPath, cfg, err := writeConfig(dir, "latency", latencyUser, env.srv)
	if err != nil {
		return res, err
	}
	var invites []source
	for _, s := range env.sources {
		if s.invite && classifies(cfg, s.raw) {
			invites = append(invites, s)
		}
	}
	if len(invites) == 0 {
		return res, fmt.Errorf("no sample invitation that rsvp's classifier recognises")
	}

	gen := newGenerator(b.opts.seed, env.sources, time.Now())
	nb := min(n, 10, max(3, n/3))
	b.progress("latency: %d samples with a bare IDLE client (the limit)", nb)
	const baselineBox = "idle-baseline"
	if _, err := env.srv.RunDoveadm(nil, "mailbox", "create", "-u", latencyUser, baselineBox); err != nil {
		return res, err
	}
	var msgs [][]byte
	for i := 0; i < nb; i++ {
		msgs = append(msgs, withMessageID(invites[i%len(invites)].raw, gen.messageID("baseline")))
	}
	if res.idle, err = idleBaseline(ctx, env.srv, latencyUser, baselineBox, msgs, b.opts.gap); err != nil {
		return res, err
	}

	b.progress("latency: starting rsvp run (IDLE) for %d samples", n)
	xdgState := filepath.Join(dir, "state")
	d, err := startDaemon(env.bin, cfgPath, xdgState, dir)
	if err != nil {
		return res, err
	}
	defer d.kill()
	_, next, err := d.waitFor(ctx, 0, 30*time.Second, `msg="connected"`, func(l logLine) bool { return l.msg() == "connected" })
	if err != nil {
		return res, err
	}
	st, err := store.Open(filepath.Join(xdgState, "rsvp"), nil)
	if err != nil {
		return res, err
	}
	defer st.Close()

	rng := rand.New(rand.NewPCG(b.opts.seed, 0x7a11))
	jitter := func() time.Duration { return b.opts.gap + time.Duration(rng.Int64N(int64(b.opts.gap)+1)) }
	// Sample 0 warms up (first IDLE, first draft, Drafts looked up) and is
	// not counted.
	for i := 0; i <= n; i++ {
		raw := withMessageID(invites[i%len(invites)].raw, gen.messageID("latency"))
		t0 := time.Now()
		if err := env.srv.save(latencyUser, "INBOX", raw); err != nil {
			return res, err
		}
		saved := time.Since(t0)
		var line logLine
		line, next, err = d.waitFor(ctx, next, 30*time.Second, `msg="invitation found"`, func(l logLine) bool { return l.msg() == "invitation found" })
		if err != nil {
			return res, fmt.Errorf("sample %d: %w", i, err)
		}
		found := line.at.Sub(t0)
		id := line.fields["invitation"]
		// Let the daemon flag it and go back to IDLE: the decision should
		// find it waiting, as it would a person's click. The random part
		// keeps the decision out of step with anything the daemon does
		// periodically (the store is polled every 250 ms).
		if err := sleep(ctx, jitter()); err != nil {
			return res, err
		}
		t1 := time.Now()
		if _, err := st.Decide(ctx, id, store.ActionDecline, ""); err != nil {
			return res, fmt.Errorf("sample %d: decide %s: %w", i, id, err)
		}
		line, next, err = d.waitFor(ctx, next, 30*time.Second, `msg="draft saved" for `+id, func(l logLine) bool {
			return l.msg() == "draft saved" && l.fields["invitation"] == id
		})
		if err != nil {
			return res, fmt.Errorf("sample %d: %w", i, err)
		}
		draft := line.at.Sub(t1)
		if i > 0 {
			res.found = append(res.found, found)
			res.draft = append(res.draft, draft)
			res.save = append(res.save, saved)
			b.progress("latency: sample %d/%d: found %v, draft %v (doveadm save %v)", i, n,
				found.Round(time.Millisecond), draft.Round(time.Millisecond), saved.Round(time.Millisecond))
		}
		if err := sleep(ctx, jitter()); err != nil {
			return res, err
		}
	}

	drafts, err := env.srv.status(latencyUser, "Drafts", "messages")
	if err != nil {
		return res, err
	}
	res.drafts, res.wantDrafts = int(drafts["messages"]), n+1
	if res.flagged, err = env.srv.withKeyword(latencyUser, "INBOX", config.DefaultFlag); err != nil {
		return res, err
	}
	if res.rss, err = d.peakRSS(); err != nil {
		return res, err
	}
	if err := d.stop(15 * time.Second); err != nil {
		return res, err
	}
	res.stopTime = d.stopped
	res.problems = d.problems()
	return res, nil
}
