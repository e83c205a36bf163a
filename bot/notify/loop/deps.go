// Package loop is what notify's background loops (digests, alerts,
// watches) share: Deps (the task lister, which also applies the one pool
// rule, the paced Slack poster, the clock, the log), Deps.Run (the one
// retry of the scheduled loops, with the Backoff that the watches use
// too), and the Health in which a failing loop shows, for
// /readyz and the metrics.
package loop

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace"
)

// Lister is what the loops need from the Workspace API (pooltask.Lister).
type Lister = pooltask.Lister

// PostTimeout bounds one post of a loop (and its fallback), which is not
// cut short by the end of the caller's ctx: cut off, Slack may have taken
// it while the loop does not remember it, and it would be posted again.
const PostTimeout = 15 * time.Second

// listAll collects the tasks matching opts, at most max, through the one
// pager (workspace.Tasks). truncated says max cut it short.
func listAll(ctx context.Context, l Lister, opts pooltask.ListOptions, max int) (tasks []pooltask.Task, truncated bool, err error) {
	for t, err := range workspace.Tasks(ctx, l, opts) {
		if err != nil {
			return tasks, false, err
		}
		if len(tasks) == max {
			return tasks, true, nil
		}
		tasks = append(tasks, t)
	}
	return tasks, false, nil
}

// ListPools collects the tasks matching base in each pool of poolIDs (one
// pass per pool; a single pass over every pool when there are none), at
// most max per pass, each task once. truncated says max cut a pass short.
func ListPools(ctx context.Context, l Lister, base pooltask.ListOptions, poolIDs []string, max int) (tasks []pooltask.Task, truncated bool, err error) {
	queries := []pooltask.ListOptions{base}
	if len(poolIDs) > 0 {
		queries = queries[:0]
		for _, p := range poolIDs {
			q := base
			q.PoolID = p
			queries = append(queries, q)
		}
	}
	seen := map[string]bool{}
	for _, q := range queries {
		got, cut, err := listAll(ctx, l, q, max)
		if err != nil {
			return nil, false, err
		}
		truncated = truncated || cut
		for _, t := range got {
			if !seen[t.ID] {
				seen[t.ID] = true
				tasks = append(tasks, t)
			}
		}
	}
	return tasks, truncated, nil
}

// Records reads the per-desktop records of tasks; *workspace.Client has
// it. Alerts read the failed desktops of what they alert with it.
type Records interface {
	ListRecords(ctx context.Context, opts pooltask.RecordOptions) (pooltask.RecordPage, error)
	GetRecord(ctx context.Context, recordID string) (pooltask.Record, error)
}

// Deps is what the digests, alerts and watches use; cmd builds it once.
type Deps struct {
	Lister Lister // also resolves the pool values of digests and alerts
	// Records returns the record reader of a task's target (its
	// pooltask.Task.Target; "" with one target). nil: alerts show no
	// failure reasons and post no thread.
	Records func(target string) Records
	Poster  Poster
	Clock   Clock        // nil: RealClock
	Log     *slog.Logger // nil discards
	Health  *Health      // nil reports nothing
	Backoff Backoff      // zero: DefaultBackoff
}

// WithDefaults fills what was left zero: RealClock, a discarding log,
// DefaultBackoff.
func (d Deps) WithDefaults() Deps {
	if d.Clock == nil {
		d.Clock = RealClock
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Backoff.Base <= 0 || d.Backoff.Max <= 0 {
		d.Backoff = DefaultBackoff
	}
	return d
}

// NoPoolError is why a digest or alert whose every pool value names no
// single pool is not made. Its text holds configured values only.
type NoPoolError struct {
	Problems []string // why each value names no single pool
}

func (e *NoPoolError) Error() string {
	return "none of the pools names exactly one pool: " + strings.Join(e.Problems, "; ")
}

// Pools is what a list of pool values names.
type Pools struct {
	IDs, Labels []string // the pools found, and how to show them
	Problems    []string // values that name no single pool, and why
}

// ResolvePools resolves values (none: every pool). A glob (Finance*) names
// every pool it matches; a pool named twice is listed once. A value that
// names no pool or several, or a glob that matches none, is a problem, said in the digest or the log, and left
// out; when every value is, or when the pools API fails, it fails: a
// digest or alert of no pool would say all clear, of every pool would show
// more than asked, of a name taken as an id would find nothing.
func ResolvePools(ctx context.Context, l Lister, values []string) (Pools, error) {
	var out Pools
	for _, v := range values {
		res := l.ResolvePool(ctx, v)
		switch {
		case res.LookupErr != nil:
			return Pools{}, &StepError{What: fmt.Sprintf("looking up pool %q", v), Err: res.LookupErr}
		case res.Found():
			label := res.Name
			if label == "" {
				label = v
			}
			out.IDs, out.Labels = append(out.IDs, res.ID), append(out.Labels, label)
		case res.Glob && len(res.Choices) == 0:
			out.Problems = append(out.Problems, fmt.Sprintf("no desktop pool matches %q (yet)", v))
		case res.Glob:
			for _, p := range res.Choices {
				out.IDs, out.Labels = append(out.IDs, p.ID), append(out.Labels, p.Name)
			}
		default:
			out.Problems = append(out.Problems, res.Err().Error())
		}
	}
	if len(values) > 0 && len(out.IDs) == 0 {
		return Pools{}, &NoPoolError{Problems: out.Problems}
	}
	seen := map[string]bool{}
	keep := 0
	for i, id := range out.IDs {
		if !seen[id] {
			seen[id] = true
			out.IDs[keep], out.Labels[keep] = id, out.Labels[i]
			keep++
		}
	}
	out.IDs, out.Labels = out.IDs[:keep], out.Labels[:keep]
	return out, nil
}
