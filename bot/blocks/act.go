package blocks

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/view"
	"github.com/slack-go/slack"
)

// Action ids of the buttons that act on tasks.
const (
	ActionRetry       = "act_retry"        // value: canonical command "retry TASK_ID [target=T]"; the click is the confirmation
	ActionStop        = "act_stop"         // value: canonical command "stop TASK_ID [target=T]"; the click is the confirmation
	ActionRetryRecord = "act_retry_record" // value: RecordValue(RECORD_ID, TASK_ID, TARGET)
	ActionConfirm     = "act_confirm"      // value: as the Retry, Stop or Retry on this desktop button it confirms
	ActionCancel      = "act_cancel"       // value: "cancel"; closes a confirmation
	ActionRerun       = "act_rerun"        // value: RerunValue(TASK_ID, TARGET); opens the staged re-run modal
	ActionApprove     = "act_approve"      // value: the approval id
	ActionDeny        = "act_deny"         // value: the approval id
)

// ActionValue is the value of a Retry or Stop button: the canonical
// command, in the task's target as Details carries it, parsed again when
// clicked.
func ActionValue(a pooltask.Action, t pooltask.Task) string {
	return commands.Command{Verb: commands.Verb(a), TaskID: t.ID, Target: t.Target}.Canonical()
}

// RecordValue is the value of the Retry on this desktop button, read back
// by RecordIDs; target is the task's ("" with one target), as for Output.
func RecordValue(recordID, taskID, target string) string {
	return idsValue(ActionRetryRecord, recordID, taskID, target)
}

// RecordIDs reads a RecordValue.
func RecordIDs(value string) (recordID, taskID, target string, ok bool) {
	f, ok := readIDs(ActionRetryRecord, value, 2)
	return f[0], f[1], f[2], ok
}

// RerunValue is the value of the Re-run in stages button, read back by
// RerunTask.
func RerunValue(taskID, target string) string { return idsValue(ActionRerun, taskID, target) }

// RerunTask reads a RerunValue.
func RerunTask(value string) (taskID, target string, ok bool) {
	f, ok := readIDs(ActionRerun, value, 1)
	return f[0], f[1], ok
}

// Target is what an action acts on, as the people asked to confirm or
// approve it see it.
type Target struct {
	Action   pooltask.Action
	Task     pooltask.Task
	Record   *pooltask.Record // a retry on one desktop
	Desktops int              // how many desktops it acts on
	// Gray and Threshold are a rerun's stages: the first Gray desktops
	// run first, and Threshold failures among them halt it.
	Gray, Threshold int
}

// verbs of each action: the button, the past tense, the gerund.
var actWords = map[pooltask.Action]struct{ button, past, doing string }{
	pooltask.ActionRetry: {"Retry failed desktops", "retried", "retry"},
	pooltask.ActionStop:  {"Stop task", "stopped", "stop"},
	pooltask.ActionRerun: {"Re-run in stages", "re-ran", "re-run"},
}

// Phrase says what the action does, in mrkdwn: "retry task `ID` of pool
// *P* on 3 failed desktops".
func (t Target) Phrase() string {
	return actWords[t.Action].doing + " " + t.object()
}

// object is the task and the desktops acted on, in mrkdwn.
func (t Target) object() string {
	s := "task " + code(t.Task.ID, idMax) + " of pool *" + esc(flat(poolText(t.Task), 100), 200) + "*"
	switch {
	case t.Record != nil:
		name := plain(flat(t.Record.DesktopName, 100), 100, t.Record.DesktopID)
		s += " on desktop *" + esc(name, 200) + "*"
	case t.Action == pooltask.ActionStop:
		s += " (" + view.Count(t.Desktops) + " desktops done so far; the others will fail with reason \"stopped\")"
	case t.Action == pooltask.ActionRerun && t.Gray > 0:
		s += " on " + plural(t.Desktops, "failed desktop") + ", " + view.Count(t.Gray) + " first; " +
			plural(t.Threshold, "failure") + " among them halt the rest"
	default:
		s += " on " + plural(t.Desktops, "failed desktop")
	}
	return s
}

// plainPhrase is Phrase for plain_text fields (confirm dialogs).
func (t Target) plainPhrase() string {
	r := strings.NewReplacer("*", "", "`", "", "&amp;", "&", "&lt;", "<", "&gt;", ">")
	return r.Replace(t.Phrase())
}

// ActButton is a button that acts on the target once the clicker confirms
// Slack's dialog, which names the task, the pool and the desktops.
func ActButton(t Target) *slack.ButtonBlockElement {
	label, value, id := actWords[t.Action].button, ActionValue(t.Action, t.Task), ActionRetry
	switch {
	case t.Record != nil:
		label, value, id = "Retry on this desktop", RecordValue(t.Record.ID, t.Task.ID, t.Task.Target), ActionRetryRecord
	case t.Action == pooltask.ActionStop:
		id = ActionStop
	}
	b := Button(id, label, value)
	if b == nil {
		return nil
	}
	doing := actWords[t.Action].doing
	title := strings.ToUpper(doing[:1]) + doing[1:] + "?"
	b.Confirm = slack.NewConfirmationBlockObject(plainText(title),
		plainText(plain(strings.ToUpper(t.plainPhrase()[:1])+t.plainPhrase()[1:]+"?", 300, "…")),
		plainText(strings.ToUpper(doing[:1])+doing[1:]), plainText("Cancel"))
	if t.Action == pooltask.ActionStop {
		b.Style = slack.StyleDanger
		b.Confirm.Style = slack.StyleDanger
	}
	return b
}

// retryButton is the Retry of a FAILED task's failed desktops, or nil
// when actions (POOLTASKS_ACTIONS) has no retry or there is none to retry.
func retryButton(t pooltask.Task, actions []pooltask.Action) *slack.ButtonBlockElement {
	if !slices.Contains(actions, pooltask.ActionRetry) || t.Status != pooltask.StatusFailed || t.FailedNum <= 0 {
		return nil
	}
	return ActButton(Target{Action: pooltask.ActionRetry, Task: t, Desktops: t.FailedNum})
}

// Confirm asks the one who typed retry or stop to confirm it: it names the
// task, the pool and the desktops, with Confirm and Cancel buttons.
func Confirm(t Target) (string, []slack.Block) {
	doing := actWords[t.Action].doing
	title := strings.ToUpper(doing[:1]) + doing[1:] + " task?"
	ok := ActButton(t)
	if ok != nil {
		ok.Confirm = nil // this message is the confirmation
		ok.ActionID = ActionConfirm
		ok.Text = plainText("Confirm")
		if ok.Style == "" {
			ok.Style = slack.StylePrimary
		}
	}
	bs := []slack.Block{
		header(title),
		section(strings.ToUpper(t.Phrase()[:1])+t.Phrase()[1:]+"?", nil),
		slack.NewSectionBlock(nil, taskFields(t.Task, time.Time{})[:4], nil),
	}
	bs = appendBlock(bs, actions(ok, Button(ActionCancel, "Cancel", "cancel")))
	return fallback(title), bs
}

// ActionView is an action taken, or not, as the channel sees it.
type ActionView struct {
	Target    Target
	Actor     string // Slack user id
	Approver  string // Slack user id; "" without approval
	At        time.Time
	Outcome   string // "done", "unknown", "failed", "denied", "expired", "pending"
	NewTaskID string
	Problem   string // why it failed, or what is unknown; plain text
	Check     string // for an unknown outcome: the command that shows what happened
	// ApprovalID, for a pending approval request: the Approve and Deny
	// buttons carry it.
	ApprovalID string
	Expires    time.Time // of a pending approval request
}

// Action renders an action as the channel sees it: an approval request
// (with Approve and Deny), and then, in place, what came of it ("Retried
// by @ana, approved by @li at 10:02 → task …"). The new task's watch
// follows in the thread.
func Action(v ActionView) (string, []slack.Block) {
	w := actWords[v.Target.Action]
	who := "<@" + esc(v.Actor, 40) + ">"
	var line, head string
	switch v.Outcome {
	case "pending":
		head = ":raised_hand: Approval needed"
		line = who + " asks to " + v.Target.Phrase() + "."
	case "done":
		head = ":white_check_mark: " + strings.ToUpper(w.past[:1]) + w.past[1:]
		line = strings.ToUpper(w.past[:1]) + w.past[1:] + " " + v.Target.object()
		if v.NewTaskID != "" {
			line += " → task " + code(v.NewTaskID, idMax)
		}
		line += "\nBy " + who
		if v.Approver != "" {
			line += ", approved by <@" + esc(v.Approver, 40) + ">"
		}
		line += " at " + clock(v.At) + "."
	case "unknown":
		head = ":grey_question: Outcome unknown"
		line = who + " asked to " + v.Target.Phrase() + ", and the API did not answer in time: it may or may not have done it. It was not sent again."
	case "denied":
		head = ":no_entry: Denied"
		line = "<@" + esc(v.Approver, 40) + "> denied " + who + "'s request to " + v.Target.Phrase() + "."
	case "expired":
		head = ":hourglass: Expired"
		line = who + "'s request to " + v.Target.Phrase() + " expired at " + clock(v.Expires) + " without approval. Nothing was done."
	default:
		head = ":x: Not done"
		line = who + " asked to " + v.Target.Phrase() + ", and it was not done."
	}
	bs := []slack.Block{header(head), section(line, nil)}
	if v.Problem != "" {
		bs = append(bs, section(esc(v.Problem, 1500), nil))
	}
	switch {
	case v.Outcome == "pending":
		bs = append(bs, context("Another operator must approve; "+who+" cannot. Expires "+Date(v.Expires)+"."))
		bs = appendBlock(bs, actions(
			styled(Button(ActionApprove, "Approve", v.ApprovalID), slack.StylePrimary),
			styled(Button(ActionDeny, "Deny", v.ApprovalID), slack.StyleDanger)))
	case v.Check != "":
		bs = append(bs, context("Check what happened with "+code(v.Check, 300)+"."))
	case v.NewTaskID != "":
		bs = append(bs, context("The new task is watched in this thread."))
	}
	return fallback(strings.TrimLeft(strings.SplitN(head, " ", 2)[1], " ") + ": " + v.Target.Task.ID), bs
}

func styled(b *slack.ButtonBlockElement, s slack.Style) *slack.ButtonBlockElement {
	if b != nil {
		b.Style = s
	}
	return b
}

// Earlier is an action attempted before, as a later attempt is told of it.
type Earlier struct {
	Action    pooltask.Action
	Actor     string // Slack user id
	Approver  string
	Outcome   string // "done", "unknown", "" (in progress, or interrupted by a restart)
	NewTaskID string
	Check     string // the command that shows what happened
	Started   time.Time
	Ended     time.Time
}

// Already answers an attempt at an action attempted before: nothing is
// sent again, and it says by whom, when and with what outcome.
func Already(e Earlier) (string, []slack.Block) {
	w := actWords[e.Action]
	who := "<@" + esc(e.Actor, 40) + ">"
	check := e.Check
	var line string
	switch e.Outcome {
	case "done":
		line = "Already " + w.past + " by " + who
		if e.Approver != "" {
			line += ", approved by <@" + esc(e.Approver, 40) + ">"
		}
		line += " at " + clock(e.Ended)
		if e.NewTaskID != "" {
			line += " → task " + code(e.NewTaskID, idMax)
		}
		line += "."
	case "unknown":
		line = who + " asked for this at " + clock(e.Started) + " and the API did not answer: it may have been done. Check with " + code(check, 300) + "."
	default:
		line = who + " started this at " + clock(e.Started) + "; it is in progress, or was interrupted by a restart and its outcome is unknown. Check with " + code(check, 300) + "."
	}
	return fallback("Already " + w.past + ": nothing was sent again"), []slack.Block{
		section(line, nil), context("Nothing was sent again."),
	}
}

// Decided answers a click on an approval request decided before.
func Decided(decision, by string, expires time.Time) (string, []slack.Block) {
	var line string
	switch decision {
	case "expired":
		line = "That request expired at " + clock(expires) + "; nothing was done."
	case "denied":
		line = "<@" + esc(by, 40) + "> denied that request already; nothing was done."
	default:
		line = "<@" + esc(by, 40) + "> approved that request already."
	}
	return fallback(strings.NewReplacer("<@", "@", ">", "").Replace(line)), []slack.Block{section(line, nil)}
}

// The modal of a staged re-run: its callback id, and the block and action
// ids of its inputs.
const (
	RerunCallback  = "pooltasks_rerun"
	RerunGray      = "gray_count"
	RerunThreshold = "gray_fail_threshold"
	RerunTimeout   = "execution_timeout"
)

// RerunLoading is the modal opened at once with the click's trigger_id,
// before the task is read; RerunModal replaces it.
func RerunLoading() slack.ModalViewRequest {
	return slack.ModalViewRequest{Type: slack.VTModal, Title: plainText("Re-run in stages"), Close: plainText("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{section(":hourglass_flowing_sand: Reading the task and its failed desktops…", nil)}}}
}

// RerunFailed replaces the loading modal when the re-run cannot be offered.
func RerunFailed(why string) slack.ModalViewRequest {
	m := RerunLoading()
	m.Blocks.BlockSet = []slack.Block{section(":warning: "+esc(why, 2000), nil)}
	return m
}

// RerunModal asks how to re-run a FAILED task on its failed desktops in
// stages: it shows the task's scripts (or command) and the number of
// failed desktops, with inputs for the first stage's size (default 1), the
// failures that halt the run (default 1) and the timeout in minutes.
// metadata comes back with the submission.
func RerunModal(t Target, metadata string) slack.ModalViewRequest {
	n := strconv.Itoa(max(t.Desktops, 1))
	num := func(block, label, initial, lo, hi, hint string) *slack.InputBlock {
		el := slack.NewNumberInputBlockElement(nil, block, false)
		el.InitialValue, el.MinValue, el.MaxValue = initial, lo, hi
		return slack.NewInputBlock(block, plainText(label), plainText(hint), el)
	}
	bs := []slack.Block{
		section("Re-run "+t.object()+", in two stages: the first desktops, then the rest unless too many of the first fail.", nil),
		section(taskContent(view.WorkOf(t.Task)), nil),
		num(RerunGray, "Desktops in the first stage", "1", "1", n, "Of the "+n+" failed desktops."),
		num(RerunThreshold, "Failures that halt the run", "1", "1", n, "This many failures in the first stage skip the rest."),
		num(RerunTimeout, "Timeout per desktop (minutes)", "5", "1", "1440", "execution_timeout of the run."),
	}
	return slack.ModalViewRequest{Type: slack.VTModal, Title: plainText("Re-run in stages"), Close: plainText("Cancel"),
		Submit: plainText("Start"), CallbackID: RerunCallback, PrivateMetadata: metadata, Blocks: slack.Blocks{BlockSet: bs}}
}

// Acted is a channel message on which an action was taken (an alert, a
// watch's message, a shared answer), shown again in place: its action
// buttons gone, and a line saying who did what, when, and what came of
// it ("Retried by @ana at 10:02 → task …").
func Acted(original []slack.Block, v ActionView) (string, []slack.Block) {
	out := make([]slack.Block, 0, len(original)+1)
	for _, b := range original {
		if ab, ok := b.(*slack.ActionBlock); ok && ab.Elements != nil {
			kept := *ab
			kept.Elements = &slack.BlockElements{}
			for _, el := range ab.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok && strings.HasPrefix(btn.ActionID, "act_") {
					continue
				}
				kept.Elements.ElementSet = append(kept.Elements.ElementSet, el)
			}
			if len(kept.Elements.ElementSet) == 0 {
				continue
			}
			b = &kept
		}
		out = append(out, b)
	}
	if len(out) >= maxBlocks {
		out = out[:maxBlocks-1]
	}
	w := actWords[v.Target.Action]
	who := "<@" + esc(v.Actor, 40) + ">"
	var line string
	switch v.Outcome {
	case "done":
		line = ":white_check_mark: " + strings.ToUpper(w.past[:1]) + w.past[1:] + " by " + who
		if v.Approver != "" {
			line += ", approved by <@" + esc(v.Approver, 40) + ">"
		}
		line += " at " + clock(v.At)
		if v.NewTaskID != "" {
			line += " → task " + code(v.NewTaskID, idMax) + ", watched in the thread"
		}
	default:
		line = ":grey_question: " + who + " asked to " + w.doing + " at " + clock(v.At) + "; the API did not answer, so it may or may not have happened. Check with " + code(v.Check, 300) + "."
	}
	out = append(out, context(line))
	return fallback(strings.ToUpper(w.past[:1]) + w.past[1:] + " task " + v.Target.Task.ID), out
}
