package main

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// TestServeAlertThresholds runs serve against the fake Slack and the
// simulator with POOLTASKS_ALERT_MIN_FAILED=3 and _MIN_RATIO=0.5 and puts
// eight failed tasks into the simulator: those that reach both thresholds,
// including one exactly on each boundary and one on both (the boundaries
// are inclusive), are alerted, one root each with its thread reply; those
// that reach one only (skipped desktops count in the ratio's denominator)
// or neither are not; and /pooltasks digest still counts all eight.
func TestServeAlertThresholds(t *testing.T) {
	sl := slacktest.New(t, slacktest.Options{})
	sm := sim.New(sim.Options{Empty: true})
	api := httptest.NewServer(sm)
	t.Cleanup(api.Close)
	pool := sm.Pools()[0]

	cfg := defaults(t)
	cfg.SlackAppToken, cfg.SlackBotToken, cfg.Endpoint = slacktest.AppToken, slacktest.BotToken, api.URL
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.StateDir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"
	cfg.AlertChannel, cfg.AlertEvery = "CALERT", time.Second
	cfg.AlertMinFailed, cfg.AlertMinRatio = 3, 0.5
	s := startServeOn(t, cfg, sl, sm)
	defer func() {
		if t.Failed() {
			t.Log(s.stderr.String())
		}
	}()
	waitLog(t, s, `"msg":"alerts started`) // primed: what fails from now on is new

	n := 0
	put := func(failed, success, skip int) pooltask.Task {
		n++
		now := time.Now().UTC().Truncate(time.Second)
		tk := pooltask.Task{ID: fmt.Sprintf("cccccccc-0000-4000-8000-%012d", n), PoolID: pool.ID, PoolName: pool.Name,
			Scripts: []pooltask.Script{{ID: "s-agent", Name: "install-agent"}}, Status: pooltask.StatusFailed,
			Start: now.Add(-2 * time.Minute), End: now.Add(-time.Minute), FailedNum: failed, SuccessNum: success, SkipNum: skip}
		var recs []pooltask.Record
		for i := range failed {
			recs = append(recs, pooltask.Record{DesktopName: fmt.Sprintf("desk-%02d", i+1), DesktopID: fmt.Sprintf("d-%d-%d", n, i),
				ScriptName: "install-agent", Status: "FAILED", ResultCode: "1", Reason: "disk C: full",
				Start: tk.Start, End: tk.End, Output: "ERROR disk C: is full"})
		}
		sm.PutTask(tk, recs...)
		return tk
	}
	// The tasks below the thresholds go in first: the poll that alerts the
	// last of the others has seen them all.
	quiet := map[string]pooltask.Task{
		"enough desktops, too small a share (10 of 40)":        put(10, 30, 0),
		"a large share, too few desktops (2 of 2)":             put(2, 0, 0),
		"neither (1 of 10)":                                    put(1, 9, 0),
		"3 desktops, 3 of 7 once the 4 skipped count":          put(3, 0, 4),
		"a share exactly 0.5 but one desktop short (2 of 4)":   put(2, 2, 0),
		"3 desktops, one short of an exact half (3 of 7 done)": put(3, 4, 0),
	}
	loud := map[string]pooltask.Task{
		"both, above (4 of 6)":                      put(4, 2, 0),
		"exactly on both (3 of 6)":                  put(3, 3, 0),
		"exactly 3 desktops, above the share (3/4)": put(3, 1, 0),
		"exactly 0.5 with skipped (5 of 5+3+2)":     put(5, 3, 2),
	}

	roots := func(taskID string) []slacktest.Message {
		var got []slacktest.Message
		for _, m := range sl.Messages() {
			if m.Method == "chat.postMessage" && m.ThreadTS == "" && strings.Contains(m.Text, taskID) {
				got = append(got, m)
			}
		}
		return got
	}
	for what, tk := range loud {
		root, err := sl.WaitMessage(func(m slacktest.Message) bool {
			return m.Method == "chat.postMessage" && m.Channel == "CALERT" && m.ThreadTS == "" && strings.Contains(m.Text, tk.ID)
		}, 20*time.Second)
		if err != nil {
			t.Errorf("%s: not alerted: %v", what, err)
			continue
		}
		reply, err := sl.WaitMessage(func(m slacktest.Message) bool {
			return m.Method == "chat.postMessage" && m.Channel == "CALERT" && m.ThreadTS == root.TS
		}, 20*time.Second)
		if err != nil {
			t.Errorf("%s: no thread reply to its root: %v", what, err)
			continue
		}
		if k := strings.Count(blocksText(reply), `"action_id":"output"`); k != tk.FailedNum {
			t.Errorf("%s: its thread lists %d failed desktops, want %d", what, k, tk.FailedNum)
		}
	}

	// The digest through Slack counts every failed task, alerted or not.
	m := s.slash(t, "U0ALICE", "C1", "digest since=1h")
	desktops := 0
	for _, tk := range quiet {
		desktops += tk.FailedNum
	}
	for _, tk := range loud {
		desktops += tk.FailedNum
	}
	if want := fmt.Sprintf("%d failed tasks, %d failed desktops", len(quiet)+len(loud), desktops); !strings.Contains(m.Text, want) {
		t.Errorf("digest %q, want %q", m.Text, want)
	}
	if body, want := blocksText(m), fmt.Sprintf("View all %d failed", len(quiet)+len(loud)); !strings.Contains(body, want) {
		t.Errorf("digest without %q: %s", want, body)
	}

	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	for what, tk := range loud {
		if k := len(roots(tk.ID)); k != 1 {
			t.Errorf("%s: alerted %d times, want once", what, k)
		}
	}
	for what, tk := range quiet {
		if k := len(roots(tk.ID)); k != 0 {
			t.Errorf("%s: alerted %d times, want never", what, k)
		}
	}
	replies := 0
	for _, m := range sl.Messages() {
		if m.Method == "chat.postMessage" && m.ThreadTS != "" {
			replies++
		}
	}
	if replies != len(loud) {
		t.Errorf("%d thread replies, want one per alert (%d)", replies, len(loud))
	}
}
