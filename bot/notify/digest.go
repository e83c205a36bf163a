package notify

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/trunc"
)

// Lister is what notify needs from the Workspace API; *workspace.Client has
// it. ResolvePool turns the configured pools (ids or names) into ids by the
// one pool rule.
type Lister interface {
	ListTasks(ctx context.Context, opts pooltask.ListOptions) (pooltask.TaskPage, error)
	ResolvePool(ctx context.Context, value string) pooltask.Resolution
}

// pageSize is the API's largest page.
const pageSize = 100

// MaxDigestTasks bounds the tasks one digest reads (100 pages).
const MaxDigestTasks = 10000

// listAll pages through every task matching opts with limit=100 until the
// total is reached, at most max tasks. truncated says max cut it short.
func listAll(ctx context.Context, l Lister, opts pooltask.ListOptions, max int) (tasks []pooltask.Task, truncated bool, err error) {
	opts.Limit = pageSize
	for offset := 0; ; {
		opts.Offset = offset
		page, err := l.ListTasks(ctx, opts)
		if err != nil {
			return tasks, false, err
		}
		tasks = append(tasks, page.Tasks...)
		offset += len(page.Tasks)
		if len(page.Tasks) == 0 || offset >= page.Total {
			return tasks, false, nil
		}
		if len(tasks) >= max {
			return tasks[:max], true, nil
		}
	}
}

// PoolCount is what failed in one pool.
type PoolCount struct {
	PoolID, PoolName string
	Tasks            int // tasks that ran
	FailedTasks      int
	FailedDesktops   int
}

// ScriptCount is how often a script (or a kind of command) was in a failed task.
type ScriptCount struct {
	Name        string
	FailedTasks int
}

// Digest is what failed in a window [Start, End): the data of a digest
// message, before rendering.
type Digest struct {
	Start, End time.Time
	Pools      []string // the pools it was limited to; empty means all
	PoolLabels []string // how to show Pools (their configured names); Pools when empty
	Warnings   []string // shown at the top: configured pools left out, and why
	// Filter holds the script, script name and task type it was limited
	// to (ScriptID, ScriptName, TaskType); the rest is unused.
	Filter         pooltask.ListOptions
	Tasks          int // tasks that ran in the window
	FailedTasks    int
	FailedDesktops int // failed desktops over all tasks of the window
	PerPool        []PoolCount
	TopScripts     []ScriptCount
	Recent         []pooltask.Task // the most recent failed tasks, newest first
	Timeline       []int           // failed tasks per equal part of the window
	Truncated      bool            // more tasks than MaxDigestTasks
}

// Digest rendering sizes.
const (
	digestRecent     = 8
	digestTopScripts = 5
	digestTopPools   = 10
	digestBuckets    = 12
)

// CollectDigest reads every task of [start, end) (limit=100 pages, one pass
// per pool when pools are given) and sums up what failed.
func CollectDigest(ctx context.Context, l Lister, start, end time.Time, pools []string) (*Digest, error) {
	return CollectDigestOf(ctx, l, pooltask.ListOptions{Start: start, End: end}, pools)
}

// CollectDigestOf is CollectDigest of the window [q.Start, q.End) limited
// to q's script (ScriptID), script name and task type as well.
func CollectDigestOf(ctx context.Context, l Lister, q pooltask.ListOptions, pools []string) (*Digest, error) {
	start, end := q.Start.UTC(), q.End.UTC()
	filter := pooltask.ListOptions{ScriptID: q.ScriptID, ScriptName: q.ScriptName, TaskType: q.TaskType}
	d := &Digest{Start: start, End: end, Pools: pools, Filter: filter, Timeline: make([]int, digestBuckets)}
	base := filter
	base.Start, base.End = start, end
	queries := []pooltask.ListOptions{base}
	if len(pools) > 0 {
		queries = queries[:0]
		for _, p := range pools {
			q := base
			q.PoolID = p
			queries = append(queries, q)
		}
	}
	var all []pooltask.Task
	seen := map[string]bool{}
	for _, q := range queries {
		tasks, truncated, err := listAll(ctx, l, q, MaxDigestTasks)
		if err != nil {
			return nil, fmt.Errorf("listing tasks of %s–%s: %w", start.Format(time.RFC3339), end.Format(time.RFC3339), err)
		}
		d.Truncated = d.Truncated || truncated
		for _, t := range tasks {
			// The API's end bound may be inclusive; the window is not.
			if seen[t.ID] || (!t.Start.IsZero() && (t.Start.Before(start) || !t.Start.Before(end))) {
				continue
			}
			seen[t.ID] = true
			all = append(all, t)
		}
	}

	pools2 := map[string]*PoolCount{}
	scripts := map[string]int{}
	var failed []pooltask.Task
	for _, t := range all {
		d.Tasks++
		d.FailedDesktops += t.FailedNum
		pc := pools2[t.PoolID]
		if pc == nil {
			pc = &PoolCount{PoolID: t.PoolID, PoolName: t.PoolName}
			pools2[t.PoolID] = pc
		}
		pc.Tasks++
		pc.FailedDesktops += t.FailedNum
		if t.Status != pooltask.StatusFailed {
			continue
		}
		d.FailedTasks++
		pc.FailedTasks++
		failed = append(failed, t)
		if len(t.Scripts) == 0 {
			kind := t.CommandType
			if kind == "" {
				kind = "unknown"
			}
			scripts[kind+" command"]++
		}
		for _, s := range t.Scripts {
			name := s.Name
			if name == "" {
				name = s.ID
			}
			scripts[name]++
		}
		if span := end.Sub(start); span > 0 && !t.Start.IsZero() {
			i := int(int64(t.Start.Sub(start)) * digestBuckets / int64(span))
			d.Timeline[min(max(i, 0), digestBuckets-1)]++
		}
	}
	for _, pc := range pools2 {
		if pc.FailedTasks > 0 || pc.FailedDesktops > 0 {
			d.PerPool = append(d.PerPool, *pc)
		}
	}
	sort.Slice(d.PerPool, func(i, j int) bool {
		a, b := d.PerPool[i], d.PerPool[j]
		if a.FailedTasks != b.FailedTasks {
			return a.FailedTasks > b.FailedTasks
		}
		if a.FailedDesktops != b.FailedDesktops {
			return a.FailedDesktops > b.FailedDesktops
		}
		return a.PoolID < b.PoolID
	})
	for name, n := range scripts {
		d.TopScripts = append(d.TopScripts, ScriptCount{Name: name, FailedTasks: n})
	}
	sort.Slice(d.TopScripts, func(i, j int) bool {
		a, b := d.TopScripts[i], d.TopScripts[j]
		if a.FailedTasks != b.FailedTasks {
			return a.FailedTasks > b.FailedTasks
		}
		return a.Name < b.Name
	})
	if len(d.TopScripts) > digestTopScripts {
		d.TopScripts = d.TopScripts[:digestTopScripts]
	}
	sort.SliceStable(failed, func(i, j int) bool {
		if !failed[i].Start.Equal(failed[j].Start) {
			return failed[i].Start.After(failed[j].Start)
		}
		return failed[i].ID < failed[j].ID
	})
	if len(failed) > digestRecent {
		failed = failed[:digestRecent]
	}
	d.Recent = failed
	return d, nil
}

// AllClear reports whether nothing failed in the window.
func (d *Digest) AllClear() bool { return d.FailedTasks == 0 && d.FailedDesktops == 0 }

// ViewAllCommand is the canonical command of the list of failed tasks in
// the digest's window and scope (the value of its View all button, which a
// digest of several pools does not have).
func (d *Digest) ViewAllCommand() string {
	c := commands.Command{Verb: commands.VerbFailed, Query: pooltask.ListOptions{
		Status: pooltask.FilterFailed, Start: d.Start, End: d.End,
		ScriptID: d.Filter.ScriptID, ScriptName: d.Filter.ScriptName, TaskType: d.Filter.TaskType,
	}}
	if len(d.Pools) == 1 {
		c.Query.PoolID = d.Pools[0]
	}
	return c.Canonical()
}

func windowText(start, end time.Time) string {
	start, end = start.UTC(), end.UTC()
	layout := "2006-01-02 15:04"
	if start.Format("2006-01-02") == end.Format("2006-01-02") {
		return start.Format(layout) + "–" + end.Format("15:04") + " UTC"
	}
	return start.Format(layout) + " – " + end.Format(layout) + " UTC"
}

// Render turns the digest into a message. native adds two
// data_visualization charts (failures per pool, failures over time); without
// it the same shows as text bars and a sparkline.
func (d *Digest) Render(native bool) Message {
	var bs []slack.Block
	title := "Failure digest " + windowText(d.Start, d.End)
	bs = append(bs, header(title))
	scope := "all pools"
	if len(d.Pools) > 0 {
		labels := d.Pools
		if len(d.PoolLabels) == len(d.Pools) {
			labels = d.PoolLabels
		}
		names := make([]string, len(labels))
		for i, p := range labels {
			names[i] = "`" + blocks.Escape(p) + "`"
		}
		scope = "pools " + strings.Join(names, ", ")
	}
	for _, f := range []struct{ key, value string }{
		{"script", d.Filter.ScriptID}, {"name", d.Filter.ScriptName}, {"type", string(d.Filter.TaskType)},
	} {
		if f.value != "" {
			scope += fmt.Sprintf(" · %s `%s`", f.key, blocks.Escape(f.value))
		}
	}
	bs = append(bs, contextBlock(fmt.Sprintf("%s to %s · %s · %d tasks ran", blocks.Date(d.Start), blocks.Date(d.End), scope, d.Tasks)))
	for _, w := range d.Warnings {
		bs = append(bs, contextBlock(":warning: Left out: "+blocks.Escape(trunc.Cut(w, 300))))
	}

	if d.AllClear() {
		text := fmt.Sprintf("%s: all clear, nothing failed (%d tasks ran)", title, d.Tasks)
		bs = append(bs, slack.NewSectionBlock(mrkdwn(fmt.Sprintf(":white_check_mark: *All clear*: no failed tasks and no failed desktops in this window (%d tasks ran).", d.Tasks)), nil, nil))
		return Message{Text: text, Blocks: bs}
	}

	text := fmt.Sprintf("%s: %s, %s", title, plural(d.FailedTasks, "failed task"), plural(d.FailedDesktops, "failed desktop"))
	summary := fmt.Sprintf(":red_circle: *%s* and *%s* out of %s.", plural(d.FailedTasks, "failed task"), plural(d.FailedDesktops, "failed desktop"), plural(d.Tasks, "task"))
	if d.Truncated {
		summary += fmt.Sprintf(" (Only the first %d tasks of the window were read.)", MaxDigestTasks)
	}
	bs = append(bs, slack.NewSectionBlock(mrkdwn(summary), nil, nil))

	// Failures per pool.
	pools := d.PerPool
	if len(pools) > digestTopPools {
		pools = pools[:digestTopPools]
	}
	maxFailed := 0
	for _, p := range pools {
		maxFailed = max(maxFailed, p.FailedTasks)
	}
	var pb strings.Builder
	pb.WriteString("*Failures per pool*")
	for _, p := range pools {
		name := p.PoolName
		if name == "" {
			name = p.PoolID
		}
		line := fmt.Sprintf("\n• *%s*: %s, %s", blocks.Escape(trunc.Cut(name, 80)), plural(p.FailedTasks, "failed task"), plural(p.FailedDesktops, "failed desktop"))
		if !native {
			line += " `" + bar(p.FailedTasks, maxFailed, 12) + "`"
		}
		pb.WriteString(line)
	}
	if n := len(d.PerPool) - len(pools); n > 0 {
		fmt.Fprintf(&pb, "\n_and %d more pools_", n)
	}
	bs = append(bs, slack.NewSectionBlock(mrkdwn(pb.String()), nil, nil))

	if len(d.TopScripts) > 0 {
		var sb strings.Builder
		sb.WriteString("*Scripts that failed most*")
		for _, s := range d.TopScripts {
			fmt.Fprintf(&sb, "\n• %s: %s", blocks.Escape(trunc.Cut(s.Name, 100)), plural(s.FailedTasks, "failed task"))
		}
		bs = append(bs, slack.NewSectionBlock(mrkdwn(sb.String()), nil, nil))
	}

	if native {
		bs = append(bs, d.charts()...)
	} else {
		bs = append(bs, slack.NewSectionBlock(mrkdwn(fmt.Sprintf("*Failures over time*\n`%s` %s → %s", sparkline(d.Timeline),
			d.Start.UTC().Format("01-02 15:04"), d.End.UTC().Format("01-02 15:04 UTC"))), nil, nil))
	}

	bs = append(bs, slack.NewDividerBlock(), slack.NewSectionBlock(mrkdwn("*Most recent failed tasks*"), nil, nil))
	for _, t := range d.Recent {
		bs = append(bs, taskSection(t))
	}
	if len(d.Pools) <= 1 {
		// The language takes one pool per command: a list of several
		// pools' failures cannot be one button.
		view := button(blocks.ActionViewAll, fmt.Sprintf("View all %d failed", d.FailedTasks), d.ViewAllCommand())
		view.Style = slack.StylePrimary
		bs = append(bs, slack.NewActionBlock("digest_actions", view))
	}
	return Message{Text: text, Blocks: bs}
}

// charts returns the two data_visualization blocks of a digest.
func (d *Digest) charts() []slack.Block {
	var out []slack.Block
	pools := d.PerPool
	if len(pools) > 20 {
		pools = pools[:20]
	}
	var names []string
	var counts []int
	for _, p := range pools {
		if p.FailedTasks == 0 {
			continue
		}
		name := p.PoolName
		if name == "" {
			name = p.PoolID
		}
		names = append(names, name)
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

	span := d.End.Sub(d.Start)
	layout := "15:04"
	if span > 24*time.Hour {
		layout = "01-02 15:04"
	}
	names = names[:0]
	for i := range d.Timeline {
		at := d.Start.Add(time.Duration(int64(span) * int64(i) / digestBuckets)).UTC()
		names = append(names, at.Format(layout))
	}
	labels := chartLabels(names)
	points := make([]slack.DataVisualizationDataPoint, len(labels))
	for i, l := range labels {
		points[i] = slack.NewDataVisualizationDataPoint(l, float64(d.Timeline[i]))
	}
	chart := slack.NewDataVisualizationLineChart(
		slack.NewDataVisualizationAxisConfig(labels...).WithXLabel("UTC").WithYLabel("failed tasks"),
		slack.NewDataVisualizationDataSeries("Failed tasks", points...))
	out = append(out, slack.NewDataVisualizationBlock("Failed tasks over time", chart))
	return out
}
