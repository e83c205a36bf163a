package targets

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// twoSims is the set of two simulated targets, sim-a and sim-b: distinct
// projects with their own tasks and pools of the same names, each behind
// the real SDK.
func twoSims(t *testing.T) (*Set, *sim.Sim, *sim.Sim) {
	t.Helper()
	s, a, b, _ := twoSimsDown(t)
	return s, a, b
}

// twoSimsDown is twoSims with a switch that takes sim-b down at the wire:
// while it is set, sim-b's server answers every request 500, as a
// region's gateway does when its backend is unavailable.
func twoSimsDown(t *testing.T) (*Set, *sim.Sim, *sim.Sim, *atomic.Bool) {
	t.Helper()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a := sim.New(sim.Options{Seed: 1, Now: clock})
	b := sim.New(sim.Options{Seed: 2, Now: clock, ProjectID: sim.SecondProjectID})
	down := new(atomic.Bool)
	outage := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Request-Id", "req-outage")
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte(`{"error_code":"APIGW.0201","error_msg":"Request error: backend unavailable"}`))
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	var list []Target
	for _, s := range []struct {
		name, project string
		h             http.Handler
	}{{"sim-a", sim.DemoProjectID, a}, {"sim-b", sim.SecondProjectID, outage(b)}} {
		srv := httptest.NewServer(s.h)
		t.Cleanup(srv.Close)
		c, err := workspace.New(workspace.Config{Endpoint: srv.URL, ProjectID: s.project, AK: sim.DemoAK, SK: sim.DemoSK,
			RateLimit: -1, BackoffBase: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, Target{Name: s.name, Client: c})
	}
	return New(list, ""), a, b, down
}

func ids(ts []pooltask.Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Target + "/" + t.ID
	}
	return out
}

func TestRoute(t *testing.T) {
	s := New([]Target{{Name: "eu"}, {Name: "ap"}, {Name: "latam"}}, "")
	withDefault := New([]Target{{Name: "eu"}, {Name: "ap"}}, "ap")
	for _, tt := range []struct {
		name  string
		set   *Set
		given string
		bound []string
		want  []string
		err   string
	}{
		{"no target: all", s, "", nil, []string{"eu", "ap", "latam"}, ""},
		{"no target: the binding's one", s, "", []string{"ap"}, []string{"ap"}, ""},
		{"no target: binding of two, no default", s, "", []string{"eu", "ap"}, []string{"eu", "ap", "latam"}, ""},
		{"no target: the default", withDefault, "", nil, []string{"ap"}, ""},
		{"no target: the binding's one over the default", withDefault, "", []string{"eu"}, []string{"eu"}, ""},
		{"named, any case", s, "EU", nil, []string{"eu"}, ""},
		{"all over the default", withDefault, "ALL", []string{"eu"}, []string{"eu", "ap"}, ""},
		{"misspelt", s, "latm", nil, nil, `there is no target "latm" — did you mean target=latam?`},
		{"unknown", s, "us", nil, nil, `there is no target "us"; the targets are eu, ap, latam (or target=all)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.set.Route(tt.given, tt.bound)
			if tt.err != "" {
				var ue *UnknownError
				if !errors.As(err, &ue) || err.Error() != tt.err {
					t.Fatalf("err = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Route = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestListTasksMerged: a list over two targets is their tasks merged
// newest first, each naming its target, paged over the merged list, the
// total of both.
func TestListTasksMerged(t *testing.T) {
	s, a, b := twoSims(t)
	var want []pooltask.Task
	for _, x := range []struct {
		name string
		sim  *sim.Sim
	}{{"sim-a", a}, {"sim-b", b}} {
		for _, tk := range x.sim.Tasks() {
			tk.Target = x.name
			want = append(want, tk)
		}
	}
	slices.SortStableFunc(want, func(x, y pooltask.Task) int { return Newer(x, y) })
	qs := []Query{{Target: "sim-a"}, {Target: "sim-b"}}
	ctx := context.Background()
	var got []pooltask.Task
	for page := range 4 {
		m, err := s.ListTasks(ctx, qs, page*25, 25)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Failures) > 0 || m.Total != len(want) {
			t.Fatalf("page %d: total %d, failures %v; want %d", page+1, m.Total, m.Failures, len(want))
		}
		got = append(got, m.Tasks...)
	}
	if diff := cmp.Diff(ids(want[:100]), ids(got)); diff != "" {
		t.Errorf("merged pages (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(got[:25], func(tk pooltask.Task) bool { return tk.Target == "sim-a" }) ||
		!slices.ContainsFunc(got[:25], func(tk pooltask.Task) bool { return tk.Target == "sim-b" }) {
		t.Errorf("the first page has the tasks of one target only: %v", ids(got[:25]))
	}
	if _, err := s.ListTasks(ctx, qs, MaxMergedDepth, 10); !errors.As(err, new(*DepthError)) {
		t.Errorf("a page deeper than %d: err = %v", MaxMergedDepth, err)
	}
}

// TestSamePoolName: the same pool name is a pool of each target, with ids
// of its own; each target's query carries its own id.
func TestSamePoolName(t *testing.T) {
	s, a, b := twoSims(t)
	name := a.Pools()[0].Name
	if b.Pools()[0].Name != name || b.Pools()[0].ID == a.Pools()[0].ID {
		t.Fatalf("pools: %v and %v", a.Pools()[0], b.Pools()[0])
	}
	ctx := context.Background()
	var qs []Query
	for _, n := range s.Names() {
		c, _, _ := s.Client(n)
		res := c.ResolvePool(ctx, name)
		if !res.Found() {
			t.Fatalf("%s: pool %q not found", n, name)
		}
		qs = append(qs, Query{Target: n, Options: pooltask.ListOptions{PoolID: res.ID}})
	}
	m, err := s.ListTasks(ctx, qs, 0, 50)
	if err != nil || len(m.Failures) > 0 {
		t.Fatal(err, m.Failures)
	}
	seen := map[string]bool{}
	for _, tk := range m.Tasks {
		if tk.PoolName != name {
			t.Errorf("task %s of pool %q", tk.ID, tk.PoolName)
		}
		seen[tk.Target] = true
	}
	if !seen["sim-a"] || !seen["sim-b"] {
		t.Errorf("targets answering = %v, want both", seen)
	}
}

// TestOneTargetDown: a target that fails is named with its error, the
// other's tasks are still there.
func TestOneTargetDown(t *testing.T) {
	s, a, b := twoSims(t)
	b.InjectError("", http.StatusForbidden, "WKS.0403", "no permission")
	m, err := s.ListTasks(context.Background(), []Query{{Target: "sim-a"}, {Target: "sim-b"}}, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ae *pooltask.APIError
	if len(m.Failures) != 1 || m.Failures[0].Target != "sim-b" || !errors.As(m.Failures[0].Err, &ae) || ae.Code != "WKS.0403" {
		t.Fatalf("failures = %v, want sim-b's WKS.0403", m.Failures)
	}
	if m.Total != len(a.Tasks()) || len(m.Tasks) != 10 || m.Tasks[0].Target != "sim-a" {
		t.Errorf("total %d (want %d), %d tasks, first of %s", m.Total, len(a.Tasks()), len(m.Tasks), m.Tasks[0].Target)
	}
}

// TestFindTask: a task id, or its start, is looked for in every target
// and comes back naming its own; an id of no target is the one rule's
// *pooltask.TaskIDError, an id of both an *AmbiguousError.
func TestFindTask(t *testing.T) {
	s, a, b := twoSims(t)
	ctx := context.Background()
	id := b.Tasks()[3].ID
	for _, v := range []string{id, id[:8]} {
		task, err := s.FindTask(ctx, s.Names(), v)
		if err != nil || task.ID != id || task.Target != "sim-b" {
			t.Errorf("FindTask(%s) = %v, %v", v, task.Target+"/"+task.ID, err)
		}
	}
	if _, err := s.FindTask(ctx, s.Names(), "a0b1c2d3-0000-4000-8000-000000000000"); !errors.As(err, new(*pooltask.TaskIDError)) {
		t.Errorf("an unknown id: err = %v", err)
	}
	// The same id in both targets: which is meant cannot be guessed.
	tk := b.Tasks()[0]
	a.PutTask(tk)
	if _, err := s.FindTask(ctx, s.Names(), tk.ID); !errors.As(err, new(*AmbiguousError)) {
		t.Errorf("an id in both targets: err = %v, want *AmbiguousError", err)
	}
	// A target that cannot be asked might have had it: its error, named.
	b.InjectError("", http.StatusForbidden, "WKS.0403", "no permission")
	var f *Failure
	if _, err := s.FindTask(ctx, s.Names(), "a0b1c2d3-0000-4000-8000-000000000000"); !errors.As(err, &f) || f.Target != "sim-b" {
		t.Errorf("an unknown id, sim-b down: err = %v", err)
	}
}
