package notify

import (
	"context"
	"errors"

	"github.com/pooltasks/pooltasks/bot/notify/digest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/notify/watch"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/slack-go/slack"
)

// Notifier adapts Watches and a Digester to the bot core's Notifier
// interface (bot.Watcher and bot.Digester), so cmd wires them with one value:
// &notify.Notifier{Watches: w, Digester: d}.
type Notifier struct {
	Watches  *watch.Watches
	Digester *digest.Digester
}

// StartWatch starts a watch for `/pooltasks watch TASK_ID`.
func (n *Notifier) StartWatch(ctx context.Context, taskID, target, channel, threadTS, userID string) (string, error) {
	if n.Watches == nil {
		return "", errors.New("watches are not enabled")
	}
	return n.Watches.Start(ctx, watch.Request{TaskID: taskID, Target: target, Channel: channel, ThreadTS: threadTS, UserID: userID})
}

// ActedOnWatch records on the watch whose message is at ts in channel the
// action taken on that message, which its later updates keep showing; it
// reports whether a watch running here has that message.
func (n *Notifier) ActedOnWatch(ctx context.Context, channel, ts string, a state.WatchAct) bool {
	return n.Watches != nil && n.Watches.Acted(ctx, channel, ts, a)
}

// StopWatch ends a watch at its Stop button.
func (n *Notifier) StopWatch(watchID, userID string) error {
	if n.Watches == nil {
		return watch.ErrWatchNotFound
	}
	return n.Watches.Stop(watchID, userID)
}

// Digest collects the failure digest of q's window [q.Start, q.End), limited
// to q's script, script name and task type and to pools (ids or names; all
// when empty), for `/pooltasks digest` (see Digester.Collect): the bot
// renders and delivers it like any answer (native says whether chart
// blocks may be used). It is never quiet.
func (n *Notifier) Digest(ctx context.Context, q pooltask.ListOptions, pools []string) (func(native bool) (string, []slack.Block), error) {
	if n.Digester == nil {
		return nil, errors.New("digests are not enabled")
	}
	dg, err := n.Digester.Collect(ctx, q, pools)
	if err != nil {
		return nil, err
	}
	return func(native bool) (string, []slack.Block) {
		m := dg.Render(native)
		return m.Text, m.Blocks
	}, nil
}
