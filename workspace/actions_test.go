package workspace_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// clock is a settable clock for the simulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// failedTask puts a FAILED task with three desktops, two failed, into s.
func failedTask(s *sim.Sim, start time.Time) (pooltask.Task, []pooltask.Record) {
	pool := s.Pools()[0]
	task := pooltask.Task{
		ID: "6f1c2b1e-0000-4000-8000-000000000001", PoolID: pool.ID, PoolName: pool.Name,
		Scripts: []pooltask.Script{{ID: "script-1", Name: "rotate-cert"}},
		Start:   start.Add(-time.Hour), End: start.Add(-50 * time.Minute), Status: pooltask.StatusFailed,
		SuccessNum: 1, FailedNum: 2,
	}
	recs := []pooltask.Record{
		{ID: "rec-a", DesktopID: "desk-a", DesktopName: "FIN-0001", Status: "FAILED", ResultCode: "1", ScriptID: "script-1"},
		{ID: "rec-b", DesktopID: "desk-b", DesktopName: "FIN-0002", Status: "SUCCESS", ResultCode: "0", ScriptID: "script-1"},
		{ID: "rec-c", DesktopID: "desk-c", DesktopName: "FIN-0003", Status: "FAILED", ResultCode: "1603", ScriptID: "script-1"},
	}
	s.PutTask(task, recs...)
	return task, recs
}

func taskByID(s *sim.Sim, id string) pooltask.Task {
	for _, t := range s.Tasks() {
		if t.ID == id {
			return t
		}
	}
	return pooltask.Task{}
}

func bodyOf(t *testing.T, r sim.ActionRequest) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("action body %q: %v", r.Body, err)
	}
	return m
}

// TestRetryStartsTaskOnFailedDesktops: one signed POST with the task id;
// the new task runs on exactly the failed desktops, INIT, then RUNNING,
// then ended.
func TestRetryStartsTaskOnFailedDesktops(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	s, url := startSim(t, sim.Options{Seed: 1, Empty: true, Now: clk.Now})
	task, _ := failedTask(s, clk.Now())
	c := simClient(t, url, nil)

	id, err := c.Retry(context.Background(), pooltask.Selection{TaskID: task.ID})
	if err != nil {
		t.Fatalf("Retry: %v", err)
	}
	reqs := s.ActionRequests()
	if len(reqs) != 1 || reqs[0].Op != "retry" {
		t.Fatalf("action requests %+v, want one retry", reqs)
	}
	if diff := cmp.Diff(map[string]any{"task_id": task.ID}, bodyOf(t, reqs[0])); diff != "" {
		t.Errorf("retry body (-want +got):\n%s", diff)
	}
	if got := taskByID(s, id).Status; got != pooltask.StatusInit {
		t.Errorf("new task at once: %s, want INIT", got)
	}
	clk.Add(3 * time.Second)
	if got := taskByID(s, id).Status; got != pooltask.StatusRunning {
		t.Errorf("new task after 3s: %s, want RUNNING", got)
	}
	clk.Add(time.Minute)
	nt := taskByID(s, id)
	if !nt.Status.Ended() || nt.SuccessNum+nt.FailedNum != 2 {
		t.Errorf("new task after a minute: %+v, want ended on 2 desktops", nt)
	}
	var desks []string
	for _, r := range s.Records(id) {
		desks = append(desks, r.DesktopID)
	}
	if diff := cmp.Diff([]string{"desk-a", "desk-c"}, desks); diff != "" {
		t.Errorf("desktops of the retry (-want +got):\n%s", diff)
	}

	// One record: its desktop only.
	id2, err := c.Retry(context.Background(), pooltask.Selection{RecordID: "rec-c"})
	if err != nil {
		t.Fatalf("Retry record: %v", err)
	}
	if recs := s.Records(id2); len(recs) != 0 {
		t.Errorf("records before the start: %d", len(recs))
	}
	clk.Add(time.Minute)
	if recs := s.Records(id2); len(recs) != 1 || recs[0].DesktopID != "desk-c" {
		t.Errorf("records of the record's retry: %+v, want one on desk-c", recs)
	}
	if got := bodyOf(t, s.ActionRequests()[1]); got["record_id"] != "rec-c" || len(got) != 1 {
		t.Errorf("record retry body %v", got)
	}
}

// TestStopEndsRunningTask: the desktops that had not finished fail with
// reason "stopped"; stopping it again is the API's 400, sent once.
func TestStopEndsRunningTask(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	s, url := startSim(t, sim.Options{Seed: 1, Empty: true, Now: clk.Now})
	task, _ := failedTask(s, clk.Now())
	c := simClient(t, url, nil)
	id, err := c.Retry(context.Background(), pooltask.Selection{TaskID: task.ID})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(2*time.Second + 600*time.Millisecond) // the first desktop runs, the second has not started
	if err := c.Stop(context.Background(), pooltask.Selection{TaskID: id}); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	nt := taskByID(s, id)
	if nt.Status != pooltask.StatusFailed || nt.FailedNum != 2 {
		t.Errorf("stopped task %+v, want FAILED with 2 failed", nt)
	}
	for _, r := range s.Records(id) {
		if r.Status != "FAILED" || r.Reason != "stopped" {
			t.Errorf("record on %s: %s %q, want FAILED \"stopped\"", r.DesktopName, r.Status, r.Reason)
		}
	}
	before := len(s.ActionRequests())
	err = c.Stop(context.Background(), pooltask.Selection{TaskID: id})
	var ae *pooltask.APIError
	if !errors.As(err, &ae) || ae.Status != 400 {
		t.Fatalf("stopping an ended task: %v, want a 400", err)
	}
	if n := len(s.ActionRequests()) - before; n != 1 {
		t.Errorf("a 400 was sent %d times, want 1", n)
	}
}

// TestExecuteInStages: the first stage fails on its one desktop, which
// reaches the threshold: the others are skipped, and the body carries
// exactly the options.
func TestExecuteInStages(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	s, url := startSim(t, sim.Options{Seed: 1, Empty: true, Now: clk.Now})
	task, _ := failedTask(s, clk.Now())
	c := simClient(t, url, nil)
	s.FailDesktops("desk-a")
	opts := pooltask.RunOptions{PoolID: task.PoolID, CommandContent: "Get-Service", CommandType: "POWERSHELL",
		DesktopIDs: []string{"desk-a", "desk-b", "desk-c"}, GrayCount: 1, GrayFailThreshold: 1, TimeoutMinutes: 5}
	id, err := c.Execute(context.Background(), opts)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	want := map[string]any{"command_content": "Get-Service", "command_type": "POWERSHELL",
		"desktop_ids": []any{"desk-a", "desk-b", "desk-c"}, "gray_count": 1.0, "gray_fail_threshold": 1.0, "execution_timeout": 5.0}
	if diff := cmp.Diff(want, bodyOf(t, s.ActionRequests()[0])); diff != "" {
		t.Errorf("execute body (-want +got):\n%s", diff)
	}
	if r := s.ActionRequests()[0]; r.PoolID != task.PoolID {
		t.Errorf("execute path pool %q, want %q", r.PoolID, task.PoolID)
	}
	clk.Add(time.Minute)
	nt := taskByID(s, id)
	if nt.Status != pooltask.StatusFailed || nt.FailedNum != 1 || nt.SkipNum != 2 {
		t.Errorf("staged run %+v, want FAILED, 1 failed and 2 skipped", nt)
	}

	// Without failures the second stage runs after the first.
	s2, url2 := startSim(t, sim.Options{Seed: 1, Empty: true, Now: clk.Now})
	failedTask(s2, clk.Now())
	s2.FailDesktops("desk-none")
	id, err = simClient(t, url2, nil).Execute(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	if nt := taskByID(s2, id); nt.Status != pooltask.StatusFinish || nt.SuccessNum != 3 {
		t.Errorf("staged run without failures %+v, want FINISH on 3", nt)
	}
}

// TestActionFailures: what is retried and what never is.
func TestActionFailures(t *testing.T) {
	sel := pooltask.Selection{TaskID: "6f1c2b1e-0000-4000-8000-000000000001"}
	t.Run("403 names nothing retried", func(t *testing.T) {
		s, url := startSim(t, sim.Options{Seed: 1, Empty: true})
		failedTask(s, time.Now())
		s.InjectActionError(403, "WKS.0403", "Policy doesn't allow workspace:scripts:retry to be performed.")
		_, err := simClient(t, url, nil).Retry(context.Background(), sel)
		var ae *pooltask.APIError
		if !errors.As(err, &ae) || ae.Status != 403 {
			t.Fatalf("err %v, want the 403", err)
		}
		if n := len(s.ActionRequests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("timeout after acting is unknown and not retried", func(t *testing.T) {
		s, url := startSim(t, sim.Options{Seed: 1, Empty: true})
		failedTask(s, time.Now())
		s.HangActions(true)
		t.Cleanup(func() { s.HangActions(false) })
		c := simClient(t, url, func(c *workspace.Config) { c.Timeout = 200 * time.Millisecond })
		_, err := c.Retry(context.Background(), sel)
		var ue *pooltask.OutcomeUnknownError
		if !errors.As(err, &ue) || ue.Action != pooltask.ActionRetry {
			t.Fatalf("err %v, want *OutcomeUnknownError", err)
		}
		if n := len(s.ActionRequests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
		if n := len(s.Tasks()); n != 2 {
			t.Errorf("%d tasks: the simulator acted on the lost request, want 2", n)
		}
	})
	t.Run("5xx is unknown and not retried", func(t *testing.T) {
		s, url := startSim(t, sim.Options{Seed: 1, Empty: true})
		s.InjectActionError(502, "APIGW.0201", "bad gateway")
		err := simClient(t, url, nil).Stop(context.Background(), sel)
		var ue *pooltask.OutcomeUnknownError
		if !errors.As(err, &ue) {
			t.Fatalf("err %v, want *OutcomeUnknownError", err)
		}
		if n := len(s.ActionRequests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("429 is retried", func(t *testing.T) {
		s, url := startSim(t, sim.Options{Seed: 1, Empty: true, RateLimit: 5, Burst: 1})
		failedTask(s, time.Now())
		c := simClient(t, url, func(c *workspace.Config) { c.MaxAttempts = 10 })
		for i := range 2 {
			if _, err := c.Retry(context.Background(), sel); err != nil {
				t.Fatalf("retry %d: %v", i, err)
			}
		}
		if n := len(s.ActionRequests()); n != 2 {
			t.Errorf("%d acted requests, want 2", n)
		}
		if s.Requests() <= 2 {
			t.Logf("the simulator throttled nothing")
		}
	})
	t.Run("refused connection is retried", func(t *testing.T) {
		srv := httptest.NewServer(nil)
		url := srv.URL
		srv.Close()
		ctx, calls := workspace.CountCalls(context.Background())
		_, err := simClient(t, url, func(c *workspace.Config) { c.MaxAttempts = 3 }).Retry(ctx, sel)
		var ue *pooltask.OutcomeUnknownError
		if err == nil || errors.As(err, &ue) {
			t.Fatalf("err %v, want a plain network error", err)
		}
		if n := calls(); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})
}
