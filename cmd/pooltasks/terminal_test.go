package main

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// simConfig serves a simulator for the test and returns the configuration
// that reaches it: ids stay the same from one command to the next, as they
// would not with --sim (which starts a simulator per command).
func simConfig(t *testing.T, opts sim.Options) (config.Config, *sim.Sim) {
	t.Helper()
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg := defaults(t)
	cfg.Endpoint, cfg.ProjectID, cfg.AK, cfg.SK = srv.URL, sim.DemoProjectID, sim.DemoAK, sim.DemoSK
	return cfg, s
}

// listed runs a query with -o json and returns its tasks.
func listed(t *testing.T, cfg config.Config, words ...string) []taskJSON {
	t.Helper()
	code, out, errOut := call(t, cfg, append([]string{"query", "-o", "json"}, words...)...)
	var list listJSON
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("query %v: exit %d, stderr %q\n%s", words, code, errOut, out)
	}
	return list.Tasks
}

// TestTaskIDPrefix: the first 8 characters of an id, as tables show it,
// stand for the id in show and watch; a start that names no task, or
// several, or is too short, exits 2 and says so.
func TestTaskIDPrefix(t *testing.T) {
	cfg, _ := simConfig(t, sim.Options{})
	task := listed(t, cfg, "failed", "pool=finance-win11", "limit=1")[0]
	for _, id := range []string{task.ID[:8], strings.ToUpper(task.ID[:13]), task.ID} {
		code, out, errOut := call(t, cfg, "query", "show", id)
		if code != 0 || !strings.Contains(out, "Task         "+task.ID+"\n") {
			t.Errorf("show %s: exit %d, stderr %q\n%s", id, code, errOut, out)
		}
	}
	// task= takes them too.
	if got := listed(t, cfg, "task="+task.ID[:8], "since=7d"); len(got) != 1 || got[0].ID != task.ID {
		t.Errorf("task=%s: %+v", task.ID[:8], got)
	}
	if code, _, errOut := call(t, cfg, "query", "task=0000aaaa"); code != 2 || !strings.Contains(errOut, "task=no task id is or starts with 0000aaaa") {
		t.Errorf("task=0000aaaa: exit %d, %q", code, errOut)
	}
	// The table shows the 8 characters that show takes.
	_, out, _ := call(t, cfg, "query", "failed", "pool=finance-win11", "limit=1")
	if !strings.Contains(out, "\n"+task.ID[:8]+"  FAILED") || strings.Contains(out, task.ID) {
		t.Errorf("the table does not show the id's first 8 characters:\n%s", out)
	}
	_, out, _ = call(t, cfg, "query", "failed", "pool=finance-win11", "limit=1", "--wide")
	if !strings.Contains(out, "\n"+task.ID+"  FAILED") {
		t.Errorf("--wide does not show the whole id:\n%s", out)
	}

	// Two tasks whose ids start alike.
	all := listed(t, cfg, "since=7d", "limit=100")
	byStart := map[string][]string{}
	for _, tk := range all {
		byStart[tk.ID[:1]] = append(byStart[tk.ID[:1]], tk.ID)
	}
	var shared string
	for c, ids := range byStart {
		if len(ids) > 1 {
			shared = c
		}
	}
	for _, tt := range []struct{ id, want string }{
		{"0000aaaa", "no task id is or starts with 0000aaaa (among the "},
		{task.ID[:5], "the start of an id needs 8 characters at least"},
		{"5b0e7c1e-8f7a-4f3e-9d5c-1a2b3c4d5e6f", "no task with id 5b0e7c1e-8f7a-4f3e-9d5c-1a2b3c4d5e6f"},
	} {
		for _, cmd := range [][]string{{"query", "show", tt.id}, {"watch", tt.id}} {
			code, out, errOut := call(t, cfg, cmd...)
			if code != 2 || !strings.Contains(errOut, tt.want) || out != "" {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", cmd, code, out, errOut, tt.want)
			}
		}
	}
	if shared == "" {
		t.Fatal("no two tasks start alike")
	}
	// An 8-character start of several ids is made with the sim's data by
	// a direct FindTask, below the parser's 8 characters: the error shape
	// is what matters.
	e := &pooltask.TaskIDError{ID: shared + "0000000", Matches: byStart[shared][:2]}
	if !strings.Contains(e.Error(), "is the start of several task ids ("+byStart[shared][0]) {
		t.Errorf("ambiguous: %v", e)
	}
}

func TestQueryPools(t *testing.T) {
	cfg, _ := simConfig(t, sim.Options{})
	code, out, errOut := call(t, cfg, "query", "pools")
	if code != 0 {
		t.Fatalf("exit %d, %q", code, errOut)
	}
	for _, want := range []string{"NAME ", "ID ", "DESKTOPS", "\nfinance-win11 ", " 48 ", "\nkiosk-lobby ", sim.KioskPoolID, "\n7 pools"} {
		if !strings.Contains(out, want) {
			t.Errorf("pools lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = call(t, cfg, "query", "pools", "callcenter", "-o", "json")
	var pools []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Desktops int    `json:"desktops"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &pools) != nil || len(pools) != 2 || pools[0].Desktops == 0 || pools[0].ID == "" {
		t.Errorf("pools callcenter -o json: exit %d\n%s", code, out)
	}
	if code, _, errOut := call(t, cfg, "query", "pools", "a", "b"); code != 2 || !strings.Contains(errOut, "at most one NAME") {
		t.Errorf("pools a b: exit %d, %q", code, errOut)
	}
}

// TestQueryOutput: what a script printed, by its record id (the RECORD
// column of show) or by the task and the desktop's name.
func TestQueryOutput(t *testing.T) {
	cfg, _ := simConfig(t, sim.Options{})
	task := listed(t, cfg, "failed", "pool=finance-win11", "limit=1")[0]
	code, out, _ := call(t, cfg, "query", "-o", "json", "show", task.ID[:8])
	var show showJSON
	if code != 0 || json.Unmarshal([]byte(out), &show) != nil || len(show.FailedRecords) == 0 {
		t.Fatalf("show: exit %d\n%s", code, out)
	}
	var rec recordJSON
	for _, r := range show.FailedRecords {
		if r.DesktopName == "FIN-W11-0042" {
			rec = r
		}
	}
	code, out, errOut := call(t, cfg, "query", "output", rec.ID)
	want := []string{"# FIN-W11-0042: install-crowdstrike-agent, FAILED (1603)\n", "the installer returned 1603", "Exit code: 1603\n"}
	for _, w := range want {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("output %s: exit %d, stderr %q; lacks %q:\n%s", rec.ID, code, errOut, w, out)
		}
	}
	code, byDesktop, errOut := call(t, cfg, "query", "show", task.ID[:8], "--output-of", "fin-w11-0042")
	if code != 0 || byDesktop != out {
		t.Errorf("--output-of: exit %d, stderr %q\n%s\nwant\n%s", code, errOut, byDesktop, out)
	}
	code, out, _ = call(t, cfg, "query", "output", rec.ID, "-o", "json")
	var got struct {
		ID     string `json:"id"`
		Output string `json:"output"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.ID != rec.ID || !strings.Contains(got.Output, "1603") {
		t.Errorf("output -o json: exit %d\n%s", code, out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"query", "output"}, "output takes one RECORD_ID"},
		{[]string{"query", "show", task.ID, "--output-of", "NOPE-01"}, `ran on no desktop named "NOPE-01"; it ran on FIN-W11-`},
		{[]string{"query", "failed", "--output-of", "x"}, "--output-of goes with show"},
	} {
		if code, _, errOut := call(t, cfg, tt.args...); code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

// stepClock is a simulator clock that moves on a minute at each reading,
// so that its running tasks end within a test.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Minute)
	return c.t
}

// TestWatch follows a running task of the simulator until it ends: a line
// per change, and the exit status of its end (0 FINISH, 1 FAILED). A task
// that has ended prints one line and exits at once.
func TestWatch(t *testing.T) {
	clock := &stepClock{t: time.Now()}
	cfg, _ := simConfig(t, sim.Options{Now: clock.now})
	// Every poll reads the API: no cache, no pacing.
	cfg.CacheTTL, cfg.RateLimit, cfg.Burst = 0, 1000, 1000
	running := listed(t, cfg, "status=running", "limit=1")[0]
	code, out, errOut := call(t, cfg, "watch", running.ID[:8], "--every", "1ms", "-o", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first, last taskJSON
	if json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[len(lines)-1]), &last) != nil {
		t.Fatalf("not JSON lines:\n%s", out)
	}
	if len(lines) < 3 || first.Status != "RUNNING" || last.ID != running.ID {
		t.Errorf("%d lines, first %s, last %s; want the task's changes from RUNNING on:\n%s", len(lines), first.Status, last.ID, out)
	}
	switch {
	case last.Status == "FINISH" && code == 0 && errOut == "":
	case last.Status == "FAILED" && code == 1 && strings.Contains(errOut, "task "+running.ID+" failed on "):
	default:
		t.Errorf("ended %s with exit %d, stderr %q", last.Status, code, errOut)
	}

	cfg, _ = simConfig(t, sim.Options{})
	failed := listed(t, cfg, "failed", "pool=finance-win11", "limit=1")[0]
	code, out, errOut = call(t, cfg, "watch", failed.ID)
	if code != 1 || !regexp.MustCompile(`^Task `+failed.ID+` · finance-win11 · install-crowd\S*\n\d\d:\d\d:\d\d  FAILED   46 ok, 2 failed, 0 skipped  `).MatchString(out) {
		t.Errorf("a failed task: exit %d, stderr %q\n%s", code, errOut, out)
	}
	if code, _, errOut := call(t, cfg, "watch"); code != 2 || !strings.Contains(errOut, "watch takes one TASK_ID") {
		t.Errorf("watch without id: exit %d, %q", code, errOut)
	}
}

// TestEightyColumns: what the terminal prints fits 80 columns: the task
// tables, show (tasks with scripts and commands), pools, watch, doctor and
// help; --wide lifts the limit.
func TestEightyColumns(t *testing.T) {
	cfg, _ := simConfig(t, sim.Options{})
	cfg.StateDir = t.TempDir()
	outputs := map[string][]string{
		"failed":         {"query", "failed", "since=7d", "limit=50"},
		"running":        {"query", "status=running"},
		"waiting":        {"query", "status=waiting"},
		"pools":          {"query", "pools"},
		"query help":     {"query", "help"},
		"help since":     {"query", "help", "since"},
		"doctor --sim":   {"doctor", "--sim"},
		"root help":      {"help"},
		"query -h":       {"query", "-h"},
		"digest -h":      {"digest", "-h"},
		"completion -h":  {"completion", "zsh", "-h"},
		"show (command)": nil, // filled below
	}
	for _, tk := range listed(t, cfg, "failed", "since=7d", "limit=20") {
		outputs["show "+tk.ID] = []string{"query", "show", tk.ID}
		outputs["watch "+tk.ID] = []string{"watch", tk.ID}
	}
	delete(outputs, "show (command)")
	for what, args := range outputs {
		_, out, errOut := call(t, cfg, args...)
		if out == "" {
			t.Errorf("%s printed nothing; stderr %q", what, errOut)
		}
		checkWidth(t, what, out)
	}
	_, out, _ := call(t, cfg, "query", "failed", "since=7d", "--wide")
	if !regexp.MustCompile(`(?m)^.{81,}$`).MatchString(out) {
		t.Errorf("--wide kept the table within 80 columns:\n%s", out)
	}
}
