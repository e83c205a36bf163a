package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// simFailedTask is a FAILED task of the built-in simulator (seed 0), the
// first `pooltasks query --sim failed` lists.
const simFailedTask = "24b751d5-8849-431a-9f80-4d7cfeb90cba"

// callAt runs the program with stdin and whether it is a terminal.
func callAt(t *testing.T, cfg config.Config, stdin string, terminal bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRoot(&app{cfg: cfg, stdout: &out, stderr: &errb, stdin: strings.NewReader(stdin), terminal: terminal})
	root.SetArgs(args)
	code = exitCode(root.ExecuteContext(context.Background()), &errb)
	return code, out.String(), errb.String()
}

func actionsOn(t *testing.T, list ...string) config.Config {
	cfg := defaults(t)
	cfg.Actions = list
	cfg.Operators = []string{"U01ANA"}
	return cfg
}

// TestActRefusals: nothing is sent, and exit status 2, when the action is
// not enabled, the id is not one, no terminal can confirm, or the task's
// status does not allow it.
func TestActRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      config.Config
		terminal bool
		args     []string
		words    string
	}{
		{"read-only", defaults(t), true, []string{"retry", "--sim", simFailedTask}, "not enabled here"},
		{"other action enabled", actionsOn(t, "stop"), true, []string{"retry", "--sim", "--yes", simFailedTask}, "POOLTASKS_ACTIONS does not list it"},
		{"no terminal", actionsOn(t, "retry"), false, []string{"retry", "--sim", simFailedTask}, "add --yes"},
		{"not an id", actionsOn(t, "retry"), true, []string{"retry", "--sim", "--yes", "finance"}, "no task with id finance; the start of an id needs 8 characters"},
		{"two ids", actionsOn(t, "retry"), true, []string{"retry", simFailedTask, simFailedTask}, "one task id"},
		{"stop a failed task", actionsOn(t, "stop"), true, []string{"stop", "--sim", "--yes", simFailedTask}, "only a task that is INIT or RUNNING"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := callAt(t, tc.cfg, "y\n", tc.terminal, tc.args...)
			if code != 2 || out != "" || !strings.Contains(errOut, tc.words) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 saying %q", code, out, errOut, tc.words)
			}
		})
	}
}

// TestActConfirm: on a terminal the answer decides; --yes anywhere on the
// line acts without asking and prints the new task's id.
func TestActConfirm(t *testing.T) {
	cfg := actionsOn(t, "retry")
	code, out, errOut := callAt(t, cfg, "n\n", true, "retry", "--sim", simFailedTask)
	if code != 0 || out != "" || !strings.Contains(errOut, "[y/N]") || !strings.Contains(errOut, "Nothing was done") {
		t.Errorf("answered n: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = callAt(t, cfg, "yes\n", true, "retry", "--sim", simFailedTask)
	if code != 0 || !pooltask.IsID(strings.TrimSpace(out)) || strings.TrimSpace(out) == simFailedTask {
		t.Errorf("answered yes: exit %d, stdout %q, stderr %q; want the new task id", code, out, errOut)
	}
	code, out, errOut = callAt(t, cfg, "", false, "retry", simFailedTask, "--sim", "--yes")
	if code != 0 || !pooltask.IsID(strings.TrimSpace(out)) || strings.Contains(errOut, "[y/N]") {
		t.Errorf("--yes last: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestActAPIErrors: a 403 names the IAM action, a lost answer is not sent
// again; both exit 1.
func TestActAPIErrors(t *testing.T) {
	s := sim.New(sim.Options{})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg := actionsOn(t, "retry", "stop")
	cfg.Endpoint, cfg.ProjectID, cfg.AK, cfg.SK = srv.URL, sim.DemoProjectID, sim.DemoAK, sim.DemoSK
	cfg.Timeout = 300 * time.Millisecond

	s.InjectActionError(403, "WKS.0403", "Policy doesn't allow workspace:scripts:retry to be performed.")
	code, out, errOut := callAt(t, cfg, "", false, "retry", "--yes", simFailedTask)
	if code != 1 || out != "" || !strings.Contains(errOut, "workspace:scripts:retry") {
		t.Errorf("403: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	s.InjectActionError(0, "", "")

	s.HangActions(true)
	t.Cleanup(func() { s.HangActions(false) })
	before := len(s.ActionRequests())
	code, _, errOut = callAt(t, cfg, "", false, "retry", "--yes", simFailedTask)
	if code != 1 || !strings.Contains(errOut, "outcome is unknown") || !strings.Contains(errOut, "since=10m") {
		t.Errorf("lost answer: exit %d, stderr %q", code, errOut)
	}
	if n := len(s.ActionRequests()) - before; n != 1 {
		t.Errorf("a request with a lost answer was sent %d times, want 1", n)
	}
}

// twoTargetSims serves two simulators, the targets eu and ap of a targets
// file (returned), each with a FAILED task of id sameFailed and a RUNNING
// one of id sameRunning: the same ids, two tasks.
func twoTargetSims(t *testing.T) ([]*sim.Sim, string) {
	t.Helper()
	var sims []*sim.Sim
	file := "targets:\n"
	for i, name := range []string{"eu", "ap"} {
		project := []string{sim.DemoProjectID, sim.SecondProjectID}[i]
		s := sim.New(sim.Options{Empty: true, ProjectID: project})
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		pool := s.Pools()[0]
		s.PutTask(pooltask.Task{ID: sameFailed, PoolID: pool.ID, PoolName: pool.Name, Status: pooltask.StatusFailed,
			Start: time.Now().Add(-time.Hour), End: time.Now().Add(-time.Minute), FailedNum: 1},
			pooltask.Record{ID: "rec-1", DesktopID: "d-1", DesktopName: "FIN-0001", Status: "FAILED"})
		s.PutTask(pooltask.Task{ID: sameRunning, PoolID: pool.ID, PoolName: pool.Name, Status: pooltask.StatusRunning,
			Start: time.Now().Add(-time.Minute)}, pooltask.Record{ID: "rec-2", DesktopID: "d-2", DesktopName: "FIN-0002", Status: "RUNNING"})
		sims = append(sims, s)
		file += "  - name: " + name + "\n    endpoint: " + srv.URL + "\n    project_id: " + project + "\n"
	}
	path := filepath.Join(t.TempDir(), "targets.yaml")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	return sims, path
}

const sameFailed, sameRunning = "6f1c2b1e-0000-4000-8000-000000000001", "6f1c2b1e-0000-4000-8000-000000000002"

// actionsIn counts the action requests op each simulator received.
func actionsIn(sims []*sim.Sim, op string) []int {
	out := make([]int, len(sims))
	for i, s := range sims {
		for _, r := range s.ActionRequests() {
			if r.Op == op {
				out[i]++
			}
		}
	}
	return out
}

// TestActTargets: with two targets (a targets file, two simulators) whose
// tasks have the same ids, retry and stop act on the target --target or
// target= names, and on nothing while the id is ambiguous.
func TestActTargets(t *testing.T) {
	sims, path := twoTargetSims(t)
	cfg := actionsOn(t, "retry", "stop")
	cfg.TargetsFile, cfg.AK, cfg.SK = path, sim.DemoAK, sim.DemoSK
	failed, running := sameFailed, sameRunning
	count := func(op string) (eu, ap int) {
		n := actionsIn(sims, op)
		return n[0], n[1]
	}

	code, out, errOut := callAt(t, cfg, "", false, "retry", "--yes", failed)
	if code != 2 || out != "" || !strings.Contains(errOut, "exists in the targets eu, ap; say which with target=") {
		t.Errorf("ambiguous: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = callAt(t, cfg, "", false, "retry", "--yes", failed, "--target", "ap", "target=eu")
	if code != 2 || !strings.Contains(errOut, "disagree") {
		t.Errorf("two targets given: exit %d, stderr %q", code, errOut)
	}
	if eu, ap := count("retry"); eu+ap != 0 {
		t.Fatalf("%d and %d retries before a target was named", eu, ap)
	}
	code, out, errOut = callAt(t, cfg, "", false, "retry", "--yes", failed, "--target", "AP")
	if code != 0 || !pooltask.IsID(strings.TrimSpace(out)) || !strings.Contains(errOut, "ap:") {
		t.Errorf("--target AP: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if eu, ap := count("retry"); eu != 0 || ap != 1 {
		t.Errorf("retries eu=%d ap=%d, want 0 and 1", eu, ap)
	}
	code, out, errOut = callAt(t, cfg, "", false, "stop", running, "target=eu", "--yes")
	if code != 0 || strings.TrimSpace(out) != running {
		t.Errorf("stop target=eu: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if eu, ap := count("stop"); eu != 1 || ap != 0 {
		t.Errorf("stops eu=%d ap=%d, want 1 and 0", eu, ap)
	}
}

// TestServeActTargets: serve with actions over two targets (refused before
// actions knew targets): a typed retry of an id both have asks for
// target=; with target=ap, Confirm retries in ap alone, with ap's client,
// and the new task (ap's) is watched in the thread of the channel's message.
func TestServeActTargets(t *testing.T) {
	sims, path := twoTargetSims(t)
	sl := slacktest.New(t, slacktest.Options{})
	cfg := actionsOn(t, "retry")
	cfg.TargetsFile, cfg.AK, cfg.SK = path, sim.DemoAK, sim.DemoSK
	cfg.SlackAppToken, cfg.SlackBotToken = slacktest.AppToken, slacktest.BotToken
	cfg.StateDir, cfg.HTTPAddr, cfg.WatchEvery = t.TempDir(), "127.0.0.1:0", time.Second
	s := startServeOn(t, cfg, sl, sims[0])
	defer func() {
		if t.Failed() {
			t.Log(s.stderr.String())
		}
	}()
	if m := s.slash(t, "U01ANA", "C1", "retry "+sameFailed); !strings.Contains(m.Text, "eu, ap") || !strings.Contains(m.Text, "target=") {
		t.Errorf("ambiguous retry = %q", m.Text)
	}
	c := s.slash(t, "U01ANA", "C1", "retry "+sameFailed+" target=ap")
	ok := findButton(t, c, blocks.ActionConfirm)
	if ok.Value != "retry "+sameFailed+" target=ap" {
		t.Fatalf("Confirm = %q", ok.Value)
	}
	if m := s.click(t, "U01ANA", "C1", ok); !strings.Contains(string(m.Blocks), "Retried") {
		t.Fatalf("Confirm's answer = %s", m.Blocks)
	}
	if n := actionsIn(sims, "retry"); n[0] != 0 || n[1] != 1 {
		t.Fatalf("retries eu=%d ap=%d, want 0 and 1", n[0], n[1])
	}
	post, err := sl.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "C1" && strings.Contains(string(m.Blocks), "ap:")
	}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sl.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.ThreadTS == post.TS && strings.Contains(m.Text, "Task")
	}, 20*time.Second); err != nil {
		t.Errorf("the new task of ap is not watched in the thread: %v", err)
	}
}
