package blocks

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/slack-go/slack"
)

func retryTarget() Target {
	task := sampleTasks()[0]
	task.Status, task.FailedNum = pooltask.StatusFailed, 3
	return Target{Action: pooltask.ActionRetry, Task: task, Desktops: 3}
}

// TestTaskActionsGolden: a FAILED task's details with retry enabled have
// a Retry button whose confirmation names the task, the pool and the
// desktops.
func TestTaskActionsGolden(t *testing.T) {
	tg := retryTarget()
	text, bs := Task(TaskView{Task: tg.Task, Failed: sampleRecords(), FailedTotal: 3, Now: now,
		Actions: []pooltask.Action{pooltask.ActionRetry, pooltask.ActionStop}})
	compareGolden(t, text, bs)
	raw, _ := json.Marshal(bs)
	for _, want := range []string{`"action_id":"act_retry"`, `"value":"retry ` + tg.Task.ID + `"`, `"confirm":`, "on 3 failed desktops?", tg.Task.PoolName} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("details lack %s", want)
		}
	}
	// Read-only: no button; a running task gets Stop, not Retry.
	_, bs = Task(TaskView{Task: tg.Task, Now: now})
	if raw, _ := json.Marshal(bs); strings.Contains(string(raw), "act_") {
		t.Errorf("read-only details have an action button")
	}
	running := tg.Task
	running.Status = pooltask.StatusRunning
	_, bs = Task(TaskView{Task: running, Now: now, Actions: []pooltask.Action{pooltask.ActionRetry, pooltask.ActionStop}})
	if raw, _ := json.Marshal(bs); !strings.Contains(string(raw), `"act_stop"`) || strings.Contains(string(raw), `"act_retry"`) {
		t.Errorf("running task's buttons: %s", raw)
	}
}

func TestConfirmGolden(t *testing.T) {
	golden(t)(Confirm(retryTarget()))
}

func TestConfirmStopGolden(t *testing.T) {
	tg := retryTarget()
	tg.Action, tg.Task.Status = pooltask.ActionStop, pooltask.StatusRunning
	golden(t)(Confirm(tg))
}

func TestOutputRetryGolden(t *testing.T) {
	tg := retryTarget()
	golden(t)(Output(sampleRecords()[0], &tg.Task))
}

var at10 = time.Date(2026, 11, 27, 10, 2, 0, 0, time.UTC)

func TestActionPendingGolden(t *testing.T) {
	golden(t)(Action(ActionView{Target: retryTarget(), Actor: "U01ANA", Outcome: "pending", ApprovalID: "ap-1",
		Expires: at10.Add(15 * time.Minute), At: at10}))
}

func TestActionApprovedGolden(t *testing.T) {
	golden(t)(Action(ActionView{Target: retryTarget(), Actor: "U01ANA", Approver: "U02LI", Outcome: "done",
		NewTaskID: "9a8b7c6d-0000-4000-8000-000000000009", At: at10}))
}

func TestActionUnknownGolden(t *testing.T) {
	golden(t)(Action(ActionView{Target: retryTarget(), Actor: "U01ANA", Outcome: "unknown", At: at10,
		Check: "/pooltasks list pool=" + retryTarget().Task.PoolID + " since=10m"}))
}

func TestActionExpiredGolden(t *testing.T) {
	golden(t)(Action(ActionView{Target: retryTarget(), Actor: "U01ANA", Outcome: "expired", Expires: at10}))
}

func TestAlreadyGolden(t *testing.T) {
	golden(t)(Already(Earlier{Action: pooltask.ActionRetry, Actor: "U01ANA", Outcome: "done",
		NewTaskID: "9a8b7c6d-0000-4000-8000-000000000009", Check: "/pooltasks list pool=pool-1 since=10m", Started: at10, Ended: at10}))
}

func TestDecidedGolden(t *testing.T) {
	golden(t)(Decided("denied", "U02LI", at10))
}

// TestRerunModalGolden: the staged re-run form (its title and blocks).
func TestRerunModalGolden(t *testing.T) {
	m := RerunModal(retryTarget(), `{"task":"x","channel":"C1"}`)
	if m.Submit == nil || m.CallbackID != RerunCallback || m.PrivateMetadata == "" {
		t.Errorf("modal %+v", m)
	}
	golden(t)(m.Title.Text, m.Blocks.BlockSet)
}

// TestWatchActionsGolden: a watch's final message of a FAILED task, with
// retry enabled, carries Retry failed desktops.
func TestWatchActionsGolden(t *testing.T) {
	tg := retryTarget()
	golden(t)(Watch(WatchView{ID: "w1", TaskID: tg.Task.ID, UserID: "U01ANA", Task: tg.Task, Now: at10, Phase: WatchEnded,
		Actions: []pooltask.Action{pooltask.ActionRetry, pooltask.ActionStop}}))
}

// TestWatchStoppedByGolden: a running watch's refresh after its Stop task
// was clicked: the button gone, Stop watching and Details kept, and the
// line Acted writes, so that the refresh keeps what the click said.
func TestWatchStoppedByGolden(t *testing.T) {
	tg := retryTarget()
	tg.Task.Status = pooltask.StatusRunning
	v := WatchView{ID: "w1", TaskID: tg.Task.ID, UserID: "U01ANA", Task: tg.Task, Now: at10, Phase: WatchRunning,
		Actions: []pooltask.Action{pooltask.ActionRetry, pooltask.ActionStop}}
	_, original := Watch(v)
	acted := ActionView{Target: Target{Action: pooltask.ActionStop, Task: tg.Task}, Actor: "U02LI", Outcome: "done", At: at10}
	_, want := Acted(original, acted)
	v.Acted = &acted
	text, bs := Watch(v)
	compareGolden(t, text, bs)
	if w, g := jsonOf(want), jsonOf(bs); w != g {
		t.Errorf("the watch renders its acted line unlike Acted:\n%s\nwant\n%s", g, w)
	}
	if raw, _ := json.Marshal(bs); strings.Contains(string(raw), "act_stop") || !strings.Contains(string(raw), `Stopped by \u003c@U02LI\u003e`) ||
		!strings.Contains(string(raw), "watch_stop") {
		t.Errorf("stopped watch message: %s", raw)
	}
}

func jsonOf(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

// TestActedGolden: the watch's final message after its Retry was clicked:
// the button gone, a line saying who retried it and the new task.
func TestActedGolden(t *testing.T) {
	tg := retryTarget()
	_, original := Watch(WatchView{ID: "w1", TaskID: tg.Task.ID, UserID: "U01ANA", Task: tg.Task, Now: at10, Phase: WatchEnded,
		Actions: []pooltask.Action{pooltask.ActionRetry}})
	text, bs := Acted(original, ActionView{Target: tg, Actor: "U02LI", Outcome: "done", At: at10,
		NewTaskID: "9a8b7c6d-0000-4000-8000-000000000009"})
	compareGolden(t, text, bs)
	if raw, _ := json.Marshal(bs); strings.Contains(string(raw), "act_retry") || !strings.Contains(string(raw), `"details"`) {
		t.Errorf("acted message keeps the action or lost Details: %s", raw)
	}
}

// TestActionValuesCarryTarget: with several targets every action button
// carries the task's target, in the one encoding of Details (target= on a
// command, the target last on a value of ids): Retry and Re-run on
// Details, Stop on a running task's Details and live watch, Confirm,
// Retry on this desktop, and the alert root's Retry; with one target ("")
// none does.
func TestActionValuesCarryTarget(t *testing.T) {
	all := []pooltask.Action{pooltask.ActionRetry, pooltask.ActionStop, pooltask.ActionRerun}
	values := func(bs []slack.Block) map[string]string {
		out := map[string]string{}
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if id, ok := x["action_id"].(string); ok && strings.HasPrefix(id, "act_") {
					out[id], _ = x["value"].(string)
				}
				for _, y := range x {
					walk(y)
				}
			case []any:
				for _, y := range x {
					walk(y)
				}
			}
		}
		raw, _ := json.Marshal(bs)
		var v any
		json.Unmarshal(raw, &v)
		walk(v)
		return out
	}
	for _, target := range []string{"eu", ""} {
		tg := retryTarget()
		tg.Task.Target = target
		running := tg.Task
		running.Status = pooltask.StatusRunning
		rec := sampleRecords()[0]
		tail := ""
		if target != "" {
			tail = " target=" + target
		}
		a := livingAlert()
		a.Task.Target = target
		got := map[string]string{}
		for _, bs := range [][]slack.Block{
			second(Task(TaskView{Task: tg.Task, Now: now, Actions: all})),
			second(Output(rec, &tg.Task)),
		} {
			for k, v := range values(bs) {
				got[k+"/"+v[:3]] = v
			}
		}
		for k, v := range values(second(Watch(WatchView{ID: "w1", TaskID: running.ID, Task: running, Now: at10, Actions: all}))) {
			got["watch/"+k] = v
		}
		for k, v := range values(second(Confirm(tg))) {
			got["confirm/"+k] = v
		}
		for k, v := range values(second(AlertRoot(a, all))) {
			got["alert/"+k] = v
		}
		want := map[string]string{
			"act_retry/ret":        "retry " + tg.Task.ID + tail,
			"act_rerun/act":        RerunValue(tg.Task.ID, target),
			"act_retry_record/act": RecordValue(rec.ID, tg.Task.ID, target),
			"watch/act_stop":       "stop " + running.ID + tail,
			"confirm/act_confirm":  "retry " + tg.Task.ID + tail,
			"alert/act_retry":      "retry " + a.Task.ID + tail,
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("target %q: %s = %q, want %q", target, k, got[k], w)
			}
		}
		if id, in, ok := RerunTask(want["act_rerun/act"]); !ok || id != tg.Task.ID || in != target {
			t.Errorf("RerunTask(%q) = %q %q %v", want["act_rerun/act"], id, in, ok)
		}
		if r, id, in, ok := RecordIDs(want["act_retry_record/act"]); !ok || r != rec.ID || id != tg.Task.ID || in != target {
			t.Errorf("RecordIDs(%q) = %q %q %q %v", want["act_retry_record/act"], r, id, in, ok)
		}
	}
	if _, _, ok := RerunTask("act_rerun a b c"); ok {
		t.Error("RerunTask read a value of three ids")
	}
}

func second(_ string, bs []slack.Block) []slack.Block { return bs }
