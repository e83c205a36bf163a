package targets

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/alert"
	"github.com/pooltasks/pooltasks/bot/notify/digest"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/watch"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// TestListerPages: the background loops' Lister pages over both targets,
// one after the other, every task once and naming its target.
func TestListerPages(t *testing.T) {
	s, a, b := twoSims(t)
	seen := map[string]int{}
	n := 0
	for tk, err := range workspace.Tasks(context.Background(), s.Lister(), pooltask.ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		seen[tk.Target]++
		n++
	}
	if seen["sim-a"] != len(a.Tasks()) || seen["sim-b"] != len(b.Tasks()) || n != len(a.Tasks())+len(b.Tasks()) {
		t.Errorf("paged %v (%d), want %d of sim-a and %d of sim-b", seen, n, len(a.Tasks()), len(b.Tasks()))
	}
}

// TestListerPools: a pool without a target is that pool in each target; a
// TARGET: pool, in that target only.
func TestListerPools(t *testing.T) {
	s, _, _ := twoSims(t)
	ctx := context.Background()
	l := s.Lister()
	for _, tt := range []struct {
		value   string
		targets string
	}{
		{"finance-win11", "sim-a sim-b"},
		{"sim-b:finance-win11", "sim-b"},
		{"finance*", "sim-a sim-b"}, // a glob: the pools of each
	} {
		res := l.ResolvePool(ctx, tt.value)
		ids := []string{res.ID}
		if res.Glob {
			ids = nil
			for _, p := range res.Choices {
				ids = append(ids, p.ID)
			}
		}
		tasks, _, err := loop.ListPools(ctx, l, pooltask.ListOptions{}, ids, 1000)
		if err != nil || len(tasks) == 0 {
			t.Fatalf("%s (%v): %d tasks, %v", tt.value, ids, len(tasks), err)
		}
		seen := map[string]bool{}
		for _, tk := range tasks {
			if !strings.HasPrefix(tk.PoolName, "finance") {
				t.Errorf("%s: a task of %s", tt.value, tk.PoolName)
			}
			seen[tk.Target] = true
		}
		got := ""
		for _, n := range []string{"sim-a", "sim-b"} {
			if seen[n] {
				got = strings.TrimSpace(got + " " + n)
			}
		}
		if got != tt.targets {
			t.Errorf("%s: tasks of %q, want %q", tt.value, got, tt.targets)
		}
	}
	if res := l.ResolvePool(ctx, "finanse-win11"); res.Found() || len(res.Suggestions) == 0 {
		t.Errorf("a misspelt pool: %+v, want suggestions", res)
	}
}

// TestDigestAndAlertsOverTargets: a digest covers both targets, its
// per-pool counts grouped by target and pool; an alert names the target
// of the failure.
func TestDigestAndAlertsOverTargets(t *testing.T) {
	s, a, b := twoSims(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	poster := notifytest.NewPoster(nil)
	deps := loop.Deps{Lister: s.Lister(), Poster: poster, Clock: notifytest.NewClock(now)}

	d := digest.New(digest.Config{Channel: "C1"}, deps, nil)
	dg, err := d.Collect(ctx, pooltask.ListOptions{Start: now.Add(-72 * time.Hour), End: now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, p := range dg.PerPool {
		counts[p.Target+":"+p.PoolName] += p.FailedTasks
	}
	if counts["sim-a:finance-win11"] == 0 || counts["sim-b:finance-win11"] == 0 {
		t.Errorf("per pool: %v, want finance-win11 of each target", counts)
	}
	raw, _ := json.Marshal(dg.View(true))
	if !strings.Contains(string(raw), "sim-a:finance-win11") || !strings.Contains(string(raw), "sim-b:finance-win11") {
		t.Errorf("the digest's view does not name the targets' pools: %s", raw)
	}

	al := alert.New(alert.Config{Channel: "C2"}, deps, notifytest.OpenStore(t, t.TempDir()))
	if err := al.Poll(ctx); err != nil { // failures already there are known
		t.Fatal(err)
	}
	for i, sm := range []*simType{a, b} {
		pool := sm.Pools()[0]
		sm.PutTask(pooltask.Task{ID: []string{"11111111-0000-4000-8000-00000000000a", "11111111-0000-4000-8000-00000000000b"}[i],
			PoolID: pool.ID, PoolName: pool.Name, Status: pooltask.StatusFailed, Start: now.Add(-time.Minute), End: now,
			FailedNum: 3, SuccessNum: 1, Scripts: []pooltask.Script{{ID: "s1", Name: "install-agent"}}})
	}
	if err := al.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	texts := ""
	for _, p := range poster.Posts() {
		raw, _ := json.Marshal(p.Blocks)
		texts += p.Text + string(raw)
	}
	for _, want := range []string{"11111111-0000-4000-8000-00000000000a", "sim-a:finance-win11", "11111111-0000-4000-8000-00000000000b", "sim-b:finance-win11"} {
		if !strings.Contains(texts, want) {
			t.Errorf("the alerts lack %q:\n%s", want, texts)
		}
	}
}

type simType = sim.Sim

// TestListerTaskIDs: the loops' Lister finds a task by id in whichever
// target has it, naming that target; with opts.Target (a watch's target)
// it asks that target alone.
func TestListerTaskIDs(t *testing.T) {
	s, _, b := twoSims(t)
	id := b.Tasks()[5].ID
	page, err := s.Lister().ListTasks(context.Background(), pooltask.ListOptions{TaskIDs: []string{id}, Limit: 1})
	if err != nil || len(page.Tasks) != 1 || page.Tasks[0].ID != id || page.Tasks[0].Target != "sim-b" {
		t.Fatalf("ListTasks(task=%s) = %+v, %v", id, page, err)
	}
	page, err = s.Lister().ListTasks(context.Background(), pooltask.ListOptions{TaskIDs: []string{id}, Target: "sim-a", Limit: 1})
	if err != nil || len(page.Tasks) != 0 {
		t.Errorf("ListTasks(task=%s target=sim-a) = %+v, %v; the task is sim-b's", id, page, err)
	}
	page, err = s.Lister().ListTasks(context.Background(), pooltask.ListOptions{TaskIDs: []string{id}, Target: "sim-b", Limit: 1})
	if err != nil || len(page.Tasks) != 1 || page.Tasks[0].Target != "sim-b" {
		t.Errorf("ListTasks(task=%s target=sim-b) = %+v, %v", id, page, err)
	}
}

// TestWatchOfTarget: a watch records its task's target in the store and
// reads the task from that target.
func TestWatchOfTarget(t *testing.T) {
	s, _, b := twoSims(t)
	var tk pooltask.Task
	for _, x := range b.Tasks() {
		if x.Status == pooltask.StatusRunning {
			tk = x
			break
		}
	}
	if tk.ID == "" {
		t.Skip("sim-b has no running task")
	}
	poster := notifytest.NewPoster(nil)
	store := notifytest.OpenStore(t, t.TempDir())
	w := watch.New(watch.Config{Every: time.Hour}, loop.Deps{Lister: s.Lister(), Poster: poster}, store)
	t.Cleanup(w.Close)
	if _, err := w.Start(context.Background(), watch.Request{TaskID: tk.ID, Target: "sim-a", Channel: "C1", UserID: "U1"}); !errors.Is(err, watch.ErrTaskNotFound) {
		t.Errorf("a watch of sim-b's task in sim-a: %v, want ErrTaskNotFound", err)
	}
	if _, err := w.Start(context.Background(), watch.Request{TaskID: tk.ID, Target: "sim-b", Channel: "C1", UserID: "U1"}); err != nil {
		t.Fatal(err)
	}
	saved := notifytest.Saved(t, store)
	if len(saved) != 1 || saved[0].Target != "sim-b" || saved[0].TaskID != tk.ID {
		t.Errorf("saved watches %+v, want one of %s in sim-b", saved, tk.ID)
	}
}
