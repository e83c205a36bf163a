package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/view"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// call runs the program as main would, after the environment was read.
func call(t *testing.T, cfg config.Config, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, cfg, &out, &errb)
	code = exitCode(err, &errb)
	return code, out.String(), errb.String()
}

// defaults is the configuration of an empty environment.
func defaults(t *testing.T) config.Config {
	t.Helper()
	return fromEnv(nil)
}

// fromEnv is the configuration main reads from the environment env.
func fromEnv(env map[string]string) config.Config {
	return config.Load(func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
}

// rowRE matches a row of the task table, whose ids show their first 8
// characters.
var rowRE = regexp.MustCompile(`(?m)^[0-9a-f]{8}  +(\S+) `)

func TestQuerySimFailed(t *testing.T) {
	code, out, errOut := call(t, defaults(t), "query", "--sim", "status=FAILED")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	rows := rowRE.FindAllStringSubmatch(out, -1)
	if len(rows) != 10 {
		t.Fatalf("%d rows, want 10:\n%s", len(rows), out)
	}
	for _, r := range rows {
		if r[1] != "FAILED" {
			t.Errorf("row status %s, want FAILED", r[1])
		}
	}
	if !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "OK/FAIL/SKIP") || !regexp.MustCompile(`1–10 of [\d,]+: status FAILED`).MatchString(out) {
		t.Errorf("header or summary missing:\n%s", out)
	}
	// The newest failure of the generated data, of each of --sim's two
	// targets (their pools named after the target).
	if !strings.Contains(out, "sim-a:fina…  install-cro…") || !strings.Contains(out, "sim-b:fina…  install-cro…") || !strings.Contains(out, "46/2/0") {
		t.Errorf("the newest failed task is missing:\n%s", out)
	}
}

func TestQueryFlagsAfterWords(t *testing.T) {
	code, out, errOut := call(t, defaults(t), "query", "failed", "limit=3", "--output", "json", "--sim")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var got listJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(got.Tasks) != 3 || got.Total < 3 {
		t.Fatalf("got %d tasks of %d", len(got.Tasks), got.Total)
	}
	for _, tk := range got.Tasks {
		if tk.Status != "FAILED" || tk.Start == nil || tk.End == nil || tk.FailedNum == 0 {
			t.Errorf("task %+v", tk)
		}
		if time.Since(*tk.Start) > 24*time.Hour {
			t.Errorf("failed defaults to since=24h; task started %v", tk.Start)
		}
	}
}

func TestQueryShowAndPoolName(t *testing.T) {
	cfg := defaults(t)
	code, out, errOut := call(t, cfg, "query", "--sim", "--output=json", `pool="R&D <lab>"`, "status=failed", "limit=1")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var list listJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Tasks) != 1 {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if list.Tasks[0].PoolName != "R&D <lab>" {
		t.Errorf("pool %q", list.Tasks[0].PoolName)
	}
	// Generated ids depend on the second a simulator starts, so list and
	// show run against one simulator served for the test.
	srv := httptest.NewServer(sim.New(sim.Options{}))
	t.Cleanup(srv.Close)
	cfg.Endpoint, cfg.ProjectID, cfg.AK, cfg.SK = srv.URL, sim.DemoProjectID, sim.DemoAK, sim.DemoSK
	code, out, errOut = call(t, cfg, "query", "--output=json", "failed", "pool=finance-win11", "limit=1")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Tasks) != 1 {
		t.Fatalf("list: %v\n%s", err, out)
	}
	id := list.Tasks[0].ID
	code, out, errOut = call(t, cfg, "query", "show", id, "--wide")
	if code != 0 {
		t.Fatalf("show: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"Task         " + id, "Status       FAILED", "finance-win11", "install-crowdstrike-agent", "Failed desktops (2):", "FIN-W11-0042", "exit code 1603"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = call(t, cfg, "query", "--output", "json", "show", id)
	var show showJSON
	if err := json.Unmarshal([]byte(out), &show); code != 0 || err != nil || len(show.FailedRecords) != 2 {
		t.Errorf("show json: exit %d, %v\n%s", code, err, out)
	}
}

func TestQueryBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown key", []string{"query", "--sim", "statsu=FAILED"}, "did you mean status"},
		{"bad status", []string{"query", "--sim", "status=broken"}, "status"},
		{"bad output", []string{"query", "--output", "yaml", "status=FAILED"}, `"yaml" for "-o, --output" flag: must be table or json`},
		{"unknown flag", []string{"query", "--nope"}, "unknown flag: --nope"},
		{"ambiguous pool", []string{"query", "--sim", "pool=callcenter"}, `matches 2 pools: callcenter-pool (`},
		{"unknown pool", []string{"query", "--sim", "pool=nowhere"}, `no desktop pool is named like "nowhere"`},
		{"watch", []string{"query", "--sim", "watch", "5b0e7c1e-8f7a-4f3e-9d5c-1a2b3c4d5e6f"}, "watch is a subcommand of its own: pooltasks watch 5b0e7c1e"},
		{"no task", []string{"query", "--sim", "show", "5b0e7c1e-8f7a-4f3e-9d5c-1a2b3c4d5e6f"}, "no task with id"},
		{"no endpoint", []string{"query", "status=FAILED"}, "set WORKSPACE_REGION"},
		{"no subcommand", nil, "no subcommand given"},
		{"unknown subcommand", []string{"frobnicate"}, `unknown subcommand "frobnicate"`},
		{"version args", []string{"version", "x"}, "version takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := call(t, defaults(t), tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr %q", code, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q lacks %q", errOut, tt.want)
			}
			if rowRE.MatchString(out) {
				t.Errorf("printed rows on bad input:\n%s", out)
			}
		})
	}
}

func TestQueryAPIFailure(t *testing.T) {
	s := sim.New(sim.Options{})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg := defaults(t)
	cfg.Endpoint, cfg.ProjectID, cfg.AK, cfg.SK = srv.URL, sim.DemoProjectID, sim.DemoAK, "not-the-demo-secret-key-00000000000000000"
	code, out, errOut := call(t, cfg, "query", "status=FAILED")
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr %q", code, errOut)
	}
	if !strings.Contains(errOut, "APIGW.0301") || out != "" {
		t.Errorf("stderr %q, stdout %q", errOut, out)
	}
	for _, leak := range []string{"canonicalRequest", cfg.SK, "x-sdk-date"} {
		if strings.Contains(errOut, leak) {
			t.Errorf("stderr leaks %q: %s", leak, errOut)
		}
	}
	if s.Requests() != 1 {
		t.Errorf("%d requests; a 401 must not be retried", s.Requests())
	}

	cfg.SK = sim.DemoSK
	s.InjectError("", 400, "WKS.0001", "Invalid parameter: desktop pool does not exist")
	code, _, errOut = call(t, cfg, "query", "status=FAILED")
	if code != 1 || !strings.Contains(errOut, "WKS.0001") || !strings.Contains(errOut, "desktop pool does not exist") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := call(t, defaults(t), "version")
	if code != 0 || !strings.HasPrefix(out, "pooltasks dev (go") {
		t.Errorf("version: %d %q", code, out)
	}
	code, out, _ = call(t, defaults(t), "help")
	if code != 0 || !strings.Contains(out, "query") || !strings.Contains(out, "sim") {
		t.Errorf("help: %d %q", code, out)
	}
	code, out, _ = call(t, defaults(t), "query", "help")
	if code != 0 || !strings.Contains(out, "status") {
		t.Errorf("query help: %d %q", code, out)
	}
	code, out, _ = call(t, defaults(t), "query", "-h")
	if code != 0 || !strings.Contains(out, "Usage:\n  pooltasks query [VERB]") {
		t.Errorf("query -h: %d %q", code, out)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestSimSubcommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan error, 1)
	file := filepath.Join(t.TempDir(), "targets.yaml")
	go func() {
		done <- run(ctx, []string{"sim", "--addr", "127.0.0.1:0", "--targets-file", file}, defaults(t), &out, &errb)
	}()
	wants := []string{"with the targets sim-a and sim-b", "export POOLTASKS_TARGETS_FILE=" + file + "\n",
		"export HUAWEICLOUD_SDK_AK=" + sim.DemoAK + "\n", "export HUAWEICLOUD_SDK_SK=" + sim.DemoSK + "\n"}
	printed := func(s string) bool {
		for _, w := range wants {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	}
	// The lines are written one by one while the simulator starts: poll
	// until all of them are there.
	deadline := time.Now().Add(30 * time.Second)
	for !printed(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("the environment was not printed whole: %q %q", out.String(), errb.String())
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
	// The printed environment works: both targets answer, each with its
	// own tasks.
	cfg := defaults(t)
	cfg.TargetsFile, cfg.AK, cfg.SK = file, sim.DemoAK, sim.DemoSK
	code, list, errOut := call(t, cfg, "query", "status=FAILED", "limit=100", "-o", "json")
	if code != 0 {
		t.Fatalf("query against the served simulator: exit %d, %q", code, errOut)
	}
	for _, target := range []string{`"target":"sim-a"`, `"target":"sim-b"`} {
		if !strings.Contains(strings.ReplaceAll(list, " ", ""), target) {
			t.Errorf("the list of both targets lacks %s:\n%.2000s", target, list)
		}
	}
	if code, _, errOut := call(t, cfg, "query", "target=sim-b", "status=RUNNING"); code != 0 {
		t.Errorf("query target=sim-b: exit %d, %q", code, errOut)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("sim: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sim did not stop")
	}
}

func TestWorkspaceConfig(t *testing.T) {
	cfg := defaults(t)
	cfg.Region, cfg.Endpoint, cfg.ProjectID, cfg.AK, cfg.SK, cfg.SecurityToken = "r", "http://e", "p", "ak", "sk", "tok"
	wc := workspaceConfig(cfg)
	if wc.Region != "r" || wc.Endpoint != "http://e" || wc.ProjectID != "p" || wc.AK != "ak" || wc.SK != "sk" || wc.SecurityToken != "tok" ||
		wc.RateLimit != 5 || wc.Burst != 5 || wc.Timeout != 10*time.Second || wc.CacheTTL != 10*time.Second || wc.UserAgent != "pooltasks/dev" {
		t.Errorf("%+v", wc)
	}
}

// The API's task has no type: a task with scripts and a command shows
// both, in the text and in the JSON of query show.
func TestShowScriptsAndCommand(t *testing.T) {
	start := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	task := pooltask.Task{
		ID: "7f3c2a1e-5b4d-4c8e-9a01-2b3c4d5e6f70", PoolID: "pool-0a1b", PoolName: "Finance VDI",
		Scripts:     []pooltask.Script{{ID: "scr-001", Name: "install-agent.ps1"}, {ID: "scr-002"}},
		CommandType: "POWERSHELL", CommandContent: "Get-Service\r\nRestart-Service \x1b[31mSpooler\n",
		Start: start, End: start.Add(4*time.Minute + 12*time.Second), Status: pooltask.StatusFailed,
		SuccessNum: 12, FailedNum: 3,
	}
	var out bytes.Buffer
	printTask(&out, view.TaskOf(task, start), nil, false)
	for _, want := range []string{
		"Type         Scripts (2) and command (POWERSHELL)\n",
		"Script       install-agent.ps1 (scr-001)\n",
		"Script       scr-002 (scr-002)\n",
		"Duration     4m 12s\n",
		"\nCommand (POWERSHELL):\n  Get-Service\n  Restart-Service  [31mSpooler\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := writeJSON(&out, showJSON{Task: taskToJSON(task)}); err != nil {
		t.Fatal(err)
	}
	var got showJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Task.Scripts) != 2 || got.Task.CommandContent != task.CommandContent || got.Task.CommandType != "POWERSHELL" {
		t.Errorf("show --output json lacks the scripts or the command:\n%s", out.String())
	}

	out.Reset()
	printTasks(&out, []pooltask.Task{task}, start, true)
	if want := "install-agent.ps1, scr-002 · POWERSHELL…"; !strings.Contains(out.String(), want) {
		t.Errorf("list lacks %q:\n%s", want, out.String())
	}
}

// TestQueryPoolValues: pool= follows the one rule, as in Slack. The
// simulator's kiosk pool has an id that is not UUID-shaped: it works as an
// id and by name, and an API error for it exits 1. A name that matches
// nothing exits 2 with the closest names and sends no task request; a
// pools API that fails leaves the value to be used as an id, and says so.
func TestQueryPoolValues(t *testing.T) {
	s := sim.New(sim.Options{})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg := defaults(t)
	cfg.Endpoint, cfg.ProjectID, cfg.AK, cfg.SK = srv.URL, sim.DemoProjectID, sim.DemoAK, sim.DemoSK

	for _, value := range []string{sim.KioskPoolID, "kiosk-lobby", "LOBBY"} {
		code, out, errOut := call(t, cfg, "query", "--output=json", "pool="+value, "since=7d")
		var list listJSON
		if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Tasks) != 1 || list.Tasks[0].PoolID != sim.KioskPoolID {
			t.Errorf("pool=%s: exit %d, stderr %q, stdout %s; want the kiosk pool's task", value, code, errOut, out)
		}
	}

	before := s.Requests()
	code, out, errOut := call(t, cfg, "query", "pool=kiosk-lobyy")
	if code != 2 || !strings.Contains(errOut, `no desktop pool is named like "kiosk-lobyy"; did you mean "kiosk-lobby"?`) || out != "" {
		t.Errorf("a typo: exit %d, stderr %q, stdout %q", code, errOut, out)
	}
	if n := s.Requests() - before; n != 1 {
		t.Errorf("a typo made %d requests, want 1 (the pools, no tasks)", n)
	}

	s.InjectError(sim.KioskPoolID, 403, "WKS.0403", "Policy doesn't allow workspace:desktopPools:listScriptExecTasks to be performed.")
	code, _, errOut = call(t, cfg, "query", "pool="+sim.KioskPoolID)
	if code != 1 || !strings.Contains(errOut, "WKS.0403") {
		t.Errorf("a 403 for the pool: exit %d, stderr %q; want 1 and the error", code, errOut)
	}
	s.InjectError(sim.KioskPoolID, 0, "", "")

	s.InjectError(sim.PoolList, 403, "WKS.0403", "Policy doesn't allow workspace:desktopPools:list to be performed.")
	code, out, errOut = call(t, cfg, "query", "--output=json", "pool="+sim.KioskPoolID, "since=7d")
	var list listJSON
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Tasks) != 1 ||
		!strings.Contains(errOut, `"`+sim.KioskPoolID+`" was used as a pool id`) {
		t.Errorf("pools API down: exit %d, stderr %q, stdout %s; want the value used as an id, said on stderr", code, errOut, out)
	}
}
