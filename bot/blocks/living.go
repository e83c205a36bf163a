package blocks

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/view"
)

// The living alert's controls.
const (
	ActionAck    = "alert_ack"    // value: the task id; the alert is the clicked message
	ActionSnooze = "alert_snooze" // a menu; option values SnoozeFor1h, …
	// CallbackSnooze is the callback id of the custom snooze modal, whose
	// private metadata is SnoozeMetadata(task, channel, ts).
	CallbackSnooze = "alert_snooze_custom"
)

// The options of the Snooze menu.
const (
	Snooze1h       = "1h"
	Snooze4h       = "4h"
	SnoozeTomorrow = "tomorrow"
	SnoozeCustom   = "custom"
)

// The inputs of the custom snooze modal.
const (
	SnoozeBlockFor    = "snooze_for"
	SnoozeBlockReason = "snooze_reason"
	SnoozeInput       = "value"
)

// maxReasons is how many failure reasons the root shows.
const maxReasons = 5

// maxThreadDesktops is how many failed desktops the thread lists.
const maxThreadDesktops = 20

// OutputLines is how many last lines of output the thread shows.
const OutputLines = 15

// maxSummaryTasks is how many tasks an end-of-mute summary names.
const maxSummaryTasks = 10

var userIDShape = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// user renders a Slack user id as a mention, or escaped text when it is not
// shaped like one (it never comes from the API, but a mention must not be
// forged).
func user(id string) string {
	if userIDShape.MatchString(id) {
		return "<@" + id + ">"
	}
	return esc(id, 40)
}

// AlertRoot renders a living alert's root message: the task, its pool and
// counts, its top failure reasons, and what happened since (acknowledged,
// snoozed, retried and how that ended, recovered), with Acknowledge, Snooze and Details until
// it recovered, and Retry while it was not retried when enabled
// (POOLTASKS_ACTIONS) has retry.
func AlertRoot(a pooltask.Alert, enabled []pooltask.Action) (string, []slack.Block) {
	t := a.Task
	title := StatusEmoji(t.Status) + " Task failed in " + view.PoolLabel(t)
	text := "Task " + t.ID + " failed in " + view.PoolLabel(t)
	if a.RecoveredBy != "" {
		title = ":white_check_mark: Recovered: task failed in " + view.PoolLabel(t)
		text = "Recovered: " + text
	}
	line := taskLine(t)
	line.Accessory = nil // Details is in the row of controls
	bs := []slack.Block{header(title), line}
	if len(a.Reasons) > 0 {
		var b strings.Builder
		b.WriteString("*Top failure reasons*")
		for i, r := range a.Reasons {
			if i == maxReasons {
				b.WriteString(fmt.Sprintf("\n_… and %d more reasons_", len(a.Reasons)-i))
				break
			}
			b.WriteString("\n• *" + plural(r.Count, "desktop") + "*: " + esc(flat(r.Text, 300), 300))
		}
		bs = append(bs, section(b.String(), nil))
	}
	var story []string
	if a.AckedBy != "" {
		story = append(story, ":eyes: "+user(a.AckedBy)+" is on it (since "+Date(a.AckedAt)+")")
	}
	if a.SnoozedBy != "" {
		story = append(story, ":zzz: Snoozed by "+user(a.SnoozedBy)+" until "+Date(a.SnoozedUntil)+": alerts of this pool are muted until then")
	}
	if a.RetriedBy != "" {
		story = append(story, ":repeat: Retried by "+user(a.RetriedBy)+" ("+Date(a.RetriedAt)+") → task "+code(a.RetryTaskID, idMax)+retryEnd(a.RetryEnded))
	}
	switch {
	case a.RecoveredBy != "" && a.RecoveredBy == a.RetryTaskID:
		story = append(story, ":white_check_mark: Recovered by that retry")
	case a.RecoveredBy != "":
		story = append(story, ":white_check_mark: Recovered: the same work on this pool finished with no failed desktop in task "+
			code(a.RecoveredBy, idMax)+" ("+Date(a.RecoveredAt)+")")
	}
	if len(story) > 0 {
		bs = append(bs, context(story...))
	}
	if a.RecoveredBy != "" {
		bs = appendBlock(bs, actions(Button(ActionDetails, "Details", showValue(t)),
			Button(ActionDetails+"#recovery", "Recovery details", showValue(pooltask.Task{ID: a.RecoveredBy, Target: t.Target}))))
		return fallback(text), bs
	}
	var els []slack.BlockElement
	if a.AckedBy == "" {
		if b := Button(ActionAck, "Acknowledge", t.ID); b != nil {
			b.Style = slack.StylePrimary
			els = append(els, b)
		}
	}
	els = append(els, snoozeMenu())
	if b := Button(ActionDetails, "Details", showValue(t)); b != nil {
		els = append(els, b)
	}
	if b := retryButton(t, enabled); b != nil && a.RetriedBy == "" {
		els = append(els, b)
	}
	bs = append(bs, slack.NewActionBlock("alert", els...))
	return fallback(text), bs
}

// retryEnd is what the root says after the task a retry started: watched
// in the thread while it runs, then how it ended.
func retryEnd(e *pooltask.RetryEnd) string {
	if e == nil {
		return ", watched in the thread"
	}
	all := e.SuccessNum + e.FailedNum + e.SkipNum
	var s string
	switch {
	case e.StoppedBy != "":
		s = " was stopped by " + user(e.StoppedBy) + ": " + fmt.Sprintf("%d of %s failed", e.FailedNum, plural(all, "desktop"))
	case e.Status == pooltask.StatusFinish && e.FailedNum == 0:
		s = " finished: " + fmt.Sprintf("%d of %s succeeded", e.SuccessNum, plural(all, "desktop"))
	default:
		s = " failed again on " + fmt.Sprintf("%d of %s", e.FailedNum, plural(all, "desktop"))
	}
	if e.SkipNum > 0 {
		s += fmt.Sprintf(", %d skipped", e.SkipNum)
	}
	if !e.End.IsZero() {
		s += " (" + Date(e.End) + ")"
	}
	return s
}

func snoozeMenu() *slack.SelectBlockElement {
	opt := func(value, label string) *slack.OptionBlockObject {
		return slack.NewOptionBlockObject(value, plainText(label), nil)
	}
	return slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText("Snooze"), ActionSnooze,
		opt(Snooze1h, "1 hour"), opt(Snooze4h, "4 hours"), opt(SnoozeTomorrow, "Until tomorrow 09:00 UTC"), opt(SnoozeCustom, "Custom…"))
}

// ThreadView is the enrichment posted in a living alert's thread.
type ThreadView struct {
	Task   pooltask.Task
	Failed []pooltask.Record // the failed desktops (first page)
	Total  int               // failed records in all
	// First is the first failed desktop's record with its output;
	// OutputErr says why it could not be read.
	First     pooltask.Record
	OutputErr string
}

// AlertThread renders the enrichment of a living alert: the failed
// desktops (up to 20, with result codes and reasons, each with its Output
// button), then the last 15 lines of the first one's output.
func AlertThread(v ThreadView) (string, []slack.Block) {
	total := max(v.Total, len(v.Failed))
	shown := min(len(v.Failed), maxThreadDesktops)
	title := "*Failed desktops* (" + view.Count(total) + ")"
	if shown < total {
		title = "*Failed desktops* — the first " + view.Count(shown) + " of " + view.Count(total)
	}
	bs := []slack.Block{section(title, nil)}
	if len(v.Failed) == 0 {
		bs = append(bs, context("No failed desktop records were found for this task."))
	}
	for _, r := range v.Failed[:shown] {
		bs = append(bs, section(recordSummary(r), Button(ActionOutput, "Output", OutputValue(r.ID, v.Task.ID, v.Task.Target))))
	}
	switch {
	case v.OutputErr != "":
		bs = append(bs, context(":warning: I couldn't read the output of the first failed desktop: "+esc(v.OutputErr, 500)))
	case v.First.ID != "":
		name := plain(flat(v.First.DesktopName, 100), 100, plain(v.First.DesktopID, 100, "the first failed desktop"))
		out, cut := lastLines(v.First.Output, OutputLines)
		head := fmt.Sprintf("*Last %d lines of the output on %s*", OutputLines, esc(name, 200))
		if cut == 0 {
			head = "*Output on " + esc(name, 200) + "*"
		}
		if strings.TrimSpace(out) == "" {
			bs = append(bs, section(head+"\n_The script printed nothing there._", nil))
			break
		}
		block, _ := codeBlock(out, maxText-len(head)-1, true)
		bs = append(bs, section(head+"\n"+block, nil))
	}
	return fallback(fmt.Sprintf("%d failed desktops of task %s", total, v.Task.ID)), bs
}

// lastLines returns the last n lines of s (without a final newline) and how
// many lines came before them.
func lastLines(s string, n int) (string, int) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) <= n {
		return strings.Join(lines, "\n"), 0
	}
	return strings.Join(lines[len(lines)-n:], "\n"), len(lines) - n
}

// MuteSummary renders what happened while a pool was muted, posted once in
// each channel its alerts go to when the mute ends: how many tasks failed,
// naming up to 10 of them with Details buttons.
func MuteSummary(m pooltask.Mute, taskIDs []string) (string, []slack.Block) {
	pool := esc(flat(m.Label(), poolMax), poolMax)
	how := "expired"
	if !m.Ended.IsZero() && m.Ended.Before(m.Until) {
		how = "ended by " + user(m.EndedBy)
	}
	n := len(taskIDs)
	what := "While muted: " + plural(n, "failed task") + " in *" + pool + "*"
	if n == 0 {
		what = "While muted: nothing failed in *" + pool + "*"
	}
	text := fallback("Alerts for " + m.Label() + " are back on; while muted, " + plural(n, "task") + " failed")
	muted := "Muted by " + user(m.By) + " from " + Date(m.Start) + " to " + Date(m.End()) + " (" + how + ")"
	if m.Reason != "" {
		muted += ": " + esc(flat(m.Reason, 200), 200)
	}
	bs := []slack.Block{header(":bell: Alerts for " + m.Label() + " are back on"), section(what, nil), context(muted)}
	for i, id := range taskIDs {
		if i == maxSummaryTasks {
			bs = append(bs, context(fmt.Sprintf("… and %d more: `/pooltasks failed pool=%s` lists them all.", n-i, esc(flat(m.PoolID, idMax), idMax))))
			break
		}
		bs = append(bs, section("• "+code(id, idMax), Button(ActionDetails, "Details", showValue(pooltask.Task{ID: id}))))
	}
	return text, bs
}

// Mutes renders the mutes in force at now, for `/pooltasks mutes`.
func Mutes(ms []pooltask.Mute, now time.Time) (string, []slack.Block) {
	var active []pooltask.Mute
	for _, m := range ms {
		if m.Active(now) {
			active = append(active, m)
		}
	}
	if len(active) == 0 {
		return Notice("No pool is muted: every failure is alerted.")
	}
	bs := []slack.Block{header(":zzz: " + plural(len(active), "muted pool"))}
	for i, m := range active {
		if len(bs) == maxBlocks-1 {
			bs = append(bs, context(fmt.Sprintf("… and %d more", len(active)-i)))
			break
		}
		s := "*" + esc(flat(m.Label(), poolMax), poolMax) + "* until " + Date(m.Until) + " · by " + user(m.By) + " since " + Date(m.Start)
		if m.Reason != "" {
			s += "\n" + esc(flat(m.Reason, 300), 300)
		}
		bs = append(bs, section(s, nil))
	}
	bs = append(bs, context("`/pooltasks unmute pool=NAME` ends a mute; its summary follows in the alert channels."))
	return fallback(fmt.Sprintf("%d muted pools", len(active))), bs
}

// snoozeMeta is the private metadata of the custom snooze modal, in the
// shape every modal of pooltasks carries (the channel it was opened in, the
// thread: here the alert's root).
type snoozeMeta struct {
	TaskID  string `json:"task"`
	Channel string `json:"channel"`
	Thread  string `json:"thread"`
}

// SnoozeMetadata is the private metadata of the custom snooze modal of the
// alert of taskID, whose root is ts in channel.
func SnoozeMetadata(taskID, channel, ts string) string {
	b, _ := json.Marshal(snoozeMeta{TaskID: taskID, Channel: channel, Thread: ts})
	return string(b)
}

// SnoozeModal is the modal of the Snooze menu's Custom… option: for how
// long (2h, 1d, 30m) and why.
func SnoozeModal(a pooltask.Alert) slack.ModalViewRequest {
	forInput := slack.NewPlainTextInputBlockElement(plainText("2h, 90m, 1d"), SnoozeInput)
	reasonInput := slack.NewPlainTextInputBlockElement(plainText("patch window"), SnoozeInput)
	reason := slack.NewInputBlock(SnoozeBlockReason, plainText("Why"), nil, reasonInput)
	reason.Optional = true
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackSnooze,
		PrivateMetadata: SnoozeMetadata(a.Task.ID, a.Channel, a.TS),
		Title:           plainText("Snooze alerts"),
		Submit:          plainText("Snooze"),
		Close:           plainText("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			section("Mute the alerts of *"+esc(flat(view.PoolLabel(a.Task), poolMax), poolMax)+"* for a while. Its failures are summed up here when the mute ends.", nil),
			slack.NewInputBlock(SnoozeBlockFor, plainText("For how long"), nil, forInput),
			reason,
		}},
	}
}

// AckedAlready answers a second Acknowledge: who is on it, since when.
func AckedAlready(by string, at time.Time, you bool) (string, []slack.Block) {
	who := user(by)
	if you {
		who = "You"
	}
	s := who + " acknowledged this alert already, " + Date(at) + "."
	return fallback("Acknowledged already"), []slack.Block{section(s, nil)}
}

// MuteChange answers a mute, a snooze or an unmute by user: the pool, until
// when and why, or that its alerts are back.
func MuteChange(m pooltask.Mute, by string, ended bool) (string, []slack.Block) {
	pool := esc(flat(m.Label(), poolMax), poolMax)
	if ended {
		s := ":bell: " + user(by) + " unmuted *" + pool + "*: its failures are alerted again, and what failed meanwhile is summed up in its alert channels."
		return fallback(m.Label() + " unmuted"), []slack.Block{section(s, nil)}
	}
	s := ":no_bell: " + user(by) + " muted the alerts of *" + pool + "* until " + Date(m.Until)
	if m.Reason != "" {
		s += ": " + esc(flat(m.Reason, 200), 200)
	}
	s += ". What fails meanwhile is summed up when the mute ends; `/pooltasks unmute pool=" + esc(flat(m.PoolID, idMax), idMax) + "` ends it sooner."
	return fallback(m.Label() + " muted until " + m.Until.UTC().Format("2006-01-02 15:04") + " UTC"), []slack.Block{section(s, nil)}
}
