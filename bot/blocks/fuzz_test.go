package blocks

import (
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
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
		tasks := make([]pooltask.Task, n)
		for i := range tasks {
			tasks[i] = pooltask.Task{
				ID: a, PoolName: b, CommandContent: a + "\n" + b, CommandType: b,
				Status: pooltask.TaskStatus(b), Start: now.Add(-time.Hour),
				Scripts: []pooltask.Script{{ID: b, Name: a}},
			}
			if i%2 == 0 {
				tasks[i].Scripts = nil
			}
		}
		checkLimits(t, marshal(List(ListView{Title: a, Description: b, Tasks: tasks, Total: n, Command: a, Native: n%2 == 0, Now: now})))
		rec := pooltask.Record{ID: a, TaskID: b, DesktopName: a, ResultCode: b, Reason: a + b, Output: strings.Repeat(a+b, 1+n*10)}
		checkLimits(t, marshal(Task(TaskView{Task: pooltask.Task{ID: a, PoolName: b, CommandContent: a}, Failed: []pooltask.Record{rec}, RecordsErr: b})))
		checkLimits(t, marshal(Output(rec, nil)))
		checkLimits(t, marshal(Error(ErrorView{Title: a, Problems: []string{a, b}, Code: a, Message: b, RequestID: a, Hint: b, Example: a})))
		checkLimits(t, marshal(Help(a+"\n"+b)))
		checkLimits(t, marshal(Notice(a+b)))
	})
}
