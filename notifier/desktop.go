package notifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// D-Bus names of the Desktop Notifications Specification.
const (
	notifyService   = "org.freedesktop.Notifications"
	notifyPath      = dbus.ObjectPath("/org/freedesktop/Notifications")
	notifyInterface = "org.freedesktop.Notifications"

	busService = "org.freedesktop.DBus"
)

// callTimeout bounds each D-Bus call, so a hung notification server delays
// an Ask rather than blocking the daemon.
const callTimeout = 10 * time.Second

// DefaultAppName is the application name notifications carry.
const DefaultAppName = "rsvp"

// MaxReasons is how many decline reasons the follow-up notification offers
// (besides the default): notification servers show few buttons.
const MaxReasons = 3

// DesktopOptions configures NewDesktop. The zero value works.
type DesktopOptions struct {
	// Conn is the session bus connection to use; it stays open on Close.
	// Nil connects to $DBUS_SESSION_BUS_ADDRESS, else
	// unix:path=$XDG_RUNTIME_DIR/bus. A Conn of the caller's should
	// deliver signals in order (dbus.WithSignalHandler(
	// dbus.NewSequentialSignalHandler())).
	Conn *dbus.Conn
	// Reasons are up to MaxReasons decline reasons offered by a follow-up
	// notification after Decline ("Reason for declining?"); the answer's
	// Reason is the one chosen, "" for the default. Empty: no follow-up.
	Reasons []string
	// StateFile, if set, keeps which notification shows which question, so
	// that after a restart asking again replaces the notification left on
	// screen (replaces_id) and a click on it still answers.
	StateFile string
	// Logger receives what went wrong and what the user did; nil discards.
	Logger *slog.Logger
	// AppName is the application name shown by the server; "" means
	// DefaultAppName.
	AppName string
	// Icon is an icon name or file URI; "" means "mail-unread".
	Icon string
}

// stage is what the notification showing a question offers.
type stage int

const (
	stageQuestion stage = iota // the three buttons
	stageDetails               // the same buttons, with every detail
	stageReason                // the decline reasons
)

// shown is one open question and the notification that shows it.
type shown struct {
	q Question
	// restored: known only from StateFile (shown by an earlier process), so
	// its content is unknown until the question is asked again.
	restored bool
	note     uint32 // notification id, 0 when not shown
	server   string // unique bus name of the server that shows note
	stage    stage
}

// Desktop asks with freedesktop notifications over D-Bus. See the package
// documentation for what it shows and how it treats the server's signals.
type Desktop struct {
	conn    *dbus.Conn
	ownConn bool
	svc     dbus.BusObject
	log     *slog.Logger
	app     string
	icon    string
	reasons []string
	state   string
	busID   string
	matches [][]dbus.MatchOption
	sigs    chan *dbus.Signal
	out     *outbox

	quit      chan struct{}
	loopDone  chan struct{}
	closeOnce sync.Once

	// mu is held across D-Bus calls that change what is shown, so that a
	// signal about a notification is handled only after the call that
	// created it has been recorded.
	mu        sync.Mutex
	closed    bool
	owner     string // unique name owning notifyService, "" when none
	caps      map[string]bool
	capsOwner string // the owner caps were asked from
	questions map[string]*shown
	notes     map[uint32]*shown // by notification id
	outage    bool              // an Ask failed for want of a server and that was logged
}

var _ Notifier = (*Desktop)(nil)

// NewDesktop connects to the session bus and starts following the
// notification server. It succeeds when no notification server runs (Ask
// then fails with ErrUnavailable until one starts); it fails, with
// ErrUnavailable, when there is no session bus. ctx bounds the setup only.
func NewDesktop(ctx context.Context, opts DesktopOptions) (*Desktop, error) {
	if len(opts.Reasons) > MaxReasons {
		return nil, fmt.Errorf("notifier: %d decline reasons given, at most %d fit on a notification", len(opts.Reasons), MaxReasons)
	}
	for i, r := range opts.Reasons {
		if strings.TrimSpace(r) == "" {
			return nil, fmt.Errorf("notifier: decline reason %d is empty", i+1)
		}
	}
	d := &Desktop{
		conn:      opts.Conn,
		log:       opts.Logger,
		app:       opts.AppName,
		icon:      opts.Icon,
		reasons:   slices.Clone(opts.Reasons),
		state:     opts.StateFile,
		sigs:      make(chan *dbus.Signal, 64),
		quit:      make(chan struct{}),
		loopDone:  make(chan struct{}),
		questions: map[string]*shown{},
		notes:     map[uint32]*shown{},
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.app == "" {
		d.app = DefaultAppName
	}
	if d.icon == "" {
		d.icon = "mail-unread"
	}
	if d.conn == nil {
		addr, err := sessionBusAddress()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		d.conn, err = dbus.Connect(addr, dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
		if err != nil {
			return nil, fmt.Errorf("%w: connect to the session bus at %s: %v", ErrUnavailable, addr, err)
		}
		d.ownConn = true
	}
	d.svc = d.conn.Object(notifyService, notifyPath)
	if err := d.setup(ctx); err != nil {
		d.teardown()
		return nil, err
	}
	d.out = newOutbox()
	go d.loop()
	return d, nil
}

func sessionBusAddress() (string, error) {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" {
		return a, nil
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		p := filepath.Join(dir, "bus")
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return "unix:path=" + dbus.EscapeBusAddressValue(p), nil
		}
	}
	return "", errors.New("no session bus: DBUS_SESSION_BUS_ADDRESS is not set and there is no $XDG_RUNTIME_DIR/bus")
}

// setup subscribes to the signals, learns the bus and the server, and
// restores the notifications of an earlier process from the state file.
func (d *Desktop) setup(ctx context.Context) error {
	// Subscribe before asking who owns the name, so that no change is
	// missed in between. The notification signals are matched on path and
	// interface only, not on sender: their sender is checked here against
	// the owner, which also covers signals sent directly to this
	// connection, which no match rule filters.
	d.matches = [][]dbus.MatchOption{
		{
			dbus.WithMatchSender(busService), dbus.WithMatchInterface(busService),
			dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, notifyService),
		},
		{dbus.WithMatchInterface(notifyInterface), dbus.WithMatchObjectPath(notifyPath)},
	}
	d.conn.Signal(d.sigs)
	for _, m := range d.matches {
		if err := d.conn.AddMatchSignalContext(ctx, m...); err != nil {
			return fmt.Errorf("notifier: subscribe to notification signals: %w", err)
		}
	}
	// The bus id tells this bus from a later one (after a logout) whose
	// servers may have the same unique names.
	if err := d.conn.BusObject().CallWithContext(ctx, busService+".GetId", 0).Store(&d.busID); err != nil {
		return fmt.Errorf("notifier: get the bus id: %w", err)
	}
	owner, err := d.nameOwner(ctx)
	if err != nil {
		return err
	}
	d.owner = owner
	d.restore()
	return nil
}

// teardown undoes setup's subscriptions and closes an own connection.
func (d *Desktop) teardown() {
	if d.ownConn {
		d.conn.Close()
		return
	}
	d.conn.RemoveSignal(d.sigs)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	for _, m := range d.matches {
		d.conn.RemoveMatchSignalContext(ctx, m...)
	}
}

// nameOwner returns the unique name owning the notification service, or
// "" when nobody does. It never starts a server.
func (d *Desktop) nameOwner(ctx context.Context) (string, error) {
	var owner string
	err := d.conn.BusObject().CallWithContext(ctx, busService+".GetNameOwner", 0, notifyService).Store(&owner)
	if err != nil {
		if errName(err) == "org.freedesktop.DBus.Error.NameHasNoOwner" {
			return "", nil
		}
		return "", fmt.Errorf("notifier: who owns %s: %w", notifyService, err)
	}
	return owner, nil
}

// Ask shows q as a notification, replacing the one that showed an earlier
// question with the same ID.
func (d *Desktop) Ask(ctx context.Context, q Question) error {
	if err := checkID(q.ID); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	prev := d.questions[q.ID]
	var note, replaces uint32
	for attempt := 0; ; attempt++ {
		caps, err := d.capabilities(ctx)
		if err != nil {
			return d.askFailed(q.ID, err)
		}
		replaces = 0
		if prev != nil && prev.server == d.owner {
			replaces = prev.note
		}
		summary, body, acts := d.question(q, caps, false)
		note, err = d.notify(ctx, replaces, summary, body, acts)
		if err == nil {
			break
		}
		if attempt > 0 || !isUnavailable(err) {
			return d.askFailed(q.ID, err)
		}
		// The server quit since it was last seen: ask its successor, if any.
		if d.owner, err = d.nameOwner(ctx); err != nil {
			return d.askFailed(q.ID, err)
		}
	}
	if d.outage {
		d.outage = false
		d.log.Info("notification server is available again")
	}
	if prev == nil {
		prev = &shown{}
		d.questions[q.ID] = prev
	}
	d.unmap(prev)
	*prev = shown{q: q, note: note, server: d.owner, stage: stageQuestion}
	d.notes[note] = prev
	d.save()
	d.log.Debug("question shown", "id", q.ID, "notification_id", note, "replaces_id", replaces)
	return nil
}

// askFailed classifies a failed Ask, logging a missing server once per
// outage rather than once per question.
func (d *Desktop) askFailed(id string, err error) error {
	if !isUnavailable(err) {
		return fmt.Errorf("notifier: ask %s: %w", id, err)
	}
	if !d.outage {
		d.outage = true
		d.log.Warn("no notification server on the session bus; questions wait until one starts", "error", err)
	}
	return fmt.Errorf("ask %s: %w: %w", id, ErrUnavailable, err)
}

// Withdraw closes the notification that shows question id.
func (d *Desktop) Withdraw(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.questions[id]
	if s == nil || d.closed {
		return nil
	}
	delete(d.questions, id)
	d.unmap(s)
	d.save()
	// Addressed to the server that showed it; if that one is gone, so is
	// the notification.
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := d.closeNote(ctx, s.server, s.note); err != nil && !isUnavailable(err) {
		return fmt.Errorf("notifier: withdraw %s: %w", id, err)
	}
	return nil
}

// Answers delivers the user's clicks.
func (d *Desktop) Answers() <-chan Answer { return d.out.ch }

// Close stops following the server and closes the Answers channel. The
// notifications stay on screen: a restarted daemon asks again and, with a
// StateFile, replaces them.
func (d *Desktop) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		close(d.quit)
		<-d.loopDone
		d.teardown()
		d.out.close()
	})
	return nil
}

func (d *Desktop) loop() {
	defer close(d.loopDone)
	for {
		select {
		case <-d.quit:
			return
		case sig, ok := <-d.sigs:
			if !ok {
				d.log.Error("lost the session bus connection; desktop notifications are unavailable")
				return
			}
			d.handle(sig)
		}
	}
}

func (d *Desktop) handle(sig *dbus.Signal) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	switch sig.Name {
	case busService + ".NameOwnerChanged":
		var name, oldOwner, newOwner string
		if sig.Sender != busService || dbus.Store(sig.Body, &name, &oldOwner, &newOwner) != nil || name != notifyService {
			return
		}
		d.ownerChanged(newOwner)
	case notifyInterface + ".ActionInvoked":
		var id uint32
		var key string
		if !d.fromServer(sig) || dbus.Store(sig.Body, &id, &key) != nil {
			return
		}
		d.actionInvoked(id, key)
	case notifyInterface + ".NotificationClosed":
		var id, reason uint32
		if !d.fromServer(sig) || dbus.Store(sig.Body, &id, &reason) != nil {
			return
		}
		d.notificationClosed(id, reason)
	}
}

// fromServer reports whether sig comes from the current owner of the
// notification service. Anyone on the session bus can emit an
// ActionInvoked that looks right; only the server's is the user's click.
func (d *Desktop) fromServer(sig *dbus.Signal) bool {
	if sig.Sender != "" && sig.Sender == d.owner {
		return true
	}
	d.log.Warn("ignoring a notification signal that does not come from the notification server",
		"signal", sig.Name, "sender", sig.Sender, "server", d.owner)
	return false
}

// ownerChanged follows the notification server: when a new one starts, the
// open questions are shown on it (the old server's notifications are gone).
func (d *Desktop) ownerChanged(owner string) {
	d.owner = owner
	if owner == "" {
		d.log.Info("notification server left; open questions are shown again when one starts", "open", len(d.questions))
		return
	}
	if d.outage {
		d.outage = false
		d.log.Info("notification server is available again")
	}
	// Questions shown by another server are gone with it. Those an Ask
	// already showed on this one (it can learn of the new owner first) stay.
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var caps map[string]bool
	changed := false
	for _, id := range slices.Sorted(maps.Keys(d.questions)) {
		s := d.questions[id]
		if s.server == owner {
			continue
		}
		changed = true
		d.unmap(s)
		if s.restored {
			delete(d.questions, id)
			continue
		}
		if caps == nil {
			var err error
			if caps, err = d.capabilities(ctx); err != nil {
				d.log.Warn("cannot show open questions on the new notification server", "error", err)
				break
			}
		}
		summary, body, acts := d.question(s.q, caps, false)
		note, err := d.notify(ctx, 0, summary, body, acts)
		if err != nil {
			d.log.Warn("cannot show a question on the new notification server", "id", id, "error", err)
			continue
		}
		s.note, s.server, s.stage = note, owner, stageQuestion
		d.notes[note] = s
		d.log.Info("question shown again on the new notification server", "id", id, "notification_id", note)
	}
	if changed {
		d.save()
	}
}

func (d *Desktop) actionInvoked(note uint32, key string) {
	s := d.notes[note]
	if s == nil || s.server != d.owner {
		return
	}
	if key == "default" {
		if s.stage != stageReason && !s.restored {
			d.showDetails(s)
		}
		return
	}
	action, id, ok := strings.Cut(key, ":")
	if !ok || id != s.q.ID {
		return
	}
	if s.stage == stageReason {
		n, err := strconv.Atoi(strings.TrimPrefix(action, "reason-"))
		if !strings.HasPrefix(action, "reason-") || err != nil || n < 0 || n > len(d.reasons) {
			return
		}
		reason := ""
		if n > 0 {
			reason = d.reasons[n-1]
		}
		d.answer(s, ActionDecline, reason, true)
		return
	}
	switch action {
	case ActionDecline:
		if len(d.reasons) > 0 {
			d.askReason(s)
			return
		}
		d.answer(s, action, "", true)
	case ActionReschedule, ActionIgnore:
		d.answer(s, action, "", true)
	}
}

func (d *Desktop) notificationClosed(note uint32, reason uint32) {
	s := d.notes[note]
	if s == nil || s.server != d.owner {
		return
	}
	if s.stage == stageReason {
		// The user chose Decline and then closed the reasons.
		d.answer(s, ActionDecline, "", false)
		return
	}
	delete(d.questions, s.q.ID)
	d.unmap(s)
	d.save()
	d.log.Info("question dismissed without an answer; it stays pending", "id", s.q.ID, "close_reason", reason)
}

// answer delivers the user's choice and takes the question off the screen
// (resident notifications stay after a click).
func (d *Desktop) answer(s *shown, action, reason string, closeNote bool) {
	delete(d.questions, s.q.ID)
	d.unmap(s)
	d.save()
	d.out.push(Answer{ID: s.q.ID, Action: action, Reason: reason})
	d.log.Info("answered", "id", s.q.ID, "action", action, "reason", reason)
	if closeNote {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		if err := d.closeNote(ctx, s.server, s.note); err != nil {
			d.log.Debug("close answered notification", "id", s.q.ID, "error", err)
		}
	}
}

// showDetails shows everything about the question, with the same buttons,
// in a new notification that takes the old one's place. A new one rather
// than a replacement: a server that closes a notification after a click
// (ignoring "resident") would otherwise close the details too.
func (d *Desktop) showDetails(s *shown) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	caps, err := d.capabilities(ctx)
	if err != nil {
		d.log.Warn("cannot show details", "id", s.q.ID, "error", err)
		return
	}
	summary, body, acts := d.question(s.q, caps, true)
	d.replaceNote(ctx, s, stageDetails, summary, body, acts)
}

// askReason replaces the question with the decline reasons. If that cannot
// be shown, the click still counts: decline with the default reason.
func (d *Desktop) askReason(s *shown) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	caps, err := d.capabilities(ctx)
	if err == nil {
		acts := []string{"reason-0:" + s.q.ID, "No reason / default"}
		for i, r := range d.reasons {
			acts = append(acts, "reason-"+strconv.Itoa(i+1)+":"+s.q.ID, r)
		}
		body := reasonBody(s.q, textOptions{markup: caps["body-markup"]})
		if d.replaceNote(ctx, s, stageReason, "Reason for declining?", body, acts) {
			return
		}
	}
	d.answer(s, ActionDecline, "", true)
}

// replaceNote shows s in a new notification and closes the old one.
func (d *Desktop) replaceNote(ctx context.Context, s *shown, st stage, summary, body string, acts []string) bool {
	note, err := d.notify(ctx, 0, summary, body, acts)
	if err != nil {
		d.log.Warn("cannot show a notification", "id", s.q.ID, "error", err)
		return false
	}
	old, oldServer := s.note, s.server
	d.unmap(s)
	s.note, s.server, s.stage = note, d.owner, st
	d.notes[note] = s
	d.save()
	if err := d.closeNote(ctx, oldServer, old); err != nil {
		d.log.Debug("close replaced notification", "id", s.q.ID, "error", err)
	}
	return true
}

// unmap forgets s's notification id, so that signals about it are ignored.
func (d *Desktop) unmap(s *shown) {
	if d.notes[s.note] == s {
		delete(d.notes, s.note)
	}
}

// question is the text and actions of q's notification, short or detailed.
func (d *Desktop) question(q Question, caps map[string]bool, details bool) (summary, body string, acts []string) {
	buttons := caps["actions"]
	o := textOptions{markup: caps["body-markup"], howToAnswer: !buttons}
	summary = summaryOf(q)
	if details {
		body = detailsOf(q, o)
	} else {
		body = bodyOf(q, o)
	}
	if buttons {
		acts = []string{
			ActionDecline + ":" + q.ID, "Decline",
			ActionReschedule + ":" + q.ID, "Reschedule",
			ActionIgnore + ":" + q.ID, "Ignore",
			"default", "Details",
		}
	}
	return summary, body, acts
}

// capabilities returns the current server's capabilities, asking once per
// server. When no server is known, the first call goes to the well-known
// name, which may start a D-Bus activatable server; its unique name is
// then looked up, as its NameOwnerChanged may still be on its way.
func (d *Desktop) capabilities(ctx context.Context) (map[string]bool, error) {
	if d.owner != "" && d.capsOwner == d.owner {
		return d.caps, nil
	}
	var list []string
	if d.owner == "" {
		if err := d.svc.CallWithContext(ctx, notifyInterface+".GetCapabilities", 0).Store(&list); err != nil {
			return nil, err
		}
		owner, err := d.nameOwner(ctx)
		if err != nil {
			return nil, err
		}
		if owner == "" {
			return nil, errNoOwner
		}
		d.owner = owner
	} else if err := d.server().CallWithContext(ctx, notifyInterface+".GetCapabilities", 0).Store(&list); err != nil {
		return nil, err
	}
	d.caps = map[string]bool{}
	for _, c := range list {
		d.caps[c] = true
	}
	d.capsOwner = d.owner
	return d.caps, nil
}

// errNoOwner: a server answered and was gone right after.
var errNoOwner = errors.New("the notification server left")

// server is the current notification server, addressed by its unique name
// rather than the well-known one, so that a notification is known to be
// shown by the server whose signals are then believed.
func (d *Desktop) server() dbus.BusObject { return d.conn.Object(d.owner, notifyPath) }

func (d *Desktop) notify(ctx context.Context, replaces uint32, summary, body string, acts []string) (uint32, error) {
	if acts == nil {
		acts = []string{}
	}
	hints := map[string]dbus.Variant{
		// Stay after a click until rsvp closes it, and never expire: an
		// unanswered invitation is still waiting.
		"resident": dbus.MakeVariant(true),
		"urgency":  dbus.MakeVariant(byte(1)), // normal
		"category": dbus.MakeVariant("email.arrived"),
	}
	var id uint32
	err := d.server().CallWithContext(ctx, notifyInterface+".Notify", 0,
		d.app, replaces, d.icon, summary, body, acts, hints, int32(0)).Store(&id)
	if err != nil {
		return 0, err
	}
	return id, nil
}

// closeNote closes notification note of server.
func (d *Desktop) closeNote(ctx context.Context, server string, note uint32) error {
	if note == 0 || server == "" {
		return nil
	}
	return d.conn.Object(server, notifyPath).CallWithContext(ctx, notifyInterface+".CloseNotification", 0, note).Err
}

// errName is the D-Bus error name of err, or "".
func errName(err error) string {
	var e dbus.Error
	if errors.As(err, &e) {
		return e.Name
	}
	var pe *dbus.Error
	if errors.As(err, &pe) {
		return pe.Name
	}
	return ""
}

// isUnavailable reports whether err means nobody serves notifications.
func isUnavailable(err error) bool {
	switch errName(err) {
	case "org.freedesktop.DBus.Error.ServiceUnknown",
		"org.freedesktop.DBus.Error.NameHasNoOwner",
		// The server quit while the call was pending.
		"org.freedesktop.DBus.Error.NoReply":
		return true
	}
	return errors.Is(err, dbus.ErrClosed) || errors.Is(err, errNoOwner)
}

// Alert implements Alerter: a plain notification without buttons.
func (d *Desktop) Alert(ctx context.Context, summary, body string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	caps, err := d.capabilities(ctx)
	if err != nil {
		return d.askFailed("alert", err)
	}
	if caps["body-markup"] {
		body = markupEscaper.Replace(body)
	}
	_, err = d.notify(ctx, 0, summary, body, nil)
	return err
}
