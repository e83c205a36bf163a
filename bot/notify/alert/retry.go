package alert

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pooltasks/pooltasks/act"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
)

// A retry taken from an alert's root (bot/act.go) starts a task that is
// watched in the root's thread. How it ends is told on the root, once:
//
//   - the watch that follows it tells Retries when it ends (watch.Config's
//     Ended): no call of its own, the watch read the task already;
//   - a retry no saved watch follows (stopped with Stop watching, past
//     POOLTASKS_WATCH_MAX, never started, or its end not recorded because
//     the store failed) is read by id at each poll of the alert's route
//     until it ended (one call per such retry per poll, for the horizon).
//
// Both record the end in the alert's state first (the first record wins),
// and the one that recorded it edits the root, then records that the root
// shows it. A root whose end is recorded but not shown (a crash, or an
// edit Slack refused) is edited by the alerter once no watch follows the
// retry: at most once more, with the same words.

// RetryStore is what telling a retry's end needs; the state stores have it.
type RetryStore interface {
	UpdateAlert(ctx context.Context, channel, ts string, change func(*pooltask.Alert) bool) (pooltask.Alert, error)
}

// Retries tells the end of the retries taken from alerts on their roots,
// when the watch that follows one in its alert's thread ends.
type Retries struct {
	Store   RetryStore
	Poster  Updater
	Actions []pooltask.Action // POOLTASKS_ACTIONS, for the root's buttons
}

// WatchEnded is told that the watch w ended, its task last seen as t: when
// w followed the retry of the alert whose root is w's thread and the task
// ended, the alert records how (who stopped it, when its Stop task was
// pressed on the watch) and its root says so. Any other watch is left
// alone.
func (r Retries) WatchEnded(ctx context.Context, w state.Watch, t pooltask.Task) error {
	if w.ThreadTS == "" || t.ID != w.TaskID || !t.Status.Ended() {
		return nil
	}
	stoppedBy := ""
	if a := w.Act; a != nil && a.Action == string(pooltask.ActionStop) && a.Outcome == act.OutcomeDone {
		stoppedBy = a.Actor
	}
	return retryEnded(ctx, r.Store, r.Poster, r.Actions, w.Channel, w.ThreadTS, t, stoppedBy)
}

// retryEnded records that t, the retry of the alert at channel and ts,
// ended, unless its end is recorded already, and when it recorded it,
// edits the root to say so (see showRetryEnd). A retry that finished with
// no failed desktop is also the alert's recovery when the one rule of
// recoveries (pooltask.Recovers) says so.
func retryEnded(ctx context.Context, store RetryStore, p Updater, enabled []pooltask.Action, channel, ts string, t pooltask.Task, stoppedBy string) error {
	end := pooltask.EndOf(t)
	end.StoppedBy = stoppedBy
	recorded := false
	al, err := store.UpdateAlert(ctx, channel, ts, func(x *pooltask.Alert) bool {
		recorded = x.RetryTaskID == t.ID && x.RetryEnded == nil
		if recorded {
			x.RetryEnded = end
			if x.RecoveredBy == "" && pooltask.Recovers(t, x.Task) {
				x.RecoveredBy, x.RecoveredAt = t.ID, t.End
			}
		}
		return recorded
	})
	switch {
	case errors.Is(err, state.ErrNoAlert):
		return nil // a watch in another thread, or an alert forgotten
	case err != nil:
		return &loop.StepError{What: "remembering how the retry " + t.ID + " of an alert ended", Err: err}
	case !recorded:
		return nil // another watch, or told already (or being told)
	}
	return showRetryEnd(ctx, store, p, enabled, al)
}

// showRetryEnd edits the root of al, whose retry's end is recorded, and
// records that the root shows it. The alerter calls it again for a root
// whose end is recorded but not shown and that no watch follows (a crash
// between the edit and its record).
func showRetryEnd(ctx context.Context, store RetryStore, p Updater, enabled []pooltask.Action, al pooltask.Alert) error {
	if err := EditRoot(ctx, p, al, enabled); err != nil {
		return err
	}
	if _, err := store.UpdateAlert(ctx, al.Channel, al.TS, func(x *pooltask.Alert) bool {
		if x.RetryEnded == nil || x.RetryEnded.Shown {
			return false
		}
		x.RetryEnded.Shown = true
		return true
	}); err != nil {
		return &loop.StepError{What: "remembering that an alert's root tells how its retry ended", Err: err}
	}
	return nil
}

// followRetries tells the end of the retries of living alerts that no
// saved watch follows, and edits again a root whose retry's end is
// recorded but not shown (see the comment at the top of this file). A
// target of several that does not answer is a *loop.TargetError, once the
// others' retries were followed.
func (a *Alerter) followRetries(ctx context.Context, living []pooltask.Alert, now time.Time) error {
	var watched map[string]bool
	var down []error // targets of several that do not answer
	for _, al := range living {
		if al.RetryTaskID == "" || (al.RetryEnded != nil && al.RetryEnded.Shown) || now.Sub(al.RetriedAt) >= a.cfg.Horizon {
			continue
		}
		if watched == nil {
			ws, err := a.store.Watches(ctx)
			if err != nil {
				return &loop.StepError{What: "reading the watches, to know which retries of alerts they follow", Err: err}
			}
			watched = map[string]bool{}
			for _, w := range ws {
				watched[w.Channel+"/"+w.ThreadTS+"/"+w.TaskID] = true
			}
		}
		if watched[al.Channel+"/"+al.TS+"/"+al.RetryTaskID] {
			continue // the watch tells it
		}
		if al.RetryEnded != nil {
			if err := showRetryEnd(ctx, a.store, a.deps.Poster, a.cfg.Actions, al); err != nil {
				return err
			}
			continue
		}
		page, err := a.deps.Lister.ListTasks(ctx, pooltask.ListOptions{TaskIDs: []string{al.RetryTaskID}, Target: al.Task.Target, Limit: 1})
		if err != nil && al.Task.Target != "" {
			// The others' retries go on; this one is read at a later poll.
			down = append(down, &loop.TargetError{Target: al.Task.Target, Err: fmt.Errorf("reading the retry %s of the alert of task %s: %w", al.RetryTaskID, al.Task.ID, err)})
			continue
		}
		if err != nil {
			return fmt.Errorf("reading the retry %s of the alert of task %s: %w", al.RetryTaskID, al.Task.ID, err)
		}
		for _, t := range page.Tasks {
			if t.ID == al.RetryTaskID && t.Status.Ended() {
				a.deps.Log.Info("retry of an alert ended, no watch following it", "channel", al.Channel, "task", al.Task.ID, "retry", t.ID, "status", t.Status)
				if err := retryEnded(ctx, a.store, a.deps.Poster, a.cfg.Actions, al.Channel, al.TS, t, ""); err != nil {
					return err
				}
			}
		}
	}
	return errors.Join(down...)
}

// retries are the tasks retries from the living alerts of the channel
// started: one that fails is told on its alert's root, not alerted anew.
func (a *Alerter) retries(ctx context.Context) (map[string]bool, error) {
	living, err := a.store.Alerts(ctx, a.cfg.Channel)
	if err != nil {
		return nil, &loop.StepError{What: "reading the living alerts", Err: err}
	}
	ids := map[string]bool{}
	for _, al := range living {
		if al.RetryTaskID != "" {
			ids[al.RetryTaskID] = true
		}
	}
	return ids, nil
}
