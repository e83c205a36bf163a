package blocks

import (
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/workspace"
)

// FuzzRender feeds arbitrary API text into every view and checks the
// limits and the escaping of the result.
func FuzzRender(f *testing.F) {
	for _, s := range hostile[:8] {
		f.Add(s, s, 3)
	}
	f.Add("x```", "&<>", 11)
	f.Fuzz(func(t *testing.T, a, b string, n int) {
		n = max(0, n%120)
		tasks := make([]workspace.Task, n)
		for i := range tasks {
			tasks[i] = workspace.Task{
				ID: a, PoolName: b, CommandContent: a + "\n" + b, CommandType: b,
				Status: workspace.TaskStatus(b), Start: now.Add(-time.Hour),
				Scripts: []workspace.Script{{ID: b, Name: a}},
			}
			if i%2 == 0 {
				tasks[i].Scripts = nil
			}
		}
		checkLimits(t, marshal(List(ListView{Title: a, Description: b, Tasks: tasks, Total: n, Command: a, Native: n%2 == 0, Now: now})))
		rec := workspace.Record{ID: a, TaskID: b, DesktopName: a, ResultCode: b, Reason: a + b, Output: strings.Repeat(a+b, 1+n*10)}
		checkLimits(t, marshal(Task(TaskView{Task: workspace.Task{ID: a, PoolName: b, CommandContent: a}, Failed: []workspace.Record{rec}, RecordsErr: b})))
		checkLimits(t, marshal(Output(rec)))
		checkLimits(t, marshal(Error(ErrorView{Title: a, Problems: []string{a, b}, Code: a, Message: b, RequestID: a, Hint: b, Example: a})))
		checkLimits(t, marshal(Help(a+"\n"+b)))
		checkLimits(t, marshal(Notice(a+b)))
	})
}
