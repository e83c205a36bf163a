package blocks

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/pooltask"
)

// livingAlert is a failed task of Finance Desktops with three reasons.
func livingAlert() pooltask.Alert {
	t := notifytest.Task("11111111-0000-0000-0000-000000000042", "Finance Desktops", pooltask.StatusFailed, day0.Add(20*time.Hour), 7, "install-agent")
	t.SuccessNum = 13
	return pooltask.Alert{
		Channel: "CFIN", TS: "1700000000.000100", Task: t, Posted: day0.Add(20*time.Hour + 6*time.Minute),
		Reasons: []pooltask.Reason{{Text: "disk C: full", Count: 4}, {Text: "agent service <did not start>", Count: 2}, {Text: "result 1603", Count: 1}},
	}
}

func TestAlertRootGolden(t *testing.T) {
	golden(t)(AlertRoot(livingAlert(), nil))
}

func TestAlertRootAcknowledgedSnoozedGolden(t *testing.T) {
	a := livingAlert()
	a.AckedBy, a.AckedAt = "U0ALICE", a.Posted.Add(3*time.Minute)
	a.SnoozedBy, a.SnoozedUntil = "U0BOB", a.Posted.Add(4*time.Hour)
	golden(t)(AlertRoot(a, nil))
}

func TestAlertRootRecoveredGolden(t *testing.T) {
	a := livingAlert()
	a.AckedBy, a.AckedAt = "U0ALICE", a.Posted.Add(3*time.Minute)
	a.RecoveredBy, a.RecoveredAt = "11111111-0000-0000-0000-000000000043", a.Posted.Add(time.Hour)
	golden(t)(AlertRoot(a, nil))
}

// TestAlertRootRetryGolden: with retry enabled, a failed task's root offers
// Retry with the confirm dialog every Retry has (task, pool, 7 failed
// desktops).
func TestAlertRootRetryGolden(t *testing.T) {
	golden(t)(AlertRoot(livingAlert(), []pooltask.Action{pooltask.ActionRetry}))
}

// TestAlertRootRetriedGolden: a retry taken from the root is told there,
// acknowledged after, and Retry is gone.
func TestAlertRootRetriedGolden(t *testing.T) {
	a := livingAlert()
	a.RetriedBy, a.RetriedAt, a.RetryTaskID = "U0ALICE", a.Posted.Add(2*time.Minute), "11111111-0000-0000-0000-000000000044"
	a.AckedBy, a.AckedAt = "U0BOB", a.Posted.Add(3*time.Minute)
	golden(t)(AlertRoot(a, []pooltask.Action{pooltask.ActionRetry}))
}

// TestAlertRootRetryOffered: Retry only with retry enabled, on a failed
// task with failed desktops, not yet retried.
func TestAlertRootRetryOffered(t *testing.T) {
	retry := []pooltask.Action{pooltask.ActionRetry}
	has := func(a pooltask.Alert, enabled []pooltask.Action) bool {
		_, bs := AlertRoot(a, enabled)
		return strings.Contains(notifytest.BlocksJSON(t, bs), `"action_id":"`+ActionRetry+`"`)
	}
	a := livingAlert()
	if !has(a, retry) {
		t.Error("no Retry with retry enabled")
	}
	if has(a, nil) || has(a, []pooltask.Action{pooltask.ActionStop}) {
		t.Error("Retry without retry enabled")
	}
	r := a
	r.RetriedBy, r.RetryTaskID = "U0ALICE", "new"
	if has(r, retry) {
		t.Error("Retry on an alert retried already")
	}
	z := a
	z.Task.FailedNum = 0
	if has(z, retry) {
		t.Error("Retry with no failed desktop")
	}
}

// TestAlertRootControls: Acknowledge goes once someone is on it, the
// controls once the task recovered; a forged user id is no mention.
func TestAlertRootControls(t *testing.T) {
	a := livingAlert()
	_, bs := AlertRoot(a, nil)
	js := notifytest.BlocksJSON(t, bs)
	for _, want := range []string{`"action_id":"alert_ack"`, `"action_id":"alert_snooze"`, `"value":"tomorrow"`, `"value":"custom"`, `"action_id":"details"`} {
		if !strings.Contains(js, want) {
			t.Errorf("new alert lacks %s", want)
		}
	}
	a.AckedBy = "<!channel>"
	_, bs = AlertRoot(a, nil)
	js = notifytest.BlocksJSON(t, bs)
	if strings.Contains(js, "alert_ack") || strings.Contains(js, "<!channel>") || !strings.Contains(js, "&lt;!channel&gt; is on it") {
		t.Errorf("acknowledged alert: %s", js)
	}
	a.RecoveredBy = "11111111-0000-0000-0000-000000000043"
	_, bs = AlertRoot(a, nil)
	if js := notifytest.BlocksJSON(t, bs); strings.Contains(js, "alert_snooze") || !strings.Contains(js, "show 11111111-0000-0000-0000-000000000043") {
		t.Errorf("recovered alert: %s", js)
	}
}

func threadView() ThreadView {
	a := livingAlert()
	v := ThreadView{Task: a.Task, Total: 23}
	for i := range 23 {
		v.Failed = append(v.Failed, pooltask.Record{ID: fmt.Sprintf("rec-%02d", i), TaskID: a.Task.ID, DesktopName: fmt.Sprintf("fin-desk-%02d", i),
			ScriptName: "install-agent", Status: "FAILED", ResultCode: "1", Reason: "disk C: full"})
	}
	v.First = v.Failed[0]
	var out []string
	for i := range 40 {
		out = append(out, fmt.Sprintf("line %02d: copying agent files", i+1))
	}
	v.First.Output = strings.Join(out, "\n") + "\nERROR <!here> disk C: is full\n"
	return v
}

func TestAlertThreadGolden(t *testing.T) {
	golden(t)(AlertThread(threadView()))
}

// TestAlertThreadContent: 20 desktops in order, each with its Output
// button, then the last 15 lines of the first one's output, escaped.
func TestAlertThreadContent(t *testing.T) {
	_, bs := AlertThread(threadView())
	js := notifytest.BlocksJSON(t, bs)
	if n := strings.Count(js, `"action_id":"output"`); n != 20 {
		t.Errorf("%d Output buttons, want 20", n)
	}
	if !strings.Contains(js, "the first 20 of 23") {
		t.Error("the thread does not say 20 of 23 are shown")
	}
	if i, j := strings.Index(js, "fin-desk-00"), strings.Index(js, "fin-desk-19"); i < 0 || j < i || strings.Contains(js, "fin-desk-20") {
		t.Error("desktops not in order, or more than 20")
	}
	if !strings.Contains(js, "Last 15 lines") || !strings.Contains(js, "line 27:") || strings.Contains(js, "line 26:") {
		t.Errorf("not the last 15 lines: %s", js)
	}
	if strings.Contains(js, "<!here>") {
		t.Error("output can ping the channel")
	}
}

func TestMuteSummaryGolden(t *testing.T) {
	m := pooltask.Mute{PoolID: "pool-finance", PoolName: "Finance Desktops", By: "U0ALICE", Reason: "patch window",
		Start: day0.Add(18 * time.Hour), Until: day0.Add(22 * time.Hour)}
	var ids []string
	for i := range 12 {
		ids = append(ids, fmt.Sprintf("22222222-0000-0000-0000-%012d", i))
	}
	golden(t)(MuteSummary(m, ids))
}

func TestMutesList(t *testing.T) {
	at := day0.Add(19 * time.Hour)
	ms := []pooltask.Mute{
		{PoolID: "p1", PoolName: "Finance Desktops", By: "U0ALICE", Reason: "patch window", Start: day0, Until: day0.Add(20 * time.Hour)},
		{PoolID: "p2", By: "U0BOB", Start: day0, Until: day0.Add(time.Hour)}, // over
	}
	_, bs := Mutes(ms, at)
	js := notifytest.BlocksJSON(t, bs)
	if !strings.Contains(js, "1 muted pool") || !strings.Contains(js, "Finance Desktops") || !strings.Contains(js, "<@U0ALICE>") ||
		!strings.Contains(js, "patch window") || strings.Contains(js, "p2") {
		t.Errorf("mutes: %s", js)
	}
	if _, bs := Mutes(ms[1:], at); !strings.Contains(notifytest.BlocksJSON(t, bs), "No pool is muted") {
		t.Error("no mute in force should say so")
	}
}

// retriedAlert is livingAlert retried by Alice, whose retry task ran on
// its 7 failed desktops.
func retriedAlert() pooltask.Alert {
	a := livingAlert()
	a.RetriedBy, a.RetriedAt, a.RetryTaskID = "U0ALICE", a.Posted.Add(2*time.Minute), "11111111-0000-0000-0000-000000000044"
	return a
}

// TestAlertRootRetryFailedAgainGolden: the root of an alert acknowledged
// and retried tells how the retry ended when it failed again: on how many
// of its desktops, when; it is still open (Acknowledge is gone, Snooze and
// Details stay, Retry does not come back).
func TestAlertRootRetryFailedAgainGolden(t *testing.T) {
	a := retriedAlert()
	a.AckedBy, a.AckedAt = "U0BOB", a.Posted.Add(3*time.Minute)
	a.RetryEnded = &pooltask.RetryEnd{Status: pooltask.StatusFailed, SuccessNum: 4, FailedNum: 3, End: a.RetriedAt.Add(4 * time.Minute)}
	golden(t)(AlertRoot(a, []pooltask.Action{pooltask.ActionRetry}))
}

// TestAlertRootRetryRecoveredGolden: a retry that finished clean tells how
// many desktops succeeded and is the alert's recovery.
func TestAlertRootRetryRecoveredGolden(t *testing.T) {
	a := retriedAlert()
	a.AckedBy, a.AckedAt = "U0BOB", a.Posted.Add(3*time.Minute)
	a.RetryEnded = &pooltask.RetryEnd{Status: pooltask.StatusFinish, SuccessNum: 7, End: a.RetriedAt.Add(4 * time.Minute)}
	a.RecoveredBy, a.RecoveredAt = a.RetryTaskID, a.RetryEnded.End
	golden(t)(AlertRoot(a, []pooltask.Action{pooltask.ActionRetry}))
}

// TestAlertRootRetryEnd: the words of each way a retry ends.
func TestAlertRootRetryEnd(t *testing.T) {
	end := day0.Add(21 * time.Hour)
	for _, c := range []struct {
		e    *pooltask.RetryEnd
		want string
	}{
		{nil, "`, watched in the thread"},
		{&pooltask.RetryEnd{Status: pooltask.StatusFinish, SuccessNum: 12}, "` finished: 12 of 12 desktops succeeded"},
		{&pooltask.RetryEnd{Status: pooltask.StatusFinish, SuccessNum: 10, SkipNum: 2, End: end}, "` finished: 10 of 12 desktops succeeded, 2 skipped (<!date^"},
		{&pooltask.RetryEnd{Status: pooltask.StatusFailed, SuccessNum: 9, FailedNum: 3}, "` failed again on 3 of 12 desktops"},
		{&pooltask.RetryEnd{Status: pooltask.StatusFinish, SuccessNum: 11, FailedNum: 1}, "` failed again on 1 of 12 desktops"},
		{&pooltask.RetryEnd{Status: pooltask.StatusFailed, SuccessNum: 1, FailedNum: 2, StoppedBy: "U0CAROL"}, "` was stopped by <@U0CAROL>: 2 of 3 desktops failed"},
	} {
		a := retriedAlert()
		a.RetryEnded = c.e
		_, bs := AlertRoot(a, nil)
		js := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(notifytest.BlocksJSON(t, bs))
		if !strings.Contains(js, c.want) {
			t.Errorf("%+v: root does not say %q: %s", c.e, c.want, js)
		}
	}
}
