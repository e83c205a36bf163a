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
