package blocks

import (
	"fmt"
	"slices"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/view"
)

// WatchPhase is where a live watch of a task is.
type WatchPhase int

// The phases of a watch.
const (
	WatchRunning  WatchPhase = iota // following the task
	WatchEnded                      // the task ended
	WatchStopped                    // someone pressed Stop
	WatchTimedOut                   // the watch reached its time limit
	WatchGone                       // the API stopped returning the task
)

// WatchView is a live watch of one task, as its message shows it.
type WatchView struct {
	ID     string        // the watch's id: the Stop button's value
	TaskID string        // the task watched (Task may not be known yet)
	UserID string        // who asked for the watch
	Task   pooltask.Task // the task as last seen
	// Started is when the watch started: the elapsed time counts from
	// it when the task has no start.
	Started time.Time
	Now     time.Time
	Phase   WatchPhase
	By      string // who pressed Stop (WatchStopped)
	// Mention puts who asked in the notification text: for the one
	// message of a task that had ended when the watch was asked for.
	Mention bool
	Limit   time.Duration // the longest a watch runs (WatchTimedOut)
	// Actions are the actions enabled: a running task gets a Stop task
	// button, one that ended FAILED a Retry failed desktops button.
	Actions []pooltask.Action
	// Acted is the action taken on the watch's message (Stop task), whose
	// line every later render keeps (see Acted); nil when none was.
	Acted *ActionView
}

// Watch renders the message of a watch in its phase: the task's status,
// pool, work, counts and elapsed time, who asked, and Stop and Details
// buttons while it runs.
func Watch(v WatchView) (string, []slack.Block) {
	t := v.Task
	started := t.Start
	if started.IsZero() {
		started = v.Started
	}
	elapsed := v.Now.Sub(started)
	if !t.End.IsZero() {
		elapsed = t.End.Sub(started)
	}
	tv := view.TaskOf(t, v.Now)
	status := esc(string(t.Status), statusMax)
	id := code(t.ID, idMax)
	var title, note string
	switch v.Phase {
	case WatchRunning:
		title = fmt.Sprintf("%s Watching task %s: *%s*", StatusEmoji(t.Status), id, status)
		note = "Updated " + Date(v.Now)
	case WatchEnded:
		title = fmt.Sprintf("%s Task %s ended: *%s*", StatusEmoji(t.Status), id, status)
		note = "Watch ended " + Date(v.Now)
	case WatchStopped:
		title = fmt.Sprintf(":black_square_for_stop: Stopped watching task %s (last seen *%s*)", id, status)
		note = fmt.Sprintf("Stopped by <@%s> %s", esc(v.By, idMax), Date(v.Now))
	case WatchTimedOut:
		title = fmt.Sprintf(":hourglass: Stopped watching task %s after the time limit (last seen *%s*)", id, status)
		note = "Watch ended " + Date(v.Now)
	case WatchGone:
		title = fmt.Sprintf(":grey_question: Stopped watching task %s: the API no longer returns it%s", code(v.TaskID, idMax), lastSeen(t))
		note = "Watch ended " + Date(v.Now)
	}
	body := fmt.Sprintf("%s\nPool *%s* · %s\n*%d* failed · *%d* ok · *%d* skipped · elapsed %s",
		title, esc(flat(tv.Pool, poolMax), poolMax), whatText(tv.Work), t.FailedNum, t.SuccessNum, t.SkipNum, view.Duration(elapsed))
	bs := []slack.Block{section(body, nil), context(note + fmt.Sprintf(" · asked by <@%s>", esc(v.UserID, idMax)))}
	details := Button(ActionDetails, "Details", showValue(t))
	switch v.Phase {
	case WatchRunning:
		stop := Button(ActionStopWatch, "Stop watching", v.ID)
		var stopTask *slack.ButtonBlockElement
		if slices.Contains(v.Actions, pooltask.ActionStop) && (t.Status == pooltask.StatusInit || t.Status == pooltask.StatusRunning) {
			stopTask = ActButton(Target{Action: pooltask.ActionStop, Task: t, Desktops: t.SuccessNum + t.FailedNum + t.SkipNum})
		}
		bs = appendBlock(bs, actions(stop, details, stopTask))
	case WatchGone: // Details would find no task either
	default:
		var retry *slack.ButtonBlockElement
		if v.Phase == WatchEnded {
			retry = retryButton(t, v.Actions)
		}
		bs = appendBlock(bs, actions(details, retry))
	}
	text := fmt.Sprintf("Task %s: %s", t.ID, t.Status)
	if v.Phase == WatchGone {
		text = fmt.Sprintf("Stopped watching task %s: the API no longer returns it", v.TaskID)
	}
	text = fallback(text)
	if v.Mention {
		text = "<@" + esc(v.UserID, idMax) + "> " + text
	}
	if v.Acted != nil {
		_, bs = Acted(bs, *v.Acted)
	}
	return text, bs
}

// WatchReply is the threaded reply at the end of a watch that mentions who
// asked: the task ended, the watch reached its time limit, or the task is
// gone. Other phases have no reply ("").
func WatchReply(v WatchView) string {
	t := v.Task
	id := code(v.TaskID, idMax)
	switch v.Phase {
	case WatchEnded:
		return fmt.Sprintf("<@%s> task %s ended: %s %s", esc(v.UserID, idMax), id, StatusEmoji(t.Status), esc(string(t.Status), statusMax))
	case WatchTimedOut:
		return fmt.Sprintf("<@%s> stopped watching task %s after %s; it is still %s", esc(v.UserID, idMax), id, view.Duration(v.Limit), esc(string(t.Status), statusMax))
	case WatchGone:
		return fmt.Sprintf("<@%s> stopped watching task %s: the API no longer returns it%s", esc(v.UserID, idMax), id, lastSeen(t))
	}
	return ""
}

// lastSeen is " (last seen *STATUS*)" when the task was seen with a
// status (a resumed watch may not have seen it).
func lastSeen(t pooltask.Task) string {
	if t.Status == "" {
		return ""
	}
	return " (last seen *" + esc(string(t.Status), statusMax) + "*)"
}
