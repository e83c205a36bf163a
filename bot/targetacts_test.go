package bot_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
	"github.com/slack-go/slack"
)

// actingTwo starts a bot with actions over two simulated targets, sim-a
// and sim-b, each holding a FAILED task of the same id (failedID) in its
// own pool of the same name, with two failed desktops whose records have
// the same ids in both: the same ids, two tasks.
func actingTwo(t *testing.T, a bot.Actions) *env {
	t.Helper()
	e, _ := acting(t, a, func(s *setup) { s.targets = twoTargets("") })
	tk, recs := failedTask(e.simB)
	e.simB.PutTask(tk, recs...)
	return e
}

// requests counts the action requests op that reached each target.
func (e *env) requests(op string) (a, b int) {
	count := func(s *sim.Sim) int {
		n := 0
		for _, r := range s.ActionRequests() {
			if r.Op == op {
				n++
			}
		}
		return n
	}
	return count(e.sim), count(e.simB)
}

// TestTargetsRetry: Retry on the Details of a task of sim-b carries the
// target; its click sends one retry to sim-b and none to sim-a, names the
// target in the channel and the audit line, and watches the new task (a
// task of sim-b) in the thread to its end. The same task id in sim-a is
// another task: its retry is an action of its own, while a second click
// on sim-b's is answered with the first.
func TestTargetsRetry(t *testing.T) {
	e := actingTwo(t, bot.Actions{})
	d := e.click(t, "U1", "C1", button{ActionID: blocks.ActionDetails, Value: "show " + failedID + " target=sim-b"})
	btn := find(t, d.Blocks, blocks.ActionRetry)
	if btn.Value != "retry "+failedID+" target=sim-b" {
		t.Fatalf("Retry's value = %q, want the task's target", btn.Value)
	}
	if m := e.click(t, "U1", "C1", btn); !strings.Contains(m.Text, "Retried") {
		t.Fatalf("clicker's answer = %q", m.Text)
	}
	if a, b := e.requests("retry"); a != 0 || b != 1 {
		t.Fatalf("retries sim-a=%d sim-b=%d, want 0 and 1", a, b)
	}
	post, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "C1" && strings.Contains(decoded(m.Blocks), "By <@U1>")
	}, wait)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(decoded(post.Blocks), "sim-b:") {
		t.Errorf("the channel's message does not name the target: %s", decoded(post.Blocks))
	}
	// The new task exists in sim-b only: its watch ends only if it reads there.
	if _, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.update" && m.ThreadTS == "" && strings.Contains(decoded(m.Blocks), "ended: *")
	}, 20*time.Second); err != nil {
		t.Errorf("the watch of sim-b's new task did not reach its end: %v", err)
	}
	lines := e.actionLines()
	if len(lines) != 1 || lines[0]["target"] != "sim-b" || lines[0]["task"] != failedID || lines[0]["outcome"] != "done" {
		t.Errorf("audit lines %v, want one naming sim-b", lines)
	}

	d = e.click(t, "U2", "C1", button{ActionID: blocks.ActionDetails, Value: "show " + failedID + " target=sim-a"})
	if m := e.click(t, "U2", "C1", find(t, d.Blocks, blocks.ActionRetry)); !strings.Contains(m.Text, "Retried") {
		t.Errorf("sim-a's retry = %q, want an action of its own", m.Text)
	}
	if m := e.click(t, "U3", "C1", btn); !strings.Contains(m.Text, "Already retried") {
		t.Errorf("second click on sim-b's = %q, want the first one's", m.Text)
	}
	if a, b := e.requests("retry"); a != 1 || b != 1 {
		t.Errorf("retries sim-a=%d sim-b=%d, want 1 and 1", a, b)
	}
}

// TestTargetsTypedAmbiguous: a typed retry of an id that both targets
// have acts on neither: it asks for target=; with target=sim-b the
// confirmation's Confirm carries it, and acts on sim-b alone.
func TestTargetsTypedAmbiguous(t *testing.T) {
	e := actingTwo(t, bot.Actions{})
	m := e.slash(t, "U1", "C1", "retry "+failedID)
	if !strings.Contains(m.Text, "sim-a, sim-b") || !strings.Contains(m.Text, "target=") {
		t.Errorf("ambiguous retry = %q, want the targets and target=", m.Text)
	}
	if n := len(e.sim.ActionRequests()) + len(e.simB.ActionRequests()); n != 0 {
		t.Fatalf("%d action requests for an ambiguous id", n)
	}
	c := e.slash(t, "U1", "C1", "retry "+failedID[:8]+" target=SIM-B")
	ok := find(t, c.Blocks, blocks.ActionConfirm)
	if ok.Value != "retry "+failedID+" target=sim-b" {
		t.Fatalf("Confirm's value = %q", ok.Value)
	}
	if m := e.click(t, "U1", "C1", ok); !strings.Contains(string(m.Blocks), "Retried") {
		t.Errorf("Confirm's answer = %s", m.Blocks)
	}
	if a, b := e.requests("retry"); a != 0 || b != 1 {
		t.Errorf("retries sim-a=%d sim-b=%d, want 0 and 1", a, b)
	}
}

// TestTargetsTypedBound: in a channel bound to pools of sim-b, a typed
// stop or retry goes to sim-b without target=, as a query does there, and
// target=sim-a is refused as for a query.
func TestTargetsTypedBound(t *testing.T) {
	pool := sim.New(simEmpty()).Pools()[0].Name // the same names in every target
	e, _ := acting(t, bot.Actions{}, func(s *setup) {
		s.targets = twoTargets("")
		s.cfg.ChannelPools = bindings(t, "CEU1=sim-b:"+pool)
	})
	tk, recs := failedTask(e.simB)
	e.simB.PutTask(tk, recs...)
	c := e.slash(t, "U1", "CEU1", "retry "+failedID)
	if ok := find(t, c.Blocks, blocks.ActionConfirm); ok.Value != "retry "+failedID+" target=sim-b" {
		t.Errorf("CEU1's confirmation = %q, want sim-b's task", ok.Value)
	}
	if m := e.slash(t, "U1", "CEU1", "retry "+failedID+" target=sim-a"); !strings.Contains(m.Text, "no pool of target sim-a") {
		t.Errorf("CEU1 target=sim-a = %q", m.Text)
	}
	if n := len(e.sim.ActionRequests()) + len(e.simB.ActionRequests()); n != 0 {
		t.Errorf("%d action requests before any Confirm", n)
	}
}

// TestTargetsApproval: an approval request keeps its task's target: two
// approvals at once of sim-b's retry send one retry, to sim-b; Retry on
// this desktop from the Output of a desktop of sim-b carries the target
// and retries that record in sim-b (a record of the same id in sim-a is
// untouched).
func TestTargetsApproval(t *testing.T) {
	e := actingTwo(t, bot.Actions{Approval: []pooltask.Action{pooltask.ActionRetry}})
	if m := e.click(t, "U1", "C1", button{ActionID: blocks.ActionRetry, Value: "retry " + failedID + " target=sim-b"}); !strings.Contains(m.Text, "Asked for approval") {
		t.Fatalf("requester's answer = %q", m.Text)
	}
	req, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && strings.Contains(string(m.Blocks), "asks to retry task")
	}, wait)
	if err != nil {
		t.Fatal(err)
	}
	approve := find(t, req.Blocks, blocks.ActionApprove)
	var wg sync.WaitGroup
	for _, u := range []string{"U2", "U3"} {
		wg.Go(func() { e.answer(t, e.clickIn(t, u, "C1", req.TS, approve)) })
	}
	wg.Wait()
	if a, b := e.requests("retry"); a != 0 || b != 1 {
		t.Fatalf("retries sim-a=%d sim-b=%d after two approvals, want 0 and 1", a, b)
	}

	out := e.click(t, "U2", "C1", button{ActionID: blocks.ActionOutput, Value: blocks.OutputValue("rec-c", failedID, "sim-b")})
	again := find(t, out.Blocks, blocks.ActionRetryRecord)
	if again.Value != blocks.RecordValue("rec-c", failedID, "sim-b") {
		t.Fatalf("Retry on this desktop = %q, want the target", again.Value)
	}
	e.click(t, "U2", "C1", again)
	req, err = e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && strings.Contains(string(m.Blocks), "on desktop")
	}, wait)
	if err != nil {
		t.Fatal(err)
	}
	e.answer(t, e.clickIn(t, "U1", "C1", req.TS, find(t, req.Blocks, blocks.ActionApprove)))
	reqs := e.simB.ActionRequests()
	if a, b := e.requests("retry"); a != 0 || b != 2 || strings.TrimSpace(reqs[len(reqs)-1].Body) != `{"record_id":"rec-c"}` {
		t.Errorf("retries sim-a=%d sim-b=%d (last %+v), want sim-b's record rec-c", a, b, reqs[len(reqs)-1])
	}
}

// TestTargetsStopFromWatch: a watch of a running task of sim-b (whose id
// sim-a has too, running) carries its target on Stop task; the click
// stops sim-b's task alone, and the watch (reading sim-b) ends with it.
func TestTargetsStopFromWatch(t *testing.T) {
	e := actingTwo(t, bot.Actions{})
	const runningID = "6f1c2b1e-0000-4000-8000-000000000002"
	for _, s := range []*sim.Sim{e.sim, e.simB} {
		pool := s.Pools()[0]
		s.PutTask(pooltask.Task{ID: runningID, PoolID: pool.ID, PoolName: pool.Name, Status: pooltask.StatusRunning,
			Start: time.Now().Add(-time.Minute), SuccessNum: 1, Scripts: []pooltask.Script{{ID: "s-1", Name: "rotate-cert"}}},
			pooltask.Record{ID: "rec-r1", DesktopID: "desk-a", DesktopName: "FIN-0001", Status: "SUCCESS", ResultCode: "0"},
			pooltask.Record{ID: "rec-r2", DesktopID: "desk-b", DesktopName: "FIN-0002", Status: "RUNNING"})
	}
	e.slash(t, "U1", "C1", "watch "+runningID+" target=sim-b")
	w, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && strings.Contains(string(m.Blocks), "act_stop")
	}, wait)
	if err != nil {
		t.Fatal(err)
	}
	btn := find(t, w.Blocks, blocks.ActionStop)
	if btn.Value != "stop "+runningID+" target=sim-b" {
		t.Fatalf("the watch's Stop task = %q, want its target", btn.Value)
	}
	id, url := e.slack.BlockAction(slacktest.BlockAction{UserID: "U2", ChannelID: "C1", ActionID: btn.ActionID, Value: btn.Value,
		MessageTS: w.TS, MessageBlocks: w.Blocks})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	e.answer(t, url)
	if _, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.update" && m.TS == w.TS && strings.Contains(decoded(m.Blocks), "ended: *FAILED*") &&
			strings.Contains(decoded(m.Blocks), "Stopped by <@U2>")
	}, wait); err != nil {
		t.Fatalf("the watch did not end saying who stopped it: %v", err)
	}
	if a, b := e.requests("stop"); a != 0 || b != 1 {
		t.Errorf("stops sim-a=%d sim-b=%d, want 0 and 1", a, b)
	}
	for _, tk := range e.sim.Tasks() {
		if tk.ID == runningID && tk.Status != pooltask.StatusRunning {
			t.Errorf("sim-a's task of the same id is %s", tk.Status)
		}
	}
}

// TestTargetsRerun: Re-run in stages on a task of sim-b carries its
// target into the modal's private_metadata; the submission runs on the
// failed desktops of sim-b's task, in sim-b's pool, and sim-a gets nothing.
func TestTargetsRerun(t *testing.T) {
	e := actingTwo(t, bot.Actions{Enabled: []pooltask.Action{pooltask.ActionRerun}})
	d := e.click(t, "U1", "C1", button{ActionID: blocks.ActionDetails, Value: "show " + failedID + " target=sim-b"})
	btn := find(t, d.Blocks, blocks.ActionRerun)
	if btn.Value != blocks.RerunValue(failedID, "sim-b") {
		t.Fatalf("Re-run's value = %q", btn.Value)
	}
	id, _ := e.slack.BlockAction(slacktest.BlockAction{UserID: "U1", ChannelID: "C1", ActionID: btn.ActionID, Value: btn.Value, IsEphemeral: true})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	var views []slacktest.View
	for deadline := time.Now().Add(wait); len(views) < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // polling with a deadline
		views = e.slack.Views()
	}
	if len(views) != 2 {
		t.Fatalf("views %+v", views)
	}
	var v struct {
		PrivateMetadata string `json:"private_metadata"`
		CallbackID      string `json:"callback_id"`
	}
	if err := json.Unmarshal(views[1].View, &v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.PrivateMetadata, `"target":"sim-b"`) {
		t.Fatalf("private_metadata %s lacks the target", v.PrivateMetadata)
	}
	sub := e.slack.ViewSubmission(slacktest.ViewSubmission{UserID: "U1", ViewID: views[0].ID, CallbackID: v.CallbackID,
		PrivateMetadata: v.PrivateMetadata, Values: map[string]map[string]string{
			"gray_count": {"gray_count": "1"}, "gray_fail_threshold": {"gray_fail_threshold": "1"}, "execution_timeout": {"execution_timeout": "7"}}})
	if _, err := e.slack.WaitAck(sub, wait); err != nil {
		t.Fatal(err)
	}
	if _, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && strings.Contains(decoded(m.Blocks), "Re-ran task")
	}, wait); err != nil {
		t.Fatal(err)
	}
	reqs := e.simB.ActionRequests()
	if len(reqs) != 1 || reqs[0].Op != "execute" || reqs[0].PoolID != e.simB.Pools()[0].ID || !strings.Contains(reqs[0].Body, `"desktop_ids":["desk-a","desk-c"]`) {
		t.Errorf("sim-b's requests %+v, want one execute on its pool's failed desktops", reqs)
	}
	if n := len(e.sim.ActionRequests()); n != 0 {
		t.Errorf("sim-a got %d action requests", n)
	}
}

// TestTargetsAlertRetry: Retry on a living alert's root of a task of
// sim-b (whose id sim-a has too) carries the target, retries in sim-b
// alone, and is kept in the alert's state and shown on the root.
func TestTargetsAlertRetry(t *testing.T) {
	e, st := acting(t, bot.Actions{}, func(s *setup) {
		s.targets = twoTargets("")
		s.cfg.Alerts = s.cfg.Actions.Store.(*state.Store)
	})
	tk, recs := failedTask(e.simB)
	e.simB.PutTask(tk, recs...)
	tk.Target = "sim-b"
	al := pooltask.Alert{Channel: "C1", Task: tk, Posted: time.Now()}
	text, bs := blocks.AlertRoot(al, []pooltask.Action{pooltask.ActionRetry})
	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(e.slack.APIURL()))
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText(text, false), slack.MsgOptionBlocks(bs...))
	if err != nil {
		t.Fatal(err)
	}
	al.TS = ts
	if err := st.PutAlert(context.Background(), al); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(bs)
	btn := find(t, raw, blocks.ActionRetry)
	if btn.Value != "retry "+failedID+" target=sim-b" {
		t.Fatalf("the root's Retry = %q", btn.Value)
	}
	id, url := e.slack.BlockAction(slacktest.BlockAction{UserID: "U2", ChannelID: "C1", ActionID: btn.ActionID, Value: btn.Value,
		MessageTS: ts, MessageBlocks: raw})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	e.answer(t, url)
	if _, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.update" && m.TS == ts && strings.Contains(decoded(m.Blocks), ":repeat: Retried by U2")
	}, wait); err != nil {
		t.Fatalf("the root does not say who retried: %v", err)
	}
	if a, b := e.requests("retry"); a != 0 || b != 1 {
		t.Errorf("retries sim-a=%d sim-b=%d, want 0 and 1", a, b)
	}
	if got, ok, err := st.Alert(context.Background(), "C1", ts); !ok || err != nil || got.RetriedBy != "U2" || got.RetryTaskID == "" {
		t.Errorf("the alert's state: %+v %v %v, want the retry kept", got, ok, err)
	}
}

// TestTargetsLegacyApproval: an approval request recorded before targets
// existed (no target in it, the key of its retry without one) is, once a
// targets file names several, the target "default"'s: its approval
// retries there, and the retry's intent has the key it always had.
func TestTargetsLegacyApproval(t *testing.T) {
	e, st := acting(t, bot.Actions{Approval: []pooltask.Action{pooltask.ActionRetry}}, func(s *setup) {
		s.targets = &struct{ def, first string }{first: "default"}
	})
	tk, recs := failedTask(e.simB)
	e.simB.PutTask(tk, recs...)
	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(e.slack.APIURL()))
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("U1 asks to retry", false))
	if err != nil {
		t.Fatal(err)
	}
	var ap state.Approval
	old := `{"id":"ap-old","intent":{"key":"retry:task:` + failedID + `","action":"retry","task_id":"` + failedID +
		`","desktops":2,"actor":"U1","started":"2026-12-03T09:00:00Z","expires":"2099-01-01T00:00:00Z"},` +
		`"channel":"C1","message_ts":"` + ts + `","expires":"2099-01-01T00:00:00Z"}`
	if err := json.Unmarshal([]byte(old), &ap); err != nil {
		t.Fatal(err)
	}
	if err := st.PutApproval(context.Background(), ap); err != nil {
		t.Fatal(err)
	}
	if a := e.answer(t, e.clickIn(t, "U2", "C1", ts, button{ActionID: blocks.ActionApprove, Value: "ap-old"})); !strings.Contains(decoded(a.Blocks), "Retried") {
		t.Fatalf("approval = %s", decoded(a.Blocks))
	}
	if a, b := e.requests("retry"); a != 1 || b != 0 {
		t.Errorf("retries default=%d sim-b=%d, want 1 and 0", a, b)
	}
	if prev, first, err := st.BeginAction(context.Background(), state.ActionIntent{Key: "retry:task:" + failedID, Expires: time.Now().Add(time.Hour)}); first || err != nil || prev.Approver != "U2" {
		t.Errorf("the retry's intent: %+v %v %v, want it under the key it always had", prev, first, err)
	}
}
