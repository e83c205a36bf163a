package blocks

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

var now = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

// message is what a golden file holds: the fallback text and the blocks.
type message struct {
	Text   string        `json:"text"`
	Blocks []slack.Block `json:"blocks"`
}

// golden compares the message with testdata/<TestName>.golden.json as
// parsed JSON, or rewrites the file with -update.
func golden(t *testing.T) func(text string, bs []slack.Block) {
	return func(text string, bs []slack.Block) { compareGolden(t, text, bs) }
}

func compareGolden(t *testing.T, text string, bs []slack.Block) {
	t.Helper()
	got, err := json.MarshalIndent(message{text, bs}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkLimits(t, got)
	path := filepath.Join("testdata", t.Name()+".golden.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot/blocks -update)", err)
	}
	var want, have any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := json.Unmarshal(got, &have); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, have); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, d)
	}
}

func sampleTasks() []pooltask.Task {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 27, h, m, 0, 0, time.UTC) }
	return []pooltask.Task{
		{
			ID: "7f3c2a1e-5b4d-4c8e-9a01-2b3c4d5e6f70", PoolID: "pool-0a1b2c3d", PoolName: "Finance VDI",
			Scripts: []pooltask.Script{{ID: "scr-001", Name: "install-agent.ps1"}, {ID: "scr-002", Name: "rotate-cert.ps1"}},
			Start:   at(8, 0), End: at(8, 4).Add(12 * time.Second), Status: pooltask.StatusFailed,
			SuccessNum: 12, FailedNum: 3, SkipNum: 0,
		},
		{
			ID: "1a2b3c4d-0000-4000-8000-000000000002", PoolID: "pool-9f8e7d6c", PoolName: "R&D <Linux>",
			CommandContent: "df -h /\nrm -rf /tmp/cache/*\n", CommandType: "SHELL",
			Start: at(7, 0), End: at(9, 5), Status: pooltask.StatusFinish, SuccessNum: 40,
		},
		{
			ID: "5e6f7a8b-1111-4111-8111-000000000003", PoolID: "pool-0a1b2c3d", PoolName: "Finance VDI",
			CommandContent: "Get-Service | Where-Object {$_.Status -eq 'Stopped'}", CommandType: "POWERSHELL",
			Start: at(9, 25), Status: pooltask.StatusRunning, SuccessNum: 5, FailedNum: 1, SkipNum: 2,
		},
		{
			ID: "9c8d7e6f-2222-4222-8222-000000000004", PoolID: "pool-77aa", PoolName: "",
			Scripts: []pooltask.Script{{ID: "scr-003", Name: "clean_disk.bat"}},
			Status:  pooltask.StatusInit,
		},
	}
}

func TestListGolden(t *testing.T) {
	golden(t)(List(ListView{
		Title:         "Tasks",
		Description:   "pool Finance VDI, since 2026-11-26 09:30 UTC",
		Tasks:         sampleTasks(),
		Total:         57,
		Offset:        10,
		Command:       "list since=2026-11-26T09:30:00Z page=2",
		PrevCommand:   "list since=2026-11-26T09:30:00Z page=1",
		NextCommand:   "list since=2026-11-26T09:30:00Z page=3",
		FailedCommand: "failed since=2026-11-26T09:30:00Z",
		ShareCommand:  "list since=2026-11-26T09:30:00Z page=2 share",
		Now:           now,
	}))
}

func TestEmptyListGolden(t *testing.T) {
	golden(t)(List(ListView{
		Title:        "Failed tasks",
		Description:  "status FAILED, since 2026-11-27 07:30 UTC",
		Command:      "failed since=2026-11-27T07:30:00Z",
		ShareCommand: "failed since=2026-11-27T07:30:00Z share",
		Now:          now,
	}))
}

func manyTasks(n int) []pooltask.Task {
	base := sampleTasks()
	out := make([]pooltask.Task, n)
	for i := range out {
		t := base[i%len(base)]
		t.ID = t.ID[:len(t.ID)-3] + padInt(i)
		out[i] = t
	}
	return out
}

func padInt(i int) string {
	s := "000" + strconv.Itoa(i)
	return s[len(s)-3:]
}

func TestNativeListGolden(t *testing.T) {
	golden(t)(List(ListView{
		Title:       "Tasks",
		Description: "since 2026-11-26 09:30 UTC",
		Tasks:       manyTasks(12),
		Total:       12,
		Command:     "list since=2026-11-26T09:30:00Z limit=50",
		Native:      true,
		Now:         now,
	}))
}

func sampleRecords() []pooltask.Record {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 27, h, m, 0, 0, time.UTC) }
	return []pooltask.Record{
		{ID: "rec-0001", TaskID: "7f3c2a1e-5b4d-4c8e-9a01-2b3c4d5e6f70", ScriptID: "scr-001", ScriptName: "install-agent.ps1",
			DesktopID: "desk-01", DesktopName: "FIN-DESK-001", Status: "FAILED", ResultCode: "1603",
			Reason: "MSI install failed: another installation is in progress", Start: at(8, 0), End: at(8, 2)},
		{ID: "rec-0002", TaskID: "7f3c2a1e-5b4d-4c8e-9a01-2b3c4d5e6f70", ScriptID: "scr-002", ScriptName: "rotate-cert.ps1",
			DesktopID: "desk-02", DesktopName: "FIN-DESK-<002>", Status: "FAILED", ResultCode: "-1",
			Reason: "timeout after 300 s", Start: at(8, 0), End: at(8, 5)},
	}
}

func TestTaskGolden(t *testing.T) {
	golden(t)(Task(TaskView{
		Task:         sampleTasks()[0],
		Failed:       sampleRecords(),
		FailedTotal:  3,
		ShareCommand: "show 7f3c2a1e-5b4d-4c8e-9a01-2b3c4d5e6f70 share",
		Now:          now,
	}))
}

func TestTaskCommandGolden(t *testing.T) {
	golden(t)(Task(TaskView{Task: sampleTasks()[2], RecordsErr: "workspace api: 503 WKS.0500: service busy", Now: now}))
}

// The API's task has no type: a task may have scripts and a command, and
// the details show both, the command cut with a note when it is long.
func TestTaskScriptsAndCommandGolden(t *testing.T) {
	task := sampleTasks()[0]
	task.CommandType = "POWERSHELL"
	task.CommandContent = "Set-ExecutionPolicy Bypass -Scope Process\n" +
		strings.Repeat("Write-Output 'checking <C:\\ProgramData> & logs'\n", 80)
	text, bs := Task(TaskView{Task: task, Now: now})
	compareGolden(t, text, bs)
	content := bs[2].(*slack.SectionBlock).Text.Text
	for _, want := range []string{"*Scripts*", "install-agent.ps1", "`scr-002`", "*Command* (POWERSHELL)", "```Set-ExecutionPolicy Bypass", "characters are not shown_"} {
		if !strings.Contains(content, want) {
			t.Errorf("details lack %q:\n%s", want, content)
		}
	}
}

func TestOutputGolden(t *testing.T) {
	rec := sampleRecords()[0]
	rec.Output = "Installing agent 4.2.1...\r\nDownloading package & verifying <sha256>\r\nError 1618: Another installation is already in progress.\r\nexit code 1603"
	golden(t)(Output(rec, nil))
}

func TestErrorAPIGolden(t *testing.T) {
	golden(t)(Error(ErrorView{
		Title:     "Workspace API error",
		Code:      "WKS.0001",
		Message:   "The desktop pool <pool-x> does not exist & cannot be queried.",
		RequestID: "3f1e0c9a7b6d5e4f",
		Hint:      "Check the pool id, or use pool=NAME to look it up by name.",
	}))
}

func TestErrorInputGolden(t *testing.T) {
	golden(t)(Error(ErrorView{
		Title:    "I couldn't read that command",
		Problems: []string{`unknown key "stauts": did you mean status?`, `limit=500: limit must be between 1 and 100`},
		Example:  "failed status=FAILED limit=50",
	}))
}

func TestHelpGolden(t *testing.T) {
	golden(t)(Help("/pooltasks [VERB] [key=value ...] [share]\n  list      tasks matching the filters\n  failed    list with status=FAILED\n\nexamples:\n  /pooltasks failed pool=\"Finance VDI\" since=2h"))
}

func TestNoticeGolden(t *testing.T) {
	golden(t)(Notice("You're going fast: try again in 12 s."))
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestHelpOfTheCommandLanguage(t *testing.T) {
	help := commands.Help()
	text, bs := Help(help)
	checkLimits(t, marshal(text, bs))
	var shown strings.Builder
	for _, b := range bs[1:] {
		s := b.(*slack.SectionBlock).Text.Text
		shown.WriteString(strings.ReplaceAll(strings.Trim(s, "`"), "\u200b", ""))
		shown.WriteString("\n")
	}
	for _, line := range strings.Split(help, "\n") {
		if !strings.Contains(shown.String(), line) {
			t.Errorf("help line %q is missing", line)
		}
	}
	long := strings.Repeat(help+"\n", 5)
	text, bs = Help(long)
	checkLimits(t, marshal(text, bs))
	if len(bs) < 3 {
		t.Errorf("a %d-character help fits in %d blocks?", len(long), len(bs))
	}
}

func TestDoctorGolden(t *testing.T) {
	golden(t)(Doctor("slack      ok    auth.test as @pooltasks in T123\nworkspace  FAIL  403 WKS.0001: <no permission> & more\n  hint: grant workspace:desktopPools:list"))
}

// A long report keeps its start and says how much is left out.
func TestDoctorLong(t *testing.T) {
	_, bs := Doctor(strings.Repeat("check ok\n", 1000))
	raw, _ := json.Marshal(message{"pooltasks doctor", bs})
	checkLimits(t, raw)
	if len(bs) != 3 || !strings.Contains(bs[2].(*slack.ContextBlock).ContextElements.Elements[0].(*slack.TextBlockObject).Text, "characters are not shown") {
		t.Errorf("no note on the cut: %v", bs)
	}
}

// TestWaitingListGolden: a list filtered with the filter's word WAITING
// shows tasks whose status is INIT; its context line names both, as the
// terminal's line under the table does (both come from Describe).
func TestWaitingListGolden(t *testing.T) {
	cmd, err := commands.Parse("list status=waiting since=2026-11-27", now)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmd.Describe(); !strings.Contains(d, "status WAITING (shown as INIT)") {
		t.Errorf("Describe() = %q", d)
	}
	var waiting []pooltask.Task
	for _, tk := range sampleTasks() {
		if tk.Status == pooltask.StatusInit {
			waiting = append(waiting, tk)
		}
	}
	golden(t)(List(ListView{
		Title:       "Tasks",
		Description: cmd.Describe(),
		Tasks:       waiting,
		Total:       len(waiting),
		Command:     cmd.Canonical(),
		Now:         now,
	}))
}

// TestTargetsListGolden: a list over two targets names them in its
// context; each row names its task's target before the pool, and its
// Details button carries the target.
func TestTargetsListGolden(t *testing.T) {
	tasks := sampleTasks()[:3]
	for i := range tasks {
		tasks[i].Target = []string{"eu", "ap", "eu"}[i]
	}
	golden(t)(List(ListView{
		Title:        "Failed tasks",
		Description:  "status FAILED · since 2026-11-26 09:30 UTC",
		Tasks:        tasks,
		Total:        23,
		Command:      "failed since=2026-11-26T09:30:00Z",
		NextCommand:  "failed since=2026-11-26T09:30:00Z page=2",
		ShareCommand: "failed since=2026-11-26T09:30:00Z share",
		Now:          now,
		Targets:      []string{"eu", "ap"},
	}))
}

// TestTargetsTaskGolden: a task of one of several targets names it in the
// context line under its header and with its pool; Refresh, Watch and
// Output carry the target.
func TestTargetsTaskGolden(t *testing.T) {
	task := sampleTasks()[0]
	task.Target, task.Status, task.End = "eu", pooltask.StatusRunning, time.Time{}
	golden(t)(Task(TaskView{
		Task:         task,
		Failed:       sampleRecords(),
		FailedTotal:  3,
		ShareCommand: "show 7f3c2a1e-5b4d-4c8e-9a01-2b3c4d5e6f70 target=eu share",
		Now:          now,
	}))
}

// TestTargetsOutputGolden: an output of one of several targets names it in
// the context line under its header; Task details carries the target.
func TestTargetsOutputGolden(t *testing.T) {
	rec := sampleRecords()[0]
	rec.Target = "eu"
	golden(t)(Output(rec, nil))
}
