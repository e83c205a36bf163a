// Package watch follows tasks live: one Slack message per watch, updated
// until the task ends, kept in a Store so that watches resume after a
// restart. Watches.Run resumes them and saves again what the store refused.
package watch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
)

// Config configures live watches (POOLTASKS_WATCH_*).
type Config struct {
	Every     time.Duration // update period; default 15s
	Max       time.Duration // longest watch; default 2h
	MaxActive int           // watches at once; default 20
	// Actions are the actions enabled (POOLTASKS_ACTIONS), whose buttons
	// the watch messages carry: Stop task while it runs, Retry failed
	// desktops when it ended FAILED.
	Actions []pooltask.Action
	// Elsewhere says the watches run in another replica, the elected
	// scheduler (Redis mode): Start posts the watch message and saves the
	// watch, which the scheduler's Run picks up from the store; Stop hands
	// the press over through Requests. Run is not called.
	Elsewhere bool
	// Requests carries Stop presses from the replica that got them to the
	// one that runs the watches, and makes Run look in the store every
	// Rescan for watches started elsewhere; nil when one process does all.
	Requests Requests
	Rescan   time.Duration // default 2s
	// Ended, when set, is told of each watch's end, before the watch is
	// forgotten: the alerts tell on an alert's root how the retry watched
	// in its thread ended (alert.Retries).
	Ended Ender
}

// Ender is told of the end of each watch: w as saved, its task as last
// seen (ended, or not when the watch was stopped, timed out or lost it).
// An error is logged; the watch ends all the same.
type Ender interface {
	WatchEnded(ctx context.Context, w state.Watch, last pooltask.Task) error
}

// Requests hands Stop presses, and the actions taken on watch messages
// (Acted), over to the replica that runs the watches; the Redis store has
// it.
type Requests interface {
	RequestStop(ctx context.Context, watchID, userID string) error
	StopRequests(ctx context.Context) (map[string]string, error) // watch id → who pressed Stop
	ForgetStop(ctx context.Context, watchID string) error
	// RequestAct records a for the saved watch watchID, in one step with
	// the check that it is saved: false when it is not (it ended).
	RequestAct(ctx context.Context, watchID string, a state.WatchAct) (bool, error)
	ActRequests(ctx context.Context) (map[string]state.WatchAct, error) // watch id → action
	ForgetAct(ctx context.Context, watchID string) error
}

// Request is a `/pooltasks watch TASK_ID` to start.
type Request struct {
	TaskID   string
	Target   string // the task's target, when there are several ("" otherwise)
	Channel  string
	ThreadTS string // post the watch in this thread; empty for the channel
	UserID   string // who asked: mentioned when the task ends
}

// Errors of Watches that the bot shows to the user (test with errors.Is).
var (
	ErrTooManyWatches = errors.New("too many watches are running; stop one or try again later")
	ErrTaskNotFound   = errors.New("no task with that id")
	ErrWatchNotFound  = errors.New("that watch is no longer running")
	ErrWatchesClosed  = errors.New("watches are shutting down")
	// ErrAlreadyWatching is matched by the *AlreadyWatchingError of a
	// Start that found the task watched there already.
	ErrAlreadyWatching = errors.New("already watching this task here")
	// ErrStoreUnavailable is a Start or Stop that needs the shared store
	// (Redis), which does not answer: refused rather than half done.
	ErrStoreUnavailable = errors.New("the shared state does not answer")
)

// AlreadyWatchingError is Start's error when an active watch follows the
// same task in the same channel and thread: no second one is started, and
// Start returns this watch's id too. It happens when two people ask for
// the same watch, or when a forwarded start that timed out on the
// responder's side did start and the user asks again.
type AlreadyWatchingError struct {
	WatchID   string
	Channel   string
	ThreadTS  string
	MessageTS string // the watch message
}

func (e *AlreadyWatchingError) Error() string { return ErrAlreadyWatching.Error() }

// Is makes errors.Is(err, ErrAlreadyWatching) true.
func (e *AlreadyWatchingError) Is(target error) bool { return target == ErrAlreadyWatching }

// Store keeps the running watches, so that they resume after a
// restart; *state.Store is one.
type Store interface {
	Watches(ctx context.Context) ([]state.Watch, error)
	PutWatch(ctx context.Context, w state.Watch) error
	DeleteWatch(ctx context.Context, id string) error
}

// Watches follows tasks live: one message per watch, updated until the task
// ends. Its loops run in the background, owned by Watches; Run resumes the
// watches saved before a restart and stops every loop when its ctx ends.
type Watches struct {
	cfg   Config
	deps  loop.Deps
	store Store

	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	active map[string]*watch
	closed bool
	// resumed is set once Run has started the saved watches: until then
	// a saved watch counts as running for Start.
	resumed bool
	// unsaved are the changes the store refused, by watch id (nil: the
	// watch is to be deleted), which Run tries again; saveFailed wakes it.
	unsaved    map[string]*state.Watch
	saveFailed chan struct{}
}

type watch struct {
	state  state.Watch
	last   pooltask.Task
	stop   chan string   // receives the user who pressed Stop
	acted  chan struct{} // Acted changed state.Act: show it now
	cancel context.CancelFunc
	// starting, for the slot a Start holds while it reads the task and
	// posts, is closed when that Start is done (the slot then holds the
	// running watch, or is gone); nil for a running watch.
	starting chan struct{}
	// ending is set (under Watches.mu) once the watch was stopped or its
	// loop decided to end: it is making its final update, and a Start of
	// the same task here is a new watch, not this one.
	ending bool
	// final is set (under Watches.mu) once the final update is made:
	// Acted no longer finds the watch.
	final bool
}

// follows reports whether st follows req's task in req's channel and thread.
func follows(st state.Watch, req Request) bool {
	return st.TaskID == req.TaskID && st.Target == req.Target && st.Channel == req.Channel && st.ThreadTS == req.ThreadTS
}

// New returns a Watches. store may be nil (watches then do not
// survive a restart).
func New(cfg Config, deps loop.Deps, store Store) *Watches {
	if cfg.Every <= 0 {
		cfg.Every = 15 * time.Second
	}
	if cfg.Max <= 0 {
		cfg.Max = 2 * time.Hour
	}
	if cfg.MaxActive <= 0 {
		cfg.MaxActive = 20
	}
	if cfg.Rescan <= 0 {
		cfg.Rescan = 2 * time.Second
	}
	base, cancel := context.WithCancel(context.Background())
	return &Watches{cfg: cfg, deps: deps.WithDefaults(), store: store,
		base: base, cancel: cancel, active: map[string]*watch{},
		unsaved: map[string]*state.Watch{}, saveFailed: make(chan struct{}, 1)}
}

// Active returns how many watches are running.
func (w *Watches) Active() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.active)
}

// Start posts the watch message for req and follows the task in the
// background. It returns the watch id (the Stop button's value), or
// ErrTooManyWatches, ErrTaskNotFound, ErrWatchesClosed or an API error. A
// task that already ended gets one message with its final status.
//
// A task already watched in req's channel and thread is not watched twice:
// Start returns that watch's id with an *AlreadyWatchingError. A Start of
// the same watch that is still reading the task or posting is waited for.
func (w *Watches) Start(ctx context.Context, req Request) (string, error) {
	if w.cfg.Elsewhere {
		return w.startElsewhere(ctx, req)
	}
	w.mu.Lock()
	for {
		if w.closed {
			w.mu.Unlock()
			return "", ErrWatchesClosed
		}
		other := w.findLocked(req)
		if other == nil {
			break
		}
		if other.starting == nil {
			w.mu.Unlock()
			return w.already(ctx, req, other.state)
		}
		starting := other.starting
		w.mu.Unlock()
		select {
		case <-starting:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		w.mu.Lock()
	}
	if st, ok := w.savedLocked(ctx, req); ok {
		w.mu.Unlock()
		return w.already(ctx, req, st)
	}
	if len(w.active) >= w.cfg.MaxActive {
		w.mu.Unlock()
		return "", ErrTooManyWatches
	}
	id := newWatchID()
	// Hold the slot while the first call and post are made; a Start of
	// the same watch meanwhile waits for starting.
	starting := make(chan struct{})
	defer close(starting)
	w.active[id] = &watch{state: state.Watch{ID: id, TaskID: req.TaskID, Target: req.Target, Channel: req.Channel, ThreadTS: req.ThreadTS}, starting: starting}
	w.mu.Unlock()
	release := func() {
		w.mu.Lock()
		delete(w.active, id)
		w.mu.Unlock()
	}

	task, err := w.get(ctx, req.Target, req.TaskID)
	if err != nil {
		release()
		return "", err
	}
	now := w.deps.Clock.Now()
	st := state.Watch{ID: id, TaskID: req.TaskID, Target: req.Target, Channel: req.Channel, ThreadTS: req.ThreadTS, UserID: req.UserID, Started: now}
	ts, ended, err := w.postFirst(ctx, st, task)
	if ended {
		release()
		return id, err
	}
	if err != nil {
		release()
		return "", err
	}
	st.MessageTS = ts
	w.save(ctx, st.ID, &st)
	w.mu.Lock()
	if w.closed { // Run ended while we posted: the saved watch resumes later
		delete(w.active, id)
		w.mu.Unlock()
		return id, nil
	}
	w.launchLocked(st, task)
	w.mu.Unlock()
	w.deps.Log.InfoContext(ctx, "watch started", "watch", id, "task", req.TaskID, "channel", req.Channel, "user", req.UserID)
	return id, nil
}

// findLocked returns the watch, running or starting and not ending, that
// follows req's task in req's channel and thread; w.mu is held.
func (w *Watches) findLocked(req Request) *watch {
	for _, wt := range w.active {
		if !wt.ending && follows(wt.state, req) {
			return wt
		}
	}
	return nil
}

// savedLocked returns the saved watch of req's task in req's channel and
// thread that Run has not resumed yet (a command that arrives at start-up
// must not start it twice); w.mu is held.
func (w *Watches) savedLocked(ctx context.Context, req Request) (state.Watch, bool) {
	if w.resumed || w.store == nil {
		return state.Watch{}, false
	}
	saved, err := w.store.Watches(ctx)
	if err != nil { // Run cannot resume them either until the store answers
		w.deps.Log.WarnContext(ctx, "reading the saved watches", "err", err)
	}
	for _, st := range saved {
		if follows(st, req) {
			return st, true
		}
	}
	return state.Watch{}, false
}

func (w *Watches) already(ctx context.Context, req Request, st state.Watch) (string, error) {
	w.deps.Log.InfoContext(ctx, "watch already running", "watch", st.ID, "task", req.TaskID, "channel", req.Channel, "user", req.UserID)
	return st.ID, &AlreadyWatchingError{WatchID: st.ID, Channel: st.Channel, ThreadTS: st.ThreadTS, MessageTS: st.MessageTS}
}

// end marks wt as ending (see watch.ending) and returns its state.
func (w *Watches) end(wt *watch) state.Watch {
	w.mu.Lock()
	defer w.mu.Unlock()
	wt.ending = true
	return wt.state
}

// launchLocked starts the loop of a watch; w.mu is held.
// last is the task as last seen, for a Stop before the first update.
func (w *Watches) launchLocked(st state.Watch, last pooltask.Task) {
	ctx, cancel := context.WithCancel(w.base)
	wt := &watch{state: st, last: last, stop: make(chan string, 1), acted: make(chan struct{}, 1), cancel: cancel}
	w.active[st.ID] = wt
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer cancel()
		w.loop(ctx, wt)
	}()
}

// Stop ends a watch at the Stop button, pressed by userID: a final update
// says who stopped it.
func (w *Watches) Stop(watchID, userID string) error {
	if w.cfg.Elsewhere {
		return w.stopElsewhere(watchID, userID)
	}
	w.mu.Lock()
	wt, ok := w.active[watchID]
	if ok && wt.stop != nil {
		wt.ending = true
	}
	w.mu.Unlock()
	if !ok || wt.stop == nil {
		return ErrWatchNotFound
	}
	select {
	case wt.stop <- userID:
	default: // already stopping
	}
	return nil
}

// Run resumes the watches saved in the Store, then waits for ctx to end and
// stops every loop; saved watches stay saved and resume at the next Run.
// Meanwhile it saves again, after a backoff, what the store refused (a
// watch that started, one that ended), until the store takes it: loop.Health
// shows the watches failing until then.
func (w *Watches) Run(ctx context.Context) error {
	failures := 0
	var retry, resume <-chan time.Time
	if err := w.resume(ctx); err != nil {
		failures = 1
		w.deps.Log.Error("resuming the saved watches failed; trying again", "err", err)
		w.deps.Health.Failed(loop.Watches, w.deps.Clock.Now(), err)
		resume = w.deps.Clock.After(w.deps.Backoff.Wait(failures))
	} else if w.cfg.Requests != nil {
		resume = w.deps.Clock.After(w.cfg.Rescan)
	}
	for {
		select {
		case <-ctx.Done():
			w.Close()
			return nil
		case <-resume:
			err := w.resume(ctx)
			if err == nil && w.cfg.Requests != nil {
				err = w.takeStops(ctx)
			}
			if err == nil && w.cfg.Requests != nil {
				err = w.takeActs(ctx, "")
			}
			if err != nil {
				failures++
				w.deps.Health.Failed(loop.Watches, w.deps.Clock.Now(), err)
				resume = w.deps.Clock.After(w.deps.Backoff.Wait(failures))
				continue
			}
			if failures > 0 {
				w.deps.Health.Recovered(loop.Watches)
			}
			failures = 0
			resume = nil
			if w.cfg.Requests != nil {
				resume = w.deps.Clock.After(w.cfg.Rescan)
			}
		case <-w.saveFailed:
			if retry == nil {
				failures = 1
				retry = w.deps.Clock.After(w.deps.Backoff.Wait(failures))
			}
		case <-retry:
			retry = nil
			if err := w.saveAgain(ctx); err != nil {
				failures++
				wait := w.deps.Backoff.Wait(failures)
				w.deps.Log.Error("saving watches failed; trying again", "failures", failures, "retry_in", wait, "err", err)
				retry = w.deps.Clock.After(wait)
				continue
			}
			failures = 0
			w.deps.Log.Info("watches saved again")
		}
	}
}

// resume starts the loops of the saved watches that do not run here.
func (w *Watches) resume(ctx context.Context) error {
	if w.store == nil {
		return nil
	}
	// Under w.mu, so that a watch that ends meanwhile (deleted from the
	// store, then from active) is not started again.
	w.mu.Lock()
	defer w.mu.Unlock()
	saved, err := w.store.Watches(ctx)
	if err != nil {
		return &loop.StepError{What: "reading the saved watches", Err: err}
	}
	for _, st := range saved {
		if _, ok := w.active[st.ID]; ok || w.closed {
			continue
		}
		w.deps.Log.Info("watch resumed", "watch", st.ID, "task", st.TaskID)
		w.launchLocked(st, pooltask.Task{ID: st.TaskID, Target: st.Target})
	}
	w.resumed = true
	return nil
}

// Acted records the action taken on the message at ts in channel, when it
// is the message of a watch running here, and reports whether it is: the
// watch then shows the action's line at once, saves it, and keeps it in
// every later update of the message (refreshes, the final one), so the
// caller leaves the message to the watch.
//
// When the watches run elsewhere (Redis mode), the act is handed to the
// replica that runs the watch through Requests, which shows it at its next
// rescan or update, whichever comes first; false when the message is no
// running watch's or the shared store does not answer (the caller then
// edits the message itself).
func (w *Watches) Acted(ctx context.Context, channel, ts string, a state.WatchAct) bool {
	if w.cfg.Elsewhere {
		return w.actedElsewhere(ctx, channel, ts, a)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, wt := range w.active {
		if wt.stop != nil && !wt.final && wt.state.Channel == channel && wt.state.MessageTS == ts {
			w.actLocked(ctx, wt, a)
			return true
		}
	}
	return false
}

// actLocked records a on the running watch wt and has its loop show it;
// w.mu is held.
func (w *Watches) actLocked(ctx context.Context, wt *watch, a state.WatchAct) {
	wt.state.Act = &a
	if wt.ending { // finish shows it; saving would bring back a forgotten watch
		return
	}
	st := wt.state
	w.saveHeld(ctx, st.ID, &st)
	select {
	case wt.acted <- struct{}{}:
	default:
	}
}

// current is the state of wt as now saved (Acted changes it).
func (w *Watches) current(wt *watch) state.Watch {
	w.mu.Lock()
	defer w.mu.Unlock()
	return wt.state
}

// save saves st as watch id (nil: deletes it). When the store refuses,
// the change is kept for Run to save again, and loop.Health says so.
func (w *Watches) save(ctx context.Context, id string, st *state.Watch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.saveHeld(ctx, id, st)
}

// saveHeld is save with w.mu held.
func (w *Watches) saveHeld(ctx context.Context, id string, st *state.Watch) {
	if w.store == nil {
		return
	}
	err := w.saveLocked(ctx, id, st)
	if err == nil {
		delete(w.unsaved, id)
		if len(w.unsaved) == 0 {
			w.deps.Health.Recovered(loop.Watches)
		}
		return
	}
	w.unsaved[id] = st
	w.deps.Log.ErrorContext(ctx, "saving watch failed; trying again", "watch", id, "err", err)
	w.deps.Health.Failed(loop.Watches, w.deps.Clock.Now(), err)
	select {
	case w.saveFailed <- struct{}{}:
	default:
	}
}

// saveLocked writes one change to the store; w.mu is held, so that two
// changes of one watch reach the store in order.
func (w *Watches) saveLocked(ctx context.Context, id string, st *state.Watch) error {
	if st == nil {
		if err := w.store.DeleteWatch(ctx, id); err != nil {
			return &loop.StepError{What: "forgetting the ended watch " + id, Err: err}
		}
		return nil
	}
	if err := w.store.PutWatch(ctx, *st); err != nil {
		return &loop.StepError{What: "saving the watch " + id + " (it would not resume after a restart)", Err: err}
	}
	return nil
}

// saveAgain saves the changes the store refused before.
func (w *Watches) saveAgain(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var last error
	for id, st := range w.unsaved {
		if err := w.saveLocked(ctx, id, st); err != nil {
			last = err
			continue
		}
		delete(w.unsaved, id)
	}
	if last != nil {
		w.deps.Health.Failed(loop.Watches, w.deps.Clock.Now(), last)
		return last
	}
	w.deps.Health.Recovered(loop.Watches)
	return nil
}

// Close stops every watch loop and waits for them. Saved watches stay saved.
func (w *Watches) Close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
}

// GoneAfter is how many polls in a row must find no such task before a
// watch gives up on it (the id was wrong after all, or the task aged out
// of the API); a single empty answer does not end it.
const GoneAfter = 3

func (w *Watches) loop(ctx context.Context, wt *watch) {
	st := w.current(wt)
	defer func() {
		w.mu.Lock()
		delete(w.active, st.ID)
		w.mu.Unlock()
	}()
	last := wt.last
	// What the message shows, and since when: an unchanged task is
	// updated only every refreshEvery (for its elapsed time), which keeps
	// many watches within chat.update's tier.
	shown, shownAt := wt.last, st.Started
	missing := 0 // polls in a row that found no such task
	failed := 0  // polls in a row that could not read it
	for {
		deadline := st.Started.Add(w.cfg.Max)
		every := w.cfg.Every
		if failed > 0 { // the API fails: back off, but never poll faster
			every = max(every, w.deps.Backoff.Wait(failed))
		}
		tick := w.deps.Clock.After(min(every, deadline.Sub(w.deps.Clock.Now())))
	waiting:
		for {
			select {
			case <-ctx.Done():
				return // shutting down: the watch stays saved
			case user := <-wt.stop: // Stop marked it ending
				w.finish(ctx, wt, last, blocks.WatchStopped, user)
				return
			case <-wt.acted: // show the action now, as the task was last seen
				m := watchMessage(w.view(w.current(wt), shown, w.deps.Clock.Now(), blocks.WatchRunning, ""))
				if err := w.deps.Poster.UpdateMessage(ctx, st.Channel, st.MessageTS, m.Text, m.Blocks); err != nil {
					w.deps.Log.Warn("updating watch", "watch", st.ID, "err", err)
				}
			case <-tick:
				break waiting
			}
		}
		now := w.deps.Clock.Now()
		task, err := w.get(ctx, st.Target, st.TaskID)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrTaskNotFound):
			missing, failed = missing+1, 0
			w.deps.Log.Warn("watch found no such task", "watch", st.ID, "task", st.TaskID, "polls", missing)
		case err != nil:
			failed++
			w.deps.Log.Warn("watch could not read its task", "watch", st.ID, "task", st.TaskID, "failures", failed, "err", err)
		default:
			last, missing, failed = task, 0, 0
		}
		switch {
		case err == nil && task.Status.Ended():
			w.finish(ctx, wt, task, blocks.WatchEnded, "")
			return
		case missing >= GoneAfter:
			w.finish(ctx, wt, last, blocks.WatchGone, "")
			return
		case !now.Before(deadline):
			w.finish(ctx, wt, last, blocks.WatchTimedOut, "")
			return
		case err == nil && (Progressed(shown, task) || now.Sub(shownAt) >= refreshEvery):
			m := watchMessage(w.view(w.current(wt), task, now, blocks.WatchRunning, ""))
			if err := w.deps.Poster.UpdateMessage(ctx, st.Channel, st.MessageTS, m.Text, m.Blocks); err != nil {
				w.deps.Log.Warn("updating watch", "watch", st.ID, "err", err)
			}
			shown, shownAt = task, now
		}
	}
}

// finish makes the final update and, when the task ended, the threaded
// reply that mentions whoever asked; then it forgets the watch.
// An action taken on the message meanwhile (Acted) is shown by one more
// update, made before the watch stops taking them.
func (w *Watches) finish(ctx context.Context, wt *watch, task pooltask.Task, phase blocks.WatchPhase, by string) {
	if w.cfg.Requests != nil { // an act recorded elsewhere shows in the final update
		if err := w.takeActs(ctx, wt.state.ID); err != nil {
			w.deps.Log.Warn("reading the actions taken on the watch message", "watch", wt.state.ID, "err", err)
		}
	}
	st := w.end(wt)
	v := w.view(st, task, w.deps.Clock.Now(), phase, by)
	m := watchMessage(v)
	if err := w.deps.Poster.UpdateMessage(ctx, st.Channel, st.MessageTS, m.Text, m.Blocks); err != nil {
		w.deps.Log.Warn("final watch update", "watch", st.ID, "err", err)
	}
	w.mu.Lock()
	act := wt.state.Act
	wt.final = true
	w.mu.Unlock()
	if act != st.Act {
		st.Act = act
		m := watchMessage(w.view(st, task, w.deps.Clock.Now(), phase, by))
		if err := w.deps.Poster.UpdateMessage(ctx, st.Channel, st.MessageTS, m.Text, m.Blocks); err != nil {
			w.deps.Log.Warn("final watch update", "watch", st.ID, "err", err)
		}
	}
	if reply := blocks.WatchReply(v); reply != "" {
		thread := st.ThreadTS
		if thread == "" {
			thread = st.MessageTS
		}
		if _, err := w.deps.Poster.PostMessage(ctx, st.Channel, thread, reply, nil); err != nil {
			w.deps.Log.Warn("watch reply", "watch", st.ID, "err", err)
		}
	}
	if w.cfg.Ended != nil {
		if err := w.cfg.Ended.WatchEnded(ctx, st, task); err != nil {
			w.deps.Log.Warn("telling the end of a watch", "watch", st.ID, "task", st.TaskID, "err", err)
		}
	}
	w.save(ctx, st.ID, nil)
	if w.cfg.Requests != nil {
		w.actedLast(ctx, st, task, phase, by)
	}
	w.deps.Log.Info("watch ended", "watch", st.ID, "task", st.TaskID, "status", task.Status, "phase", int(phase))
}

// refreshEvery is how often a watch message whose task did not change is
// updated anyway, to show the elapsed time.
const refreshEvery = time.Minute

// Progressed reports whether the task changed in a way a watch shows: its
// status or its counts.
func Progressed(a, b pooltask.Task) bool {
	return a.Status != b.Status || a.SuccessNum != b.SuccessNum || a.FailedNum != b.FailedNum || a.SkipNum != b.SkipNum
}

// get reads the task of a watch from its target (every target when "").
func (w *Watches) get(ctx context.Context, target, taskID string) (pooltask.Task, error) {
	page, err := w.deps.Lister.ListTasks(ctx, pooltask.ListOptions{TaskIDs: []string{taskID}, Target: target, Limit: 1})
	if err != nil {
		return pooltask.Task{}, fmt.Errorf("reading task %s: %w", taskID, err)
	}
	for _, t := range page.Tasks {
		if t.ID == taskID {
			return t, nil
		}
	}
	return pooltask.Task{}, fmt.Errorf("%w: %s", ErrTaskNotFound, taskID)
}

func newWatchID() string {
	var b [8]byte
	rand.Read(b[:])
	return "w" + hex.EncodeToString(b[:])
}

// view is what the message of watch st says of task t at now.
func (w *Watches) view(st state.Watch, t pooltask.Task, now time.Time, phase blocks.WatchPhase, by string) blocks.WatchView {
	v := blocks.WatchView{ID: st.ID, TaskID: st.TaskID, UserID: st.UserID, Task: t, Started: st.Started,
		Now: now, Phase: phase, By: by, Limit: w.cfg.Max, Actions: w.cfg.Actions}
	if a := st.Act; a != nil {
		v.Acted = &blocks.ActionView{Target: blocks.Target{Action: pooltask.Action(a.Action), Task: pooltask.Task{ID: st.TaskID, Target: st.Target}},
			Actor: a.Actor, Approver: a.Approver, At: a.At, Outcome: a.Outcome, NewTaskID: a.NewTaskID, Check: a.Check}
	}
	return v
}

func watchMessage(v blocks.WatchView) blocks.Message {
	text, bs := blocks.Watch(v)
	return blocks.Message{Text: text, Blocks: bs}
}
