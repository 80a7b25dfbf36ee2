// Package notifier asks the user what to do about an interview invitation
// (decline, reschedule or ignore) and hands the answer back, whenever it
// comes: seconds later, hours later, or never.
//
// A Notifier shows a Question and later delivers an Answer on its Answers
// channel. Asking again with the same ID replaces the question rather than
// stacking a second one (a reminder is such a re-ask, with
// Question.Reminder set); Withdraw takes back a question answered some other
// way (`rsvp decide`). The caller keeps the truth about what is pending: a
// question that gets no answer is simply asked again later, so a notifier
// never has to remember anything across restarts to be correct.
//
// The backends:
//
//   - Desktop shows a freedesktop notification over D-Bus
//     (org.freedesktop.Notifications, Desktop Notifications Specification
//     1.2) with Decline, Reschedule and Ignore buttons. Clicking the body
//     (the "default" action) shows every detail and keeps the question open;
//     with decline reasons configured, Decline asks a follow-up "Reason for
//     declining?". Dismissing a question gives no answer. Signals are
//     believed only from the current owner of the service name, so another
//     program on the session bus cannot answer for the user. When the
//     notification server restarts, open questions are shown again on the
//     new one; when none runs, Ask fails with ErrUnavailable. With a
//     StateFile, a restarted daemon replaces the notifications it left on
//     screen, and a click on one of them still answers: an Answer may carry
//     the ID of a question asked by an earlier process.
//   - Command runs a program of the user's (a zenity or kdialog wrapper, a
//     chat bot) once per question, one at a time, with the question as JSON
//     on stdin, and reads the answer from its stdout.
//   - Terminal prints the question and reads the answer from a terminal,
//     for `rsvp demo` and for `rsvp run` in the foreground.
//   - Ntfy, for a headless install, pushes the question to a phone through
//     an ntfy server (https://ntfy.sh or a self-hosted one): a JSON publish
//     to the server root, with the access token, if any, as a Bearer token
//     (never logged). The message has three "http" action buttons, Decline,
//     Reschedule and Ignore (ntfy shows at most three, so a decline reason
//     other than the default is given with `rsvp decide ID decline --reason
//     R`), each a POST to PublicURL/answer/TOKEN/ACTION on a small HTTP
//     server rsvp runs on Listen (behind a reverse proxy, the path of
//     PublicURL may be kept or stripped). TOKEN is 160 random bits, new for
//     every question and good once: a second tap gets 410 Gone, an unknown
//     or expired token (30 days) 404, and neither answers. Asking again
//     kills the earlier link and reuses the message's sequence ID, so ntfy
//     2.16 or later replaces the notification in place on Android and the
//     web app, where Withdraw and an answer also clear it. Links die
//     with the process; the daemon asks again after a restart. An
//     unreachable or failing server (5xx, 429) gives ErrUnavailable; a
//     refusal (401, 403, 400: the token or the topic) a plain error. Anyone
//     who can read the topic can read and answer the questions: on a public
//     server pick a long random topic, or use access control, and serve the
//     callbacks over HTTPS.
//
// # Action keys
//
// The Desktop backend names its actions after the invitation ID, so a key
// is stable across re-asks and restarts and never collides with another
// application's: "decline:ID", "reschedule:ID", "ignore:ID" on a question,
// "reason-N:ID" on the follow-up (0 is the default reason, 1..3 the
// configured ones), and the specification's "default" for a click on the
// body.
//
// # Command protocol
//
// The program (Argv, run without a shell, in its own process group) gets
// the question as one JSON object on stdin:
//
//	{"id":"k3v7qzxa","account":"work","company":"Acme","role":"Go Engineer",
//	 "from_name":"Jane Doe","from_addr":"jane@acme.example",
//	 "reply_to":"jane@acme.example","subject":"Quick chat?",
//	 "received":"2026-03-02T09:15:00Z","times":["2026-03-05T14:00:00Z"],
//	 "why":["asks for a call"],"reminder":false}
//
// and, for shell scripts, the environment variables RSVP_ID, RSVP_SUMMARY
// and RSVP_BODY (the notification's text). It answers on stdout with either
// one line, ACTION [REASON...], case-insensitive ("decline", "Decline
// timing", the way `zenity --list` prints a choice), or a JSON object
// {"action":"decline","reason":"timing"}. An empty reason means the
// configured default. A non-zero exit, empty or unreadable output, or
// running past the timeout (the whole process group is killed) gives no
// answer and is logged with an excerpt of stderr.
package notifier
