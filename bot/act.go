package bot

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/act"
	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace"
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
	// API returns what sends the actions of a target, by its name as
	// configured (its *workspace.Client: its credentials, its rate).
	API   func(target string) act.API
	Store ActionStore // required when an action is enabled
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
	// in is the task's target as the value gives it: a button's is the
	// task's (with several targets), a typed one's target= as typed; ""
	// routes as a query does (see scopedTask).
	in string
}

// parseTarget reads a button's value or a typed command: "retry TASK_ID
// [target=T]", "stop TASK_ID [target=T]" (canonical commands) or
// blocks.RecordValue.
func parseTarget(value string, now time.Time) (target, bool) {
	if rec, task, in, ok := blocks.RecordIDs(value); ok {
		if !recordIDShape.MatchString(rec) || !recordIDShape.MatchString(task) {
			return target{}, false
		}
		return target{action: pooltask.ActionRetry, taskID: task, recordID: rec, in: in}, true
	}
	cmd, err := commands.Parse(value, now)
	if err != nil || (cmd.Verb != commands.VerbRetry && cmd.Verb != commands.VerbStop) {
		return target{}, false
	}
	return target{action: pooltask.Action(cmd.Verb), taskID: cmd.TaskID, in: cmd.Target}, true
}

// targetName is the name, as configured, of the target of a task:
// Task.Target, or with one target ("") that one.
func (b *Bot) targetName(task string) string {
	return cmp.Or(task, b.targets.Names()[0])
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
	// The task is looked for as show looks for it: in the target the
	// value names, else by the channel's and the default target's rule;
	// an id that several targets have is answered with the choice.
	task, name, err := b.scopedTask(ctx, req, t.in, t.taskID)
	if err != nil {
		return blocks.Target{}, err
	}
	bt := blocks.Target{Action: t.action, Task: task}
	switch {
	case t.recordID != "":
		rec, err := b.client(name).GetRecord(ctx, t.recordID)
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
	case t.action == pooltask.ActionRetry || t.action == pooltask.ActionRerun:
		if task.Status != pooltask.StatusFailed || task.FailedNum == 0 {
			return bt, problem(condWrongStatus, fmt.Sprintf("Task %s is %s now: only a FAILED task with failed desktops can be %s.", task.ID, task.Status,
				map[pooltask.Action]string{pooltask.ActionRetry: "retried", pooltask.ActionRerun: "re-run"}[t.action]))
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
	t := target{action: pooltask.Action(cmd.Verb), taskID: cmd.TaskID, in: cmd.Target}
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
		return b.askApproval(ctx, req, bt, nil)
	}
	return b.take(ctx, req, taking{bt: bt})
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
// taking is an action about to be taken.
type taking struct {
	bt        blocks.Target
	run       *pooltask.RunOptions // a rerun's
	approver  string               // who approved it, if approval was needed
	requester string               // who asked for it, when another approved it
	channelTS string               // the approval request's message, shown in place
}

func (b *Bot) take(ctx context.Context, req *request, tk taking) (answer, error) {
	a := answer{to: toPrivate}
	bt, approver, channelTS := tk.bt, tk.approver, tk.channelTS
	actor := cmp.Or(tk.requester, req.user)
	r := act.Request{Action: bt.Action, Target: bt.Task.Target, TaskID: bt.Task.ID, RecordID: recordID(bt),
		PoolID: bt.Task.PoolID, Desktops: bt.Desktops, Actor: actor, Approver: approver}
	if tk.run != nil {
		r.Run = *tk.run
	}
	in, err := b.act.runner.Do(ctx, r)
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
		v.Outcome, v.Check = act.OutcomeUnknown, checkCommand(bt.Task.PoolID, bt.Task.Target)
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
	switch {
	case ts != "":
		b.update(ctx, req.channel, ts, v)
	case req.publicMessage && req.messageTS != "" && len(req.original) > 0:
		// A channel message everyone sees (an alert, a watch, a shared
		// answer): it says in place what was done; the new task is
		// watched in its thread. A living alert's root keeps the retry in
		// its state, so that its later edits (acknowledged, snoozed,
		// recovered) keep saying it; a running watch's message is the
		// watch's to update, now and in its later updates.
		ts = cmp.Or(req.threadTS, req.messageTS)
		if b.retriedAlert(ctx, req, v) || b.actedOnWatch(ctx, req, v) {
			break
		}
		text, bs := blocks.Acted(req.original, v)
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), replyTimeout)
		if _, _, _, uerr := b.api.UpdateMessageContext(uctx, req.channel, req.messageTS, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(bs...)); uerr != nil {
			b.log.WarnContext(ctx, "updating the clicked message", "err", logSafe(uerr))
		}
		cancel()
	default:
		text, bs := blocks.Action(v)
		_, posted, perr := b.api.PostMessageContext(ctx, req.channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(bs...))
		if perr != nil {
			b.log.WarnContext(ctx, "posting an action in the channel", "err", logSafe(perr))
		}
		ts = posted
	}
	if in.NewTaskID != "" && b.cfg.Notifier != nil && ts != "" {
		if _, werr := b.cfg.Notifier.StartWatch(ctx, in.NewTaskID, bt.Task.Target, req.channel, ts, actor); werr != nil {
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

// retriedAlert records a retry done from a living alert's root in the
// alert's state and renders the root again from it; false when the clicked
// message is no living alert, or the retry's outcome is not known.
func (b *Bot) retriedAlert(ctx context.Context, req *request, v blocks.ActionView) bool {
	if b.cfg.Alerts == nil || v.Target.Action != pooltask.ActionRetry || v.Target.Record != nil || v.Outcome != act.OutcomeDone || v.NewTaskID == "" {
		return false
	}
	al, err := b.cfg.Alerts.UpdateAlert(ctx, req.channel, req.messageTS, func(x *pooltask.Alert) bool {
		if x.Task.ID != v.Target.Task.ID || x.Task.Target != v.Target.Task.Target || x.RetriedBy != "" {
			return false
		}
		x.RetriedBy, x.RetriedAt, x.RetryTaskID = v.Actor, v.At, v.NewTaskID
		return true
	})
	if errors.Is(err, state.ErrNoAlert) {
		return false
	}
	if err != nil {
		b.log.WarnContext(ctx, "remembering a retry on its alert", "task", v.Target.Task.ID, "err", err)
		return false
	}
	if al.RetryTaskID != v.NewTaskID {
		return false
	}
	if err := b.editRoot(ctx, al); err != nil {
		b.log.WarnContext(ctx, "updating the clicked alert", "err", logSafe(err))
	}
	return true
}

// watchActs records an action taken on a watch's message on that watch
// (bot/notify's Notifier), so that the watch's later updates keep it.
type watchActs interface {
	ActedOnWatch(ctx context.Context, channel, ts string, a state.WatchAct) bool
}

// actedOnWatch hands an action taken on a running watch's message to the
// watch, which shows it and keeps it in its later updates; false when the
// message is no watch running here.
func (b *Bot) actedOnWatch(ctx context.Context, req *request, v blocks.ActionView) bool {
	w, ok := b.cfg.Notifier.(watchActs)
	return ok && w.ActedOnWatch(ctx, req.channel, req.messageTS, state.WatchAct{Action: string(v.Target.Action), Actor: v.Actor,
		Approver: v.Approver, At: v.At, Outcome: v.Outcome, NewTaskID: v.NewTaskID, Check: v.Check})
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
		Outcome: prev.Outcome, NewTaskID: prev.NewTaskID, Check: checkCommand(prev.PoolID, prev.Target), Started: prev.Started, Ended: prev.Ended})
	return answer{to: toPrivate, render: fixed(t, bs), outcome: "already_done"}
}

// checkCommand is the command that shows what an action whose outcome is
// unknown did: the pool's tasks of the last minutes, in the task's target.
func checkCommand(poolID, target string) string {
	c := "/pooltasks list pool=" + poolID + " since=10m"
	if target != "" {
		c += " target=" + target
	}
	return c
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
	attrs := []any{"actor", in.Actor, "approver", in.Approver, "action", string(bt.Action),
		"pool", bt.Task.PoolID, "task", bt.Task.ID, "record", recordID(bt), "new_task", in.NewTaskID, "outcome", outcome}
	if bt.Task.Target != "" {
		attrs = append(attrs, "target", bt.Task.Target)
	}
	b.log.InfoContext(ctx, "action", attrs...)
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
func (b *Bot) askApproval(ctx context.Context, req *request, bt blocks.Target, run *pooltask.RunOptions) (answer, error) {
	a := answer{to: toPrivate}
	now := b.cfg.Now()
	ap := state.Approval{ID: newApprovalID(), Channel: req.channel, Expires: now.Add(b.cfg.Actions.ApprovalTTL).UTC(),
		Intent: state.ActionIntent{Key: act.Key(act.Request{Action: bt.Action, Target: bt.Task.Target, TaskID: bt.Task.ID, RecordID: recordID(bt)}),
			Action: string(bt.Action), Target: bt.Task.Target, TaskID: bt.Task.ID, RecordID: recordID(bt), PoolID: bt.Task.PoolID,
			Desktops: bt.Desktops, Actor: req.user, Started: now.UTC(), Run: run}}
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
	t := target{action: pooltask.Action(ap.Intent.Action), taskID: ap.Intent.TaskID, recordID: ap.Intent.RecordID, in: ap.Intent.Target}
	if _, name, ok := b.targets.Client(act.LegacyTarget); ok && t.in == "" && b.targets.Multi() {
		// Asked before targets existed: the target "default"'s.
		t.in = name
	}
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
	if run := ap.Intent.Run; run != nil {
		bt.Desktops, bt.Gray, bt.Threshold = len(run.DesktopIDs), run.GrayCount, run.GrayFailThreshold
	}
	return b.take(ctx, req, taking{bt: bt, run: ap.Intent.Run, approver: req.user, requester: ap.Intent.Actor, channelTS: ap.MessageTS})
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

// rerunMeta is the private_metadata of the staged re-run modal: where it
// was opened, for the answers.
type rerunMeta struct {
	TaskID  string `json:"task"`
	Target  string `json:"target,omitempty"` // the task's, when there are several
	Channel string `json:"channel"`
	Thread  string `json:"thread,omitempty"`
}

// viewSubmission turns a modal's submission into work: its callback id
// routes it like a button's action id, and its private_metadata says
// where it was opened.
func viewSubmission(envID string, cb slack.InteractionCallback) *request {
	var meta rerunMeta
	if json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta) != nil || meta.Channel == "" {
		return nil
	}
	values := map[string]map[string]string{}
	for block, acts := range cb.View.State.Values {
		values[block] = map[string]string{}
		for id, a := range acts {
			values[block][id] = a.Value
		}
	}
	team := cmp.Or(cb.Team.ID, cb.User.TeamID)
	return &request{kind: kindClick, envelopeID: envID, keys: []string{envID, "view:" + cb.View.ID + ":" + cb.View.Hash},
		team: team, user: cb.User.ID, channel: meta.Channel, threadTS: meta.Thread,
		actionID: cb.View.CallbackID, text: cb.View.PrivateMetadata, viewID: cb.View.ID, values: values}
}

// maxRerunDesktops bounds the failed desktops a rerun reads and runs on.
const maxRerunDesktops = 500

// openRerun opens the staged re-run modal with the click's trigger_id
// before any Workspace API call (a trigger_id lives 3 s), then fills it
// with the task's scripts and failed desktops.
func (b *Bot) openRerun(ctx context.Context, req *request) (answer, error) {
	a := answer{to: toPrivate}
	taskID, in, ok := blocks.RerunTask(req.text)
	if !ok || !recordIDShape.MatchString(taskID) {
		return a, problem(condStaleButton, "")
	}
	req.setVerb(string(pooltask.ActionRerun))
	if err := b.mayAct(ctx, req, pooltask.ActionRerun); err != nil {
		return a, err
	}
	view, err := b.api.OpenViewContext(ctx, req.triggerID, blocks.RerunLoading())
	if err != nil {
		return a, &userError{cond: condNotAvailable, detail: "I could not open the re-run form: " + slackError(err) + ".", hint: "Click the button again."}
	}
	fill := func(m slack.ModalViewRequest) {
		if _, err := b.api.UpdateViewContext(ctx, m, "", "", view.ID); err != nil {
			b.log.WarnContext(ctx, "filling the re-run form", "err", logSafe(err))
		}
	}
	bt, err := b.resolve(ctx, req, target{action: pooltask.ActionRerun, taskID: taskID, in: in})
	if err != nil {
		v, _, _ := b.explain(ctx, err)
		fill(blocks.RerunFailed(cmp.Or(v.Message, v.Title)))
		return answer{outcome: "refused"}, nil
	}
	meta, _ := json.Marshal(rerunMeta{TaskID: bt.Task.ID, Target: bt.Task.Target, Channel: req.channel, Thread: req.threadTS})
	fill(blocks.RerunModal(bt, string(meta)))
	return answer{outcome: "form_opened"}, nil
}

// submitRerun starts a staged re-run on the failed desktops of the task,
// as the modal's inputs say.
func (b *Bot) submitRerun(ctx context.Context, req *request) (answer, error) {
	a := answer{to: toPrivate}
	var meta rerunMeta
	if json.Unmarshal([]byte(req.text), &meta) != nil || !recordIDShape.MatchString(meta.TaskID) {
		return a, problem(condStaleButton, "")
	}
	req.setVerb(string(pooltask.ActionRerun))
	if err := b.mayAct(ctx, req, pooltask.ActionRerun); err != nil {
		return a, err
	}
	bt, err := b.resolve(ctx, req, target{action: pooltask.ActionRerun, taskID: meta.TaskID, in: meta.Target})
	if err != nil {
		return a, err
	}
	num := func(block string, def int) int {
		n, err := strconv.Atoi(strings.TrimSpace(req.values[block][block]))
		if err != nil {
			return def
		}
		return n
	}
	var desks []string
	for r, err := range workspace.Records(ctx, b.client(b.targetName(bt.Task.Target)), pooltask.RecordOptions{TaskID: bt.Task.ID, Status: "FAILED"}) {
		if err != nil {
			return a, err
		}
		if !slices.Contains(desks, r.DesktopID) {
			desks = append(desks, r.DesktopID)
		}
		if len(desks) == maxRerunDesktops {
			break
		}
	}
	if len(desks) == 0 {
		return a, problem(condWrongStatus, "Task "+bt.Task.ID+" has no failed desktop records to re-run on.")
	}
	bt.Desktops = len(desks)
	bt.Gray = min(max(num(blocks.RerunGray, 1), 1), len(desks))
	bt.Threshold = min(max(num(blocks.RerunThreshold, 1), 1), bt.Gray)
	run := pooltask.RunOptions{PoolID: bt.Task.PoolID, DesktopIDs: desks, GrayCount: bt.Gray, GrayFailThreshold: bt.Threshold,
		TimeoutMinutes: min(max(num(blocks.RerunTimeout, 5), 1), 1440)}
	for _, s := range bt.Task.Scripts {
		run.ScriptIDs = append(run.ScriptIDs, s.ID)
	}
	if len(run.ScriptIDs) == 0 {
		run.CommandContent, run.CommandType = bt.Task.CommandContent, bt.Task.CommandType
	}
	if ok, wait := b.act.budgets.allow(req.channel, b.cfg.Now()); !ok {
		return a, problem(condRateLimited, fmt.Sprintf("This channel has taken %d actions in the last minute; try again in %d s.",
			b.cfg.Actions.Rate, seconds(wait)))
	}
	if slices.Contains(b.cfg.Actions.Approval, pooltask.ActionRerun) {
		return b.askApproval(ctx, req, bt, &run)
	}
	return b.take(ctx, req, taking{bt: bt, run: &run})
}
