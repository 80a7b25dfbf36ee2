// Package mailmsg reads one RFC 5322 message into the decoded form every other
// part of rsvp works on: headers with encoded words decoded (RFC 2047), the
// addresses parsed, the readable text of the body, and the first calendar
// invitation (RFC 5545) it carries.
//
// Reading is bounded. At most Options.MaxReadBytes of raw input are consumed,
// at most Options.MaxBodyBytes of decoded text are kept, and MIME parts nested
// deeper than Options.MaxDepth are skipped, so a 50 MB attachment or a
// 5,000-level multipart bomb costs the same few milliseconds as an ordinary
// message. Reading is also forgiving: an unknown charset or transfer encoding,
// a truncated part or a malformed address degrades to a best-effort value and
// never fails the whole message. Read only fails when there is no header at
// all.
//
// Text selection follows what a person reading the mail would see: the first
// inline text/plain part, or, when the message has only HTML, the HTML turned
// into plain text with a real HTML parser (golang.org/x/net/html).
package mailmsg
