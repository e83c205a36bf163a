package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// TestServeRedisStopTaskElsewhere: two replicas of serve on one Redis; a
// watch's "Stop task" clicked on the replica that does not run the watch
// sends one stop, and the message says who stopped the task from then on,
// to the scheduler's final update: the scheduler learns of the click
// through Redis instead of rendering over it.
func TestServeRedisStopTaskElsewhere(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	cfg := defaults(t)
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.StateDir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"
	cfg.RedisURL, cfg.Lease = srv.URL(), 3*time.Second
	cfg.Actions, cfg.Operators = []string{"stop"}, []string{"U0ALICE", "U0BOB"}
	cfg.WatchEvery = time.Second
	a := startServe(t, cfg, slacktest.Options{})
	b := startServeOn(t, a.cfg, a.slack, a.sim)
	leader, other := waitLeader(t, a, b)
	defer func() {
		if t.Failed() {
			t.Log("scheduler:\n" + leader.stderr.String() + "\nother:\n" + other.stderr.String())
		}
	}()

	stopTaskFromWatch(t, a.slack, a.sim, other.conn, func() { waitLog(t, leader, `"msg":"watch resumed"`) })
	waitLog(t, leader, `"msg":"watch ended"`)
	if strings.Contains(other.stderr.String(), `"msg":"watch ended"`) {
		t.Error("the replica that does not schedule ended a watch")
	}
	if click := `"kind":"click","command":"act_stop`; !strings.Contains(other.stderr.String(), click) || strings.Contains(leader.stderr.String(), click) {
		t.Error("the click was not handled by the replica that does not schedule alone")
	}
}

// TestServeForwardedStopTask: a responder (POOLTASKS_WATCH_URL) gets the
// "Stop task" click on the message of a watch the scheduler runs: one
// stop, and every update of the message from then on, to the
// scheduler's final one, says who stopped the task.
func TestServeForwardedStopTask(t *testing.T) {
	cfg := defaults(t)
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.HTTPAddr, cfg.InternalToken = "127.0.0.1:0", secret(t, "internal-")
	cfg.StateDir = t.TempDir()
	cfg.Actions, cfg.Operators = []string{"stop"}, []string{"U0ALICE", "U0BOB"}
	cfg.WatchEvery = time.Second
	sched, resp := startForwarding(t, cfg)
	defer func() {
		if t.Failed() {
			t.Log("scheduler:\n" + sched.stderr.String() + "\nresponder:\n" + resp.stderr.String())
		}
	}()
	stopTaskFromWatch(t, sched.slack, sched.sim, resp.conn, func() {})
	waitLog(t, sched, `"msg":"watch ended"`)
	if click := `"kind":"click","command":"act_stop`; !strings.Contains(resp.stderr.String(), click) || strings.Contains(sched.stderr.String(), click) {
		t.Error("the click was not handled by the responder alone")
	}
}

// stopTaskFromWatch asks for a watch of a running task on the connection
// conn, calls followed once the watch message is posted, clicks its Stop
// task on conn, and checks that one stop was sent and that every update
// of the message from the first that says who stopped the task on says
// it, to the final one.
func stopTaskFromWatch(t *testing.T, sl *slacktest.Server, sm *sim.Sim, conn int, followed func()) {
	t.Helper()
	pool := sm.Pools()[0]
	const taskID = "6f1c2b1e-0000-4000-8000-0000000000a1"
	sm.PutTask(pooltask.Task{ID: taskID, PoolID: pool.ID, PoolName: pool.Name, Status: pooltask.StatusRunning,
		Start: time.Now().Add(-time.Minute), SuccessNum: 1, Scripts: []pooltask.Script{{ID: "s-1", Name: "rotate-cert"}}},
		pooltask.Record{ID: "rec-r1", DesktopID: "desk-a", DesktopName: "FIN-0001", Status: "SUCCESS", ResultCode: "0"},
		pooltask.Record{ID: "rec-r2", DesktopID: "desk-b", DesktopName: "FIN-0002", Status: "RUNNING"})
	sl.SlashCommand(slacktest.SlashCommand{Text: "watch " + taskID, UserID: "U0ALICE", ChannelID: "C2", Connection: conn})
	w, err := sl.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "C2" && strings.Contains(string(m.Blocks), blocks.ActionStop)
	}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	followed()

	btn := findButton(t, w, blocks.ActionStop)
	sl.BlockAction(slacktest.BlockAction{UserID: "U0BOB", ChannelID: "C2", ActionID: btn.ActionID, Value: btn.Value,
		MessageTS: w.TS, MessageBlocks: w.Blocks, Connection: conn})
	// The scheduler sees the task stopped (FAILED) and makes its final update.
	if _, err := sl.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.update" && m.TS == w.TS && strings.Contains(blocksText(m), "ended: *FAILED*")
	}, 30*time.Second); err != nil {
		t.Fatalf("the watch did not end: %v", err)
	}
	stops := 0
	for _, r := range sm.ActionRequests() {
		if r.Op == "stop" {
			stops++
		}
	}
	if stops != 1 {
		t.Errorf("%d stop requests, want 1", stops)
	}
	// Every update of the watch message from the first that says who
	// stopped the task on says it, the final one too.
	var ups []slacktest.Message
	for _, m := range sl.Messages() {
		if m.Method == "chat.update" && m.TS == w.TS {
			ups = append(ups, m)
		}
	}
	clicked := -1
	for i, up := range ups {
		if strings.Contains(blocksText(up), "Stopped by <@U0BOB>") {
			clicked = i
			break
		}
	}
	if clicked < 0 {
		t.Fatalf("no update says who stopped the task: %d updates", len(ups))
	}
	for i, up := range ups[clicked:] {
		if js := blocksText(up); !strings.Contains(js, "Stopped by <@U0BOB>") || strings.Contains(js, blocks.ActionStop) {
			t.Errorf("update %d of %d from the click on: %s", clicked+i+1, len(ups), js)
		}
	}
	if js := blocksText(ups[len(ups)-1]); !strings.Contains(js, "ended: *FAILED*") {
		t.Errorf("last update is not the final one: %s", js)
	}
}
