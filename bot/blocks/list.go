package blocks

import (
	"strconv"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/view"
	"github.com/slack-go/slack"
)

// ListView is what the list answer shows.
type ListView struct {
	Title         string          // header, e.g. "Failed tasks" (plain_text, ≤150)
	Description   string          // human filter summary, plain text (escaped here)
	Tasks         []pooltask.Task // this page
	Total         int             // total_count of the query
	Offset        int             // offset of Tasks[0] in the query
	Command       string          // canonical command of this page (Refresh value; shown to copy)
	PrevCommand   string          // "" = no Prev button
	NextCommand   string          // "" = no Next button
	FailedCommand string          // "" = no Failed only button (already failed-only)
	ShareCommand  string          // "" = no Share button (already in channel)
	// Native says the workspace accepts Slack's newer blocks: a list longer
	// than NativeMin tasks is rendered as one data_table block (sortable,
	// filterable, up to 100 rows, a Details button per row) instead of
	// one section per task.
	Native bool
	Now    time.Time // for durations of running tasks and "as of"
	// Targets names the targets asked, when pooltasks has several; their
	// failures are the answer's note.
	Targets []string
}

// NativeMin is the number of tasks above which a Native list becomes a
// data_table.
const NativeMin = 10

// Budgets for the parts of one task's section, in characters; together far
// below the 3000 of a text object.
const (
	idMax      = 120
	poolMax    = 150
	scriptsMax = 600
	commandMax = 200
	statusMax  = 40
	// commandLineMax bounds the copyable command in a list's context line.
	commandLineMax = 1000
)

// List renders a page of tasks: a header, a context line (filters, "1–10 of
// 57", as of, the page's command to copy), one section per task with a Details button, and a row of
// Prev, Next, Failed only, Refresh and Share buttons (those with a
// command). It returns the notification text and the blocks.
func List(v ListView) (string, []slack.Block) {
	title := plain(v.Title, maxHeader, "Tasks")
	rng := rangeText(v)
	text := fallback(title + " — " + rng)

	bs := make([]slack.Block, 0, len(v.Tasks)+4)
	bs = append(bs, header(title))
	bs = append(bs, listContext(v, rng))

	bar := actions(
		Button(ActionPrev, "◀ Prev", v.PrevCommand),
		Button(ActionNext, "Next ▶", v.NextCommand),
		Button(ActionFailed, "Failed only", v.FailedCommand),
		Button(ActionRefresh, "Refresh", v.Command),
		Button(ActionShare, "Share", v.ShareCommand),
	)

	switch {
	case len(v.Tasks) == 0:
		bs = append(bs, section(emptyText(v), nil))
	case v.Native && len(v.Tasks) > NativeMin:
		shown := min(len(v.Tasks), maxTableRows)
		bs = append(bs, taskTable(v.Tasks[:shown], title+" — "+rng, v.Now))
		if shown < len(v.Tasks) {
			bs = append(bs, context(notShown(len(v.Tasks)-shown)))
		}
	default:
		room := maxBlocks - len(bs) - 1 // the actions row
		shown := len(v.Tasks)
		if shown > room {
			shown = room - 1 // and a note
		}
		for _, t := range v.Tasks[:shown] {
			bs = append(bs, section(taskSummary(t, v.Now), Button(ActionDetails, "Details", showValue(t))))
		}
		if shown < len(v.Tasks) {
			bs = append(bs, context(notShown(len(v.Tasks)-shown)))
		}
	}
	bs = appendBlock(bs, bar)
	return text, bs
}

func notShown(n int) string {
	return "_… " + strconv.Itoa(n) + " more tasks on this page are not shown (a message holds 50 blocks): use a smaller `limit=`._"
}

// rangeText is "1–10 of 57", "no tasks" or, past the end, "none of 57".
func rangeText(v ListView) string { return view.Range(v.Offset, len(v.Tasks), v.Total) }

func listContext(v ListView, rng string) *slack.ContextBlock {
	var parts []string
	if strings.TrimSpace(v.Description) != "" {
		parts = append(parts, esc(v.Description, 1000))
	}
	parts = append(parts, "*"+rng+"*")
	switch len(v.Targets) {
	case 0:
	case 1:
		parts = append(parts, "target "+esc(v.Targets[0], 100))
	default:
		parts = append(parts, "targets "+esc(strings.Join(v.Targets, ", "), 300))
	}
	if !v.Now.IsZero() {
		parts = append(parts, "as of "+clock(v.Now))
	}
	if strings.TrimSpace(v.Command) != "" {
		// To copy into a thread (as @pooltasks …) or to refine: shown as
		// people type it, so code escapes it once.
		parts = append(parts, code("/pooltasks "+wireDecoder.Replace(v.Command), commandLineMax))
	}
	return context(parts...)
}

// wireDecoder undoes, in one pass like commands' parser, the entities of
// a canonical command: commands.Canonical writes values as Slack sends
// typed text (< as &lt;, & before an entity as &amp;), for button values
// that are parsed again.
var wireDecoder = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

func emptyText(v ListView) string {
	if v.Total > 0 {
		s := ":mag: This page is past the end: " + view.Count(v.Total) + " tasks matched."
		if v.PrevCommand != "" {
			s += " Go back with *◀ Prev*."
		}
		return s
	}
	s := ":mag: No task matched these filters"
	if strings.TrimSpace(v.Description) != "" {
		s += " (" + esc(v.Description, 1000) + ")"
	}
	return s + ".\nTry a wider window, e.g. `since=7d`, or fewer filters."
}

// taskSummary is the mrkdwn of one task in a list.
func taskSummary(t pooltask.Task, now time.Time) string {
	v := view.TaskOf(t, now)
	var b strings.Builder
	b.Grow(256)
	b.WriteString(StatusEmoji(t.Status))
	b.WriteString(" *")
	b.WriteString(esc(v.StatusWord, statusMax))
	b.WriteString("*  ")
	b.WriteString(code(t.ID, idMax))
	b.WriteString("\n*Pool* ")
	b.WriteString(poolText(t))
	b.WriteString(" · ")
	b.WriteString(whatText(v.Work))
	b.WriteString("\n")
	b.WriteString(timing(t, v.Timing))
	b.WriteString("\n")
	b.WriteString(counts(t))
	return b.String()
}

// poolText names a task's pool, after its target (TARGET:pool) when it
// names one.
func poolText(t pooltask.Task) string {
	target := ""
	if t.Target != "" {
		target = esc(t.Target, 40) + ":"
	}
	if strings.TrimSpace(t.PoolName) != "" {
		return target + esc(flat(t.PoolName, poolMax), poolMax)
	}
	return target + code(t.PoolID, idMax)
}

// whatText names the scripts of a task, then its command type and first
// line: both when the API returned both.
func whatText(w view.Work) string {
	var parts []string
	if len(w.Scripts) > 0 {
		var b strings.Builder
		b.WriteString("*Scripts* ")
		for i, s := range w.Scripts {
			c := code(view.ScriptName(s), 100)
			if b.Len()+len(c) > scriptsMax-20 {
				b.WriteString("+" + strconv.Itoa(len(w.Scripts)-i) + " more")
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c)
		}
		parts = append(parts, b.String())
	}
	if w.HasCommand() {
		kind := "Command"
		if w.CommandType != "" {
			kind = esc(flat(w.CommandType, 20), 20)
		}
		line, more := w.FirstLine()
		c := code(line, commandMax)
		if more && !strings.HasSuffix(c, "…`") {
			c = c[:len(c)-1] + " …`"
		}
		parts = append(parts, "*"+kind+"* "+c)
	}
	if len(parts) == 0 {
		return "_no script or command_"
	}
	return strings.Join(parts, " · ")
}

// timing is "Started … · took 4m 12s" or "· running for 5m".
func timing(t pooltask.Task, tm view.Timing) string {
	if t.Start.IsZero() {
		return "Not started yet"
	}
	s := "Started " + Date(t.Start)
	switch {
	case tm.Running:
		s += " · " + tm.String()
	case tm.Known:
		s += " · took " + tm.String()
	}
	return s
}

func counts(t pooltask.Task) string {
	return "✔ " + strconv.Itoa(t.SuccessNum) + " · ✖ " + strconv.Itoa(t.FailedNum) + " · skip " + strconv.Itoa(t.SkipNum)
}
