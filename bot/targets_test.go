package bot_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify"
	"github.com/pooltasks/pooltasks/bot/notify/digest"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/watch"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/targets"
)

// details returns the values of the Details buttons of an answer, in order.
func details(m []button) []string {
	var out []string
	for _, b := range m {
		if blocks.BaseAction(b.ActionID) == blocks.ActionDetails {
			out = append(out, b.Value)
		}
	}
	return out
}

// merged is what a list over both targets shows: their tasks newest
// first, as the Details buttons carry them.
func merged(e *env) []string {
	var all []pooltask.Task
	for _, x := range []struct {
		name  string
		tasks []pooltask.Task
	}{{"sim-a", e.sim.Tasks()}, {"sim-b", e.simB.Tasks()}} {
		for _, t := range x.tasks {
			t.Target = x.name
			all = append(all, t)
		}
	}
	slices.SortStableFunc(all, targets.Newer)
	out := make([]string, len(all))
	for i, t := range all {
		out[i] = "show " + t.ID + " target=" + t.Target
	}
	return out
}

func twoTargets(def string) *struct{ def, first string } {
	return &struct{ def, first string }{def: def}
}

// TestTargetsList: a command without target= asks both targets at once;
// the rows are merged newest first, each naming its target (and its
// Details button carrying it), the context names the targets, and the
// Next button pages across the merged list.
func TestTargetsList(t *testing.T) {
	e := start(t, setup{targets: twoTargets("")})
	m := e.slash(t, "U1", "C1", "list limit=20")
	want := merged(e)
	if got := details(buttons(m.Blocks)); !slices.Equal(got, want[:20]) {
		t.Errorf("page 1 =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want[:20], "\n"))
	}
	body := string(m.Blocks)
	for _, s := range []string{"targets sim-a, sim-b", "sim-a:", "sim-b:"} {
		if !strings.Contains(body, s) {
			t.Errorf("the answer lacks %q", s)
		}
	}
	next := find(t, m.Blocks, blocks.ActionNext)
	m = e.click(t, "U1", "C1", next)
	if got := details(buttons(m.Blocks)); !slices.Equal(got, want[20:40]) {
		t.Errorf("page 2 (%s) =\n%s\nwant\n%s", next.Value, strings.Join(got, "\n"), strings.Join(want[20:40], "\n"))
	}

	m = e.slash(t, "U1", "C1", "list target=SIM-B")
	for _, v := range details(buttons(m.Blocks)) {
		if !strings.HasSuffix(v, " target=sim-b") {
			t.Errorf("target=SIM-B listed %q", v)
		}
	}
	m = e.slash(t, "U1", "C1", "list target=sim-c")
	if !strings.Contains(m.Text, `There is no target "sim-c" — did you mean target=sim-a?`) {
		t.Errorf("target=sim-c answered %q", m.Text)
	}
}

// TestTargetsSamePool: the same pool name is looked up in each target, and
// the list has the tasks of that pool of both.
func TestTargetsSamePool(t *testing.T) {
	e := start(t, setup{targets: twoTargets("")})
	m := e.slash(t, "U1", "C1", "list pool=finance-win11 since=7d limit=50")
	seen := map[string]bool{}
	for _, v := range details(buttons(m.Blocks)) {
		seen[v[strings.LastIndex(v, "=")+1:]] = true
	}
	if !seen["sim-a"] || !seen["sim-b"] {
		t.Errorf("pool=finance-win11 listed tasks of %v, want both targets:\n%s", seen, m.Blocks)
	}
	if strings.Contains(string(m.Blocks), "dev-ubuntu") {
		t.Errorf("a task of another pool is listed")
	}
}

// TestTargetsOneDown: a target that fails is named in a note with its
// error, and the list shows the other target's tasks.
func TestTargetsOneDown(t *testing.T) {
	e := start(t, setup{targets: twoTargets("")})
	e.simB.InjectError("", http.StatusForbidden, "WKS.0403", "no permission on this project")
	m := e.slash(t, "U1", "C1", "list")
	body := string(m.Blocks)
	if !strings.Contains(body, "Target sim-b did not answer: WKS.0403: no permission on this project") {
		t.Errorf("no note of sim-b's failure:\n%s", body)
	}
	got := details(buttons(m.Blocks))
	if len(got) != 10 || !strings.HasSuffix(got[0], "target=sim-a") || strings.Contains(strings.Join(got, " "), "sim-b") {
		t.Errorf("the list of the target that answered: %v", got)
	}
	// Both down: the error of the target, named.
	e.sim.InjectError("", http.StatusForbidden, "WKS.0403", "no permission on this project")
	m = e.slash(t, "U1", "C1", "list target=sim-a")
	if !strings.Contains(string(m.Blocks), "(target sim-a)") {
		t.Errorf("the failure of target=sim-a does not name it:\n%s", m.Blocks)
	}
}

// TestTargetsBinding: a channel bound to pools of one target (sim-b:pool)
// asks that target without target=, with its pool as the default, and may
// not ask the other; a default target takes commands of other channels.
func TestTargetsBinding(t *testing.T) {
	e := start(t, setup{targets: twoTargets("sim-a"), cfg: bot.Config{ChannelPools: bindings(t, "CEU1=sim-b:finance-win11")}})
	m := e.slash(t, "U1", "CEU1", "list since=7d")
	got := details(buttons(m.Blocks))
	if len(got) == 0 {
		t.Fatalf("CEU1 listed nothing:\n%s", m.Blocks)
	}
	for _, v := range got {
		if !strings.HasSuffix(v, "target=sim-b") {
			t.Errorf("CEU1 listed %q", v)
		}
	}
	var finance string
	for _, p := range e.simB.Pools() {
		if p.Name == "finance-win11" {
			finance = p.ID
		}
	}
	if r := find(t, m.Blocks, blocks.ActionRefresh).Value; !strings.Contains(r, "pool="+finance) {
		t.Errorf("CEU1's list %q, want sim-b's finance-win11 (%s)", r, finance)
	}
	m = e.slash(t, "U1", "CEU1", "list target=sim-a")
	if !strings.Contains(m.Text, "This channel may see no pool of target sim-a") {
		t.Errorf("CEU1 target=sim-a answered %q", m.Text)
	}
	// Elsewhere, the default target.
	m = e.slash(t, "U1", "C1", "list")
	for _, v := range details(buttons(m.Blocks)) {
		if !strings.HasSuffix(v, "target=sim-a") {
			t.Errorf("C1 (default sim-a) listed %q", v)
		}
	}
}

// headerContext is the text of the context line right under an answer's
// header, "" when there is none.
func headerContext(t *testing.T, raw []byte) string {
	t.Helper()
	var bs []struct{ Type string }
	if err := json.Unmarshal(raw, &bs); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	if len(bs) < 2 || bs[0].Type != "header" || bs[1].Type != "context" {
		return ""
	}
	var second []json.RawMessage
	var ctx struct{ Elements []struct{ Text string } }
	if err := json.Unmarshal(raw, &second); err != nil || json.Unmarshal(second[1], &ctx) != nil || len(ctx.Elements) == 0 {
		t.Fatalf("context block: %s", raw)
	}
	return ctx.Elements[0].Text
}

// TestTargetsDetails: Details carries the task's target; the task shown is
// that target's, named in the context line under the header, and its
// Output buttons carry the target too (the output names it the same way).
func TestTargetsDetails(t *testing.T) {
	e := start(t, setup{targets: twoTargets("")})
	var failed pooltask.Task
	for _, tk := range e.simB.Tasks() {
		if tk.Status == pooltask.StatusFailed && tk.FailedNum > 0 {
			failed = tk
			break
		}
	}
	m := e.click(t, "U1", "C1", button{ActionID: blocks.ActionDetails, Value: "show " + failed.ID + " target=sim-b"})
	if !strings.Contains(string(m.Blocks), failed.ID) || !strings.Contains(string(m.Blocks), "sim-b:") {
		t.Fatalf("Details of a sim-b task:\n%s", m.Blocks)
	}
	if got := headerContext(t, m.Blocks); got != "target sim-b" {
		t.Errorf("Details' context line under the header: %q", got)
	}
	out := find(t, m.Blocks, blocks.ActionOutput)
	if rec, task, target, ok := blocks.OutputIDs(out.Value); !ok || task != failed.ID || target != "sim-b" || rec == "" {
		t.Errorf("Output value %q", out.Value)
	}
	m = e.click(t, "U1", "C1", out)
	if !strings.Contains(string(m.Blocks), "target=sim-b") {
		t.Errorf("the output's Task details button lacks the target:\n%s", m.Blocks)
	}
	if got := headerContext(t, m.Blocks); got != "target sim-b" {
		t.Errorf("Output's context line under the header: %q", got)
	}
	// Typed without target=, the task is looked for in both.
	m = e.slash(t, "U1", "C1", "show "+failed.ID)
	if !strings.Contains(string(m.Blocks), failed.ID) {
		t.Errorf("show without target=:\n%s", m.Blocks)
	}
}

// TestTargetsBindingGlob: a binding's TARGET:glob lets the channel see
// every pool of that target the glob matches, and no other.
func TestTargetsBindingGlob(t *testing.T) {
	e := start(t, setup{targets: twoTargets(""), cfg: bot.Config{ChannelPools: bindings(t, "CEU1=sim-b:finance*")}})
	m := e.slash(t, "U1", "CEU1", "list pool=finance-win11 since=7d")
	got := details(buttons(m.Blocks))
	if len(got) == 0 {
		t.Fatalf("pool=finance-win11 in CEU1:\n%s", m.Text)
	}
	for _, v := range got {
		if !strings.HasSuffix(v, "target=sim-b") {
			t.Errorf("CEU1 listed %q", v)
		}
	}
	m = e.slash(t, "U1", "CEU1", "list pool=dev-ubuntu")
	if !strings.Contains(m.Text, "This channel can see the pools finance* in target sim-b only") {
		t.Errorf("pool=dev-ubuntu in CEU1 answered %q", m.Text)
	}
}

// lateLister is the loops' Lister of a set built after the bot's config.
type lateLister struct{ l targets.Lister }

func (z *lateLister) ListTasks(ctx context.Context, o pooltask.ListOptions) (pooltask.TaskPage, error) {
	return z.l.ListTasks(ctx, o)
}

func (z *lateLister) ResolvePool(ctx context.Context, v string) pooltask.Resolution {
	return z.l.ResolvePool(ctx, v)
}

// TestTargetsDigest: a digest covers every target, its pools named after
// their targets, and its View all lists every target (target=all);
// digest target=sim-b covers that target alone, and so does its View all.
func TestTargetsDigest(t *testing.T) {
	late := &lateLister{}
	n := &notify.Notifier{Digester: digest.New(digest.Config{}, loop.Deps{Lister: late, Poster: notifytest.NewPoster(nil)}, nil)}
	e := start(t, setup{targets: twoTargets(""), cfg: bot.Config{Notifier: n}})
	late.l = e.set.Lister()
	m := e.slash(t, "U1", "C1", "digest since=3d")
	if body := string(m.Blocks); !strings.Contains(body, "sim-a:finance-win11") || !strings.Contains(body, "sim-b:finance-win11") {
		t.Errorf("the digest of both targets:\n%s", body)
	}
	if v := find(t, m.Blocks, blocks.ActionViewAll).Value; !strings.Contains(v, " target=all ") {
		t.Errorf("View all of both targets: %q", v)
	}
	m = e.slash(t, "U1", "C1", "digest since=3d target=sim-b")
	if body := string(m.Blocks); !strings.Contains(body, "sim-b:finance-win11") || strings.Contains(body, "sim-a:") {
		t.Errorf("the digest of sim-b:\n%s", body)
	}
	view := find(t, m.Blocks, blocks.ActionViewAll)
	if !strings.Contains(view.Value, " target=sim-b ") {
		t.Fatalf("View all of sim-b: %q", view.Value)
	}
	m = e.click(t, "U1", "C1", view)
	got := details(buttons(m.Blocks))
	if len(got) == 0 {
		t.Fatalf("View all of sim-b listed nothing:\n%s", m.Blocks)
	}
	for _, v := range got {
		if !strings.HasSuffix(v, " target=sim-b") {
			t.Errorf("View all of sim-b listed %q", v)
		}
	}
}

// TestTargetsWatch: the Watch button of a sim-b task starts a watch that
// records its target (and so polls sim-b alone).
func TestTargetsWatch(t *testing.T) {
	late := &lateLister{}
	store := notifytest.OpenStore(t, t.TempDir())
	w := watch.New(watch.Config{Every: time.Hour}, loop.Deps{Lister: late, Poster: notifytest.NewPoster(nil)}, store)
	t.Cleanup(w.Close)
	e := start(t, setup{targets: twoTargets(""), cfg: bot.Config{Notifier: &notify.Notifier{Watches: w}}})
	late.l = e.set.Lister()
	var running pooltask.Task
	for _, tk := range e.simB.Tasks() {
		if tk.Status == pooltask.StatusRunning {
			running = tk
			break
		}
	}
	if running.ID == "" {
		t.Fatal("sim-b has no running task")
	}
	m := e.click(t, "U1", "C1", button{ActionID: blocks.ActionDetails, Value: "show " + running.ID + " target=sim-b"})
	e.click(t, "U1", "C1", find(t, m.Blocks, blocks.ActionWatch))
	saved := notifytest.Saved(t, store)
	if len(saved) != 1 || saved[0].TaskID != running.ID || saved[0].Target != "sim-b" {
		t.Errorf("saved watches %+v, want one of %s in sim-b", saved, running.ID)
	}
}
