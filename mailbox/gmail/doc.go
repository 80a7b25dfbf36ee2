// Package gmail is the Gmail API backend of package mailbox, built on the
// generated client google.golang.org/api/gmail/v1.
//
// A Client watches the INBOX of one account through an *http.Client that
// carries the OAuth token (oauth2.NewClient with a source from package
// oauth; scope gmail.modify). It implements mailbox.Mailbox and
// mailbox.Watcher.
//
// # Reading new mail
//
// The cursor is opaque to the caller; its Token takes two forms:
//
//	"H:T"          steady state: history id H; T is the newest internalDate
//	               handed out (Unix seconds, 0 when unknown). A plain "H"
//	               is read as "H:0".
//	"sync:H:A:N"   a listing in progress: N messages of the inbox listing
//	               "in:inbox after:A" handed out so far; H is the history
//	               id read before the listing started.
//
// On first start (empty Token) the client reads the current history id with
// users.getProfile first, then lists "in:inbox after:<firstStart>", so mail
// that arrives during the listing is found by the history that follows.
// The listing is handed out oldest first, BatchSize at a time. Afterwards
// each Fetch calls users.history.list from H with historyTypes=messageAdded
// and labelId=INBOX, and gets each new message once with format=raw.
// Messages labelled DRAFT or SENT (rsvp's own drafts, the user's own mail)
// are skipped. Only the header and the first BodyBytes of the body are
// kept, as the IMAP backend does, and parsed with mailmsg.Read.
//
// Gmail keeps history for about a week. When history.list answers 404 for
// an expired history id, the client resyncs: it lists the inbox again from
// one second before the newest internalDate it handed out (T), or from
// firstStart when T is unknown, and logs that it did. Messages may be
// handed out twice then, and after a restart in the middle of a listing;
// the caller's idempotency by Message-ID absorbs the repeats. None is lost.
//
// # Changes to the mailbox
//
// The client only ever adds one label to invitations (users.messages.modify
// with addLabelIds; the label is created when missing and found by name
// case-insensitively) and creates drafts (users.drafts.create). It never
// sends, deletes, trashes, or removes a label. A draft is put in the thread
// of the message it answers: the thread id comes from the messages this
// client handed out, or from users.messages.list with q=rfc822msgid:<the
// draft's In-Reply-To>. FindDraft searches drafts by Message-ID
// (users.drafts.list q=rfc822msgid:), so a draft saved before a crash is
// found, not written twice.
//
// # Errors and quota
//
// A 401, a token the token endpoint refuses (oauth.ErrInvalidGrant among
// them) or a 403 for missing permissions gives an error matching
// mailbox.ErrAuth. 429, 403 rateLimitExceeded or userRateLimitExceeded,
// 5xx and transport errors are retried inside the call, up to MaxRetries
// times, with jittered exponential backoff that honours Retry-After; then
// the error is returned. A drafts.create that may have reached the server
// is never repeated blindly: the retry first looks for the draft.
//
// In steady state one poll costs 2 quota units (history.list); each new
// message costs 5 more (messages.get), and flagging an invitation 5
// (messages.modify).
package gmail
