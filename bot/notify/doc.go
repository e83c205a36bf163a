// Package notify posts what pooltasks says without being asked: scheduled
// failure digests, alerts for newly failed tasks and live watches of one
// task. What must survive a restart (digest watermarks, alerted task ids,
// active watches) it keeps in a store it declares an interface for
// (DigestStore, AlertStore, WatchStore; package state has the file one),
// and it paces its posts to Slack's one message per second per channel.
//
// Wiring, in cmd/: open a state.Store on POOLTASKS_STATE_DIR, wrap the
// Slack client (built with slack.OptionRetry) with NewSlackPoster, and fill
// one Deps (the workspace client as Lister, which also applies the one
// pool rule; a Health whose Err answers /readyz); build a Digester, an Alerter and a
// Watches with it and start their Run methods in the one process that runs
// schedules (Watches.Run in every process that runs watches). Run ends only
// with its ctx: a failing step is retried with backoff and shown in Health.
//
// Every digest takes one path, Digester.Collect (resolve the pools,
// read the window, sum up): the schedule and `pooltasks digest` post it
// with Digester.Post, `/pooltasks digest` gets it through Notifier.Digest.
// The bot core calls Watches.Start and Watches.Stop (through Notifier) for
// `/pooltasks watch` and the Stop button. With several processes, one (the
// scheduler) runs every watch and serves watchapi.Handler; the others
// forward to it with watchapi.Remote, so watches live where their state is
// kept. What they log for a request, they log with its ctx, so the
// request's fields (see bot.NewLogHandler) reach those lines.
package notify
