// Package daemon is rsvp's main loop: it watches every configured account,
// finds invitations with the classifier, flags them, records them in the
// store, and writes the reply the user chose into Drafts exactly once.
//
// Each account runs in its own goroutine on its own connection:
//
//	connect ─► write drafts already decided ─► fetch what is new ─► wait
//	   ▲            (FindDraft, then SaveDraft)    (classify, record,      │
//	   │                                            flag, store cursor)    │
//	   └──── backoff on any error ◄──────────────────────────── new mail or
//	                                                            a decision
//
// Every step is recorded before the next one starts, so a daemon killed at
// any moment resumes where it stopped:
//
//   - An invitation is recorded (store.AddInvitations, idempotent by
//     Message-ID) before it is flagged, and the cursor moves past a message
//     only after that; a message fetched again is recognised, flagged again
//     (harmless) and never asked about twice. A batch's invitations are
//     flagged in one command, after all of them are recorded, and then one
//     write moves the cursor past the whole batch.
//   - A draft's Message-ID is derived from the invitation's
//     (drafter.DraftMessageID), and Drafts is searched for it before every
//     APPEND; the invitation is marked drafted only after the draft is
//     there. Killed between APPEND and recording, the next run finds the
//     draft and only records it.
//   - A UIDVALIDITY change (the mailbox was rebuilt) restarts the account
//     from the `since` window; invitations already known are matched by
//     Message-ID and keep their state.
//
// A catch-up is a pipeline: the next batch is fetched and parsed while
// this one is classified, and classified while the one before is recorded
// (see catchUp). Recording, flagging and the cursor stay in UID order on
// one goroutine.
//
// Decisions come from the store: `rsvp decide` in another process changes
// it, and the daemon notices within the store's poll interval (250 ms).
//
// Errors: a wrong password (mailbox.ErrAuth) is logged as such and retried
// slowly (Options.AuthRetry); anything else reconnects with capped,
// jittered exponential backoff. A malformed message is logged and skipped.
// Cancelling the context stops every account within a few seconds.
package daemon
