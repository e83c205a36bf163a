// Package blocks renders every Slack message of pooltasks as Block Kit: the
// answers (task lists, task details, script output, errors, help, short
// notices) and what bot/notify posts unasked (digests, alerts, watches).
// bot/notify computes what to say; this package says it.
//
// Every function is pure: it takes plain Go values (the domain types, the
// view package's words for them, and small view structs) and returns the
// message's fallback text and its blocks.
// Whatever the input, the result stays within Slack's limits (50 blocks,
// 3000 characters per text object, 150 per header, 2000 per button value,
// 10 fields, 10 context elements); long content is cut with a visible note.
//
// Text that came from the Workspace API is never trusted: it is escaped for
// mrkdwn with Escape, sent as plain_text, or put in code spans and code
// blocks that it cannot break out of, so a script named "<!channel>" pings
// nobody.
package blocks
