// Package notify posts what pooltasks says without being asked, in the
// packages below it:
//
//   - digest: failure digests, on a schedule and on demand;
//   - alert: a post for each task that newly failed;
//   - watch: live watches of one task;
//   - watchapi: the internal API through which the processes that answer
//     commands hand watches to the one that runs them;
//   - state: the file store of what must survive a restart (digest
//     watermarks, alerted task ids, active watches); each scheduler
//     declares the Store it needs, so another store can take its place;
//   - loop: what the background loops share (Deps, the paced Slack poster,
//     the backoff, the Health that /readyz and the metrics show).
//
// Notifier hands the bot's watch, digest and Stop button to a Watches and
// a Digester.
//
// Wiring, in cmd/: open a state.Store on POOLTASKS_STATE_DIR, wrap the
// Slack client (built with slack.OptionRetry) with loop.NewSlackPoster,
// fill one loop.Deps (the workspace client as Lister, a loop.Health whose
// Err answers /readyz), build a Digester, an Alerter and a Watches with it
// and start their Run methods in the one process that runs schedules
// (Watches.Run in every process that runs watches). Run ends only with its
// ctx: a failing step is retried with backoff and shown in Health. What
// they log for a request, they log with its ctx, so the request's fields
// (see bot.NewLogHandler) reach those lines.
package notify
