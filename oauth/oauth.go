// Package oauth signs rsvp in to a Google account with OAuth 2.0 and keeps
// the resulting token fresh on disk.
//
// `rsvp auth` runs Authorize: the installed-app flow of RFC 8252 with a
// loopback redirect on 127.0.0.1 and a random port, PKCE with S256
// (RFC 7636), a random state checked on the way back (RFC 6749 §10.12), and
// access_type=offline with prompt=consent so that Google returns a refresh
// token. The token is written to a file of mode 0600 the safe way: a
// temporary file in the same directory, fsync, rename, fsync of the
// directory.
//
// The daemon calls TokenSource (or NewTokenSource) to get an
// oauth2.TokenSource that refreshes the access token when it expires and
// writes every new token back to the file. When Google refuses the refresh
// token (invalid_grant: the user revoked access, changed the password, or
// the OAuth app is in "Testing" status, whose refresh tokens expire after
// seven days) the error matches ErrInvalidGrant and tells the user to run
// `rsvp auth` again.
//
// The client ID and secret come from the client_secret.json the Google
// Cloud console offers for download (LoadClientSecret). CheckFiles checks
// both files for `rsvp check-config`.
package oauth

// OAuth scopes rsvp asks for.
const (
	// ScopeGmailModify is enough for the Gmail API backend: read mail, add
	// a label, and create drafts. It cannot delete mail permanently.
	ScopeGmailModify = "https://www.googleapis.com/auth/gmail.modify"
	// ScopeIMAP is the scope Google requires for IMAP with XOAUTH2.
	ScopeIMAP = "https://mail.google.com/"
)
