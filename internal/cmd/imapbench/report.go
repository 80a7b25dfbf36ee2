package main

import (
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// percentile is the nearest-rank percentile p (0–100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// ms rounds a duration for printing: milliseconds below 10 s, else 10 ms.
func ms(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Millisecond)
}

func splitAddr(addr string) (string, int) {
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return host, n
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "goal missed"
}

func check(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISMATCH"
}

type report struct {
	opts    options
	env     *benchEnv
	lat     latencyResult
	bf      backfillResult
	elapsed time.Duration
}

func (r *report) print(w io.Writer) {
	o, lat, bf := r.opts, r.lat, r.bf
	who := "a normal user"
	if os.Geteuid() == 0 {
		who = "root"
	}
	fmt.Fprintf(w, "\nimapbench: rsvp against Dovecot %s on %s; %d CPUs (GOMAXPROCS %d); running as %s; seed %d\n",
		r.env.srv.version, r.env.srv.Addr, runtime.NumCPU(), runtime.GOMAXPROCS(0), who, o.seed)

	// Latency.
	fP50, fP95, fMax := percentile(lat.found, 50), percentile(lat.found, 95), percentile(lat.found, 100)
	dP50, dP95, dMax := percentile(lat.draft, 50), percentile(lat.draft, 95), percentile(lat.draft, 100)
	fmt.Fprintf(w, "\nLATENCY  N=%d samples (after 1 warm-up), rsvp run waiting in IDLE, %v–%v (random) between steps\n", len(lat.found), o.gap, 2*o.gap)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tp50\tp95\tmax\tgoal (p95)\t\t\n")
	fmt.Fprintf(tw, "bare IDLE client (%d samples): doveadm save started → EXISTS\t%v\t%v\t%v\t\t\t\n", len(lat.idle), ms(percentile(lat.idle, 50)), ms(percentile(lat.idle, 95)), ms(percentile(lat.idle, 100)))
	fmt.Fprintf(tw, "doveadm save started → \"invitation found\"\t%v\t%v\t%v\t< %v\t%s\t\n", ms(fP50), ms(fP95), ms(fMax), goalFound, verdict(fP95 < goalFound))
	fmt.Fprintf(tw, "store.Decide → \"draft saved\"\t%v\t%v\t%v\t< %v\t%s\t\n", ms(dP50), ms(dP95), ms(dMax), goalDraft, verdict(dP95 < goalDraft))
	fmt.Fprintf(tw, "(doveadm save alone)\t%v\t%v\t%v\t\t\t\n", ms(percentile(lat.save, 50)), ms(percentile(lat.save, 95)), ms(percentile(lat.save, 100)))
	tw.Flush()
	fmt.Fprintf(w, "  rsvp's own share of found (p50 found − p50 bare IDLE): %v; the rest is the server's notification delay\n", ms(fP50-percentile(lat.idle, 50)))
	fmt.Fprintf(w, "  checks: drafts in Drafts %d/%d %s; %s on %d/%d INBOX messages %s\n",
		lat.drafts, lat.wantDrafts, check(lat.drafts == lat.wantDrafts), "$Interview", lat.flagged, lat.wantDrafts, check(lat.flagged == lat.wantDrafts))
	fmt.Fprintf(w, "  rsvp run: peak RSS %.1f MB; stopped %v after SIGTERM\n", mb(lat.rss), ms(lat.stopTime))
	printProblems(w, lat.problems)

	// Backfill.
	rs := bf.rsvp
	ratio := bf.rsvp.elapsed.Seconds() / bf.raw.elapsed.Seconds()
	peerRatio := bf.peer.elapsed.Seconds() / bf.raw.elapsed.Seconds()
	rate := float64(bf.messages) / rs.elapsed.Seconds()
	fmt.Fprintf(w, "\nBACKFILL  M=%d messages, %.0f MB in the Maildir (%d with an attachment), INTERNALDATE now, first-start window %dd\n",
		bf.messages, mb(bf.bytes), bf.attachments, sinceDays)
	fmt.Fprintf(w, "  load: generated and written in %v; doveadm force-resync %v; doveadm index %v; opened read-write once, as a mail client does (new/ to cur/) %v; warm-up fetch %v (not counted)\n",
		ms(bf.genTime), ms(bf.resyncTime), ms(bf.indexTime), ms(bf.openTime), ms(bf.warm.elapsed))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\ttime\tmsg/s\tpeak RSS\tCPU\tDovecot CPU\t\n")
	fmt.Fprintf(tw, "rsvp run (fresh store, until cursor = UID %d)\t%v\t%.0f\t%.1f MB\t%v\t%v\t\n", bf.lastUID, ms(rs.elapsed), rate, mb(rs.rss), ms(rs.cpu), ms(rs.dovecotCPU))
	fmt.Fprintf(tw, "raw UID FETCH, batches of %d (the limit, best of %d)\t%v\t%.0f\t-\t%v\t%v\t\n", batchSize, rawPasses, ms(bf.raw.elapsed), float64(bf.raw.messages)/bf.raw.elapsed.Seconds(), ms(bf.raw.cpu), ms(bf.raw.dovecotCPU))
	fmt.Fprintf(tw, "imapfilter, %d keyword SEARCHes (the peer)\t%v\t%.0f\t%.1f MB\t%v\t%v\t\n", 2*len(peerKeywords), ms(bf.peer.elapsed), float64(bf.messages)/bf.peer.elapsed.Seconds(), mb(bf.peer.peakRSS), ms(bf.peer.cpu), ms(bf.peer.dovecotCPU))
	tw.Flush()
	fmt.Fprintf(w, "  rsvp's parser and classifier alone, run here on the same fetched bytes: %v CPU for %d messages (%v a message); rsvp run used %v CPU\n",
		ms(bf.classifyTime), bf.messages, (bf.classifyTime / time.Duration(max(bf.messages, 1))).Round(10*time.Microsecond), ms(rs.cpu))
	fmt.Fprintf(w, "  raw fetch received %.0f MB (header + first %d KB of text); CPU: the process's user+system time; Dovecot CPU: all of Dovecot's processes', over the same time (a backfill's CPU is rsvp's and the server's, on the same CPUs here)\n",
		mb(bf.raw.bytes), bodyBytes>>10)
	var rss []string
	for _, v := range rs.rssAt {
		rss = append(rss, fmt.Sprintf("%.0f", mb(v)))
	}
	fmt.Fprintf(w, "  rsvp run RSS (MB) at each tenth of the mailbox: %s; host load average %s at start, %s at end\n",
		strings.Join(rss, " "), rs.load1[0], rs.load1[1])
	fmt.Fprintf(w, "  rsvp run timeline: rsvp started +%v, connected +%v, first invitation found +%v; stopped %v after SIGTERM\n",
		ms(rs.toStarted), ms(rs.toConnected), ms(rs.toFirstFound), ms(rs.stopTime))
	// The backfill goals hold for a backfill of goalMessages or more.
	judged := bf.messages >= goalMessages
	bfVerdict := func(ok bool) string {
		if !judged {
			return fmt.Sprintf("not judged (M=%d; the goal is for M=%d)", bf.messages, goalMessages)
		}
		return verdict(ok)
	}
	fmt.Fprintf(w, "  ratio rsvp/raw %.2f (goal ≤ %.1f) %s\n", ratio, goalRatio, bfVerdict(ratio <= goalRatio))
	fmt.Fprintf(w, "  ratio imapfilter/raw %.2f; rsvp/imapfilter %.2f\n", peerRatio, rs.elapsed.Seconds()/bf.peer.elapsed.Seconds())
	fmt.Fprintf(w, "  rsvp peak RSS %.1f MB (goal < %d MB) %s\n", mb(rs.rss), goalRSS>>20, bfVerdict(rs.rss < goalRSS))
	foundOK := rs.found == bf.expected && rs.stored == bf.expected && rs.flagged == bf.expected
	fmt.Fprintf(w, "  invitations: planted %d; rsvp's classifier run here on the fetched bytes says %d (%d planted not recognised, %d others recognised);\n",
		bf.planted, bf.expected, bf.plantedMissed, bf.extra)
	fmt.Fprintf(w, "               rsvp run found %d, stored %d, flagged %d: %s\n", rs.found, rs.stored, rs.flagged, check(foundOK))
	fmt.Fprintf(w, "  imapfilter matched %d (keywords %s, subject or body; not a classifier)\n", bf.peer.matched, strings.Join(peerKeywords, ", "))
	printProblems(w, rs.problems)

	goals := fP95 < goalFound && dP95 < goalDraft && (!judged || ratio <= goalRatio && rs.rss < goalRSS)
	scope := ""
	if !judged {
		scope = " (latency only: the backfill goals are for M=" + strconv.Itoa(goalMessages) + ")"
	}
	fmt.Fprintf(w, "\ngoals: %s%s; checks: %s; total run %v\n", verdict(goals), scope,
		check(foundOK && lat.drafts == lat.wantDrafts && lat.flagged == lat.wantDrafts), ms(r.elapsed))
	g := "met"
	switch {
	case !goals:
		g = "missed"
	case !judged:
		g = "latency-met"
	}
	fmt.Fprintf(w, "RESULT latency_p50=%v latency_p95=%v latency_max=%v idle_p50=%v draft_p50=%v draft_p95=%v backfill_rsvp=%v backfill_raw=%v ratio=%.2f imapfilter=%v imapfilter_ratio=%.2f rss_mb=%.1f cpu_rsvp=%v cpu_raw=%v dovecot_cpu_rsvp=%v dovecot_cpu_raw=%v msgs_per_s=%.0f found=%d expected=%d planted=%d messages=%d samples=%d goals=%s\n",
		ms(fP50), ms(fP95), ms(fMax), ms(percentile(lat.idle, 50)), ms(dP50), ms(dP95), ms(rs.elapsed), ms(bf.raw.elapsed), ratio,
		ms(bf.peer.elapsed), peerRatio, mb(rs.rss), ms(rs.cpu), ms(bf.raw.cpu), ms(rs.dovecotCPU), ms(bf.raw.dovecotCPU), rate, rs.found, bf.expected, bf.planted, bf.messages, len(lat.found), g)
}

func printProblems(w io.Writer, p []string) {
	if len(p) == 0 {
		return
	}
	fmt.Fprintf(w, "  rsvp logged %d warnings or errors; the first:\n", len(p))
	for _, l := range p[:min(5, len(p))] {
		fmt.Fprintf(w, "    %s\n", l)
	}
}
