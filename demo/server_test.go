package demo

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	mbimap "github.com/rsvp-mail/rsvp/mailbox/imap"
)

func login(t *testing.T, srv *server) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(srv.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(srv.Username, srv.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// listed returns each listed mailbox with its attributes.
func listed(t *testing.T, c *imapclient.Client, opts *imap.ListOptions) map[string][]imap.MailboxAttr {
	t.Helper()
	list, err := c.List("", "*", opts).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]imap.MailboxAttr{}
	for _, l := range list {
		out[l.Mailbox] = l.Attrs
	}
	return out
}

func TestDemoServerListsSpecialUseAttributes(t *testing.T) {
	srv, err := startServer(nil, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := login(t, srv)
	if caps := c.Caps(); !caps.Has(imap.CapSpecialUse) || !caps.Has(imap.CapListExtended) {
		t.Errorf("capabilities %v lack SPECIAL-USE or LIST-EXTENDED", caps)
	}

	for _, tc := range []struct {
		name string
		opts *imap.ListOptions
		want map[string][]imap.MailboxAttr
	}{
		{"a plain LIST shows them", nil,
			map[string][]imap.MailboxAttr{"INBOX": nil, "Drafts": {imap.MailboxAttrDrafts}}},
		{"RETURN (SPECIAL-USE) shows them", &imap.ListOptions{ReturnSpecialUse: true},
			map[string][]imap.MailboxAttr{"INBOX": nil, "Drafts": {imap.MailboxAttrDrafts}}},
		{"LIST (SPECIAL-USE) selects only special-use mailboxes", &imap.ListOptions{SelectSpecialUse: true},
			map[string][]imap.MailboxAttr{"Drafts": {imap.MailboxAttrDrafts}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := listed(t, c, tc.opts); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("LIST = %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("CREATE with USE keeps the attribute through RENAME, DELETE drops it", func(t *testing.T) {
		if err := c.Create("Archive", &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttrArchive}}).Wait(); err != nil {
			t.Fatal(err)
		}
		if got := listed(t, c, nil)["Archive"]; !slices.Equal(got, []imap.MailboxAttr{imap.MailboxAttrArchive}) {
			t.Errorf("Archive listed with %v, want \\Archive", got)
		}
		if err := c.Rename("Archive", "Old", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := c.Subscribe("Old").Wait(); err != nil {
			t.Fatal(err)
		}
		got := listed(t, c, nil)
		if _, still := got["Archive"]; still || !slices.Equal(got["Old"], []imap.MailboxAttr{imap.MailboxAttrSubscribed, imap.MailboxAttrArchive}) {
			t.Errorf("after RENAME and SUBSCRIBE: %v, want Old with \\Subscribed \\Archive", got)
		}
		if err := c.Delete("Old").Wait(); err != nil {
			t.Fatal(err)
		}
		if _, still := listed(t, c, nil)["Old"]; still {
			t.Error("Old is still listed after DELETE")
		}
	})
}

// TestRsvpFindsDraftsByItsAttribute saves a draft with rsvp's IMAP backend
// told a Drafts name that does not exist: only the \Drafts attribute can
// lead it to the mailbox.
func TestDemoRsvpFindsDraftsByItsAttribute(t *testing.T) {
	srv, err := startServer(nil, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := mbimap.Dial(ctx, mbimap.Options{Addr: srv.Addr, Security: "plain", Username: srv.Username,
		Password: func() (string, error) { return srv.Password, nil }, DraftsName: "Entwürfe"})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const id = "test.1@example.net"
	raw := []byte("From: a@example.net\r\nTo: b@example.net\r\nSubject: Re: hi\r\nMessage-ID: <" + id + ">\r\n\r\nHello\r\n")
	if err := cl.SaveDraft(ctx, id, raw); err != nil {
		t.Fatalf("SaveDraft = %v, want it saved in the mailbox with \\Drafts", err)
	}
	if there, err := cl.FindDraft(ctx, id); err != nil || !there {
		t.Errorf("FindDraft = %v, %v; want true", there, err)
	}
	drafts, err := srv.messages(ctx, "Drafts")
	if err != nil {
		t.Fatal(err)
	}
	if len(drafts) != 1 || string(drafts[0].Raw) != string(raw) || !drafts[0].hasFlag(`\Draft`) {
		t.Errorf("Drafts holds %d messages (%v), want the one draft flagged \\Draft", len(drafts), drafts)
	}
}

func TestDemoLoginNeedsTheRunsPassword(t *testing.T) {
	srv, err := startServer(nil, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	other, err := startServer(nil, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if srv.Password == other.Password || len(srv.Password) < 16 {
		t.Fatalf("passwords %q and %q: want a fresh, long one per server", srv.Password, other.Password)
	}
	c, err := imapclient.DialInsecure(srv.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(srv.Username, other.Password).Wait(); err == nil {
		t.Error("LOGIN with another run's password succeeded")
	}
}

func TestDemoCompareInbox(t *testing.T) {
	msg := func(uid uint32, raw string, flags ...string) stored {
		return stored{UID: uid, Raw: []byte(raw), Flags: flags, InternalDate: time.Unix(1700000000, 0)}
	}
	before := []stored{msg(1, "a"), msg(2, "b", `\Flagged`), msg(3, "c")}
	invites := map[uint32]bool{1: true, 3: true}
	for _, tc := range []struct {
		name    string
		after   []stored
		flagged int
		changes []string
	}{
		{"nothing happened", before, 0, nil},
		{"the keyword on invitations is expected",
			[]stored{msg(1, "a", "$Interview"), msg(2, "b", `\Flagged`), msg(3, "c", "$interview")}, 2, nil},
		{"\\Seen is a change",
			[]stored{msg(1, "a", "$Interview", `\Seen`), msg(2, "b", `\Flagged`), msg(3, "c")}, 1, []string{`UID 1 gained \Seen`}},
		{"the keyword on other mail is a change",
			[]stored{msg(1, "a"), msg(2, "b", `\Flagged`, "$Interview"), msg(3, "c")}, 0, []string{"UID 2 gained $Interview"}},
		{"a lost flag, an edited and a missing message are changes",
			[]stored{msg(1, "A"), msg(2, "b")}, 0, []string{"UID 1: the message changed", `UID 2 lost \Flagged`, "UID 3 is gone"}},
		{"new mail is a change",
			append(slices.Clone(before), msg(4, "d")), 0, []string{"UID 4 is new"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flagged, changes := compareInbox(before, tc.after, "$Interview", invites)
			if flagged != tc.flagged || !slices.Equal(changes, tc.changes) {
				t.Errorf("compareInbox = %d, %q; want %d, %q", flagged, changes, tc.flagged, tc.changes)
			}
		})
	}
}
