// Package drafter writes the reply to an interview invitation: a short,
// polite plain-text message, correctly threaded, that the user reviews in
// their Drafts folder and sends themselves. It knows nothing of how drafts
// are stored; the caller passes in the message (mailmsg.Message) and the
// fields it extracted (first name, company, role, language).
//
// # What a reply says
//
// Replies follow the guidance rsvp is built on: thank the recruiter; state
// the decision clearly (a decline never says "maybe later"); give a brief,
// neutral reason or none; close warmly, keeping the door open where that
// fits. Never criticism, never over-explaining.
//
//   - decline, with one of the reasons Reasons lists (or a custom one from a
//     templates directory). When the interview is less than 48 hours away
//     (every upcoming proposed time is), the reply apologises for the short
//     notice.
//   - reschedule: interest stays explicit, the time the user cannot make is
//     named (in the user's zone), and three specific alternatives are
//     proposed from an Availability, on different days where possible,
//     never in the past or outside the working days and hours, computed in
//     wall-clock time so DST changes cannot shift them.
//   - ask-compensation: before going further, asks for the salary range,
//     naming the user's target when one is given.
//
// # The message
//
// Reply builds the header with go-message from structured values: From (the
// account), To (Reply-To, else From), "Re: " and the subject without piled-up
// prefixes (Re, AW, WG, Fwd, TR, RV, Réf., Re[2] …), In-Reply-To and
// References (RFC 5322 section 3.6.4), Date, a Message-ID on the account's
// domain (deterministic with Request.DeterministicID, see DraftMessageID),
// MIME-Version, text/plain; charset=utf-8; format=flowed (RFC 3676), and
// Content-Language. Control characters are stripped from every header
// value, so a display name or subject carrying CR/LF, raw or RFC 2047
// encoded, can never add a header field. Reply.WriteTo writes the message.
//
// # languages and register
//
// Built-in templates exist in English, German, French and Spanish; a reply
// is written in the invitation's language when a template exists, else in
// English. Dates, weekday and month names, time formats and zone names are
// localised ("Dienstag, 1. Dezember, 10:00–10:30 Uhr (MEZ)", "mardi 1er
// décembre, de 10h à 10h30 (CET)"). The reply mirrors the recruiter's form of
// address (see FormalityAuto): German Sie unless the recruiter wrote du,
// French vous unless tu, Spanish tú unless usted (tú is usual in Spanish tech
// recruiting; a recruiter who writes usted gets usted). Invitation.Formality
// overrides the detection.
//
// # Templates
//
// Templates are Go text/template files, one paragraph per line (rsvp wraps
// lines when writing the message). The layout, the same for the built-in
// set (drafter/templates) and for a user's templates directory, is
//
//	common.LANG.tmpl            shared {{define}} blocks
//	decline/REASON.LANG.tmpl    one per decline reason
//	reschedule.LANG.tmpl
//	ask-compensation.LANG.tmpl
//
// with LANG one of en, de, fr, es. A file in the directory replaces the
// built-in one of the same name; a decline/REASON file with a new REASON
// adds a reason, described by its leading {{/* comment */}}. Templates
// passed as text (from the config file) use the same names without .tmpl
// ("decline/timing.de") and win over files.
//
// Templates are executed with TemplateData. Each may be empty, so write
// {{if .FirstName}}…{{end}} or use the shared blocks: in every language
// common.LANG defines "greeting" ("Hi Sam," or "Hello,"), "the-role" ("the
// Staff Engineer role at Example Corp", degrading to "the opportunity at
// Example Corp" or "this opportunity"), "thanks", "late" (the short-notice
// apology when .Late), "wish" and "signoff"; the signature is added after
// the template's text. The function elide writes French elision: {{elide
// "de" .Role}} is "de Data Engineer" or "d'Engineering Manager".
//
// LoadTemplates parses every template and executes it with sample data,
// names known and unknown, so a mistake is reported as FILE:LINE: message
// when the templates are loaded, not when a reply is drafted. A rendered
// reply is checked as well: one that would contain "<no value>", "{{", "%!",
// a "[Company Name]" placeholder or an empty field ("Hi ,") is refused with
// ErrPlaceholder rather than drafted.
package drafter
