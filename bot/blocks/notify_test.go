package blocks

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/pooltask"
)

var day0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// failuresDigest is what bot/notify collects from its sample day: four
// failed tasks in three pools, one named to ping the channel.
func failuresDigest() DigestView {
	return DigestView{
		Start: day0, End: day0.Add(24 * time.Hour),
		Tasks: 6, FailedTasks: 4, FailedDesktops: 14,
		PerPool: []PoolFailures{{"finance-win11", 2, 10}, {"dev-linux", 1, 3}, {"<!channel> pool", 1, 1}},
		TopScripts: []ScriptFailures{
			{"install-agent", 2}, {"<@U123> rotate", 1}, {"SHELL command", 1}, {"clean-disk", 1},
		},
		Recent: []pooltask.Task{
			notifytest.Task("11111111-0000-0000-0000-000000000004", "dev-linux", pooltask.StatusFailed, day0.Add(23*time.Hour), 2),
			notifytest.Task("11111111-0000-0000-0000-000000000003", "<!channel> pool", pooltask.StatusFailed, day0.Add(20*time.Hour), 1, "<@U123> rotate"),
			notifytest.Task("11111111-0000-0000-0000-000000000002", "finance-win11", pooltask.StatusFailed, day0.Add(5*time.Hour), 7, "install-agent", "clean-disk"),
			notifytest.Task("11111111-0000-0000-0000-000000000001", "finance-win11", pooltask.StatusFailed, day0.Add(2*time.Hour), 3, "install-agent"),
		},
		Timeline:       []int{0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1},
		ViewAllCommand: "failed since=2026-11-26T09:00:00Z until=2026-11-27T09:00:00Z",
		Native:         true,
	}
}

func TestDigestGoldenFailures(t *testing.T) {
	text, bs := Digest(failuresDigest())
	compareGolden(t, text, bs)
	s := notifytest.BlocksJSON(t, bs)
	if strings.Contains(s, "<!channel>") || strings.Contains(s, "<@U123>") {
		t.Error("API text reached the blocks unescaped")
	}
	if Classic(bs) {
		t.Error("a native digest has no charts")
	}
}

func TestDigestGoldenClassic(t *testing.T) {
	golden(t)(Digest(DigestView{
		Start: day0, End: day0.Add(24 * time.Hour), Pools: []string{"pool-dev-linux"},
		Tasks: 3, FailedTasks: 1, FailedDesktops: 3,
		PerPool:    []PoolFailures{{"dev-linux", 1, 3}},
		TopScripts: []ScriptFailures{{"SHELL command", 1}},
		Recent: []pooltask.Task{
			notifytest.Task("11111111-0000-0000-0000-000000000004", "dev-linux", pooltask.StatusFailed, day0.Add(23*time.Hour), 2),
		},
		Timeline:       []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		ViewAllCommand: "failed pool=pool-dev-linux since=2026-11-26T09:00:00Z until=2026-11-27T09:00:00Z",
	}))
}

func TestDigestGoldenAllClear(t *testing.T) {
	text, bs := Digest(DigestView{
		Start: day0, End: day0.Add(24 * time.Hour), Tasks: 1, Timeline: make([]int, 12),
		ViewAllCommand: "failed since=2026-11-26T09:00:00Z until=2026-11-27T09:00:00Z", Native: true,
	})
	compareGolden(t, text, bs)
	if !strings.Contains(text, "all clear") {
		t.Errorf("text %q", text)
	}
}

// A digest of a busy window stays within Slack's limits: many pools, many
// scripts, long names, a full list of recent failures.
func TestDigestWithinLimits(t *testing.T) {
	v := failuresDigest()
	v.Recent = nil
	for i := range 60 {
		name := fmt.Sprintf("pool-%02d-%s", i, strings.Repeat("ü", 200))
		v.PerPool = append(v.PerPool, PoolFailures{name, 60 - i, 100})
		v.TopScripts = append(v.TopScripts, ScriptFailures{strings.Repeat("s", 500), i})
		v.Recent = append(v.Recent, notifytest.Task(fmt.Sprintf("33333333-0000-0000-0000-%012d", i), name, pooltask.StatusFailed, day0, 2, strings.Repeat("x", 3000)))
		v.Warnings = append(v.Warnings, strings.Repeat("w", 1000))
	}
	v.ReadOnly = 10000
	for _, native := range []bool{true, false} {
		v.Native = native
		_, bs := Digest(v)
		checkLimits(t, marshalMessage(t, "", bs))
		if len(bs) > maxBlocks {
			t.Errorf("native %v: %d blocks", native, len(bs))
		}
		for _, b := range bs {
			if c, ok := b.(*slack.DataVisualizationBlock); ok {
				if err := c.Validate(); err != nil {
					t.Errorf("chart %q: %v", c.Title, err)
				}
			}
		}
	}
}

func TestAlertGolden(t *testing.T) {
	golden(t)(AlertRoot(pooltask.Alert{Task: notifytest.Task("11111111-0000-0000-0000-000000000003", "<!channel> pool", pooltask.StatusFailed, day0.Add(20*time.Hour), 1, "<@U123> rotate"),
		Reasons: []pooltask.Reason{{Text: "<!here> exit 1", Count: 1}}}, nil))
}

func TestAlertStormSplitsHugeStorms(t *testing.T) {
	var tasks []pooltask.Task
	for i := range 3000 {
		tasks = append(tasks, notifytest.Task(fmt.Sprintf("dddddddd-0000-0000-0000-%012d", i), "pool", pooltask.StatusFailed, day0, 1))
	}
	msgs := AlertStorm(tasks)
	all := ""
	for _, m := range msgs {
		checkLimits(t, marshalMessage(t, m.Text, m.Blocks))
		all += notifytest.BlocksJSON(t, m.Blocks)
	}
	if len(msgs) < 2 {
		t.Errorf("%d messages for 3000 ids", len(msgs))
	}
	for _, tk := range tasks {
		if !strings.Contains(all, tk.ID) {
			t.Fatalf("%s not named", tk.ID)
		}
	}
}

func TestAlertStormGolden(t *testing.T) {
	var tasks []pooltask.Task
	for i := range 7 {
		tasks = append(tasks, notifytest.Task(fmt.Sprintf("dddddddd-0000-0000-0000-%012d", i), "finance-win11", pooltask.StatusFailed, day0, i+1))
	}
	msgs := AlertStorm(tasks)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	compareGolden(t, msgs[0].Text, msgs[0].Blocks)
}

func watchView(phase WatchPhase) WatchView {
	task := notifytest.Task("44444444-0000-0000-0000-000000000001", "finance-win11", pooltask.StatusRunning, day0, 1, "install-agent")
	task.SuccessNum = 4
	if phase == WatchEnded {
		task.Status, task.End = pooltask.StatusFailed, day0.Add(7*time.Minute)
	}
	return WatchView{ID: "w0123", TaskID: task.ID, UserID: "U42", Task: task, Started: day0, Now: day0.Add(6 * time.Minute),
		Phase: phase, By: "U7", Limit: 2 * time.Hour}
}

func TestWatchGoldenRunning(t *testing.T) { golden(t)(Watch(watchView(WatchRunning))) }
func TestWatchGoldenEnded(t *testing.T)   { golden(t)(Watch(watchView(WatchEnded))) }
func TestWatchGoldenStopped(t *testing.T) { golden(t)(Watch(watchView(WatchStopped))) }

func TestWatchPhases(t *testing.T) {
	for _, c := range []struct {
		phase        WatchPhase
		title, reply string
		buttons      []string
	}{
		{WatchRunning, "Watching task `44444444-0000-0000-0000-000000000001`: *RUNNING*", "",
			[]string{"watch_stop=w0123", "details=show 44444444-0000-0000-0000-000000000001"}},
		{WatchEnded, "Task `44444444-0000-0000-0000-000000000001` ended: *FAILED*", "<@U42> task `44444444-0000-0000-0000-000000000001` ended: :x: FAILED",
			[]string{"details=show 44444444-0000-0000-0000-000000000001"}},
		{WatchStopped, "Stopped watching task `44444444-0000-0000-0000-000000000001` (last seen *RUNNING*)", "",
			[]string{"details=show 44444444-0000-0000-0000-000000000001"}},
		{WatchTimedOut, "after the time limit (last seen *RUNNING*)", "<@U42> stopped watching task `44444444-0000-0000-0000-000000000001` after 2h 00m; it is still RUNNING",
			[]string{"details=show 44444444-0000-0000-0000-000000000001"}},
		{WatchGone, "the API no longer returns it (last seen *RUNNING*)", "<@U42> stopped watching task `44444444-0000-0000-0000-000000000001`: the API no longer returns it (last seen *RUNNING*)",
			nil},
	} {
		v := watchView(c.phase)
		_, bs := Watch(v)
		if body := bs[0].(*slack.SectionBlock).Text.Text; !strings.Contains(body, c.title) {
			t.Errorf("phase %d: %q lacks %q", c.phase, body, c.title)
		}
		if got := WatchReply(v); got != c.reply {
			t.Errorf("phase %d: reply %q, want %q", c.phase, got, c.reply)
		}
		if got := buttons(bs); strings.Join(got, " ") != strings.Join(c.buttons, " ") {
			t.Errorf("phase %d: buttons %q, want %q", c.phase, got, c.buttons)
		}
	}
	v := watchView(WatchEnded)
	v.Mention = true
	if text, _ := Watch(v); !strings.HasPrefix(text, "<@U42> Task ") {
		t.Errorf("a watch of an ended task does not mention who asked: %q", text)
	}
}

// marshalMessage is the message as a golden file holds it.
func marshalMessage(t *testing.T, text string, bs []slack.Block) []byte {
	t.Helper()
	raw, err := json.Marshal(message{text, bs})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestStateLostGolden(t *testing.T) {
	golden(t)(StateLost(StateLostView{
		Dir:     "/var/lib/pooltasks",
		Why:     "state.json is unreadable (unexpected end of JSON input); state.prev.json is unreadable (invalid character '<' looking for beginning of value)",
		Kept:    []string{"/var/lib/pooltasks/state.json.corrupt-20261203T150405Z", "/var/lib/pooltasks/state.prev.json.corrupt-20261203T150405Z"},
		Digests: true, Alerts: true,
	}))
}
