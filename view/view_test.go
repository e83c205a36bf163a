package view

import (
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
)

func TestWork(t *testing.T) {
	scripts := []pooltask.Script{{ID: "s1", Name: "install.ps1"}, {ID: "s2"}}
	for _, c := range []struct {
		name          string
		task          pooltask.Task
		kind, summary string
	}{
		{"scripts", pooltask.Task{Scripts: scripts}, "Scripts (2)", "install.ps1, s2"},
		{"command", pooltask.Task{CommandType: "SHELL", CommandContent: "\n  df -h /\nrm -rf /tmp/x\n"}, "Command (SHELL)", "SHELL: df -h / …"},
		{"untyped command", pooltask.Task{CommandContent: "echo\thi"}, "Command", "echo hi"},
		// The API returns both; neither hides the other.
		{"both", pooltask.Task{Scripts: scripts[:1], CommandType: "BAT", CommandContent: "dir"}, "Scripts (1) and command (BAT)", "install.ps1 · BAT: dir"},
		{"nothing", pooltask.Task{}, "—", ""},
	} {
		w := WorkOf(c.task)
		if got := w.Kind(); got != c.kind {
			t.Errorf("%s: Kind() = %q, want %q", c.name, got, c.kind)
		}
		if got := w.Summary(80); got != c.summary {
			t.Errorf("%s: Summary(80) = %q, want %q", c.name, got, c.summary)
		}
		if w.Empty() != (c.name == "nothing") {
			t.Errorf("%s: Empty() = %v", c.name, w.Empty())
		}
	}
	long := WorkOf(pooltask.Task{Scripts: []pooltask.Script{{Name: "a-very-long-script-name.ps1"}, {Name: "another.ps1"}}})
	if got := long.Summary(20); got != "a-very-long-script-…" {
		t.Errorf("Summary(20) = %q", got)
	}
}

func TestTiming(t *testing.T) {
	start := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	now := start.Add(5 * time.Minute)
	for _, c := range []struct {
		task pooltask.Task
		now  time.Time
		want string
	}{
		{pooltask.Task{Status: pooltask.StatusInit}, now, "—"},
		{pooltask.Task{Start: start, End: start.Add(4*time.Minute + 12*time.Second), Status: pooltask.StatusFailed}, now, "4m 12s"},
		{pooltask.Task{Start: start, Status: pooltask.StatusRunning}, now, "running for 5m 0s"},
		{pooltask.Task{Start: start, Status: pooltask.StatusRunning}, time.Time{}, "—"},
		{pooltask.Task{Start: start, Status: pooltask.StatusInit}, now, "waiting for 5m 0s"},
		{pooltask.Task{Start: start, End: start.Add(-time.Second), Status: pooltask.StatusFinish}, now, "0s"},
	} {
		if got := TimingOf(c.task, c.now).String(); got != c.want {
			t.Errorf("TimingOf(%+v) = %q, want %q", c.task, got, c.want)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 45 * time.Second: "45s", 252 * time.Second: "4m 12s",
		2*time.Hour + 5*time.Minute: "2h 05m", 76 * time.Hour: "3d 4h",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestWords(t *testing.T) {
	if StatusWord("") != "UNKNOWN" || StatusWord(pooltask.StatusFailed) != "FAILED" {
		t.Error("StatusWord")
	}
	if StatusPhrase(pooltask.StatusInit) != "waiting" || StatusPhrase("PAUSED") != "PAUSED" {
		t.Error("StatusPhrase")
	}
	for task, want := range map[*pooltask.Task]string{
		{PoolName: "Finance", PoolID: "p1"}: "Finance", {PoolID: "p1"}: "p1", {}: "unknown pool",
	} {
		if got := PoolLabel(*task); got != want {
			t.Errorf("PoolLabel(%+v) = %q, want %q", *task, got, want)
		}
	}
	if got := Clean("a\tb\x1b[31m\r\n"); got != "a b [31m  " {
		t.Errorf("Clean = %q", got)
	}
}

func TestRange(t *testing.T) {
	for _, c := range []struct {
		offset, n, total int
		want             string
	}{
		{0, 0, 0, "no tasks"},
		{20, 0, 57, "none of 57"},
		{10, 10, 57, "11–20 of 57"},
		{0, 10, 0, "1–10 of 10"}, // a total the API did not give
		{12340, 10, 123456, "12,341–12,350 of 123,456"},
	} {
		if got := Range(c.offset, c.n, c.total); got != c.want {
			t.Errorf("Range(%d, %d, %d) = %q, want %q", c.offset, c.n, c.total, got, c.want)
		}
	}
}
