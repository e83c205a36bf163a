package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// TestServeLivingAlerts runs serve against the fake Slack and the
// simulator with two alert routes and shows, end to end: each channel
// gets the failures of its pools only and a pool in both routes is
// alerted once in each; the thread reply follows in the root's thread;
// Acknowledge edits the root and a second click is told who did; Snooze
// mutes the pool so that a new failure there posts nothing while another
// pool's still alerts; unmute posts one summary per routed channel naming
// the muted failure; the custom snooze opens a modal whose submission
// mutes; a later clean run of the same scripts edits the root to
// recovered.
func TestServeLivingAlerts(t *testing.T) {
	sl := slacktest.New(t, slacktest.Options{})
	sm := sim.New(sim.Options{Empty: true})
	api := httptest.NewServer(sm)
	t.Cleanup(api.Close)
	pools := sm.Pools()
	fin, ops := pools[0], pools[1]

	cfg := defaults(t)
	cfg.SlackAppToken, cfg.SlackBotToken, cfg.Endpoint = slacktest.AppToken, slacktest.BotToken, api.URL
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.StateDir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"
	cfg.AlertEvery = time.Second
	cfg.AlertRoutes = fmt.Sprintf("CFIN=%s;COPS=%s,%s", fin.Name, fin.ID, ops.Name)
	s := startServeOn(t, cfg, sl, sm)
	defer func() {
		if t.Failed() {
			t.Log(s.stderr.String()) // the audit lines
		}
	}()
	waitFor(t, "both routes primed", func() bool {
		b, _ := os.ReadFile(filepath.Join(cfg.StateDir, "state.json"))
		return strings.Contains(string(b), `"CFIN|`) && strings.Contains(string(b), `"COPS|`)
	})

	n := 0
	fail := func(p pooltask.Pool, status pooltask.TaskStatus, failed int) pooltask.Task {
		n++
		now := time.Now().UTC().Truncate(time.Second)
		tk := pooltask.Task{ID: fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", n), PoolID: p.ID, PoolName: p.Name,
			Scripts: []pooltask.Script{{ID: "s-agent", Name: "install-agent"}}, Status: status,
			Start: now.Add(-2 * time.Minute), End: now.Add(-time.Minute), FailedNum: failed, SuccessNum: 10 - failed}
		var recs []pooltask.Record
		for i := range failed {
			recs = append(recs, pooltask.Record{DesktopName: fmt.Sprintf("desk-%02d", i+1), DesktopID: fmt.Sprintf("d-%d-%d", n, i),
				ScriptName: "install-agent", Status: "FAILED", ResultCode: "1", Reason: "disk C: full",
				Start: tk.Start, End: tk.End, Output: strings.Repeat("copying\n", 20) + "ERROR disk C: is full"})
		}
		sm.PutTask(tk, recs...)
		return tk
	}
	rootOf := func(channel, taskID string) slacktest.Message {
		t.Helper()
		m, err := sl.WaitMessage(func(m slacktest.Message) bool {
			return m.Method == "chat.postMessage" && m.Channel == channel && m.ThreadTS == "" && strings.Contains(m.Text, taskID)
		}, 20*time.Second)
		if err != nil {
			t.Fatalf("no alert of %s in %s: %v", taskID, channel, err)
		}
		return m
	}
	threadOf := func(root slacktest.Message) slacktest.Message {
		t.Helper()
		m, err := sl.WaitMessage(func(m slacktest.Message) bool {
			return m.Method == "chat.postMessage" && m.Channel == root.Channel && m.ThreadTS == root.TS
		}, 20*time.Second)
		if err != nil {
			t.Fatalf("no thread reply to %s in %s: %v", root.TS, root.Channel, err)
		}
		return m
	}
	edited := func(root slacktest.Message, want string) slacktest.Message {
		t.Helper()
		m, err := sl.WaitMessage(func(m slacktest.Message) bool {
			return m.Method == "chat.update" && m.Channel == root.Channel && m.TS == root.TS && strings.Contains(blocksText(m), want)
		}, 20*time.Second)
		if err != nil {
			t.Fatalf("root %s in %s not edited to say %q: %v", root.TS, root.Channel, want, err)
		}
		return m
	}
	alertsOf := func(taskID string) map[string]int {
		got := map[string]int{}
		for _, m := range sl.Messages() {
			if m.Method == "chat.postMessage" && m.ThreadTS == "" && strings.Contains(m.Text, taskID) {
				got[m.Channel]++
			}
		}
		return got
	}

	// Routing: fin's failure in both channels, once each; ops's in COPS.
	t1 := fail(fin, pooltask.StatusFailed, 3)
	t2 := fail(ops, pooltask.StatusFailed, 2)
	finRoot, opsRoot := rootOf("CFIN", t1.ID), rootOf("COPS", t1.ID)
	opsRoot2 := rootOf("COPS", t2.ID)
	thread := threadOf(finRoot)
	threadOf(opsRoot)
	if got := alertsOf(t1.ID); got["CFIN"] != 1 || got["COPS"] != 1 || len(got) != 2 {
		t.Errorf("alerts of %s: %v, want one in CFIN and one in COPS", t1.ID, got)
	}
	if got := alertsOf(t2.ID); got["COPS"] != 1 || len(got) != 1 {
		t.Errorf("alerts of %s: %v, want one in COPS only", t2.ID, got)
	}
	if !strings.Contains(blocksText(finRoot), "*3 desktops*: disk C: full") {
		t.Errorf("root without its reasons: %s", finRoot.Blocks)
	}
	if js := blocksText(thread); strings.Count(js, `"action_id":"output"`) != 3 || !strings.Contains(js, "ERROR disk C: is full") {
		t.Errorf("thread: %s", js)
	}

	// Acknowledge, twice.
	sl.BlockAction(slacktest.BlockAction{UserID: "U0ALICE", ChannelID: "CFIN", ActionID: blocks.ActionAck, Value: t1.ID, MessageTS: finRoot.TS})
	edited(finRoot, "<@U0ALICE> is on it")
	_, url := sl.BlockAction(slacktest.BlockAction{UserID: "U0BOB", ChannelID: "CFIN", ActionID: blocks.ActionAck, Value: t1.ID, MessageTS: finRoot.TS})
	if m, err := sl.WaitMessage(slacktest.ForResponseURL(url), 20*time.Second); err != nil || !strings.Contains(blocksText(m), "<@U0ALICE> acknowledged this alert already") {
		t.Errorf("second Acknowledge: %v %s", err, m.Blocks)
	}

	// Snooze 1 h on COPS's alert of fin: fin is muted, ops is not.
	_, url = sl.BlockAction(slacktest.BlockAction{UserID: "U0BOB", ChannelID: "COPS", ActionID: blocks.ActionSnooze, Selected: blocks.Snooze1h, MessageTS: opsRoot.TS})
	edited(opsRoot, "Snoozed by <@U0BOB>")
	if m, err := sl.WaitMessage(slacktest.ForResponseURL(url), 20*time.Second); err != nil || !strings.Contains(m.Text, "muted until") {
		t.Errorf("Snooze answer: %v %q", err, m.Text)
	}
	muted := fail(fin, pooltask.StatusFailed, 4)
	t3 := fail(ops, pooltask.StatusFailed, 1)
	rootOf("COPS", t3.ID) // the poll that saw both is done
	if got := alertsOf(muted.ID); len(got) != 0 {
		t.Errorf("a failure in the muted pool was alerted: %v", got)
	}
	if m := s.slash(t, "U0BOB", "COPS", "mutes"); !strings.Contains(blocksText(m), fin.Name) || !strings.Contains(blocksText(m), "<@U0BOB>") {
		t.Errorf("mutes: %s", m.Blocks)
	}

	// Unmute: one summary in each channel fin's alerts go to.
	if m := s.slash(t, "U0CAROL", "COPS", "unmute pool="+fin.ID); m.ResponseType != "in_channel" || !strings.Contains(blocksText(m), "unmuted") {
		t.Errorf("unmute: %s %s", m.ResponseType, m.Blocks)
	}
	for _, ch := range []string{"CFIN", "COPS"} {
		m, err := sl.WaitMessage(func(m slacktest.Message) bool {
			return m.Method == "chat.postMessage" && m.Channel == ch && strings.Contains(m.Text, "back on")
		}, 20*time.Second)
		if err != nil || !strings.Contains(blocksText(m), "show "+muted.ID) || !strings.Contains(blocksText(m), "1 failed task") {
			t.Errorf("summary in %s: %v %s", ch, err, m.Blocks)
		}
	}

	// Custom snooze: a modal, then its submission mutes ops.
	sl.BlockAction(slacktest.BlockAction{UserID: "U0ALICE", ChannelID: "COPS", ActionID: blocks.ActionSnooze, Selected: blocks.SnoozeCustom, MessageTS: opsRoot2.TS})
	waitFor(t, "the snooze modal", func() bool { return len(sl.Views()) == 1 })
	if v := string(sl.Views()[0].View); !strings.Contains(v, blocks.CallbackSnooze) || !strings.Contains(v, opsRoot2.TS) {
		t.Errorf("modal: %s", v)
	}
	sl.ViewSubmission(slacktest.ViewSubmission{UserID: "U0ALICE", CallbackID: blocks.CallbackSnooze, PrivateMetadata: blocks.SnoozeMetadata(t2.ID, "COPS", opsRoot2.TS),
		Values: map[string]map[string]string{blocks.SnoozeBlockFor: {blocks.SnoozeInput: "90m"}, blocks.SnoozeBlockReason: {blocks.SnoozeInput: "patch window"}}})
	edited(opsRoot2, "Snoozed by <@U0ALICE>")
	if _, err := sl.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postEphemeral" && m.Channel == "COPS" && m.User == "U0ALICE" && strings.Contains(m.Text, "muted until")
	}, 20*time.Second); err != nil {
		t.Error(err)
	}

	// Recovery: the same script on fin finishing clean.
	clean := fail(fin, pooltask.StatusFinish, 0)
	m := edited(finRoot, "Recovered")
	if !strings.Contains(blocksText(m), "show "+clean.ID) || !strings.Contains(blocksText(m), "<@U0ALICE> is on it") {
		t.Errorf("recovered root: %s", m.Blocks)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 20 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// blocksText is a message's blocks as JSON with < > & as Slack shows them
// (slack-go escapes them for HTML).
func blocksText(m slacktest.Message) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(m.Blocks))
}

// TestServeAlertRetry runs serve with retry enabled against the fake Slack
// and the simulator: a failed task's alert root carries Retry; a click on
// it sends one retry, edits the root to say who retried it and the new
// task, and a later Acknowledge, which renders the root again from the
// alert's state, keeps that line. The retry, watched in the root's thread,
// fails again on one of its two desktops: the watch's end edits the root
// to say so, once, and the retry's failure is not alerted anew. With the
// file store, and on Redis, where the elected scheduler runs the watch.
func TestServeAlertRetry(t *testing.T) {
	t.Run("file", func(t *testing.T) { serveAlertRetry(t, "") })
	t.Run("redis", func(t *testing.T) { serveAlertRetry(t, redistest.Start(t, redistest.Options{}).URL()) })
}

func serveAlertRetry(t *testing.T, redisURL string) {
	sl := slacktest.New(t, slacktest.Options{})
	sm := sim.New(sim.Options{Empty: true})
	api := httptest.NewServer(sm)
	t.Cleanup(api.Close)
	fin := sm.Pools()[0]

	cfg := defaults(t)
	cfg.SlackAppToken, cfg.SlackBotToken, cfg.Endpoint = slacktest.AppToken, slacktest.BotToken, api.URL
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.StateDir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"
	cfg.AlertEvery = time.Second
	cfg.AlertRoutes = "CFIN=" + fin.Name
	cfg.Actions, cfg.Operators = []string{"retry"}, []string{"U0ALICE", "U0BOB"}
	cfg.WatchEvery = time.Second
	cfg.RedisURL, cfg.Lease = redisURL, 3*time.Second
	sm.FailDesktops("d-2")
	s := startServeOn(t, cfg, sl, sm)
	defer func() {
		if t.Failed() {
			t.Log(s.stderr.String())
		}
	}()
	waitLog(t, s, `"msg":"alerts started`) // the route is primed

	now := time.Now().UTC().Truncate(time.Second)
	tk := pooltask.Task{ID: "aaaaaaaa-0000-4000-8000-000000000001", PoolID: fin.ID, PoolName: fin.Name,
		Scripts: []pooltask.Script{{ID: "s-agent", Name: "install-agent"}}, Status: pooltask.StatusFailed,
		Start: now.Add(-2 * time.Minute), End: now.Add(-time.Minute), FailedNum: 2, SuccessNum: 8}
	sm.PutTask(tk,
		pooltask.Record{ID: "rec-1", DesktopName: "desk-01", DesktopID: "d-1", ScriptName: "install-agent", Status: "FAILED", ResultCode: "1", Reason: "disk C: full"},
		pooltask.Record{ID: "rec-2", DesktopName: "desk-02", DesktopID: "d-2", ScriptName: "install-agent", Status: "FAILED", ResultCode: "1", Reason: "disk C: full"})
	root, err := sl.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "CFIN" && m.ThreadTS == "" && strings.Contains(m.Text, tk.ID)
	}, 20*time.Second)
	if err != nil {
		t.Fatalf("no alert: %v", err)
	}
	js := blocksText(root)
	if !strings.Contains(js, `"action_id":"`+blocks.ActionRetry+`"`) || !strings.Contains(js, "Retry task "+tk.ID+" of pool "+fin.Name+" on 2 failed desktops?") {
		t.Fatalf("root without Retry and its confirm dialog: %s", js)
	}
	edited := func(want ...string) slacktest.Message {
		t.Helper()
		m, err := sl.WaitMessage(func(m slacktest.Message) bool {
			if m.Method != "chat.update" || m.TS != root.TS {
				return false
			}
			for _, w := range want {
				if !strings.Contains(blocksText(m), w) {
					return false
				}
			}
			return true
		}, 20*time.Second)
		if err != nil {
			t.Fatalf("root not edited to say %q: %v", want, err)
		}
		return m
	}

	sl.BlockAction(slacktest.BlockAction{UserID: "U0ALICE", ChannelID: "CFIN", ActionID: blocks.ActionRetry,
		Value: blocks.ActionValue(pooltask.ActionRetry, tk), MessageTS: root.TS, MessageBlocks: root.Blocks})
	m := edited("Retried by <@U0ALICE>")
	var retries []string
	for _, r := range sm.ActionRequests() {
		if r.Op == "retry" {
			retries = append(retries, r.Body)
		}
	}
	if len(retries) != 1 || !strings.Contains(retries[0], tk.ID) {
		t.Fatalf("retry requests: %q, want one of %s", retries, tk.ID)
	}
	if js := blocksText(m); strings.Contains(js, blocks.ActionRetry) || !strings.Contains(js, blocks.ActionAck) {
		t.Errorf("retried root: Retry should be gone and Acknowledge kept: %s", js)
	}

	sl.BlockAction(slacktest.BlockAction{UserID: "U0BOB", ChannelID: "CFIN", ActionID: blocks.ActionAck, Value: tk.ID, MessageTS: root.TS})
	edited("<@U0BOB> is on it", "Retried by <@U0ALICE>")

	// The retry ends: its watch in the root's thread says so, and the root.
	if _, err := sl.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "CFIN" && m.ThreadTS == root.TS && strings.Contains(m.Text, "FAILED")
	}, 20*time.Second); err != nil {
		t.Fatalf("no end of the retry's watch in the root's thread: %v", err)
	}
	ended := edited("failed again on 1 of 2 desktops", "<@U0BOB> is on it")
	if js := blocksText(ended); strings.Contains(js, "Recovered") {
		t.Errorf("a retry that failed again recovered the alert: %s", js)
	}
	retryID := ""
	for _, m := range sl.Messages() {
		if m.Method == "chat.postMessage" && m.ThreadTS == root.TS {
			for _, f := range strings.Fields(m.Text) {
				if f = strings.Trim(f, "`*:,."); len(f) == len(tk.ID) && f != tk.ID && strings.Count(f, "-") == 4 {
					retryID = f
				}
			}
		}
	}
	if retryID == "" {
		t.Fatal("the retry's id is not in the root's thread")
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range sl.Messages() {
		if m.Method == "chat.update" && m.TS == root.TS && strings.Contains(blocksText(m), "failed again") {
			n++
		}
		if m.Method == "chat.postMessage" && m.ThreadTS == "" && strings.Contains(m.Text, retryID) {
			t.Errorf("the retry that failed again was alerted anew: %q", m.Text)
		}
	}
	if n != 1 {
		t.Errorf("%d edits of the root telling the retry's end, want 1", n)
	}
	if strings.Contains(s.stderr.String(), "no watch following it") {
		t.Error("the alerter read the retry's end, not its watch")
	}
}

// TestServeMuteAcrossARestart runs serve against the fake Slack and the
// simulator, mutes a pool, and stops serve; a task of the muted pool fails
// while it is down. The serve started again on the same state keeps the
// mute (listed by `mutes`, its failure not alerted, while another route's
// still is); an unmute then posts the one summary naming that failure,
// which is never alerted one by one. Someone not among
// POOLTASKS_OPERATORS may not mute.
func TestServeMuteAcrossARestart(t *testing.T) {
	sl := slacktest.New(t, slacktest.Options{})
	sm := sim.New(sim.Options{Empty: true})
	api := httptest.NewServer(sm)
	t.Cleanup(api.Close)
	fin, ops := sm.Pools()[0], sm.Pools()[1]

	cfg := defaults(t)
	cfg.SlackAppToken, cfg.SlackBotToken, cfg.Endpoint = slacktest.AppToken, slacktest.BotToken, api.URL
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.StateDir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"
	cfg.AlertEvery = time.Second
	cfg.AlertRoutes = fmt.Sprintf("CFIN=%s;COPS=%s", fin.Name, ops.Name)
	cfg.Operators = []string{"U0ALICE", "U0BOB"}
	s := startServeOn(t, cfg, sl, sm)
	var logs strings.Builder
	defer func() {
		if t.Failed() {
			t.Log(logs.String(), s.stderr.String())
		}
	}()
	waitFor(t, "both routes primed", func() bool {
		b, _ := os.ReadFile(filepath.Join(cfg.StateDir, "state.json"))
		return strings.Contains(string(b), `"CFIN|`) && strings.Contains(string(b), `"COPS|`)
	})
	n := 0
	fail := func(p pooltask.Pool) pooltask.Task {
		n++
		now := time.Now().UTC().Truncate(time.Second)
		tk := pooltask.Task{ID: fmt.Sprintf("bbbbbbbb-0000-4000-8000-%012d", n), PoolID: p.ID, PoolName: p.Name,
			Scripts: []pooltask.Script{{ID: "s-agent", Name: "install-agent"}}, Status: pooltask.StatusFailed,
			Start: now.Add(-2 * time.Minute), End: now.Add(-time.Minute), FailedNum: 1, SuccessNum: 9}
		sm.PutTask(tk, pooltask.Record{DesktopName: "desk-01", DesktopID: fmt.Sprintf("d-%d", n), ScriptName: "install-agent",
			Status: "FAILED", ResultCode: "1", Reason: "disk C: full", Start: tk.Start, End: tk.End})
		return tk
	}
	// rootIn waits for the alert of task in channel: the poll after it
	// (every route, in turn) is done.
	rootIn := func(channel, taskID string) {
		t.Helper()
		if _, err := sl.WaitMessage(func(m slacktest.Message) bool {
			return m.Method == "chat.postMessage" && m.Channel == channel && m.ThreadTS == "" && strings.Contains(m.Text, taskID)
		}, 20*time.Second); err != nil {
			t.Fatalf("no alert of %s in %s: %v", taskID, channel, err)
		}
	}
	posts := func(taskID string) int {
		k := 0
		for _, m := range sl.Messages() {
			if m.Method == "chat.postMessage" && m.ThreadTS == "" && strings.Contains(m.Text, taskID) {
				k++
			}
		}
		return k
	}

	if m := s.slash(t, "U0EVE", "CFIN", "mute pool="+fin.Name+" for=2h"); strings.Contains(blocksText(m), "muted the alerts") ||
		!strings.Contains(blocksText(m)+m.Text, "POOLTASKS_OPERATORS") {
		t.Errorf("someone not among the operators muted: %s", m.Blocks)
	}
	if m := s.slash(t, "U0ALICE", "CFIN", `mute pool=`+fin.Name+` for=2h reason="patch window"`); !strings.Contains(blocksText(m), "muted the alerts") {
		t.Fatalf("mute: %s", m.Blocks)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	logs.WriteString(s.stderr.String())
	muted := fail(fin)

	s = startServeOn(t, cfg, sl, sm)
	loud := fail(ops)
	rootIn("COPS", loud.ID)
	if k := posts(muted.ID); k != 0 {
		t.Errorf("the failure in the pool muted before the restart was alerted %d times", k)
	}
	if m := s.slash(t, "U0BOB", "COPS", "mutes"); !strings.Contains(blocksText(m), fin.Name) || !strings.Contains(blocksText(m), "<@U0ALICE>") || !strings.Contains(blocksText(m), "patch window") {
		t.Errorf("mutes after the restart: %s", m.Blocks)
	}
	if m := s.slash(t, "U0BOB", "CFIN", "unmute pool="+fin.Name); !strings.Contains(blocksText(m), "unmuted") {
		t.Fatalf("unmute: %s", m.Blocks)
	}
	summary, err := sl.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "CFIN" && strings.Contains(m.Text, "back on")
	}, 20*time.Second)
	if err != nil || !strings.Contains(blocksText(summary), "show "+muted.ID) || !strings.Contains(blocksText(summary), "1 failed task") ||
		!strings.Contains(blocksText(summary), "ended by <@U0BOB>") {
		t.Fatalf("summary: %v %s", err, summary.Blocks)
	}
	rootIn("COPS", fail(ops).ID) // a poll after the summary
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if k := posts(muted.ID); k != 0 {
		t.Errorf("the muted failure was alerted %d times after the mute", k)
	}
	k := 0
	for _, m := range sl.Messages() {
		if m.Method == "chat.postMessage" && strings.Contains(m.Text, "back on") {
			k++
		}
	}
	if k != 1 {
		t.Errorf("%d summaries, want the one in CFIN", k)
	}
}
