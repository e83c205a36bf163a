package blocks

import (
	"encoding/json"
	"testing"
)

// BenchmarkList renders a list page and marshals it to the JSON Slack
// receives, as the bot does for every answer.
func BenchmarkList(b *testing.B) {
	for _, bc := range []struct {
		name   string
		n      int
		native bool
	}{
		{"10", 10, false},
		{"100", 100, false},
		{"100-native", 100, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v := ListView{
				Title: "Failed tasks", Description: "status FAILED, since 2026-11-26 09:30 UTC",
				Tasks: manyTasks(bc.n), Total: 1000, Command: "failed page=2", PrevCommand: "failed page=1",
				NextCommand: "failed page=3", ShareCommand: "failed page=2 share", Native: bc.native, Now: now,
			}
			b.ReportAllocs()
			for b.Loop() {
				text, bs := List(v)
				if _, err := json.Marshal(message{text, bs}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTask renders a details view with 45 failed desktops to JSON.
func BenchmarkTask(b *testing.B) {
	v := TaskView{Task: sampleTasks()[0], Failed: repeatRecords(45), FailedTotal: 100, ShareCommand: "show x share", Now: now}
	b.ReportAllocs()
	for b.Loop() {
		text, bs := Task(v)
		if _, err := json.Marshal(message{text, bs}); err != nil {
			b.Fatal(err)
		}
	}
}
