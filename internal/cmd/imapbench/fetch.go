package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	imap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// rawResult is one raw fetch pass.
type rawResult struct {
	elapsed  time.Duration
	messages int
	bytes    int64 // header and text bytes received
	cpu      time.Duration
	// dovecotCPU is Dovecot's during the fetch (set by the caller).
	dovecotCPU time.Duration
}

// rawFetch is the limit: what rsvp's backend asks the server for and
// nothing else. It logs in, examines the mailbox, searches SINCE since,
// then fetches the same items as rsvp (UID, FLAGS, INTERNALDATE,
// BODY.PEEK[HEADER], BODY.PEEK[TEXT]<0.bodyBytes>) in UID batches of
// batch, one batch at a time, into memory.
func rawFetch(ctx context.Context, addr, user, password, mailbox string, since time.Time, batch, bodyBytes int) (rawResult, error) {
	var res rawResult
	cpu0 := selfCPU()
	t0 := time.Now()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return res, fmt.Errorf("raw fetch: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(user, password).Wait(); err != nil {
		return res, fmt.Errorf("raw fetch: login: %w", err)
	}
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return res, fmt.Errorf("raw fetch: select %s: %w", mailbox, err)
	}
	sd, err := c.UIDSearch(&imap.SearchCriteria{Since: since}, nil).Wait()
	if err != nil {
		return res, fmt.Errorf("raw fetch: search: %w", err)
	}
	uids := sd.AllUIDs()
	slices.Sort(uids)

	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	text := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Peek: true,
		Partial: &imap.SectionPartial{Offset: 0, Size: int64(bodyBytes)}}
	fo := &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{header, text}}
	for len(uids) > 0 {
		n := min(batch, len(uids))
		set := uids[:n]
		uids = uids[n:]
		bufs, err := c.Fetch(imap.UIDSetNum(set...), fo).Collect()
		if err != nil {
			return res, fmt.Errorf("raw fetch: fetch: %w", err)
		}
		for _, b := range bufs {
			res.messages++
			res.bytes += int64(len(b.FindBodySection(header)) + len(b.FindBodySection(text)))
		}
	}
	res.elapsed = time.Since(t0)
	c.Logout().Wait()
	res.cpu = selfCPU() - cpu0
	return res, ctx.Err()
}

// openReadWrite logs in and selects mailbox read-write, as a mail client
// does, and logs out.
func openReadWrite(ctx context.Context, addr, user, password, mailbox string) error {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return fmt.Errorf("open %s read-write: %w", mailbox, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(user, password).Wait(); err != nil {
		return fmt.Errorf("open %s read-write: login: %w", mailbox, err)
	}
	if _, err := c.Select(mailbox, nil).Wait(); err != nil {
		return fmt.Errorf("open %s read-write: %w", mailbox, err)
	}
	return c.Logout().Wait()
}

// idleBaseline is the latency limit: a bare go-imap client waiting in IDLE
// on mailbox, timed from the start of `doveadm save` to the EXISTS it
// receives. It shows what the server adds (Dovecot batches mailbox change
// notifications) before rsvp does anything.
func idleBaseline(ctx context.Context, s *server, user, mailbox string, msgs [][]byte, gap time.Duration) ([]time.Duration, error) {
	exists := make(chan struct{}, 1)
	c, err := imapclient.DialInsecure(s.Addr, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case exists <- struct{}{}:
					default:
					}
				}
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("idle baseline: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(user, password).Wait(); err != nil {
		return nil, fmt.Errorf("idle baseline: login: %w", err)
	}
	if _, err := c.Select(mailbox, nil).Wait(); err != nil {
		return nil, fmt.Errorf("idle baseline: select %s: %w", mailbox, err)
	}
	var out []time.Duration
	for _, raw := range msgs {
		idle, err := c.Idle()
		if err != nil {
			return nil, fmt.Errorf("idle baseline: %w", err)
		}
		select {
		case <-exists:
		default:
		}
		t0 := time.Now()
		if err := s.save(user, mailbox, raw); err != nil {
			idle.Close()
			return nil, err
		}
		t := time.NewTimer(10 * time.Second)
		select {
		case <-exists:
			out = append(out, time.Since(t0))
		case <-t.C:
			err = fmt.Errorf("idle baseline: no EXISTS within 10s of doveadm save")
		case <-ctx.Done():
			err = ctx.Err()
		}
		t.Stop()
		if cerr := idle.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if werr := idle.Wait(); werr != nil && err == nil {
			err = werr
		}
		if err != nil {
			return nil, err
		}
		if err := sleep(ctx, gap); err != nil {
			return nil, err
		}
	}
	c.Logout().Wait()
	return out, nil
}
