package act_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/act"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/targets"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

const taskID = "6f1c2b1e-0000-4000-8000-000000000001"

// setup serves a simulator holding one failed task and returns a runner
// over the real client and a file store in dir.
func setup(t *testing.T, dir string, mod func(*workspace.Config)) (*sim.Sim, *act.Runner, string) {
	t.Helper()
	s := sim.New(sim.Options{Seed: 1, Empty: true})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	pool := s.Pools()[0]
	s.PutTask(pooltask.Task{ID: taskID, PoolID: pool.ID, PoolName: pool.Name, Status: pooltask.StatusFailed,
		Start: time.Now().Add(-time.Hour), End: time.Now().Add(-time.Minute), FailedNum: 1,
		Scripts: []pooltask.Script{{ID: "s-1", Name: "rotate-cert"}}},
		pooltask.Record{ID: "rec-1", DesktopID: "d-1", DesktopName: "FIN-0001", Status: "FAILED"})
	return s, runner(t, srv.URL, dir, mod), srv.URL
}

func runner(t *testing.T, url, dir string, mod func(*workspace.Config)) *act.Runner {
	t.Helper()
	cfg := workspace.Config{Region: "sim-local-1", Endpoint: url, ProjectID: sim.DemoProjectID,
		AK: sim.DemoAK, SK: sim.DemoSK, RateLimit: -1, BackoffBase: 5 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := workspace.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &act.Runner{Store: st, API: func(string) act.API { return c }}
}

var retry = act.Request{Action: pooltask.ActionRetry, TaskID: taskID, Desktops: 1, Actor: "U01ANA"}

// TestDoOnce: the second attempt is answered with what the first did, and
// sends nothing.
func TestDoOnce(t *testing.T) {
	s, r, _ := setup(t, t.TempDir(), nil)
	in, err := r.Do(context.Background(), retry)
	if err != nil || in.Outcome != act.OutcomeDone || in.NewTaskID == "" {
		t.Fatalf("first retry: %+v, %v", in, err)
	}
	again := retry
	again.Actor = "U02LI"
	_, err = r.Do(context.Background(), again)
	var done *act.DoneBeforeError
	if !errors.As(err, &done) || done.Prev.Actor != "U01ANA" || done.Prev.NewTaskID != in.NewTaskID {
		t.Fatalf("second retry: %v, want DoneBeforeError naming U01ANA and %s", err, in.NewTaskID)
	}
	if n := len(s.ActionRequests()); n != 1 {
		t.Errorf("%d retry requests, want 1", n)
	}
}

// TestDoConcurrent: many attempts at once, as from a double click, a
// redelivery and two approvers, send one request.
func TestDoConcurrent(t *testing.T) {
	s, r, _ := setup(t, t.TempDir(), nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done, before := 0, 0
	for range 12 {
		wg.Go(func() {
			_, err := r.Do(context.Background(), retry)
			mu.Lock()
			defer mu.Unlock()
			var db *act.DoneBeforeError
			switch {
			case err == nil:
				done++
			case errors.As(err, &db):
				before++
			default:
				t.Errorf("Do: %v", err)
			}
		})
	}
	wg.Wait()
	if done != 1 || before != 11 {
		t.Errorf("%d done, %d answered with the first, want 1 and 11", done, before)
	}
	if n := len(s.ActionRequests()); n != 1 {
		t.Errorf("%d retry requests, want 1", n)
	}
}

// TestDoRefusedMayBeTriedAgain: a request the API refused did nothing, so
// the action may be taken again.
func TestDoRefusedMayBeTriedAgain(t *testing.T) {
	s, r, _ := setup(t, t.TempDir(), nil)
	s.InjectActionError(403, "WKS.0403", "Policy doesn't allow workspace:scripts:retry to be performed.")
	_, err := r.Do(context.Background(), retry)
	var ae *pooltask.APIError
	if !errors.As(err, &ae) || ae.Status != 403 {
		t.Fatalf("err %v, want the 403", err)
	}
	s.InjectActionError(0, "", "")
	if in, err := r.Do(context.Background(), retry); err != nil || in.Outcome != act.OutcomeDone {
		t.Fatalf("after the refusal: %+v, %v", in, err)
	}
	if n := len(s.ActionRequests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// TestDoUnknownIsNotRepeated: a request lost after it reached the API is
// recorded as unknown, and not sent again.
func TestDoUnknownIsNotRepeated(t *testing.T) {
	s, r, _ := setup(t, t.TempDir(), func(c *workspace.Config) { c.Timeout = 200 * time.Millisecond })
	s.HangActions(true)
	t.Cleanup(func() { s.HangActions(false) })
	in, err := r.Do(context.Background(), retry)
	var ue *pooltask.OutcomeUnknownError
	if !errors.As(err, &ue) || in.Outcome != act.OutcomeUnknown {
		t.Fatalf("lost answer: %+v, %v", in, err)
	}
	_, err = r.Do(context.Background(), retry)
	var db *act.DoneBeforeError
	if !errors.As(err, &db) || db.Prev.Outcome != act.OutcomeUnknown {
		t.Fatalf("after an unknown outcome: %v", err)
	}
	if n := len(s.ActionRequests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// TestDoSurvivesCrash: a process killed after recording the intent and
// before sending leaves an intent that keeps every later attempt, in a new
// process, from sending.
func TestDoSurvivesCrash(t *testing.T) {
	if dir := os.Getenv("ACT_CRASH_DIR"); dir != "" {
		r := runner(t, os.Getenv("ACT_CRASH_URL"), dir, nil)
		r.Sent = func(state.ActionIntent) { os.Exit(3) } // killed between intent and request
		r.Do(context.Background(), retry)
		t.Fatal("not killed")
	}
	dir := t.TempDir()
	s, r, url := setup(t, dir, nil)
	cmd := exec.Command(os.Args[0], "-test.run=^TestDoSurvivesCrash$")
	cmd.Env = append(os.Environ(), "ACT_CRASH_DIR="+dir, "ACT_CRASH_URL="+url)
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("child: %v, want exit status 3", err)
	}
	r = runner(t, url, dir, nil) // the restarted process
	_, err = r.Do(context.Background(), retry)
	var db *act.DoneBeforeError
	if !errors.As(err, &db) || db.Prev.Outcome != "" || db.Prev.Actor != "U01ANA" {
		t.Fatalf("after the crash: %v, want DoneBeforeError with no outcome", err)
	}
	if n := len(s.ActionRequests()); n != 0 {
		t.Errorf("%d requests, want 0", n)
	}
}

// TestDoPerTarget: the same task id in two targets is two tasks: a retry
// in each goes to its own target's API, once each, and a second attempt
// in one is answered with what the first did there.
func TestDoPerTarget(t *testing.T) {
	sa, ra, _ := setup(t, t.TempDir(), nil)
	sb, rb, _ := setup(t, t.TempDir(), nil)
	r := ra
	apis := map[string]act.API{"a": ra.API(""), "b": rb.API("")}
	r.API = func(target string) act.API { return apis[target] }
	inB := retry
	inB.Target = "b"
	for _, req := range []act.Request{inB, {Action: pooltask.ActionRetry, Target: "a", TaskID: taskID, Actor: "U02LI"}} {
		if in, err := r.Do(context.Background(), req); err != nil || in.Outcome != act.OutcomeDone || in.Target != req.Target {
			t.Fatalf("retry in %s: %+v, %v", req.Target, in, err)
		}
	}
	_, err := r.Do(context.Background(), inB)
	var db *act.DoneBeforeError
	if !errors.As(err, &db) || db.Prev.Target != "b" || db.Prev.Actor != "U01ANA" {
		t.Fatalf("second retry in b: %v, want the first one's", err)
	}
	if na, nb := len(sa.ActionRequests()), len(sb.ActionRequests()); na != 1 || nb != 1 {
		t.Errorf("requests a=%d b=%d, want 1 and 1", na, nb)
	}
}

// TestKey: without a target (one target, and every intent recorded before
// targets existed) the key is the one it always was, and so it is for the
// target "default" (that one target, once a targets file names others);
// with another target it names it.
func TestKey(t *testing.T) {
	for _, c := range []struct {
		r    act.Request
		want string
	}{
		{act.Request{Action: pooltask.ActionRetry, TaskID: "t1"}, "retry:task:t1"},
		{act.Request{Action: pooltask.ActionRetry, TaskID: "t1", RecordID: "r1"}, "retry:record:r1"},
		{act.Request{Action: pooltask.ActionStop, Target: "eu", TaskID: "t1"}, "stop@eu:task:t1"},
		{act.Request{Action: pooltask.ActionStop, Target: targets.DefaultName, TaskID: "t1"}, "stop:task:t1"},
		{act.Request{Action: pooltask.ActionRetry, Target: "ap", TaskID: "t1", RecordID: "r1"}, "retry@ap:record:r1"},
	} {
		if got := act.Key(c.r); got != c.want {
			t.Errorf("Key(%+v) = %q, want %q", c.r, got, c.want)
		}
	}
}
