package digest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/view"
)

// MaxTasks bounds the tasks one digest reads (100 pages).
const MaxTasks = 10000

// PoolCount is what failed in one pool (of one target, when the tasks name
// theirs: a pool of one name in two targets is two pools).
type PoolCount struct {
	PoolID, PoolName string
	Target           string
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
	Truncated      bool            // more tasks than MaxTasks
	// Muted are the tasks of Recent that failed while their pool was
	// muted, and so were not alerted.
	Muted map[string]bool
	// Target is the one target the digest covers whole (asked as every
	// pool of it, TARGET:*), "" otherwise.
	Target string
	// Unread are the targets (of several) whose tasks could not be read:
	// the digest is of the others. Back are the targets that answer
	// again after digests posted without them (a schedule's).
	Unread []*loop.TargetError
	Back   []blocks.TargetGap
}

// wholeTarget is the one target pool values ask for whole (each is
// TARGET:* of the same target), "" otherwise.
func wholeTarget(values []string) string {
	name := ""
	for _, v := range values {
		t, pool := config.SplitTarget(v)
		if t == "" || pool != "*" || (name != "" && !strings.EqualFold(name, t)) {
			return ""
		}
		name = t
	}
	return name
}

// multiTarget reports whether the digest's tasks name their targets (there
// are several).
func (d *Digest) multiTarget() bool {
	for _, p := range d.PerPool {
		if p.Target != "" {
			return true
		}
	}
	return false
}

// markMuted marks the recent failures that happened while a mute of
// their pool held.
func (d *Digest) markMuted(mutes []pooltask.Mute) {
	for _, t := range d.Recent {
		at := t.End
		if at.IsZero() {
			at = t.Start
		}
		for _, m := range mutes {
			if m.PoolID == t.PoolID && m.Covers(at) {
				if d.Muted == nil {
					d.Muted = map[string]bool{}
				}
				d.Muted[t.ID] = true
			}
		}
	}
}

// What a digest collects: the most recent failed tasks, the scripts that
// failed most, and the parts of the window its timeline counts.
const (
	digestRecent     = 8
	digestTopScripts = 5
	digestBuckets    = 12
)

// collectDigest reads every task of q's window [q.Start, q.End), limited to
// q's script (ScriptID), script name and task type, in limit=100 pages (one
// pass per pool of each scope when it has pools), and sums up what failed.
// A target of several that cannot be read is in Unread.
func collectDigest(ctx context.Context, scopes []loop.Scope, q pooltask.ListOptions) (*Digest, error) {
	start, end := q.Start.UTC(), q.End.UTC()
	filter := pooltask.ListOptions{ScriptID: q.ScriptID, ScriptName: q.ScriptName, TaskType: q.TaskType}
	d := &Digest{Start: start, End: end, Filter: filter, Timeline: make([]int, digestBuckets)}
	for _, sc := range scopes {
		d.Pools = append(d.Pools, sc.Pools.IDs...)
	}
	base := filter
	base.Start, base.End = start, end
	tasks, truncated, down, err := loop.ListTargets(ctx, scopes, base, MaxTasks)
	if err != nil {
		return nil, fmt.Errorf("listing tasks of %s–%s: %w", start.Format(time.RFC3339), end.Format(time.RFC3339), err)
	}
	d.Truncated, d.Unread = truncated, down
	var all []pooltask.Task
	for _, t := range tasks {
		// The API's end bound may be inclusive; the window is not.
		if !t.Start.IsZero() && (t.Start.Before(start) || !t.Start.Before(end)) {
			continue
		}
		all = append(all, t)
	}

	pools2 := map[string]*PoolCount{}
	scripts := map[string]int{}
	var failed []pooltask.Task
	for _, t := range all {
		d.Tasks++
		d.FailedDesktops += t.FailedNum
		key := t.Target + "\x00" + t.PoolID
		pc := pools2[key]
		if pc == nil {
			pc = &PoolCount{PoolID: t.PoolID, PoolName: t.PoolName, Target: t.Target}
			pools2[key] = pc
		}
		pc.Tasks++
		pc.FailedDesktops += t.FailedNum
		if t.Status != pooltask.StatusFailed {
			continue
		}
		d.FailedTasks++
		pc.FailedTasks++
		failed = append(failed, t)
		// What ran, as the API returned it: scripts, a command, or both.
		w := view.WorkOf(t)
		for _, s := range w.Scripts {
			scripts[view.ScriptName(s)]++
		}
		if w.HasCommand() || w.Empty() {
			kind := w.CommandType
			if kind == "" {
				kind = "unknown"
			}
			scripts[kind+" command"]++
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
		if a.Target != b.Target {
			return a.Target < b.Target
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
// digest of several pools does not have, unless they are one whole
// target). With several targets it carries the target: the digest's one
// target, or target=all for a digest of all of them.
func (d *Digest) ViewAllCommand() string {
	c := commands.Command{Verb: commands.VerbFailed, Query: pooltask.ListOptions{
		Status: pooltask.FilterFailed, Start: d.Start, End: d.End,
		ScriptID: d.Filter.ScriptID, ScriptName: d.Filter.ScriptName, TaskType: d.Filter.TaskType,
	}}
	switch {
	case d.Target != "":
		c.Target = d.Target
	case len(d.Pools) == 1:
		// A pool of one of several targets is TARGET:ID (see
		// targets.Set.Lister).
		c.Target, c.Query.PoolID = config.SplitTarget(d.Pools[0])
	case len(d.Pools) == 0 && d.multiTarget():
		c.Target = config.AllTargets
	}
	return c.Canonical()
}

// View is what the digest says, for blocks.Digest; native adds charts.
func (d *Digest) View(native bool) blocks.DigestView {
	labels := d.Pools
	if len(d.PoolLabels) > 0 {
		labels = d.PoolLabels
	}
	v := blocks.DigestView{
		Start: d.Start, End: d.End, Pools: labels,
		ScriptID: d.Filter.ScriptID, ScriptName: d.Filter.ScriptName, TaskType: string(d.Filter.TaskType),
		Warnings: d.Warnings, Tasks: d.Tasks, FailedTasks: d.FailedTasks, FailedDesktops: d.FailedDesktops,
		Recent: d.Recent, Muted: d.Muted, Timeline: d.Timeline, Native: native, Back: d.Back,
	}
	for _, u := range d.Unread {
		v.Unread = append(v.Unread, blocks.UnreadTarget{Target: u.Target, Why: loop.PublicError(u.Err)})
	}
	for _, p := range d.PerPool {
		name := view.PoolLabel(pooltask.Task{PoolID: p.PoolID, PoolName: p.PoolName, Target: p.Target})
		v.PerPool = append(v.PerPool, blocks.PoolFailures{Name: name, FailedTasks: p.FailedTasks, FailedDesktops: p.FailedDesktops})
	}
	for _, s := range d.TopScripts {
		v.TopScripts = append(v.TopScripts, blocks.ScriptFailures{Name: s.Name, FailedTasks: s.FailedTasks})
	}
	if d.Truncated {
		v.ReadOnly = MaxTasks
	}
	if len(d.Pools) <= 1 || d.Target != "" {
		// The language takes one pool per command: a list of several
		// pools' failures cannot be one button.
		v.ViewAllCommand = d.ViewAllCommand()
	}
	return v
}

// Render is the digest's message (see View).
func (d *Digest) Render(native bool) blocks.Message {
	text, bs := blocks.Digest(d.View(native))
	return blocks.Message{Text: text, Blocks: bs}
}
