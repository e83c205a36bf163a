package blocks

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/slack-go/slack"
)

// hostile are strings an API (or an attacker who named a script) could
// send: mentions, links, entities, code fences, formatting, huge text,
// characters outside the BMP.
var hostile = []string{
	"",
	"<!channel> <@U123>",
	"<!here|here> <!subteam^S1> <https://evil.example|innocent> <#C1>",
	"```\n<!channel>\n```",
	"a & b < c > d &amp; &lt;!channel&gt;",
	"`x` ``y`` ````z````",
	"*bold* _it_ ~strike~ `code`",
	"<!date^1^{date}|fake>",
	strings.Repeat("<!channel>", 500),
	strings.Repeat("&", 4000),
	strings.Repeat("`", 3001),
	strings.Repeat("🎉", 2000),
	strings.Repeat("x", 10000),
	strings.Repeat("line\n", 3000),
	"\r\n\t",
	"<",
	"name`<@U1>`",
}

func pick(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		// Glue a few together, in random order.
		var b strings.Builder
		for range 1 + r.IntN(3) {
			b.WriteString(hostile[r.IntN(len(hostile))])
		}
		return b.String()
	}
	return hostile[r.IntN(len(hostile))]
}

func hostileTask(r *rand.Rand) pooltask.Task {
	statuses := []pooltask.TaskStatus{pooltask.StatusFinish, pooltask.StatusFailed, pooltask.StatusRunning, pooltask.StatusInit, "", pooltask.TaskStatus(pick(r))}
	t := pooltask.Task{
		ID:          pick(r),
		PoolID:      pick(r),
		PoolName:    pick(r),
		CommandType: pick(r),
		Status:      statuses[r.IntN(len(statuses))],
		SuccessNum:  r.IntN(100000),
		FailedNum:   r.IntN(1000),
		SkipNum:     r.IntN(10),
	}
	if r.IntN(4) == 0 {
		t.ID = "7f3c2a1e-5b4d-4c8e-9a01-2b3c4d5e6f70"
	}
	if r.IntN(2) == 0 {
		for range r.IntN(30) {
			t.Scripts = append(t.Scripts, pooltask.Script{ID: pick(r), Name: pick(r)})
		}
	} else {
		t.CommandContent = pick(r) + pick(r)
	}
	if r.IntN(5) > 0 {
		t.Start = now.Add(-time.Duration(r.IntN(100000)) * time.Second)
		if r.IntN(2) == 0 {
			t.End = t.Start.Add(time.Duration(r.IntN(100000)) * time.Second)
		}
	}
	return t
}

func hostileRecord(r *rand.Rand) pooltask.Record {
	rec := pooltask.Record{
		ID: pick(r), TaskID: pick(r), ScriptID: pick(r), ScriptName: pick(r),
		DesktopID: pick(r), DesktopName: pick(r), Status: pick(r), ResultCode: pick(r),
		Reason: pick(r), Output: pick(r),
	}
	if r.IntN(3) == 0 {
		rec.Output = strings.Repeat("<!channel> & ``` output\n", 100_000/24)
	}
	return rec
}

// marshal is the message as Slack would receive it; slack-go's blocks
// always marshal, so an error here is a bug in a test.
func marshal(text string, bs []slack.Block) []byte {
	raw, err := json.Marshal(message{text, bs})
	if err != nil {
		panic(err)
	}
	return raw
}

func TestLimitsHoldForHostileInput(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rounds := 120
	if testing.Short() {
		rounds = 20
	}
	for i := range rounds {
		n := []int{0, 1, 10, 11, 46, 47, 60, 100, 130}[i%9]
		tasks := make([]pooltask.Task, n)
		for j := range tasks {
			tasks[j] = hostileTask(r)
		}
		lv := ListView{
			Title: pick(r), Description: pick(r), Tasks: tasks, Total: r.IntN(1000), Offset: r.IntN(100),
			Command: pick(r), PrevCommand: pick(r), NextCommand: pick(r), FailedCommand: pick(r), ShareCommand: pick(r),
			Native: i%2 == 0, Now: now,
		}
		checkLimits(t, marshal(List(lv)))

		var recs []pooltask.Record
		for range []int{0, 3, 44, 45, 100}[i%5] {
			recs = append(recs, hostileRecord(r))
		}
		tv := TaskView{Task: hostileTask(r), Failed: recs, FailedTotal: r.IntN(200), ShareCommand: pick(r), Now: now, Actions: pooltask.Actions}
		if i%7 == 0 {
			tv.RecordsErr = pick(r) + "x"
		}
		checkLimits(t, marshal(Task(tv)))
		checkLimits(t, marshal(Output(hostileRecord(r), &tv.Task)))

		var problems []string
		for range r.IntN(40) {
			problems = append(problems, pick(r))
		}
		checkLimits(t, marshal(Error(ErrorView{
			Title: pick(r), Problems: problems, Code: pick(r), Message: pick(r),
			RequestID: pick(r), Hint: pick(r), Example: pick(r),
		})))
		checkLimits(t, marshal(Help(pick(r)+pick(r))))
		checkLimits(t, marshal(Notice(pick(r)+"x")))
		if t.Failed() {
			t.Fatalf("round %d: limits broken", i)
		}
	}
}

// TestHostileNamesAreShownEscaped: the text is still there for the
// reader, as entities, not dropped.
func TestHostileNamesAreShownEscaped(t *testing.T) {
	task := sampleTasks()[0]
	task.PoolName = "<!channel> & co"
	task.Scripts = []pooltask.Script{{ID: "s1", Name: "<@U123>"}}
	_, bs := List(ListView{Title: "Tasks", Tasks: []pooltask.Task{task}, Total: 1, Now: now})
	raw := allStrings(marshal("", bs))
	for _, want := range []string{"&lt;!channel&gt; &amp; co", "`&lt;@U123&gt;`"} {
		if !strings.Contains(raw, want) {
			t.Errorf("list JSON lacks %q", want)
		}
	}
	for _, bad := range []string{"<!channel>", "<@U123>"} {
		if strings.Contains(raw, bad) {
			t.Errorf("list JSON has raw %q", bad)
		}
	}
}

func TestLimitsOfBigLists(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		native bool
		want   slack.MessageBlockType // the block holding the tasks
	}{
		{"classic 10", 10, false, slack.MBTSection},
		{"classic 100", 100, false, slack.MBTSection},
		{"native 10 stays classic", 10, true, slack.MBTSection},
		{"native 11", 11, true, slack.MBTDataTable},
		{"native 100", 100, true, slack.MBTDataTable},
		{"native 150", 150, true, slack.MBTDataTable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tasks := manyTasks(tc.n)
			for i := range tasks {
				tasks[i].PoolName = strings.Repeat("Pool name that goes on ", 20)
				tasks[i].CommandContent = strings.Repeat("Write-Host 'a very long command' ", 300)
				tasks[i].Scripts = nil
			}
			text, bs := List(ListView{Title: "Tasks", Tasks: tasks, Total: tc.n, Command: "list", Native: tc.native, Now: now})
			checkLimits(t, marshal(text, bs))
			if got := bs[2].BlockType(); got != tc.want {
				t.Errorf("block 2 is %s, want %s", got, tc.want)
			}
			if Classic(bs) != (tc.want != slack.MBTDataTable) {
				t.Errorf("Classic = %v", Classic(bs))
			}
			if tb, ok := bs[2].(*slack.DataTableBlock); ok {
				if got, want := len(tb.Rows)-1, min(tc.n, 100); got != want {
					t.Errorf("table has %d rows, want %d", got, want)
				}
			}
			shown := 0
			for _, b := range bs {
				if s, ok := b.(*slack.SectionBlock); ok && s.Accessory != nil {
					shown++
				}
			}
			want := tc.n
			if tc.n > 47 {
				want = 46 // header, context, 46 tasks, a note, the actions row
			}
			if tc.want == slack.MBTSection && shown != want {
				t.Errorf("%d task sections, want %d", shown, want)
			}
			last := bs[len(bs)-1]
			if last.BlockType() != slack.MBTAction {
				t.Errorf("last block is %s, want the actions row", last.BlockType())
			}
			if tc.n > 100 || (tc.want == slack.MBTSection && tc.n > 47) {
				note := allStrings(marshal("", bs[len(bs)-2:len(bs)-1]))
				if !strings.Contains(note, "more tasks on this page are not shown") {
					t.Errorf("no note about the tasks left out: %s", note)
				}
			}
		})
	}
}

// allStrings joins every string in a JSON document, decoded (the encoder
// writes < as \u003c).
func allStrings(raw []byte) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		panic(err)
	}
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			b.WriteString(x)
			b.WriteByte('\n')
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}
