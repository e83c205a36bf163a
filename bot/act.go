package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/act"
	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
)

// ActionStore keeps the intents of actions and the approval requests where
// every replica sees them (the state store).
type ActionStore interface {
	act.Store
	PutApproval(ctx context.Context, a state.Approval) error
	GetApproval(ctx context.Context, id string) (state.Approval, bool, error)
	DecideApproval(ctx context.Context, id, decision, by string, at time.Time) (state.Approval, bool, error)
}

// Actions configures acting on tasks from Slack. With no action enabled
// the bot is read-only: no action button is shown and retry and stop are
// answered "not enabled here".
type Actions struct {
	Enabled     []pooltask.Action // POOLTASKS_ACTIONS
	Approval    []pooltask.Action // POOLTASKS_APPROVAL: those a second operator must approve
	Operators   []string          // POOLTASKS_OPERATORS: user ids and user group ids (S…)
	ApprovalTTL time.Duration     // POOLTASKS_APPROVAL_TTL; 15 min by default
	Rate        int               // POOLTASKS_ACTION_RATE: actions per channel per minute; 10 by default
	API         act.API           // sends the actions (*workspace.Client)
	Store       ActionStore       // required when an action is enabled
}

func (a *Actions) defaults() error {
	if len(a.Enabled) == 0 {
		return nil
	}
	if a.API == nil || a.Store == nil {
		return errors.New("actions are enabled without an API or a state store")
	}
	if a.ApprovalTTL <= 0 {
		a.ApprovalTTL = 15 * time.Minute
	}
	if a.Rate <= 0 {
		a.Rate = 10
	}
	return nil
}

// actor is the bot's part in actions: the exactly-once runner, the
// operators, the channels' budgets, and the timers that close approval
// requests when they expire.
type actor struct {
	runner  *act.Runner
	ops     *operators
	budgets *budgets

	mu     sync.Mutex
	timers map[string]*time.Timer
	closed bool
}

func (b *Bot) enabled(a pooltask.Action) bool { return slices.Contains(b.cfg.Actions.Enabled, a) }

// target is what an action click or command is about, read from its value.
type target struct {
	action   pooltask.Action
	taskID   string
	recordID string
}

// parseTarget reads a button's value or a typed command: "retry TASK_ID",
// "stop TASK_ID" (canonical commands) or blocks.RecordValue.
func parseTarget(value string, now time.Time) (target, bool) {
	if rec, task, ok := blocks.RecordIDs(value); ok {
		if !recordIDShape.MatchString(rec) || !recordIDShape.MatchString(task) {
			return target{}, false
		}
		return target{action: pooltask.ActionRetry, taskID: task, recordID: rec}, true
	}
	cmd, err := commands.Parse(value, now)
	if err != nil || (cmd.Verb != commands.VerbRetry && cmd.Verb != commands.VerbStop) {
		return target{}, false
	}
	return target{action: pooltask.Action(cmd.Verb), taskID: cmd.TaskID}, true
}

// mayAct checks, before any API call, that the action is enabled, that the
// user is an operator and that the channel may see some pool.
func (b *Bot) mayAct(ctx context.Context, req *request, a pooltask.Action) error {
	if !b.enabled(a) {
		return problem(condNotAvailable, fmt.Sprintf("%s is not enabled here: pooltasks is read-only for it (POOLTASKS_ACTIONS).", a))
	}
	ok, err := b.act.ops.is(ctx, req.user)
	if err != nil {
		b.log.WarnContext(ctx, "operators", "err", err)
	}
	if !ok {
		return &userError{cond: condNotAllowed, detail: fmt.Sprintf("Sorry, only operators may %s tasks, and you are not one of them.", a),
			hint: "Ask an operator, or the team that runs pooltasks to add you to POOLTASKS_OPERATORS."}
	}
	if b.access.seesNothing(req.channel) {
		return errNotBound()
	}
	return nil
}

// resolve fetches what t acts on (within the channel's binding) and checks
// that its status allows the action.
func (b *Bot) resolve(ctx context.Context, req *request, t target) (blocks.Target, error) {
	task, err := b.scopedTask(ctx, req, t.taskID)
	if err != nil {
		return blocks.Target{}, err
	}
	bt := blocks.Target{Action: t.action, Task: task}
	switch {
	case t.recordID != "":
		rec, err := b.ws.GetRecord(ctx, t.recordID)
		if err != nil {
			return bt, err
		}
		if rec.TaskID != "" && rec.TaskID != task.ID {
			return bt, problem(condStaleButton, "That record does not belong to the task.")
		}
		if rec.Status != "FAILED" {
			return bt, problem(condWrongStatus, fmt.Sprintf("The run on %s is %s: only a failed one can be retried.", rec.DesktopName, rec.Status))
		}
		bt.Record, bt.Desktops = &rec, 1
	case t.action == pooltask.ActionRetry:
		if task.Status != pooltask.StatusFailed || task.FailedNum == 0 {
			return bt, problem(condWrongStatus, fmt.Sprintf("Task %s is %s now: only a FAILED task with failed desktops can be retried.", task.ID, task.Status))
		}
		bt.Desktops = task.FailedNum
	case t.action == pooltask.ActionStop:
		if task.Status != pooltask.StatusInit && task.Status != pooltask.StatusRunning {
			return bt, problem(condWrongStatus, fmt.Sprintf("Task %s is %s now: only a task that is INIT or RUNNING can be stopped.", task.ID, task.Status))
		}
		bt.Desktops = task.SuccessNum + task.FailedNum + task.SkipNum
	}
	return bt, nil
}

// confirmAction answers a typed retry or stop with a confirmation (Confirm
// and Cancel): typed text never acts directly.
func (b *Bot) confirmAction(ctx context.Context, req *request, cmd commands.Command, to delivery) (answer, error) {
	t := target{action: pooltask.Action(cmd.Verb), taskID: cmd.TaskID}
	if err := b.mayAct(ctx, req, t.action); err != nil {
		return answer{to: toPrivate}, err
	}
	bt, err := b.resolve(ctx, req, t)
	if err != nil {
		return answer{to: toPrivate}, err
	}
	text, bs := blocks.Confirm(bt)
	return answer{to: to, render: fixed(text, bs), outcome: "confirm"}, nil
}

// actClick acts on a click of a Retry, Stop or Retry on this desktop
// button, or of Confirm: Slack's dialog (or the confirmation message) was
// the confirmation.
func (b *Bot) actClick(ctx context.Context, req *request) (answer, error) {
	a := answer{to: toPrivate}
	t, ok := parseTarget(req.text, req.sentAt)
	if !ok {
		return a, problem(condStaleButton, "")
	}
	req.setVerb(string(t.action))
	if err := b.mayAct(ctx, req, t.action); err != nil {
		return a, err
	}
	bt, err := b.resolve(ctx, req, t)
	if err != nil {
		return a, err
	}
	if ok, wait := b.act.budgets.allow(req.channel, b.cfg.Now()); !ok {
		return a, problem(condRateLimited, fmt.Sprintf("This channel has taken %d actions in the last minute; try again in %d s.",
			b.cfg.Actions.Rate, seconds(wait)))
	}
	if slices.Contains(b.cfg.Actions.Approval, t.action) {
		return b.askApproval(ctx, req, bt)
	}
	return b.take(ctx, req, bt, "", "", "")
}

// cancelAction closes a confirmation without acting.
func (b *Bot) cancelAction(context.Context, *request) (answer, error) {
	t, bs := blocks.Notice("Cancelled: nothing was done.")
	return answer{to: toReplace, render: fixed(t, bs), outcome: "cancelled"}, nil
}

// take sends the action once (see act.Runner) and makes it known: the
// channel sees what was done (in the message at ts when it is an approval
// request, else in a new message), the new task is watched in that
// message's thread, and the clicker is answered.
func (b *Bot) take(ctx context.Context, req *request, bt blocks.Target, approver, channelTS, requester string) (answer, error) {
	a := answer{to: toPrivate}
	actor := req.user
	if requester != "" {
		actor = requester
	}
	in, err := b.act.runner.Do(ctx, act.Request{Action: bt.Action, TaskID: bt.Task.ID, RecordID: recordID(bt),
		PoolID: bt.Task.PoolID, Desktops: bt.Desktops, Actor: actor, Approver: approver})
	v := blocks.ActionView{Target: bt, Actor: actor, Approver: approver, At: b.cfg.Now(), NewTaskID: in.NewTaskID}
	var done *act.DoneBeforeError
	var unknown *pooltask.OutcomeUnknownError
	var storeErr *act.StoreError
	switch {
	case errors.As(err, &done):
		b.auditAction(ctx, in, bt, "already_done")
		return doneBefore(done.Prev), nil
	case errors.As(err, &storeErr):
		b.auditAction(ctx, in, bt, "not_recorded")
		return a, &userError{cond: condNotAvailable, detail: "Nothing was done: the action could not be recorded first, so it could not be promised to happen once.",
			hint: "Try again in a minute; if it persists, the team that runs pooltasks should check its state store."}
	case errors.As(err, &unknown):
		v.Outcome, v.Check = act.OutcomeUnknown, "/pooltasks list pool="+bt.Task.PoolID+" since=10m"
		b.auditAction(ctx, in, bt, act.OutcomeUnknown)
	case err != nil:
		b.auditAction(ctx, in, bt, "failed")
		if channelTS != "" {
			v.Outcome, v.Problem = "failed", errorSummary(err)
			b.update(ctx, req.channel, channelTS, v)
		}
		return a, &actionError{action: bt.Action, err: err}
	default:
		v.Outcome = act.OutcomeDone
		b.auditAction(ctx, in, bt, act.OutcomeDone)
	}
	ts := channelTS
	if ts != "" {
		b.update(ctx, req.channel, ts, v)
	} else {
		text, bs := blocks.Action(v)
		_, posted, perr := b.api.PostMessageContext(ctx, req.channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(bs...))
		if perr != nil {
			b.log.WarnContext(ctx, "posting an action in the channel", "err", logSafe(perr))
		}
		ts = posted
	}
	if in.NewTaskID != "" && b.cfg.Notifier != nil && ts != "" {
		if _, werr := b.cfg.Notifier.StartWatch(ctx, in.NewTaskID, req.channel, ts, actor); werr != nil {
			b.log.WarnContext(ctx, "watching the new task", "task", in.NewTaskID, "err", werr)
		}
	}
	text, bs := blocks.Action(v)
	a.render = fixed(text, bs)
	if req.kind == kindClick && blocks.BaseAction(req.actionID) == blocks.ActionConfirm {
		a.to = toReplace
	}
	a.outcome = "acted"
	return a, nil
}

func recordID(bt blocks.Target) string {
	if bt.Record != nil {
		return bt.Record.ID
	}
	return ""
}

// doneBefore answers an attempt at an action taken before.
func doneBefore(prev state.ActionIntent) answer {
	t, bs := blocks.Already(blocks.Earlier{Action: pooltask.Action(prev.Action), Actor: prev.Actor, Approver: prev.Approver,
		Outcome: prev.Outcome, NewTaskID: prev.NewTaskID, PoolID: prev.PoolID, Started: prev.Started, Ended: prev.Ended})
	return answer{to: toPrivate, render: fixed(t, bs), outcome: "already_done"}
}

// actionError is an action the API refused.
type actionError struct {
	action pooltask.Action
	err    error
}

func (e *actionError) Error() string { return fmt.Sprintf("%s: %v", e.action, e.err) }
func (e *actionError) Unwrap() error { return e.err }

// auditAction writes the one audit line of an action.
func (b *Bot) auditAction(ctx context.Context, in state.ActionIntent, bt blocks.Target, outcome string) {
	b.log.InfoContext(ctx, "action", "actor", in.Actor, "approver", in.Approver, "action", string(bt.Action),
		"pool", bt.Task.PoolID, "task", bt.Task.ID, "record", recordID(bt), "new_task", in.NewTaskID, "outcome", outcome)
}

// update shows v in place of the channel message at ts.
func (b *Bot) update(ctx context.Context, channel, ts string, v blocks.ActionView) {
	text, bs := blocks.Action(v)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), replyTimeout)
	defer cancel()
	if _, _, _, err := b.api.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(bs...)); err != nil {
		b.log.WarnContext(ctx, "updating an action message", "err", logSafe(err))
	}
}

// askApproval posts an approval request in the channel (Approve, Deny) and
// tells the requester.
func (b *Bot) askApproval(ctx context.Context, req *request, bt blocks.Target) (answer, error) {
	a := answer{to: toPrivate}
	now := b.cfg.Now()
	ap := state.Approval{ID: newApprovalID(), Channel: req.channel, Expires: now.Add(b.cfg.Actions.ApprovalTTL).UTC(),
		Intent: state.ActionIntent{Key: act.Key(act.Request{Action: bt.Action, TaskID: bt.Task.ID, RecordID: recordID(bt)}),
			Action: string(bt.Action), TaskID: bt.Task.ID, RecordID: recordID(bt), PoolID: bt.Task.PoolID,
			Desktops: bt.Desktops, Actor: req.user, Started: now.UTC()}}
	if err := b.cfg.Actions.Store.PutApproval(ctx, ap); err != nil {
		return a, &userError{cond: condNotAvailable, detail: "The approval request could not be recorded, so it was not posted.", hint: "Try again in a minute."}
	}
	v := blocks.ActionView{Target: bt, Actor: req.user, Outcome: "pending", ApprovalID: ap.ID, Expires: ap.Expires, At: now}
	text, bs := blocks.Action(v)
	_, ts, err := b.api.PostMessageContext(ctx, req.channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(bs...))
	if err != nil {
		return a, &userError{cond: condNotAvailable, detail: "I could not post the approval request in this channel: " + slackError(err) + ".",
			hint: "Invite pooltasks to the channel, or ask in one it is in."}
	}
	ap.MessageTS = ts
	if err := b.cfg.Actions.Store.PutApproval(ctx, ap); err != nil {
		b.log.WarnContext(ctx, "saving the approval request's message", "err", err)
	}
	b.expireLater(ap, bt)
	b.auditAction(ctx, ap.Intent, bt, "approval_asked")
	t, nbs := blocks.Notice(fmt.Sprintf("Asked for approval in the channel: another operator must approve within %s.", b.cfg.Actions.ApprovalTTL))
	a.render, a.outcome = fixed(t, nbs), "approval_asked"
	if blocks.BaseAction(req.actionID) == blocks.ActionConfirm {
		a.to = toReplace
	}
	return a, nil
}

// expireLater closes an approval request when it expires: its message
// then says so. A click after a restart finds it expired as well.
func (b *Bot) expireLater(ap state.Approval, bt blocks.Target) {
	b.act.mu.Lock()
	defer b.act.mu.Unlock()
	if b.act.closed {
		return
	}
	b.act.timers[ap.ID] = time.AfterFunc(time.Until(ap.Expires), func() {
		b.act.mu.Lock()
		delete(b.act.timers, ap.ID)
		b.act.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), replyTimeout)
		defer cancel()
		b.expire(ctx, ap, bt)
	})
}

// expire decides an approval request as expired, unless it was decided,
// and says so in its message.
func (b *Bot) expire(ctx context.Context, ap state.Approval, bt blocks.Target) {
	if _, first, err := b.cfg.Actions.Store.DecideApproval(ctx, ap.ID, "expired", "", b.cfg.Now()); err != nil || !first {
		return
	}
	b.update(ctx, ap.Channel, ap.MessageTS, blocks.ActionView{Target: bt, Actor: ap.Intent.Actor, Outcome: "expired", Expires: ap.Expires})
	b.auditAction(ctx, ap.Intent, bt, "approval_expired")
}

// stopTimers stops the approval timers; Run calls it when it ends.
func (a *actor) stopTimers() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for id, t := range a.timers {
		t.Stop()
		delete(a.timers, id)
	}
}

// decide answers Approve and Deny.
func (b *Bot) decide(ctx context.Context, req *request) (answer, error) {
	a := answer{to: toPrivate}
	approve := blocks.BaseAction(req.actionID) == blocks.ActionApprove
	id := req.text
	if !recordIDShape.MatchString(id) {
		return a, problem(condStaleButton, "")
	}
	store := b.cfg.Actions.Store
	ap, ok, err := store.GetApproval(ctx, id)
	if err != nil {
		return a, fmt.Errorf("reading the approval request: %w", err)
	}
	if !ok {
		return a, problem(condStaleButton, "That approval request is not known (any more).")
	}
	t := target{action: pooltask.Action(ap.Intent.Action), taskID: ap.Intent.TaskID, recordID: ap.Intent.RecordID}
	req.setVerb(string(t.action))
	if err := b.mayAct(ctx, req, t.action); err != nil {
		return a, err
	}
	if approve && req.user == ap.Intent.Actor {
		return a, &userError{cond: condNotAllowed, detail: "You asked for this action: another operator must approve it.", hint: "Ask another operator to approve."}
	}
	if ap.Decision != "" {
		return decided(ap), nil
	}
	bt, err := b.resolve(ctx, req, t)
	if err != nil {
		return a, err
	}
	if !b.cfg.Now().Before(ap.Expires) {
		b.expire(ctx, ap, bt)
		return decided(state.Approval{Decision: "expired", Expires: ap.Expires}), nil
	}
	decision := "denied"
	if approve {
		decision = "approved"
	}
	got, first, err := store.DecideApproval(ctx, id, decision, req.user, b.cfg.Now())
	if err != nil {
		return a, fmt.Errorf("recording the decision: %w", err)
	}
	if !first {
		return decided(got), nil
	}
	b.stopTimer(id)
	if !approve {
		b.update(ctx, ap.Channel, ap.MessageTS, blocks.ActionView{Target: bt, Actor: ap.Intent.Actor, Approver: req.user, Outcome: "denied"})
		b.auditAction(ctx, state.ActionIntent{Actor: ap.Intent.Actor, Approver: req.user}, bt, "denied")
		t, bs := blocks.Notice("Denied: nothing was done.")
		a.render, a.outcome = fixed(t, bs), "denied"
		return a, nil
	}
	return b.take(ctx, req, bt, req.user, ap.MessageTS, ap.Intent.Actor)
}

func (b *Bot) stopTimer(id string) {
	b.act.mu.Lock()
	defer b.act.mu.Unlock()
	if t, ok := b.act.timers[id]; ok {
		t.Stop()
		delete(b.act.timers, id)
	}
}

// decided answers a click on a request that was decided already.
func decided(ap state.Approval) answer {
	t, bs := blocks.Decided(ap.Decision, ap.DecidedBy, ap.Expires)
	return answer{to: toPrivate, render: fixed(t, bs), outcome: "already_done"}
}

func newApprovalID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "ap-" + hex.EncodeToString(b)
}
