package bot_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pooltasks/pooltasks/act"
	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/notify/state/redisstore"
	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/targets"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

const failedID = "6f1c2b1e-0000-4000-8000-000000000001"

// acting starts a bot with actions enabled for the operators U1, U2 and
// U3 and the members of the user group S1 (U5), the real Watches, and a
// FAILED task with two failed desktops in the simulator.
func acting(t *testing.T, a bot.Actions, mod func(*setup)) (*env, *state.Store) {
	t.Helper()
	st, err := state.Open(t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Enabled == nil {
		a.Enabled = []pooltask.Action{pooltask.ActionRetry, pooltask.ActionStop}
	}
	a.Operators, a.Store = []string{"U1", "U2", "U3", "S1"}, st
	// (a test may put another store in through mod)
	s := setup{cfg: bot.Config{Actions: a}, watch: true, sim: simEmpty(),
		slack: slacktest.Options{UserGroups: map[string][]string{"S1": {"U5"}}}}
	if mod != nil {
		mod(&s)
	}
	e := start(t, s)
	tk, recs := failedTask(e.sim)
	e.sim.PutTask(tk, recs...)
	return e, st
}

// failedTask is acting's FAILED task, in the first pool of s, with two
// failed desktops.
func failedTask(s *sim.Sim) (pooltask.Task, []pooltask.Record) {
	pool := s.Pools()[0]
	return pooltask.Task{ID: failedID, PoolID: pool.ID, PoolName: pool.Name, Status: pooltask.StatusFailed,
			Start: time.Now().Add(-time.Hour), End: time.Now().Add(-50 * time.Minute), SuccessNum: 1, FailedNum: 2,
			Scripts: []pooltask.Script{{ID: "s-1", Name: "rotate-cert"}}},
		[]pooltask.Record{{ID: "rec-a", DesktopID: "desk-a", DesktopName: "FIN-0001", Status: "FAILED", ResultCode: "1"},
			{ID: "rec-b", DesktopID: "desk-b", DesktopName: "FIN-0002", Status: "SUCCESS", ResultCode: "0"},
			{ID: "rec-c", DesktopID: "desk-c", DesktopName: "FIN-0003", Status: "FAILED", ResultCode: "1603"}}
}

func simEmpty() sim.Options { return sim.Options{Seed: 1, Empty: true} }

// retries is how many retry requests reached the simulator.
func (e *env) actionRequests(op string) int {
	n := 0
	for _, r := range e.sim.ActionRequests() {
		if r.Op == op {
			n++
		}
	}
	return n
}

// clickIn clicks a button of a channel message (public) and waits for the
// ack.
func (e *env) clickIn(t *testing.T, user, channel, ts string, btn button) string {
	t.Helper()
	id, url := e.slack.BlockAction(slacktest.BlockAction{UserID: user, ChannelID: channel, ActionID: btn.ActionID,
		Value: btn.Value, MessageTS: ts})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	return url
}

func (e *env) answer(t *testing.T, url string) slacktest.Message {
	t.Helper()
	m, err := e.slack.WaitMessage(slacktest.ForResponseURL(url), wait)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// actionLines returns the audit lines of actions.
func (e *env) actionLines() []map[string]any { return e.logs.lines("action") }

// TestRetryFromDetails: the Retry button of a FAILED task's details
// carries a confirmation naming the task, the pool and the desktops; its
// click sends one retry with that task id, posts who did what in the
// channel, and watches the new task in that message's thread to its end.
func TestRetryFromDetails(t *testing.T) {
	e, _ := acting(t, bot.Actions{}, nil)
	d := e.slash(t, "U1", "C1", "show "+failedID)
	btn := find(t, d.Blocks, "act_retry")
	for _, want := range []string{`"confirm":`, failedID, e.sim.Pools()[0].Name, "2 failed desktops"} {
		if !strings.Contains(string(d.Blocks), want) {
			t.Errorf("details' Retry lacks %s", want)
		}
	}
	m := e.click(t, "U1", "C1", btn)
	if !strings.Contains(m.Text, "Retried") || m.ReplaceOriginal {
		t.Errorf("clicker's answer = %+v", m)
	}
	reqs := e.sim.ActionRequests()
	if len(reqs) != 1 || reqs[0].Op != "retry" || strings.TrimSpace(reqs[0].Body) != `{"task_id":"`+failedID+`"}` {
		t.Fatalf("action requests %+v, want one retry of %s", reqs, failedID)
	}
	post, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "C1" && strings.Contains(decoded(m.Blocks), "By <@U1>")
	}, wait)
	if err != nil {
		t.Fatal(err)
	}
	// The watch of the new task, in the thread of that message, to its end.
	if _, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.ThreadTS == post.TS
	}, wait); err != nil {
		t.Fatalf("no watch in the thread: %v", err)
	}
	if _, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.update" && (strings.Contains(m.Text, "FINISH") || strings.Contains(m.Text, "FAILED") ||
			strings.Contains(strings.ToLower(m.Text), "finished") || strings.Contains(strings.ToLower(m.Text), "failed"))
	}, 20*time.Second); err != nil {
		t.Errorf("the watch did not reach the task's end: %v", err)
	}
	lines := e.actionLines()
	if len(lines) != 1 || lines[0]["actor"] != "U1" || lines[0]["outcome"] != "done" || lines[0]["task"] != failedID || lines[0]["new_task"] == "" {
		t.Errorf("audit lines %v", lines)
	}
}

// TestStopTyped: a typed stop answers a confirmation and acts on Confirm
// only, replacing the confirmation with what was done.
func TestStopTyped(t *testing.T) {
	e, _ := acting(t, bot.Actions{}, nil)
	id, err := e.ws.Retry(context.Background(), pooltask.Selection{TaskID: failedID}) // a task that runs
	if err != nil {
		t.Fatal(err)
	}
	before := e.actionRequests("stop")
	c := e.slash(t, "U1", "C1", "stop "+id)
	if !strings.Contains(string(c.Blocks), "Stop task?") || e.actionRequests("stop") != before {
		t.Fatalf("confirmation = %s (stops %d)", c.Blocks, e.actionRequests("stop"))
	}
	m := e.click(t, "U1", "C1", find(t, c.Blocks, "act_confirm"))
	if !m.ReplaceOriginal || !strings.Contains(string(m.Blocks), "Stopped") {
		t.Errorf("Confirm's answer = %+v", m)
	}
	if n := e.actionRequests("stop"); n != 1 {
		t.Errorf("%d stop requests, want 1", n)
	}
	for _, tk := range e.sim.Tasks() {
		if tk.ID == id && tk.Status != pooltask.StatusFailed {
			t.Errorf("stopped task is %s", tk.Status)
		}
	}
	// Cancel does nothing.
	c = e.slash(t, "U1", "C1", "retry "+failedID)
	if m := e.click(t, "U1", "C1", find(t, c.Blocks, "act_cancel")); !m.ReplaceOriginal || !strings.Contains(m.Text, "nothing was done") {
		t.Errorf("Cancel's answer = %+v", m)
	}
	if n := e.actionRequests("retry"); n != 1 { // the one above
		t.Errorf("%d retry requests, want 1", n)
	}
}

// TestActionRefusals: a non-operator, a read-only bot and a task in the
// wrong status are refused with no action request; a member of an
// operators' user group may act.
func TestActionRefusals(t *testing.T) {
	e, _ := acting(t, bot.Actions{}, nil)
	d := e.slash(t, "U1", "C1", "show "+failedID)
	btn := find(t, d.Blocks, "act_retry")
	if m := e.click(t, "U9", "C1", btn); !strings.Contains(m.Text, "only operators") {
		t.Errorf("non-operator's answer = %q", m.Text)
	}
	if m := e.slash(t, "U9", "C1", "retry "+failedID); !strings.Contains(m.Text, "only operators") {
		t.Errorf("non-operator's typed retry = %q", m.Text)
	}
	if m := e.click(t, "U1", "C1", button{ActionID: "act_stop", Value: "stop " + failedID}); !strings.Contains(m.Text, "only a task that is INIT or RUNNING") {
		t.Errorf("stop of a FAILED task = %q", m.Text)
	}
	if n := len(e.sim.ActionRequests()); n != 0 {
		t.Fatalf("%d action requests after refusals, want 0", n)
	}
	if m := e.click(t, "U5", "C1", btn); !strings.Contains(m.Text, "Retried") {
		t.Errorf("user group member's answer = %q", m.Text)
	}
	if calls := e.slack.Calls("usergroups.users.list"); len(calls) == 0 {
		t.Error("the user group was not read")
	}

	ro := start(t, setup{})
	pool := ro.sim.Pools()[0]
	ro.sim.PutTask(pooltask.Task{ID: failedID, PoolID: pool.ID, Status: pooltask.StatusFailed, FailedNum: 1})
	if d := ro.slash(t, "U1", "C1", "show "+failedID); strings.Contains(string(d.Blocks), "act_") {
		t.Errorf("read-only details have an action button: %s", d.Blocks)
	}
	if m := ro.slash(t, "U1", "C1", "retry "+failedID); !strings.Contains(m.Text, "not enabled here") {
		t.Errorf("read-only typed retry = %q", m.Text)
	}
	if m := ro.click(t, "U1", "C1", btn); !strings.Contains(m.Text, "not enabled here") {
		t.Errorf("read-only click = %q", m.Text)
	}
	if n := len(ro.sim.ActionRequests()); n != 0 {
		t.Errorf("read-only bot sent %d action requests", n)
	}
}

// TestDoubleClickAndRedelivery: two clicks at once, and the envelope
// redelivered, send one retry; the late click is told who did it.
func TestDoubleClickAndRedelivery(t *testing.T) {
	e, _ := acting(t, bot.Actions{}, nil)
	btn := button{ActionID: "act_retry", Value: "retry " + failedID}
	var urls []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, user := range []string{"U1", "U2"} {
		wg.Go(func() {
			id, url := e.slack.BlockAction(slacktest.BlockAction{UserID: user, ChannelID: "C1", ActionID: btn.ActionID, Value: btn.Value, IsEphemeral: true})
			e.slack.BlockAction(slacktest.BlockAction{UserID: user, ChannelID: "C1", ActionID: btn.ActionID, Value: btn.Value,
				IsEphemeral: true, EnvelopeID: id, RetryAttempt: 1, ResponseURL: url})
			mu.Lock()
			urls = append(urls, url)
			mu.Unlock()
		})
	}
	wg.Wait()
	var texts []string
	for _, u := range urls {
		texts = append(texts, e.answer(t, u).Text)
	}
	if n := e.actionRequests("retry"); n != 1 {
		t.Fatalf("%d retry requests, want 1", n)
	}
	all := strings.Join(texts, " | ")
	if !strings.Contains(all, "Retried") || !strings.Contains(all, "Already retried") {
		t.Errorf("answers: %s", all)
	}
}

// TestApproval: the requester's request is posted with Approve and Deny;
// the requester cannot approve; two approvals at once send one retry; the
// request message then says who did what.
func TestApproval(t *testing.T) {
	e, _ := acting(t, bot.Actions{Approval: []pooltask.Action{pooltask.ActionRetry}}, nil)
	m := e.click(t, "U1", "C1", button{ActionID: "act_retry", Value: "retry " + failedID})
	if !strings.Contains(m.Text, "Asked for approval") {
		t.Fatalf("requester's answer = %q", m.Text)
	}
	req, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && strings.Contains(string(m.Blocks), "asks to retry task")
	}, wait)
	if err != nil {
		t.Fatal(err)
	}
	approve := find(t, req.Blocks, "act_approve")
	if a := e.answer(t, e.clickIn(t, "U1", "C1", req.TS, approve)); !strings.Contains(a.Text, "another operator must approve") {
		t.Errorf("requester's own approval = %q", a.Text)
	}
	if a := e.answer(t, e.clickIn(t, "U9", "C1", req.TS, approve)); !strings.Contains(a.Text, "only operators") {
		t.Errorf("non-operator's approval = %q", a.Text)
	}
	if n := len(e.sim.ActionRequests()); n != 0 {
		t.Fatalf("%d requests before approval", n)
	}
	var wg sync.WaitGroup
	for _, u := range []string{"U2", "U3"} {
		wg.Go(func() { e.answer(t, e.clickIn(t, u, "C1", req.TS, approve)) })
	}
	wg.Wait()
	if n := e.actionRequests("retry"); n != 1 {
		t.Fatalf("%d retry requests after two approvals, want 1", n)
	}
	up, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.update" && m.TS == req.TS && strings.Contains(string(m.Blocks), "approved by")
	}, wait)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(decoded(up.Blocks), "By <@U1>, approved by <@U") || strings.Contains(string(up.Blocks), "act_approve") {
		t.Errorf("updated request = %s", up.Blocks)
	}
	lines := e.actionLines()
	if last := lines[len(lines)-1]; last["outcome"] != "done" || last["actor"] != "U1" || (last["approver"] != "U2" && last["approver"] != "U3") {
		t.Errorf("audit line %v", last)
	}
}

// TestApprovalExpires: an unanswered request expires: its message says so
// and a late approval does nothing.
func TestApprovalExpires(t *testing.T) {
	e, _ := acting(t, bot.Actions{Approval: []pooltask.Action{pooltask.ActionRetry}, ApprovalTTL: 300 * time.Millisecond}, nil)
	e.click(t, "U1", "C1", button{ActionID: "act_retry", Value: "retry " + failedID})
	req, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && strings.Contains(string(m.Blocks), "asks to retry task")
	}, wait)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.update" && m.TS == req.TS && strings.Contains(string(m.Blocks), "Expired")
	}, wait); err != nil {
		t.Fatal(err)
	}
	if a := e.answer(t, e.clickIn(t, "U2", "C1", req.TS, find(t, req.Blocks, "act_approve"))); !strings.Contains(decoded(a.Blocks), "expired") {
		t.Errorf("late approval = %q", a.Text)
	}
	if n := len(e.sim.ActionRequests()); n != 0 {
		t.Errorf("%d requests after expiry", n)
	}
}

// TestActionLostAnswer: a retry whose answer is lost is reported unknown,
// with a check, and never sent again.
func TestActionLostAnswer(t *testing.T) {
	e, _ := acting(t, bot.Actions{}, func(s *setup) { s.wsTimeout = 300 * time.Millisecond })
	e.sim.HangActions(true)
	t.Cleanup(func() { e.sim.HangActions(false) })
	btn := button{ActionID: "act_retry", Value: "retry " + failedID}
	m := e.click(t, "U1", "C1", btn)
	if !strings.Contains(string(m.Blocks), "Outcome unknown") || !strings.Contains(string(m.Blocks), "since=10m") {
		t.Errorf("answer = %s", m.Blocks)
	}
	if m := e.click(t, "U2", "C1", btn); !strings.Contains(decoded(m.Blocks), "may have been done") {
		t.Errorf("second click = %s", m.Blocks)
	}
	if n := e.actionRequests("retry"); n != 1 {
		t.Errorf("%d retry requests, want 1", n)
	}
}

// TestActionForbidden: a 403 names the IAM action to grant, and the
// action may be tried again once granted.
func TestActionForbidden(t *testing.T) {
	e, _ := acting(t, bot.Actions{}, nil)
	e.sim.InjectActionError(403, "WKS.0403", "Policy doesn't allow workspace:scripts:retry to be performed.")
	btn := button{ActionID: "act_retry", Value: "retry " + failedID}
	if m := e.click(t, "U1", "C1", btn); !strings.Contains(string(m.Blocks), "workspace:scripts:retry") ||
		!strings.Contains(string(m.Blocks), "Nothing was done") {
		t.Errorf("403 answer = %s", m.Blocks)
	}
	e.sim.InjectActionError(0, "", "")
	if m := e.click(t, "U1", "C1", btn); !strings.Contains(m.Text, "Retried") {
		t.Errorf("after the grant = %q", m.Text)
	}
}

// TestActionInterrupted: an intent recorded without an outcome (a process
// killed between the two, see act.TestDoSurvivesCrash) keeps the action
// from being sent again after the restart.
func TestActionInterrupted(t *testing.T) {
	e, st := acting(t, bot.Actions{}, nil)
	in := state.ActionIntent{Key: act.Key(act.Request{Action: pooltask.ActionRetry, TaskID: failedID}), Action: "retry",
		TaskID: failedID, Actor: "U2", Started: time.Now(), Expires: time.Now().Add(time.Hour)}
	if _, first, err := st.BeginAction(context.Background(), in); err != nil || !first {
		t.Fatal(first, err)
	}
	m := e.click(t, "U1", "C1", button{ActionID: "act_retry", Value: "retry " + failedID})
	if b := decoded(m.Blocks); !strings.Contains(b, "interrupted") || !strings.Contains(b, "<@U2>") {
		t.Errorf("answer = %s", b)
	}
	if n := len(e.sim.ActionRequests()); n != 0 {
		t.Errorf("%d requests, want 0", n)
	}
}

// TestStagedRerun: Re-run in stages opens the modal with the click's
// trigger_id before reading the task, fills it with the task's scripts and
// failed desktops, and its submission sends one execute request on exactly
// the failed desktops with the stage settings.
func TestStagedRerun(t *testing.T) {
	e, _ := acting(t, bot.Actions{Enabled: []pooltask.Action{pooltask.ActionRerun}}, nil)
	d := e.slash(t, "U1", "C1", "show "+failedID)
	btn := find(t, d.Blocks, "act_rerun")
	id, _ := e.slack.BlockAction(slacktest.BlockAction{UserID: "U1", ChannelID: "C1", ActionID: btn.ActionID, Value: btn.Value, IsEphemeral: true})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	var views []slacktest.View
	deadline := time.Now().Add(wait)
	for len(views) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling with a deadline
		views = e.slack.Views()
	}
	if len(views) != 2 || views[0].Method != "views.open" || !strings.Contains(string(views[0].View), "Reading the task") ||
		views[1].Method != "views.update" || views[1].ID != views[0].ID {
		t.Fatalf("views %+v: want views.open (loading) then views.update of it", views)
	}
	form := string(views[1].View)
	for _, want := range []string{"rotate-cert", "2 failed desktops", `"gray_count"`, `"gray_fail_threshold"`, `"execution_timeout"`} {
		if !strings.Contains(form, want) {
			t.Errorf("form lacks %s: %s", want, form)
		}
	}
	var v struct {
		PrivateMetadata string `json:"private_metadata"`
		CallbackID      string `json:"callback_id"`
	}
	if err := json.Unmarshal(views[1].View, &v); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sim.ActionRequests()); n != 0 {
		t.Fatalf("%d action requests before the submission", n)
	}
	sub := e.slack.ViewSubmission(slacktest.ViewSubmission{UserID: "U1", ViewID: views[0].ID, CallbackID: v.CallbackID,
		PrivateMetadata: v.PrivateMetadata, Values: map[string]map[string]string{
			"gray_count": {"gray_count": "1"}, "gray_fail_threshold": {"gray_fail_threshold": "1"}, "execution_timeout": {"execution_timeout": "7"}}})
	if _, err := e.slack.WaitAck(sub, wait); err != nil {
		t.Fatal(err)
	}
	post, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "C1" && strings.Contains(decoded(m.Blocks), "Re-ran task")
	}, wait)
	if err != nil {
		t.Fatalf("%v\nmessages: %+v\nlogs: %s", err, e.slack.Messages(), e.logs.String())
	}
	reqs := e.sim.ActionRequests()
	if len(reqs) != 1 || reqs[0].Op != "execute" || reqs[0].PoolID != e.sim.Pools()[0].ID {
		t.Fatalf("action requests %+v, want one execute on the task's pool", reqs)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(reqs[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"script_ids": []any{"s-1"}, "desktop_ids": []any{"desk-a", "desk-c"},
		"gray_count": 1.0, "gray_fail_threshold": 1.0, "execution_timeout": 7.0}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("execute body (-want +got):\n%s", diff)
	}
	if _, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.ThreadTS == post.TS
	}, wait); err != nil {
		t.Errorf("the new task is not watched in the thread: %v", err)
	}
}

// TestRetryFromWatchMessage: the final message of a watch of a FAILED task
// carries Retry; a click on it sends one retry, says in place who did it
// (without the button), and watches the new task in its thread.
func TestRetryFromWatchMessage(t *testing.T) {
	e, _ := acting(t, bot.Actions{}, nil)
	e.slash(t, "U1", "C1", "watch "+failedID)
	w, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && strings.Contains(string(m.Blocks), "act_retry")
	}, wait)
	if err != nil {
		t.Fatal(err)
	}
	btn := find(t, w.Blocks, "act_retry")
	id, url := e.slack.BlockAction(slacktest.BlockAction{UserID: "U2", ChannelID: "C1", ActionID: btn.ActionID, Value: btn.Value,
		MessageTS: w.TS, MessageBlocks: w.Blocks})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	e.answer(t, url)
	up, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.update" && m.TS == w.TS
	}, wait)
	if err != nil {
		t.Fatal(err)
	}
	if b := decoded(up.Blocks); !strings.Contains(b, "Retried by <@U2>") || strings.Contains(b, "act_retry") || !strings.Contains(b, `"details"`) {
		t.Errorf("updated watch message = %s", b)
	}
	if n := e.actionRequests("retry"); n != 1 {
		t.Errorf("%d retry requests, want 1", n)
	}
	if _, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.ThreadTS == w.TS
	}, wait); err != nil {
		t.Errorf("the new task is not watched in the thread: %v", err)
	}
	if n := len(msgs(e, func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.ThreadTS == "" && strings.Contains(decoded(m.Blocks), "By <@U2>")
	})); n != 0 {
		t.Errorf("%d new channel messages, want the watch message updated in place instead", n)
	}
}

// TestTwoReplicasOneRetry: two replicas sharing Redis, each on its own
// socket-mode connection, get clicks of the same Retry at once (a double
// click that Slack spreads over the connections): one retry request.
func TestTwoReplicasOneRetry(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	stores := make([]*redisstore.Store, 2)
	for i := range stores {
		s, err := redisstore.Open(t.Context(), srv.URL(), "replicas:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	e, _ := acting(t, bot.Actions{}, func(s *setup) { s.cfg.Actions.Store = stores[0] })
	cfg := bot.Config{AppToken: slacktest.AppToken, BotToken: slacktest.BotToken, APIURL: e.slack.APIURL(),
		Actions: bot.Actions{Enabled: []pooltask.Action{pooltask.ActionRetry}, Operators: []string{"U1", "U2"}, API: e.actAPI, Store: stores[1]}}
	second, err := bot.New(cfg, targets.One(e.ws))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- second.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := e.slack.WaitConnections(2, wait); err != nil {
		t.Fatal(err)
	}
	btn := button{ActionID: "act_retry", Value: "retry " + failedID}
	var urls []string
	for i, user := range []string{"U1", "U2"} {
		_, url := e.slack.BlockAction(slacktest.BlockAction{UserID: user, ChannelID: "C1", ActionID: btn.ActionID, Value: btn.Value,
			IsEphemeral: true, Connection: i + 1})
		urls = append(urls, url)
	}
	var texts []string
	for _, u := range urls {
		texts = append(texts, decoded(e.answer(t, u).Blocks))
	}
	if n := e.actionRequests("retry"); n != 1 {
		t.Fatalf("%d retry requests from two replicas, want 1", n)
	}
	if all := strings.Join(texts, " | "); !strings.Contains(all, "Retried task") || !strings.Contains(all, "Already retried") &&
		!strings.Contains(all, "in progress") {
		t.Errorf("answers: %s", all)
	}
}

// TestStopFromWatchMessage: Stop task on a running watch's message sends
// one stop, says in place who stopped it, and the watch's later updates
// (to the final one, once the task ended) keep saying it instead of
// rendering the message over it.
func TestStopFromWatchMessage(t *testing.T) {
	e, _ := acting(t, bot.Actions{}, nil)
	pool := e.sim.Pools()[0]
	const runningID = "6f1c2b1e-0000-4000-8000-000000000002"
	e.sim.PutTask(pooltask.Task{ID: runningID, PoolID: pool.ID, PoolName: pool.Name, Status: pooltask.StatusRunning,
		Start: time.Now().Add(-time.Minute), SuccessNum: 1, Scripts: []pooltask.Script{{ID: "s-1", Name: "rotate-cert"}}},
		pooltask.Record{ID: "rec-r1", DesktopID: "desk-a", DesktopName: "FIN-0001", Status: "SUCCESS", ResultCode: "0"},
		pooltask.Record{ID: "rec-r2", DesktopID: "desk-b", DesktopName: "FIN-0002", Status: "RUNNING"})
	e.slash(t, "U1", "C1", "watch "+runningID)
	w, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && strings.Contains(string(m.Blocks), "act_stop")
	}, wait)
	if err != nil {
		t.Fatal(err)
	}
	btn := find(t, w.Blocks, "act_stop")
	id, url := e.slack.BlockAction(slacktest.BlockAction{UserID: "U2", ChannelID: "C1", ActionID: btn.ActionID, Value: btn.Value,
		MessageTS: w.TS, MessageBlocks: w.Blocks})
	if _, err := e.slack.WaitAck(id, wait); err != nil {
		t.Fatal(err)
	}
	e.answer(t, url)
	// The watch sees the task stopped (FAILED) and makes its final update.
	if _, err := e.slack.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.update" && m.TS == w.TS && strings.Contains(decoded(m.Blocks), "ended: *FAILED*")
	}, wait); err != nil {
		t.Fatalf("the watch did not end: %v", err)
	}
	if n := e.actionRequests("stop"); n != 1 {
		t.Errorf("%d stop requests, want 1", n)
	}
	// Every update of the watch message from the click on says who stopped it.
	ups := msgs(e, func(m slacktest.Message) bool { return m.Method == "chat.update" && m.TS == w.TS })
	clicked := -1
	for i, up := range ups {
		if strings.Contains(decoded(up.Blocks), "Stopped by <@U2>") {
			clicked = i
			break
		}
	}
	if clicked < 0 {
		t.Fatalf("no update says who stopped the task: %d updates", len(ups))
	}
	if len(ups)-clicked < 2 {
		t.Errorf("%d updates from the click on, want the click's and the watch's final one", len(ups)-clicked)
	}
	for i, up := range ups[clicked:] {
		if b := decoded(up.Blocks); !strings.Contains(b, "Stopped by <@U2>") || strings.Contains(b, "act_stop") {
			t.Errorf("update %d after the click: %s", i, b)
		}
	}
}
