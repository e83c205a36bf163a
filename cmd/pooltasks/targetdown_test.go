package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// TestServeTargetDown runs serve with two targets, sim-a and sim-b (a
// targets file), and the fake Slack, and takes sim-b down at the wire (its
// server answers 500) after the alerts started: sim-a's failure is alerted
// during the outage and sim-b's is not; /readyz says degraded naming sim-b
// (200: the bot still answers), /metrics has
// pooltasks_loop_target_failing for sim-b and /pooltasks doctor names it
// under the background loops; /pooltasks digest answers with sim-a's
// tasks and a line naming sim-b. Once sim-b answers again, its
// failure of the outage is alerted once and /readyz is ok.
func TestServeTargetDown(t *testing.T) {
	sl := slacktest.New(t, slacktest.Options{})
	a, b, down, file := twoTargets(t)

	cfg := defaults(t)
	cfg.SlackAppToken, cfg.SlackBotToken, cfg.AK, cfg.SK = slacktest.AppToken, slacktest.BotToken, sim.DemoAK, sim.DemoSK
	cfg.Region, cfg.Endpoint, cfg.ProjectID, cfg.TargetsFile = "", "", "", file
	cfg.StateDir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"
	cfg.AlertChannel, cfg.AlertEvery, cfg.CacheTTL = "CALERT", time.Second, time.Millisecond
	cfg.AdminUsers = []string{"UADMIN"}
	s := startServeOn(t, cfg, sl, a)
	defer func() {
		if t.Failed() {
			t.Log(s.stderr.String())
		}
	}()
	waitFor(t, "both targets' alerts primed", func() bool {
		st, _ := os.ReadFile(filepath.Join(cfg.StateDir, "state.json"))
		return strings.Contains(string(st), `"CALERT||sim-a"`) && strings.Contains(string(st), `"CALERT||sim-b"`)
	})
	addr := regexp.MustCompile(`"msg":"serving Slack".*"http_addr":"([^"]+)"`).FindStringSubmatch(s.stderr.String())
	if addr == nil {
		t.Fatal("no HTTP address in the log")
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr[1] + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	fail := func(sm *sim.Sim, id string) {
		now := time.Now().UTC().Truncate(time.Second)
		p := sm.Pools()[0]
		sm.PutTask(pooltask.Task{ID: id, PoolID: p.ID, PoolName: p.Name, Status: pooltask.StatusFailed,
			Scripts: []pooltask.Script{{ID: "s-agent", Name: "install-agent"}},
			Start:   now.Add(-2 * time.Minute), End: now.Add(-time.Minute), FailedNum: 3, SuccessNum: 7})
	}
	alerts := func(id string) int {
		n := 0
		for _, m := range sl.Messages() {
			if m.Method == "chat.postMessage" && m.Channel == "CALERT" && m.ThreadTS == "" && strings.Contains(m.Text, id) {
				n++
			}
		}
		return n
	}
	const idA, idB = "aaaaaaaa-0000-4000-8000-00000000000a", "bbbbbbbb-0000-4000-8000-00000000000b"

	down.Store(true)
	fail(b, idB)
	fail(a, idA)
	waitFor(t, "sim-a's alert during sim-b's outage", func() bool { return alerts(idA) == 1 })
	waitFor(t, "/readyz degraded by sim-b", func() bool {
		code, body := get("/readyz")
		return code == 200 && strings.HasPrefix(body, "degraded: ") && strings.Contains(body, "alerts: failing since") &&
			strings.Contains(body, "target sim-b: the Workspace API answered 500 APIGW.0201")
	})
	if _, body := get("/metrics"); !strings.Contains(body, `pooltasks_loop_target_failing{loop="alerts",target="sim-b"} 1`) {
		t.Errorf("/metrics does not name sim-b as failing:\n%s", grepLines(body, "pooltasks_loop"))
	}
	m := s.slash(t, "U1", "C1", "digest since=1h")
	if body := blocksText(m); !strings.Contains(body, "Target *sim-b* could not be read") || !strings.Contains(body, "sim-a:") {
		t.Errorf("the digest during sim-b's outage:\n%s", body)
	}
	m = s.slash(t, "UADMIN", "C1", "doctor")
	if body := blocksText(m); !strings.Contains(body, "background loops") || !strings.Contains(body, "target sim-b: the Workspace API answered 500") {
		t.Errorf("doctor during sim-b's outage:\n%s", body)
	}
	if n := alerts(idB); n != 0 {
		t.Fatalf("sim-b's failure alerted %d times while sim-b did not answer", n)
	}

	down.Store(false)
	waitFor(t, "sim-b's failure alerted once it answers", func() bool { return alerts(idB) == 1 })
	waitFor(t, "/readyz ok", func() bool {
		code, body := get("/readyz")
		return code == 200 && body == "ok\n"
	})
	if _, body := get("/metrics"); !strings.Contains(body, `pooltasks_loop_target_failing{loop="alerts",target="sim-b"} 0`) {
		t.Errorf("/metrics still names sim-b:\n%s", grepLines(body, "pooltasks_loop"))
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if na, nb := alerts(idA), alerts(idB); na != 1 || nb != 1 {
		t.Errorf("alerts of sim-a's failure %d, of sim-b's %d; want one each", na, nb)
	}
}

// grepLines are the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return strings.Join(out, "\n")
}

// twoTargets starts two empty simulators, sim-a and sim-b, and writes
// their targets file: while down is true, sim-b answers every request
// with the API gateway's 500, at the wire.
func twoTargets(t *testing.T) (a, b *sim.Sim, down *atomic.Bool, file string) {
	t.Helper()
	a = sim.New(sim.Options{Empty: true})
	b = sim.New(sim.Options{Empty: true, ProjectID: sim.SecondProjectID})
	down = new(atomic.Bool)
	apiA := httptest.NewServer(a)
	t.Cleanup(apiA.Close)
	apiB := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error_code":"APIGW.0201","error_msg":"Request error: backend unavailable"}`)
			return
		}
		b.ServeHTTP(w, r)
	}))
	t.Cleanup(apiB.Close)
	file = filepath.Join(t.TempDir(), "targets.yaml")
	targets := fmt.Sprintf("targets:\n  - name: sim-a\n    endpoint: %s\n    project_id: %s\n  - name: sim-b\n    endpoint: %s\n    project_id: %s\n",
		apiA.URL, sim.DemoProjectID, apiB.URL, sim.SecondProjectID)
	if err := os.WriteFile(file, []byte(targets), 0o600); err != nil {
		t.Fatal(err)
	}
	return a, b, down, file
}
