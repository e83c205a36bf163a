package workspace_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// alikeQueries are queries that differ only in limit, page and a start
// time that moved on by seconds, for filters whose first 100 tasks are all
// of them (one pool's day, the week's failures) and one whose are not
// (every task of the week).
func alikeQueries(now time.Time, poolID string) []pooltask.ListOptions {
	var qs []pooltask.ListOptions
	for _, base := range []pooltask.ListOptions{
		{PoolID: poolID, Start: now.Add(-24 * time.Hour)},
		{Start: now.Add(-7 * 24 * time.Hour)},
		{Status: pooltask.FilterFailed, Start: now.Add(-7 * 24 * time.Hour), End: now.Add(-time.Hour)},
	} {
		for i, limit := range []int{0, 1, 5, 10, 20, 50, 100} {
			for _, offset := range []int{0, 10, 40, 90} {
				q := base
				q.Limit, q.Offset = limit, offset
				// The relative start moved on by up to half a minute.
				q.Start = q.Start.Add(time.Duration(i*5) * time.Second)
				qs = append(qs, q)
			}
		}
	}
	return qs
}

// TestAlikeQueriesExact: answers from one fetch are the answers the API
// gives each query, tasks and totals alike, and cost few requests.
func TestAlikeQueriesExact(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	s, url := startSim(t, sim.Options{Seed: 1, Now: func() time.Time { return now }})
	exact := simClient(t, url, nil)
	cached := simClient(t, url, func(c *workspace.Config) { c.CacheTTL = time.Hour })
	ctx := context.Background()
	qs := alikeQueries(now, s.Pools()[0].ID)

	want := make([]pooltask.TaskPage, len(qs))
	for i, q := range qs {
		p, err := exact.ListTasks(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = p
	}
	before := s.Requests()
	for i, q := range qs {
		got, err := cached.ListTasks(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[i], got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("query %d %+v (-API +alike):\n%s", i, q, diff)
		}
	}
	// The pool's day (9 tasks) and the failed tasks of the week (82) are
	// whole in their first window: their 28 queries each cost one
	// request. Every task of the week (201) is not: each of its 7 start
	// seconds costs a window, and each of its 5 pages beyond the first
	// 100 tasks is asked as it is.
	if n, want := s.Requests()-before, int64(1+1+7+5); n != want {
		t.Errorf("%d requests for %d alike queries, want %d", n, len(qs), want)
	}
}

// TestAlikeBurst: 200 concurrent alike commands (limits, pages, a start a
// few seconds apart) over one pool cost a handful of requests.
func TestAlikeBurst(t *testing.T) {
	s, url := startSim(t, sim.Options{Seed: 1, Latency: 20 * time.Millisecond})
	c := simClient(t, url, func(c *workspace.Config) { c.CacheTTL = 10 * time.Second })
	n := alikeBurst(t, s, c, 200)
	if n > 5 {
		t.Errorf("%d requests for 200 alike queries, want at most 5", n)
	}
}

// alikeBurst sends n alike queries at once and returns the requests they
// cost.
func alikeBurst(tb testing.TB, s *sim.Sim, c *workspace.Client, n int) int64 {
	now := time.Now().UTC().Truncate(time.Second)
	pool := s.Pools()[2].ID
	before := s.Requests()
	var wg sync.WaitGroup
	for i := range n {
		q := pooltask.ListOptions{PoolID: pool, Start: now.Add(-24*time.Hour + time.Duration(i%4)*time.Second), Limit: 5 + i%3*5, Offset: i % 2 * 10}
		wg.Go(func() {
			if _, err := c.ListTasks(context.Background(), q); err != nil {
				tb.Error(fmt.Errorf("%+v: %w", q, err))
			}
		})
	}
	wg.Wait()
	return s.Requests() - before
}

// BenchmarkAlikeQueries reports the API requests that 200 concurrent alike
// queries cost, through a fresh client (cold cache) each time, against a
// simulator answering in 100 ms.
func BenchmarkAlikeQueries(b *testing.B) {
	s, url := startSim(b, sim.Options{Seed: 1, Latency: 100 * time.Millisecond})
	var requests int64
	for b.Loop() {
		c := simClient(b, url, func(c *workspace.Config) { c.CacheTTL = 10 * time.Second })
		requests += alikeBurst(b, s, c, 200)
	}
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
	b.ReportMetric(200, "queries/op")
}
