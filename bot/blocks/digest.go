package blocks

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/trunc"
)

// DigestView is what a failure digest says about the window [Start, End):
// bot/notify collects it, Digest renders it.
type DigestView struct {
	Start, End time.Time
	Pools      []string // how to name the pools it is limited to; empty means all
	// ScriptID, ScriptName and TaskType are the other limits of the digest
	// ("" = none).
	ScriptID, ScriptName, TaskType string
	Warnings                       []string // shown at the top: configured pools left out, and why
	Tasks                          int      // tasks that ran in the window
	FailedTasks                    int
	FailedDesktops                 int
	PerPool                        []PoolFailures   // every pool with failures, most first
	TopScripts                     []ScriptFailures // most failures first
	Recent                         []pooltask.Task  // the most recent failed tasks, newest first
	Timeline                       []int            // failed tasks per equal part of the window
	// Muted marks the tasks of Recent that failed while their pool was
	// muted (not alerted).
	Muted map[string]bool
	// ReadOnly is how many tasks were read when the window held more
	// (0: all were read).
	ReadOnly int
	// ViewAllCommand is the canonical command of the list of the window's
	// failed tasks; "" = no View all button.
	ViewAllCommand string
	// Native adds two data_visualization charts (failures per pool, over
	// time); without it the same shows as text bars and a sparkline.
	Native bool
	// Unread are the targets whose tasks could not be read: the digest is
	// of the others. Back are the targets that answer again after digests
	// posted without them.
	Unread []UnreadTarget
	Back   []TargetGap
}

// UnreadTarget is a target whose tasks a digest could not read, and why
// (no secrets: loop.PublicError).
type UnreadTarget struct {
	Target, Why string
}

// TargetGap is a target that answers again: its tasks of [Start, End)
// are in no digest, and Command lists them.
type TargetGap struct {
	Target     string
	Start, End time.Time
	Command    string
}

// PoolFailures is what failed in one pool.
type PoolFailures struct {
	Name           string // the pool's name, or its id
	FailedTasks    int
	FailedDesktops int
}

// ScriptFailures is how often a script (or a kind of command) was in a
// failed task.
type ScriptFailures struct {
	Name        string
	FailedTasks int
}

// AllClear reports whether nothing failed in the window.
func (v DigestView) AllClear() bool { return v.FailedTasks == 0 && v.FailedDesktops == 0 }

// Digest renders a failure digest: a header with the window, its scope,
// then either "all clear" or the counts, failures per pool, the scripts
// that failed most, failures over time and the most recent failed tasks,
// with a View all button.
func Digest(v DigestView) (string, []slack.Block) {
	var bs []slack.Block
	title := "Failure digest " + windowText(v.Start, v.End)
	bs = append(bs, header(title))
	scope := "all pools"
	if len(v.Pools) > 0 {
		names := make([]string, len(v.Pools))
		for i, p := range v.Pools {
			names[i] = code(p, poolMax)
		}
		scope = "pools " + strings.Join(names, ", ")
	}
	for _, f := range []struct{ key, value string }{
		{"script", v.ScriptID}, {"name", v.ScriptName}, {"type", v.TaskType},
	} {
		if f.value != "" {
			scope += " · " + f.key + " " + code(f.value, idMax)
		}
	}
	bs = append(bs, context(fmt.Sprintf("%s to %s · %s · %d tasks ran", Date(v.Start), Date(v.End), scope, v.Tasks)))
	for i, w := range v.Warnings {
		if i == maxWarnings {
			bs = append(bs, context(fmt.Sprintf("_… and %d more left out_", len(v.Warnings)-i)))
			break
		}
		bs = append(bs, context(":warning: Left out: "+esc(w, 300)))
	}
	for _, u := range v.Unread {
		bs = append(bs, context(fmt.Sprintf(":warning: Target *%s* could not be read (%s): this digest is of the other targets.", esc(u.Target, 100), esc(u.Why, 300))))
	}
	for _, g := range v.Back {
		bs = append(bs, context(fmt.Sprintf(":information_source: Target *%s* answers again. Its tasks from %s to %s could not be read when their digest was posted, and are in none: `/pooltasks %s`",
			esc(g.Target, 100), Date(g.Start), Date(g.End), esc(g.Command, 300))))
	}

	if v.AllClear() {
		text := fmt.Sprintf("%s: all clear, nothing failed (%d tasks ran)", title, v.Tasks)
		bs = append(bs, section(fmt.Sprintf(":white_check_mark: *All clear*: no failed tasks and no failed desktops in this window (%d tasks ran).", v.Tasks), nil))
		return fallback(text), bs
	}

	text := fmt.Sprintf("%s: %s, %s", title, plural(v.FailedTasks, "failed task"), plural(v.FailedDesktops, "failed desktop"))
	summary := fmt.Sprintf(":red_circle: *%s* and *%s* out of %s.", plural(v.FailedTasks, "failed task"), plural(v.FailedDesktops, "failed desktop"), plural(v.Tasks, "task"))
	if v.ReadOnly > 0 {
		summary += fmt.Sprintf(" (Only the first %d tasks of the window were read.)", v.ReadOnly)
	}
	bs = append(bs, section(summary, nil))

	pools := v.PerPool[:min(len(v.PerPool), maxTextPools)]
	maxFailed := 0
	for _, p := range pools {
		maxFailed = max(maxFailed, p.FailedTasks)
	}
	var pb strings.Builder
	pb.WriteString("*Failures per pool*")
	for _, p := range pools {
		line := fmt.Sprintf("\n• *%s*: %s, %s", esc(flat(p.Name, 80), 80), plural(p.FailedTasks, "failed task"), plural(p.FailedDesktops, "failed desktop"))
		if !v.Native {
			line += " `" + bar(p.FailedTasks, maxFailed, 12) + "`"
		}
		pb.WriteString(line)
	}
	if n := len(v.PerPool) - len(pools); n > 0 {
		fmt.Fprintf(&pb, "\n_and %d more pools_", n)
	}
	bs = append(bs, section(pb.String(), nil))

	if len(v.TopScripts) > 0 {
		var sb strings.Builder
		sb.WriteString("*Scripts that failed most*")
		for _, s := range v.TopScripts {
			fmt.Fprintf(&sb, "\n• %s: %s", esc(flat(s.Name, 100), 100), plural(s.FailedTasks, "failed task"))
		}
		bs = append(bs, section(sb.String(), nil))
	}

	if v.Native {
		bs = append(bs, digestCharts(v)...)
	} else {
		bs = append(bs, section(fmt.Sprintf("*Failures over time*\n`%s` %s → %s", sparkline(v.Timeline),
			v.Start.UTC().Format("01-02 15:04"), v.End.UTC().Format("01-02 15:04 UTC")), nil))
	}

	bs = append(bs, slack.NewDividerBlock(), section("*Most recent failed tasks*", nil))
	for _, t := range v.Recent {
		if len(bs) >= maxBlocks-1 {
			break
		}
		bs = append(bs, taskLine(t))
		if v.Muted[t.ID] && len(bs) < maxBlocks-1 {
			bs = append(bs, context(":zzz: failed while its pool was muted: not alerted"))
		}
	}
	if view := Button(ActionViewAll, fmt.Sprintf("View all %d failed", v.FailedTasks), v.ViewAllCommand); view != nil {
		view.Style = slack.StylePrimary
		bs = appendBlock(bs, actions(view))
	}
	return fallback(text), bs
}

func windowText(start, end time.Time) string {
	start, end = start.UTC(), end.UTC()
	layout := "2006-01-02 15:04"
	if start.Format("2006-01-02") == end.Format("2006-01-02") {
		return start.Format(layout) + "–" + end.Format("15:04") + " UTC"
	}
	return start.Format(layout) + " – " + end.Format(layout) + " UTC"
}

// How many warnings a digest shows, pools it names in text, and pools in
// its bar chart.
const (
	maxWarnings   = 5
	maxTextPools  = 10
	maxChartPools = 20
)

// digestCharts returns the two data_visualization blocks of a digest.
func digestCharts(v DigestView) []slack.Block {
	var out []slack.Block
	var names []string
	var counts []int
	for _, p := range v.PerPool[:min(len(v.PerPool), maxChartPools)] {
		if p.FailedTasks == 0 {
			continue
		}
		names = append(names, p.Name)
		counts = append(counts, p.FailedTasks)
	}
	if len(names) > 0 {
		labels := chartLabels(names)
		points := make([]slack.DataVisualizationDataPoint, len(labels))
		for i, l := range labels {
			points[i] = slack.NewDataVisualizationDataPoint(l, float64(counts[i]))
		}
		chart := slack.NewDataVisualizationBarChart(
			slack.NewDataVisualizationAxisConfig(labels...).WithYLabel("failed tasks"),
			slack.NewDataVisualizationDataSeries("Failed tasks", points...))
		out = append(out, slack.NewDataVisualizationBlock("Failed tasks per pool", chart))
	}
	if len(v.Timeline) == 0 {
		return out
	}

	span := v.End.Sub(v.Start)
	layout := "15:04"
	if span > 24*time.Hour {
		layout = "01-02 15:04"
	}
	names = names[:0]
	for i := range v.Timeline {
		at := v.Start.Add(time.Duration(int64(span) * int64(i) / int64(len(v.Timeline)))).UTC()
		names = append(names, at.Format(layout))
	}
	labels := chartLabels(names)
	points := make([]slack.DataVisualizationDataPoint, len(labels))
	for i, l := range labels {
		points[i] = slack.NewDataVisualizationDataPoint(l, float64(v.Timeline[i]))
	}
	chart := slack.NewDataVisualizationLineChart(
		slack.NewDataVisualizationAxisConfig(labels...).WithXLabel("UTC").WithYLabel("failed tasks"),
		slack.NewDataVisualizationDataSeries("Failed tasks", points...))
	out = append(out, slack.NewDataVisualizationBlock("Failed tasks over time", chart))
	return out
}

// maxChartLabel is the longest label a chart takes.
const maxChartLabel = 20

var chartLabelCleaner = strings.NewReplacer("<", "‹", ">", "›", "&", "+")

// chartLabels turns names into distinct chart labels of at most 20
// characters, without the characters that make Slack mentions or links.
func chartLabels(names []string) []string {
	out := make([]string, len(names))
	seen := map[string]bool{}
	for i, n := range names {
		n = chartLabelCleaner.Replace(n)
		if n == "" {
			n = "?"
		}
		l := trunc.Cut(n, maxChartLabel)
		for k := 2; seen[l]; k++ {
			suffix := fmt.Sprintf("~%d", k)
			l = trunc.Cut(n, maxChartLabel-trunc.Len(suffix)) + suffix
		}
		seen[l] = true
		out[i] = l
	}
	return out
}

// sparkline draws counts as a row of block characters.
func sparkline(counts []int) string {
	levels := []rune("▁▂▃▄▅▆▇█")
	top := 0
	for _, c := range counts {
		top = max(top, c)
	}
	var b strings.Builder
	for _, c := range counts {
		if c <= 0 {
			b.WriteRune(levels[0])
			continue
		}
		// Non-zero counts use the upper seven levels, so they never look empty.
		b.WriteRune(levels[1+((c*(len(levels)-1)+top-1)/top-1)])
	}
	return b.String()
}

// bar draws n out of top as a horizontal bar of at most width cells.
func bar(n, top, width int) string {
	if top <= 0 || n <= 0 {
		return ""
	}
	return strings.Repeat("▇", (n*width+top-1)/top)
}

// plural writes n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
