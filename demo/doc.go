// Package demo is `rsvp demo`: the whole loop on an embedded inbox, with no
// setup and no network, for a newcomer's first minute.
//
// Run starts an IMAP server inside the process (go-imap's imapserver with
// imapmemserver's mailboxes) on a loopback port, with one user whose INBOX
// holds the dozen messages of inbox/ (invitations in four languages,
// look-alikes, ordinary mail; inbox/labels.json says which is which and
// where each came from) and a Drafts mailbox with the \Drafts special-use
// attribute. It then runs the real daemon on it, configured by the
// embedded config.yaml through config.Parse, with a store in a temporary
// directory that is removed afterwards: the user's own config, state and
// mail are never touched.
//
// The user answers on the terminal (notifier.Terminal), or, with Yes, every
// invitation is declined at once. Each draft is printed as the server holds
// it in Drafts, right after it is saved and before the next question; a
// summary ends the run, counting what the daemon read, found, drafted and
// ignored, and checking INBOX against its state at the start.
package demo
