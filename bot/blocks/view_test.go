package blocks

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/trunc"
	"github.com/pooltasks/pooltasks/view"
)

// buttons lists "action_id=value" of every button in bs, in order.
func buttons(bs []slack.Block) []string {
	var out []string
	add := func(e slack.BlockElement) {
		if b, ok := e.(*slack.ButtonBlockElement); ok {
			out = append(out, b.ActionID+"="+b.Value)
		}
	}
	for _, b := range bs {
		switch b := b.(type) {
		case *slack.SectionBlock:
			if b.Accessory != nil && b.Accessory.ButtonElement != nil {
				add(b.Accessory.ButtonElement)
			}
		case *slack.ActionBlock:
			for _, e := range b.Elements.ElementSet {
				add(e)
			}
		case *slack.DataTableBlock:
			for _, row := range b.Rows {
				for _, c := range row {
					if a, ok := c.(*slack.DataTableActionCell); ok {
						add(a.Element)
					}
				}
			}
		}
	}
	return out
}

func TestListButtonsOnlyWithCommands(t *testing.T) {
	task := sampleTasks()[:1]
	for _, tc := range []struct {
		name string
		v    ListView
		want []string
	}{
		{"all", ListView{Tasks: task, Command: "c", PrevCommand: "p", NextCommand: "n", FailedCommand: "f", ShareCommand: "s"},
			[]string{"details=show " + task[0].ID, "page_prev=p", "page_next=n", "failed_only=f", "refresh=c", "share=s"}},
		{"first page, failed only, in channel", ListView{Tasks: task, Command: "c", NextCommand: "n"},
			[]string{"details=show " + task[0].ID, "page_next=n", "refresh=c"}},
		{"no commands", ListView{Tasks: task}, []string{"details=show " + task[0].ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, bs := List(tc.v)
			if d := cmp.Diff(tc.want, buttons(bs)); d != "" {
				t.Errorf("buttons (-want +got):\n%s", d)
			}
		})
	}
}

func TestNativeListHasADetailsButtonPerRow(t *testing.T) {
	tasks := manyTasks(30)
	_, bs := List(ListView{Title: "T", Tasks: tasks, Total: 30, Native: true, Command: "c"})
	got := buttons(bs)
	if len(got) != 31 {
		t.Fatalf("%d buttons, want 30 details and refresh: %v", len(got), got)
	}
	for i, task := range tasks {
		if want := "details#" + itoa(i+1) + "=show " + task.ID; got[i] != want {
			t.Errorf("button %d = %q, want %q", i, got[i], want)
		}
	}
}

func TestEmptyListSuggestsAWiderWindow(t *testing.T) {
	text, bs := List(ListView{Title: "Failed tasks", Description: "status FAILED", Command: "failed"})
	all := allStrings(marshal(text, bs))
	for _, want := range []string{"No task matched", "since=7d", "no tasks"} {
		if !strings.Contains(all, want) {
			t.Errorf("empty list lacks %q:\n%s", want, all)
		}
	}
	_, bs = List(ListView{Title: "Tasks", Total: 57, Offset: 60, PrevCommand: "p"})
	if all := allStrings(marshal("", bs)); !strings.Contains(all, "past the end") || !strings.Contains(all, "none of 57") {
		t.Errorf("a page past the end does not say so:\n%s", all)
	}
}

func TestTaskShowsNOfMFailedDesktops(t *testing.T) {
	recs := sampleRecords()
	for _, tc := range []struct {
		name  string
		v     TaskView
		wants []string
		not   []string
	}{
		{"some", TaskView{Task: sampleTasks()[0], Failed: recs, FailedTotal: 37}, []string{"showing 2 of 37"}, nil},
		{"all", TaskView{Task: sampleTasks()[0], Failed: recs, FailedTotal: 2}, []string{"*Failed desktops* (2)"}, []string{"showing"}},
		{"error", TaskView{Task: sampleTasks()[0], RecordsErr: "timeout <x>"}, []string{"couldn't load the failed desktops", "timeout &lt;x&gt;", "install-agent.ps1"}, nil},
		{"none found", TaskView{Task: sampleTasks()[0]}, []string{"No failed desktop records"}, nil},
		{"many", TaskView{Task: sampleTasks()[0], Failed: repeatRecords(100), FailedTotal: 250}, []string{"showing 45 of 250"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, bs := Task(tc.v)
			checkLimits(t, marshal(text, bs))
			all := allStrings(marshal(text, bs))
			for _, w := range tc.wants {
				if !strings.Contains(all, w) {
					t.Errorf("lacks %q:\n%s", w, all)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(all, w) {
					t.Errorf("has %q", w)
				}
			}
			outputs := 0
			for _, b := range buttons(bs) {
				if strings.HasPrefix(b, ActionOutput+"=output ") {
					outputs++
				}
			}
			if want := min(len(tc.v.Failed), 45); outputs != want {
				t.Errorf("%d Output buttons, want %d", outputs, want)
			}
		})
	}
}

func repeatRecords(n int) []pooltask.Record {
	out := make([]pooltask.Record, n)
	for i := range out {
		out[i] = sampleRecords()[i%2]
		out[i].ID = "rec-" + itoa(i)
	}
	return out
}

func TestTaskCutsLongCommandsWithANote(t *testing.T) {
	task := sampleTasks()[1]
	task.CommandContent = "echo start\n" + strings.Repeat("x", 10_000) + "\necho end"
	text, bs := Task(TaskView{Task: task})
	checkLimits(t, marshal(text, bs))
	all := allStrings(marshal(text, bs))
	if !strings.Contains(all, "echo start") || strings.Contains(all, "echo end") {
		t.Error("a long command should keep its start")
	}
	if !strings.Contains(all, "characters are not shown") {
		t.Error("no note that the command was cut")
	}
}

func TestOutputKeepsTheEnd(t *testing.T) {
	rec := sampleRecords()[0]
	rec.Output = "first line\n" + strings.Repeat("progress ... ok\n", 7000) + "FATAL: disk full <!channel>"
	text, bs := Output(rec, nil)
	checkLimits(t, marshal(text, bs))
	all := allStrings(marshal(text, bs))
	if !strings.Contains(all, "FATAL: disk full &lt;!channel&gt;") {
		t.Error("the end of the output is missing")
	}
	if strings.Contains(all, "first line") {
		t.Error("the start of a long output should be cut")
	}
	cutNote := "first " + view.Count(len(rec.Output)-len([]rune(codeContent(t, bs)))) + " characters cut"
	if !strings.Contains(all, cutNote) {
		t.Errorf("no note %q in:\n%.300s", cutNote, all)
	}
}

// codeContent is the unescaped content of the first code block in bs.
func codeContent(t *testing.T, bs []slack.Block) string {
	t.Helper()
	for _, b := range bs {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil && strings.HasPrefix(s.Text.Text, "```") {
			c := strings.TrimSuffix(strings.TrimPrefix(s.Text.Text, "```"), "```")
			c = strings.ReplaceAll(c, "\u200b", "")
			return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(c)
		}
	}
	t.Fatal("no code block")
	return ""
}

func TestErrorNeverEchoesMentions(t *testing.T) {
	text, bs := Error(ErrorView{Title: "Workspace API error", Code: "WKS.0001", Message: "<!channel> bad", RequestID: "<@U1>", Problems: []string{"<!here>"}})
	raw := allStrings(marshal(text, bs))
	for _, bad := range []string{"<!channel>", "<@U1>", "<!here>"} {
		if strings.Contains(raw, bad) {
			t.Errorf("error answer has %q", bad)
		}
	}
	if !strings.Contains(raw, "WKS.0001") || !strings.Contains(raw, "&lt;@U1&gt;") {
		t.Errorf("code or request id missing:\n%s", raw)
	}
}

func TestWatchButtonOnlyWhileTheTaskRuns(t *testing.T) {
	task := sampleTasks()[0]
	for _, tc := range []struct {
		status  pooltask.TaskStatus
		noWatch bool
		want    bool
	}{
		{pooltask.StatusRunning, false, true},
		{pooltask.StatusInit, false, true},
		{pooltask.StatusFinish, false, false},
		{pooltask.StatusFailed, false, false},
		{"", false, false},
		{pooltask.StatusRunning, true, false},
	} {
		task.Status = tc.status
		_, bs := Task(TaskView{Task: task, ShareCommand: "s", NoWatch: tc.noWatch})
		want := []string{"refresh=show " + task.ID, "share=s"}
		if tc.want {
			want = []string{"refresh=show " + task.ID, "watch=watch " + task.ID, "share=s"}
		}
		if d := cmp.Diff(want, buttons(bs)); d != "" {
			t.Errorf("%q (no watch %v) buttons (-want +got):\n%s", tc.status, tc.noWatch, d)
		}
	}
}

func TestListShowsItsCommandToCopy(t *testing.T) {
	// As commands.Canonical writes it: < and > as Slack sends them.
	cmd := `failed pool="&lt;!channel&gt; & co" name=&amp;lt;x since=2026-11-26T13:00:00Z page=2`
	_, bs := List(ListView{Title: "Failed tasks", Tasks: sampleTasks()[:1], Total: 57, Offset: 10, Command: cmd})
	raw := allStrings(marshal("", bs[1:2])) // the context line; the Refresh button's value is not shown
	if want := "`/pooltasks failed pool=\"&lt;!channel&gt; &amp; co\" name=&amp;lt;x since=2026-11-26T13:00:00Z page=2`"; !strings.Contains(raw, want) {
		t.Errorf("no %s in:\n%s", want, raw)
	}
	if strings.Contains(raw, "<!channel>") {
		t.Error("the command line pings the channel")
	}
	_, bs = List(ListView{Title: "Tasks", Command: "list name=<!channel>"})
	if raw := allStrings(marshal("", bs[1:2])); strings.Contains(raw, "<!channel>") || !strings.Contains(raw, "&lt;!channel&gt;") {
		t.Errorf("a raw mention in the command is not escaped:\n%s", raw)
	}

	long := "list script=" + strings.Repeat("a`<", 2000)
	text, bs := List(ListView{Title: "Tasks", Command: long})
	checkLimits(t, marshal(text, bs))
	els := bs[1].(*slack.ContextBlock).ContextElements.Elements
	last := els[len(els)-1].(*slack.TextBlockObject).Text
	if !strings.HasPrefix(last, "`/pooltasks list script=") || !strings.HasSuffix(last, "…`") ||
		trunc.Len(last) > commandLineMax || strings.Count(last, "`") != 2 {
		t.Errorf("a long command is not cut in one code span: %.80s … (%d characters)", last, trunc.Len(last))
	}
}

// TestListCommandRoundTrips: what the context line shows, typed again (Slack
// sends &, < and > as entities), is the same command.
func TestListCommandRoundTrips(t *testing.T) {
	for _, typed := range []string{
		`failed pool="Finance <VDI> & co" since=2026-11-26T13:00:00Z page=2`,
		`list name=&amp;lt;x since=7d`,
		`list name="a \"b\"" limit=5`,
	} {
		c, err := commands.Parse(Escape(typed), now)
		if err != nil {
			t.Fatalf("%q: %v", typed, err)
		}
		_, bs := List(ListView{Title: "Tasks", Command: c.Canonical()})
		els := bs[1].(*slack.ContextBlock).ContextElements.Elements
		shown := els[len(els)-1].(*slack.TextBlockObject).Text
		seen := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(strings.Trim(shown, "`"))
		again, err := commands.Parse(Escape(strings.TrimPrefix(seen, "/pooltasks ")), now)
		if err != nil || again.Canonical() != c.Canonical() {
			t.Errorf("%q shown as %q parses to %q (%v), want %q", typed, shown, again.Canonical(), err, c.Canonical())
		}
	}
}
