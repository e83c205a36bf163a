package workspace

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
)

// Alike queries — the same filters with another limit or page, or a
// relative time ("since=1h") that moved on by a few seconds — are answered
// from one cached first page of MaxPageSize tasks, the query's window, so
// that a burst of them costs a handful of requests rather than one each.
// This only happens with the cache on (Config.CacheTTL), within its TTL.
//
// A window answers a query exactly when
//   - the query has the window's filters and times, and its page lies
//     within the first MaxPageSize tasks: the page is a slice of the
//     window and the total is the window's; or
//   - the window holds every task of its total, and the query's times lie
//     within the window's: the query's tasks are the window's tasks that
//     started within its times, filtered here, and so is its total, for
//     any page.
//
// A query that no window answers fetches its own window when its page lies
// within the first MaxPageSize tasks, and is asked as it is otherwise.

// maxWindows bounds the windows kept for one set of filters.
const maxWindows = 4

// window is where the first page of a query with some times is cached: the
// key of that page in the tasks cache.
type window struct {
	start, end time.Time // as sent, in whole seconds; zero for none
	key        string
}

// windows indexes the cached first pages by the filters other than times,
// offset and limit.
type windows struct {
	mu sync.Mutex
	m  map[string][]window
}

// listTasksAlike answers opts from a window when one covers it, or, when
// its page lies within the first MaxPageSize tasks, fetches the window of
// opts and answers from that; ok is false for a query it cannot answer.
func (c *Client) listTasksAlike(ctx context.Context, opts pooltask.ListOptions) (p pooltask.TaskPage, ok bool, err error) {
	if c.cfg.CacheTTL <= 0 || len(opts.TaskIDs) > 0 || opts.Offset < 0 {
		return p, false, nil
	}
	start, end := wireSecond(opts.Start), wireSecond(opts.End)
	fkey := filterKey(opts)
	if p, ok := c.fromWindows(fkey, start, end, opts); ok {
		c.obs.CacheHit(OpListTasks)
		return p, true, nil
	}
	if opts.Offset+limitOf(opts) > MaxPageSize {
		return p, false, nil
	}
	wide := opts
	wide.Offset, wide.Limit = 0, MaxPageSize
	key := taskKey(wide)
	p, _, err = c.listTasks(ctx, wide, key)
	if err != nil {
		return pooltask.TaskPage{}, true, err
	}
	c.windows.add(fkey, window{start: start, end: end, key: key})
	// p is the window itself, maybe shared: slice a copy.
	return windowPage(p, opts, start, end, true), true, nil
}

// fromWindows finds a cached window that covers opts and answers from it.
func (c *Client) fromWindows(fkey string, start, end time.Time, opts pooltask.ListOptions) (pooltask.TaskPage, bool) {
	for _, w := range c.windows.of(fkey) {
		p, ok := c.tasks.peek(c, w.key)
		if !ok {
			continue
		}
		same := w.start.Equal(start) && w.end.Equal(end)
		whole := len(p.Tasks) == p.Total
		if (same && opts.Offset+limitOf(opts) <= MaxPageSize) || (whole && within(w.start, start, w.end, end)) {
			return windowPage(p, opts, start, end, same), true
		}
	}
	return pooltask.TaskPage{}, false
}

// within reports whether the times [start, end] lie in [wstart, wend]; a
// zero time is no bound.
func within(wstart, start, wend, end time.Time) bool {
	if !wstart.IsZero() && (start.IsZero() || start.Before(wstart)) {
		return false
	}
	if !wend.IsZero() && (end.IsZero() || end.After(wend)) {
		return false
	}
	return true
}

// windowPage is the page of opts out of window p: sliced as it is when the
// times are the window's (same), else filtered by start time first, as the
// API filters execute_time_start and execute_time_end (both inclusive). The
// tasks are copied.
func windowPage(p pooltask.TaskPage, opts pooltask.ListOptions, start, end time.Time, same bool) pooltask.TaskPage {
	tasks := p.Tasks
	total := p.Total
	if !same {
		tasks = nil
		for _, t := range p.Tasks {
			if (start.IsZero() || !t.Start.Before(start)) && (end.IsZero() || !t.Start.After(end)) {
				tasks = append(tasks, t)
			}
		}
		total = len(tasks)
	}
	from := min(opts.Offset, len(tasks))
	to := min(from+limitOf(opts), len(tasks))
	return pooltask.TaskPage{Tasks: cloneTasks(tasks[from:to:to]), Total: total}
}

// defaultPageSize is the limit of a task query that gives none.
const defaultPageSize = 10

// limitOf is the page size of a task query: its limit, or the API's
// default.
func limitOf(opts pooltask.ListOptions) int {
	if opts.Limit <= 0 {
		return defaultPageSize
	}
	return opts.Limit
}

// filterKey is taskKey without times, offset and limit.
func filterKey(o pooltask.ListOptions) string {
	return strings.Join([]string{o.PoolID, o.ScriptID, o.ScriptName, string(o.Status), string(o.TaskType)}, "\x00")
}

// wireSecond is t as the API sees it: UTC, whole seconds.
func wireSecond(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}

func (ws *windows) of(fkey string) []window {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return slices.Clone(ws.m[fkey])
}

// add remembers a window, newest first, forgetting the oldest beyond
// maxWindows for its filters, and all of them when too many filters are
// kept (their pages expire from the tasks cache anyway).
func (ws *windows) add(fkey string, w window) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.m == nil || len(ws.m) >= maxCacheEntries {
		ws.m = make(map[string][]window)
	}
	list := slices.DeleteFunc(ws.m[fkey], func(o window) bool { return o.key == w.key })
	list = append([]window{w}, list...)
	ws.m[fkey] = list[:min(len(list), maxWindows)]
}
