// Package act takes actions on tasks (retry, stop, a run in stages) at most
// once, whoever asks and however often: a double click, a redelivered
// envelope, two approvers at once, two replicas or a restart in the middle
// never send the request twice. The API takes no idempotency key, so the
// intent is recorded durably before the request and its outcome after; a
// second attempt is answered with what the first did. It knows nothing of
// Slack: the bot and the CLI both use it.
package act

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
)

// Store keeps intents and approvals where every replica sees them: the
// file store (bot/notify/state) or Redis.
type Store interface {
	BeginAction(ctx context.Context, in state.ActionIntent) (state.ActionIntent, bool, error)
	EndAction(ctx context.Context, in state.ActionIntent) error
	ForgetAction(ctx context.Context, key string) error
}

// API sends the actions of one target; *workspace.Client is one.
type API interface {
	Retry(ctx context.Context, sel pooltask.Selection) (string, error)
	Stop(ctx context.Context, sel pooltask.Selection) error
	Execute(ctx context.Context, opts pooltask.RunOptions) (string, error)
}

// Request is one action to take.
type Request struct {
	Action pooltask.Action
	// Target names the task's target when there are several ("" with
	// one, as pooltask.Task.Target): task ids are unique per target only.
	Target   string
	TaskID   string              // the task acted on (a record's task for a record's retry)
	RecordID string              // a retry on one desktop
	Run      pooltask.RunOptions // rerun: what to run, where, in which stages
	PoolID   string
	Desktops int    // how many desktops it acts on, as shown
	Actor    string // who asked
	Approver string // who approved, when approval was needed
}

// Key is what makes two attempts the same action: the action and what it
// acts on, in its target. A second retry of a task, say, would run its
// failed desktops a second time, so it is the same action as the first;
// the same task id in another target is another task.
//
// With one target the key names none ("retry:task:ID"), as it did before
// targets existed, so that the intents a deployment recorded then still
// hold; nor does it for a target named LegacyTarget, the name of a
// deployment's one target before a targets file named others. Otherwise
// it does ("retry@eu:task:ID": target names have no '@' nor ':').
func Key(r Request) string {
	k := string(r.Action)
	if r.Target != "" && r.Target != LegacyTarget {
		k += "@" + r.Target
	}
	if r.RecordID != "" {
		return k + ":record:" + r.RecordID
	}
	return k + ":task:" + r.TaskID
}

// LegacyTarget is the name of the one target of a deployment without a
// targets file (targets.DefaultName): the intents and approvals recorded
// before targets existed, which name no target, are its.
const LegacyTarget = "default"

// Outcomes of an intent.
const (
	OutcomeDone    = "done"
	OutcomeUnknown = "unknown"
)

// DoneBeforeError answers an attempt at an action that was taken (or is
// being taken) already: Prev says by whom, when, and with what outcome.
type DoneBeforeError struct {
	Prev state.ActionIntent
}

func (e *DoneBeforeError) Error() string {
	switch e.Prev.Outcome {
	case OutcomeDone:
		return fmt.Sprintf("%s was done already by %s", e.Prev.Key, e.Prev.Actor)
	case OutcomeUnknown:
		return fmt.Sprintf("%s was tried already by %s, with an unknown outcome", e.Prev.Key, e.Prev.Actor)
	}
	return fmt.Sprintf("%s is being done already by %s (or was interrupted)", e.Prev.Key, e.Prev.Actor)
}

// StoreError says that the intent could not be recorded, so the action was
// not taken: without it, exactly once cannot be promised.
type StoreError struct{ Err error }

func (e *StoreError) Error() string {
	return "the action was not taken: its intent could not be recorded: " + e.Err.Error()
}

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }

// DefaultKeep is how long an intent is remembered: within it, the same
// action is answered with what the first attempt did.
const DefaultKeep = 24 * time.Hour

// Runner takes actions at most once.
type Runner struct {
	Store Store
	// API returns the API of a request's target (Request.Target: "" is
	// the one target); the request goes there, with its credentials.
	API  func(target string) API
	Now  func() time.Time // default time.Now
	Keep time.Duration    // default DefaultKeep
	// Sent, when set, is called after the intent is recorded and before
	// the request is sent (tests use it to stop a process there).
	Sent func(state.ActionIntent)
	// Unrecorded, when set, is told that an outcome could not be recorded
	// (the intent, recorded without one, still keeps the action from
	// being taken again); the caller logs it.
	Unrecorded func(in state.ActionIntent, err error)
}

// Do takes the action unless it was taken before: it records the intent,
// sends the request, and records the outcome. It returns the intent with
// its outcome; a *DoneBeforeError when the action was attempted already; a
// *StoreError when the intent could not be recorded (nothing was sent); a
// *pooltask.OutcomeUnknownError when the request may have reached the API
// without an answer (the intent keeps that outcome: the action is not
// taken again); or the API's error, after which the intent is forgotten
// (the API did not act, so the action may be taken again).
func (r *Runner) Do(ctx context.Context, req Request) (state.ActionIntent, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	keep := r.Keep
	if keep <= 0 {
		keep = DefaultKeep
	}
	at := now()
	in := state.ActionIntent{
		Key: Key(req), Action: string(req.Action), Target: req.Target, TaskID: req.TaskID, RecordID: req.RecordID,
		PoolID: req.PoolID, Desktops: req.Desktops, Actor: req.Actor, Approver: req.Approver,
		Started: at.UTC(), Expires: at.Add(keep).UTC(),
	}
	if req.Action == pooltask.ActionRerun {
		run := req.Run
		in.Run = &run
	}
	prev, first, err := r.Store.BeginAction(ctx, in)
	if err != nil {
		return in, &StoreError{Err: err}
	}
	if !first {
		return prev, &DoneBeforeError{Prev: prev}
	}
	if r.Sent != nil {
		r.Sent(in)
	}
	// The request and the outcome's record outlive a caller that gives
	// up: an action sent must have its outcome written down.
	ctx = context.WithoutCancel(ctx)
	in.NewTaskID, err = r.send(ctx, req)
	in.Ended = now().UTC()
	var unknown *pooltask.OutcomeUnknownError
	switch {
	case err == nil:
		in.Outcome = OutcomeDone
	case errors.As(err, &unknown):
		in.Outcome = OutcomeUnknown
	default:
		if ferr := r.Store.ForgetAction(ctx, in.Key); ferr != nil && r.Unrecorded != nil {
			// The intent stays: the action is then refused until it
			// expires, which is safe.
			r.Unrecorded(in, ferr)
		}
		return in, err
	}
	if serr := r.Store.EndAction(ctx, in); serr != nil && r.Unrecorded != nil {
		r.Unrecorded(in, serr)
	}
	return in, err
}

func (r *Runner) send(ctx context.Context, req Request) (string, error) {
	sel := pooltask.Selection{TaskID: req.TaskID}
	if req.RecordID != "" {
		sel = pooltask.Selection{RecordID: req.RecordID}
	}
	api := r.API(req.Target)
	switch req.Action {
	case pooltask.ActionRetry:
		return api.Retry(ctx, sel)
	case pooltask.ActionStop:
		return "", api.Stop(ctx, sel)
	case pooltask.ActionRerun:
		return api.Execute(ctx, req.Run)
	}
	return "", fmt.Errorf("unknown action %q", req.Action)
}
