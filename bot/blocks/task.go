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

// TaskView is the details answer.
type TaskView struct {
	Task         pooltask.Task
	Failed       []pooltask.Record // failed desktops of the task (first page)
	FailedTotal  int               // how many failed records exist in total
	RecordsErr   string            // non-empty: the records could not be loaded; say so and still show the task
	ShareCommand string            // "" = no Share button
	NoWatch      bool              // watches are not available: no Watch button
	// Actions are the actions enabled here: a FAILED task with failed
	// desktops gets a Retry button, one that is INIT or RUNNING a Stop
	// button, each with a confirmation dialog.
	Actions []pooltask.Action
	Now     time.Time // for the duration of a running task
}

// Task renders one task in full: its fields, its scripts (names and ids) or
// its command in a code block, and its failed desktops, each with an Output
// button. A task that has not ended (INIT or RUNNING) gets a Watch button.
// It returns the notification text and the blocks.
func Task(v TaskView) (string, []slack.Block) {
	t := v.Task
	text := fallback("Task " + flat(t.ID, 300) + ": " + string(t.Status))

	bs := make([]slack.Block, 0, len(v.Failed)+6)
	bs = append(bs, header(StatusEmoji(t.Status)+" Task "+view.StatusPhrase(t.Status)))
	bs = appendBlock(bs, targetLine(t.Target))
	bs = append(bs, slack.NewSectionBlock(mrkdwn(code(t.ID, 1000)), taskFields(t, v.Now), nil))
	bs = append(bs, section(taskContent(view.WorkOf(t)), nil))

	var watch *slack.ButtonBlockElement
	if !v.NoWatch && (t.Status == pooltask.StatusInit || t.Status == pooltask.StatusRunning) {
		watch = Button(ActionWatch, "Watch", commands.Command{Verb: commands.VerbWatch, TaskID: t.ID, Target: t.Target}.Canonical())
	}
	var act, rerun *slack.ButtonBlockElement
	switch {
	case t.Status == pooltask.StatusFailed && t.FailedNum > 0:
		if slices.Contains(v.Actions, pooltask.ActionRetry) {
			act = ActButton(Target{Action: pooltask.ActionRetry, Task: t, Desktops: t.FailedNum})
		}
		if slices.Contains(v.Actions, pooltask.ActionRerun) {
			rerun = Button(ActionRerun, "Re-run in stages…", RerunValue(t.ID, t.Target))
		}
	case (t.Status == pooltask.StatusInit || t.Status == pooltask.StatusRunning) && slices.Contains(v.Actions, pooltask.ActionStop):
		act = ActButton(Target{Action: pooltask.ActionStop, Task: t, Desktops: t.SuccessNum + t.FailedNum + t.SkipNum})
	}
	bar := actions(
		Button(ActionRefresh, "Refresh", showValue(t)),
		watch,
		act,
		rerun,
		Button(ActionShare, "Share", v.ShareCommand),
	)
	room := maxBlocks - len(bs) - 2 // a title line and the actions row
	if bar == nil {
		room++
	}

	total := max(v.FailedTotal, len(v.Failed))
	switch {
	case v.RecordsErr != "":
		bs = append(bs, section(":warning: I couldn't load the failed desktops of this task: "+esc(v.RecordsErr, 1000), nil))
	case len(v.Failed) == 0 && t.FailedNum > 0:
		bs = append(bs, context("No failed desktop records were found for this task."))
	case len(v.Failed) > 0:
		shown := len(v.Failed)
		if shown > room {
			shown = room
		}
		title := "*Failed desktops* (" + view.Count(total) + ")"
		if shown < total {
			title = "*Failed desktops* — showing " + view.Count(shown) + " of " + view.Count(total)
		}
		bs = append(bs, section(title, nil))
		for _, r := range v.Failed[:shown] {
			bs = append(bs, section(recordSummary(r), Button(ActionOutput, "Output", OutputValue(r.ID, t.ID, t.Target))))
		}
	}
	bs = appendBlock(bs, bar)
	return text, bs
}

// targetLine is the context line under a header that names the target an
// answer comes from; nil when there is one target (target is then "").
func targetLine(target string) slack.Block {
	if target == "" {
		return nil
	}
	return context("target " + esc(target, 100))
}

func field(label, value string) *slack.TextBlockObject {
	return mrkdwn(safeCut("*"+label+"*\n"+value, maxField))
}

func taskFields(t pooltask.Task, now time.Time) []*slack.TextBlockObject {
	pool := poolText(t)
	if t.PoolName != "" && t.PoolID != "" {
		pool += "\n" + code(t.PoolID, idMax)
	}
	tm := view.TimingOf(t, now)
	ended := Date(t.End)
	switch {
	case tm.Waiting:
		ended = "— (waiting)"
	case tm.Running:
		ended = "— (still running)"
	}
	return []*slack.TextBlockObject{
		field("Status", StatusEmoji(t.Status)+" "+esc(view.StatusWord(t.Status), statusMax)),
		field("Pool", pool),
		field("Type", esc(flat(view.WorkOf(t).Kind(), 100), 100)),
		field("Desktops", counts(t)),
		field("Started", Date(t.Start)),
		field("Ended", ended),
		field("Duration", tm.String()),
	}
}

// taskContent shows what the task ran as the API returned it: its scripts
// (names and ids) and its command in a code block, both when it has both.
func taskContent(w view.Work) string {
	if w.Empty() {
		return "_This task has neither scripts nor a command._"
	}
	var b strings.Builder
	if len(w.Scripts) > 0 {
		b.WriteString("*Scripts*")
		room := maxText - 60
		if w.HasCommand() {
			room = maxText / 2 // the command shows too
		}
		for i, s := range w.Scripts {
			line := "\n• " + esc(flat(plain(s.Name, 200, "(unnamed)"), 200), 200) + " — " + code(s.ID, idMax)
			if b.Len()+len(line) > room {
				b.WriteString("\n_… and " + strconv.Itoa(len(w.Scripts)-i) + " more scripts_")
				break
			}
			b.WriteString(line)
		}
	}
	if w.HasCommand() {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("*Command*")
		if w.CommandType != "" {
			b.WriteString(" (" + esc(flat(w.CommandType, 20), 20) + ")")
		}
		const note = "\n_… the last 00,000,000 characters are not shown_"
		block, left := codeBlock(w.Command, maxText-b.Len()-1-len(note), false)
		b.WriteString("\n" + block)
		if left > 0 {
			b.WriteString("\n_… the last " + view.Count(left) + " characters are not shown_")
		}
	}
	return b.String()
}

func recordSummary(r pooltask.Record) string {
	name := r.DesktopName
	if strings.TrimSpace(name) == "" {
		name = r.DesktopID
	}
	s := "*" + esc(flat(plain(name, 200, "(unnamed desktop)"), 200), 200) + "*"
	if r.ResultCode != "" {
		s += " · result " + code(r.ResultCode, 60)
	}
	if r.ScriptName != "" {
		s += " · " + code(r.ScriptName, 100)
	}
	if strings.TrimSpace(r.Reason) != "" {
		s += "\n" + esc(r.Reason, 600)
	}
	return s
}

// Output renders what a script printed on one desktop: the desktop, script,
// status, result code and reason, and the output in a code block. Long
// output keeps its end, where errors are, with a note saying how much of
// the start was cut. retry, when not nil, is the record's task, and a
// failed record gets a Retry on this desktop button.
func Output(rec pooltask.Record, retry *pooltask.Task) (string, []slack.Block) {
	name := plain(flat(rec.DesktopName, 100), 100, plain(rec.DesktopID, 100, "a desktop"))
	text := fallback("Output on " + name)
	bs := []slack.Block{header("Output on " + name)}
	bs = appendBlock(bs, targetLine(rec.Target))

	desk := esc(name, 200)
	if rec.DesktopID != "" && rec.DesktopName != "" {
		desk += "\n" + code(rec.DesktopID, idMax)
	}
	script := code(rec.ScriptName, 200)
	if rec.ScriptID != "" {
		script += "\n" + code(rec.ScriptID, idMax)
	}
	fields := []*slack.TextBlockObject{
		field("Desktop", desk),
		field("Script", script),
		field("Status", plainOr(esc(rec.Status, statusMax))),
		field("Result code", code(rec.ResultCode, 100)),
		field("Started", Date(rec.Start)),
		field("Ended", Date(rec.End)),
	}
	if rec.TaskID != "" {
		fields = append(fields, field("Task", code(rec.TaskID, idMax)))
	}
	bs = append(bs, slack.NewSectionBlock(nil, fields, nil))
	if strings.TrimSpace(rec.Reason) != "" {
		bs = append(bs, section("*Reason*\n"+esc(rec.Reason, maxText-20), nil))
	}
	if rec.Output == "" {
		bs = append(bs, section("_The script printed nothing here._", nil))
	} else {
		block, left := codeBlock(rec.Output, maxText, true)
		if left > 0 {
			bs = append(bs, context("_… first "+view.Count(left)+" characters cut; the end of the output follows_"))
		}
		bs = append(bs, section(block, nil))
	}
	if rec.TaskID != "" {
		var again *slack.ButtonBlockElement
		if retry != nil && rec.Status == "FAILED" {
			again = ActButton(Target{Action: pooltask.ActionRetry, Task: *retry, Record: &rec, Desktops: 1})
		}
		bs = appendBlock(bs, actions(Button(ActionDetails, "Task details", showValue(pooltask.Task{ID: rec.TaskID, Target: rec.Target})), again))
	}
	return text, bs
}

func plainOr(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
