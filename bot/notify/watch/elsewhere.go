package watch

import (
	"context"
	"fmt"
	"time"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
)

// storeTimeout bounds a call of a Stop press to the shared store.
const storeTimeout = 5 * time.Second

// startElsewhere is Start when the watches run in the elected scheduler:
// it posts the watch message and saves the watch, which the scheduler's
// Run picks up at its next rescan. A store that does not answer refuses
// the watch before anything is posted.
func (w *Watches) startElsewhere(ctx context.Context, req Request) (string, error) {
	saved, err := w.store.Watches(ctx)
	if err != nil {
		w.deps.Log.WarnContext(ctx, "watch refused: the shared state does not answer", "err", err)
		return "", fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	for _, st := range saved {
		if follows(st, req) {
			return w.already(ctx, req, st)
		}
	}
	if len(saved) >= w.cfg.MaxActive {
		return "", ErrTooManyWatches
	}
	task, err := w.get(ctx, req.Target, req.TaskID)
	if err != nil {
		return "", err
	}
	id, now := newWatchID(), w.deps.Clock.Now()
	st := state.Watch{ID: id, TaskID: req.TaskID, Target: req.Target, Channel: req.Channel, ThreadTS: req.ThreadTS, UserID: req.UserID, Started: now}
	ts, ended, err := w.postFirst(ctx, st, task)
	if ended {
		return id, err
	}
	if err != nil {
		return "", err
	}
	st.MessageTS = ts
	if err := w.store.PutWatch(ctx, st); err != nil {
		// Posted but not saved: the message says so rather than look
		// followed while nobody follows it.
		w.deps.Log.ErrorContext(ctx, "saving the watch failed; it is not followed", "watch", id, "err", err)
		f := watchMessage(w.view(st, task, now, blocks.WatchGone, ""))
		_ = w.deps.Poster.UpdateMessage(context.WithoutCancel(ctx), req.Channel, ts, f.Text, f.Blocks)
		return "", fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	w.deps.Log.InfoContext(ctx, "watch started; the scheduler follows it", "watch", id, "task", req.TaskID, "channel", req.Channel, "user", req.UserID)
	return id, nil
}

// stopElsewhere is Stop when the watches run in the elected scheduler: it
// records the press, which the scheduler's Run takes at its next rescan.
func (w *Watches) stopElsewhere(watchID, userID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	saved, err := w.store.Watches(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	for _, st := range saved {
		if st.ID == watchID {
			if err := w.cfg.Requests.RequestStop(ctx, watchID, userID); err != nil {
				return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
			}
			return nil
		}
	}
	return ErrWatchNotFound
}

// takeStops hands the Stop presses recorded elsewhere to the watches that
// run here, and forgets those of watches that ended.
func (w *Watches) takeStops(ctx context.Context) error {
	stops, err := w.cfg.Requests.StopRequests(ctx)
	if err != nil {
		return &loop.StepError{What: "reading the Stop presses", Err: err}
	}
	for id, user := range stops {
		if err := w.Stop(id, user); err != nil && err != ErrWatchNotFound {
			return err
		}
		if err := w.cfg.Requests.ForgetStop(ctx, id); err != nil {
			return &loop.StepError{What: "forgetting a Stop press", Err: err}
		}
	}
	return nil
}

// actedElsewhere is Acted when the watches run in the elected scheduler:
// it records a for the saved watch whose message is at ts in channel, which
// the scheduler shows (takeActs) and keeps in the watch's later updates.
func (w *Watches) actedElsewhere(ctx context.Context, channel, ts string, a state.WatchAct) bool {
	if w.cfg.Requests == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	saved, err := w.store.Watches(ctx)
	if err != nil {
		w.deps.Log.WarnContext(ctx, "reading the saved watches for an action on a message", "err", err)
		return false
	}
	for _, st := range saved {
		if st.Channel != channel || st.MessageTS != ts {
			continue
		}
		ok, err := w.cfg.Requests.RequestAct(ctx, st.ID, a)
		if err != nil {
			w.deps.Log.WarnContext(ctx, "recording an action on a watch message", "watch", st.ID, "err", err)
			return false
		}
		return ok
	}
	return false
}

// staleAct is how old an act recorded for a watch that does not run here
// (it ended, and the replica that ran it stopped before taking the act) is
// forgotten.
const staleAct = time.Minute

// takeActs hands the actions recorded elsewhere on watch messages (only
// that of watch only, when not "") to the watches that run here, which show
// them and save them, and forgets them. That of a watch making its final
// update is left to its finish (actedLast).
func (w *Watches) takeActs(ctx context.Context, only string) error {
	acts, err := w.cfg.Requests.ActRequests(ctx)
	if err != nil {
		return &loop.StepError{What: "reading the actions taken on watch messages", Err: err}
	}
	for id, a := range acts {
		if only != "" && id != only {
			continue
		}
		w.mu.Lock()
		wt, ok := w.active[id]
		taken := ok && wt.stop != nil && !wt.final
		if taken {
			w.actLocked(ctx, wt, a)
		}
		w.mu.Unlock()
		if !taken && (ok || w.deps.Clock.Now().Sub(a.At) < staleAct) {
			continue
		}
		if err := w.cfg.Requests.ForgetAct(ctx, id); err != nil {
			return &loop.StepError{What: "forgetting an action taken on a watch message", Err: err}
		}
	}
	return nil
}

// actedLast shows on the final message of the watch st an act recorded
// elsewhere that was not taken before st was forgotten: once it is, none is
// recorded (RequestAct finds no watch) and the replica that took the click
// edits the message itself.
func (w *Watches) actedLast(ctx context.Context, st state.Watch, task pooltask.Task, phase blocks.WatchPhase, by string) {
	acts, err := w.cfg.Requests.ActRequests(ctx)
	if err != nil {
		w.deps.Log.Warn("reading the actions taken on the watch message", "watch", st.ID, "err", err)
		return
	}
	a, ok := acts[st.ID]
	if !ok {
		return
	}
	st.Act = &a
	m := watchMessage(w.view(st, task, w.deps.Clock.Now(), phase, by))
	if err := w.deps.Poster.UpdateMessage(ctx, st.Channel, st.MessageTS, m.Text, m.Blocks); err != nil {
		w.deps.Log.Warn("final watch update", "watch", st.ID, "err", err)
	}
	if err := w.cfg.Requests.ForgetAct(ctx, st.ID); err != nil {
		w.deps.Log.Warn("forgetting an action taken on a watch message", "watch", st.ID, "err", err)
	}
}

// postFirst posts the first message of the watch st of task: the running
// watch's, or, when the task already ended (ended), its final status, which
// mentions whoever asked.
func (w *Watches) postFirst(ctx context.Context, st state.Watch, task pooltask.Task) (ts string, ended bool, err error) {
	ended = task.Status.Ended()
	phase := blocks.WatchRunning
	if ended {
		phase = blocks.WatchEnded
	}
	v := w.view(st, task, st.Started, phase, "")
	v.Mention = ended
	m := watchMessage(v)
	ts, err = w.deps.Poster.PostMessage(ctx, st.Channel, st.ThreadTS, m.Text, m.Blocks)
	return ts, ended, err
}
