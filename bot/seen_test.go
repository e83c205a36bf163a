package bot

import (
	"fmt"
	"testing"
	"time"
)

// TestSeenBounded: the redelivery memory answers a repeat as seen, forgets
// ids after its window, and holds at most maxSeen ids however many arrive
// within one window.
func TestSeenBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newSeen(10*time.Minute, func() time.Time { return now })
	if !s.first("env-1", "trigger:t1") {
		t.Fatal("a new envelope was taken for a repeat")
	}
	now = now.Add(9 * time.Minute)
	if s.first("env-2", "trigger:t1") {
		t.Error("a repeated trigger within the window was taken for new")
	}
	now = now.Add(25 * time.Minute)
	if !s.first("env-1") {
		t.Error("an id was remembered past twice the window")
	}
	for i := range 5 * maxSeen {
		if !s.first(fmt.Sprintf("env-x%d", i), fmt.Sprintf("trigger:x%d", i)) {
			t.Fatalf("new envelope %d was taken for a repeat", i)
		}
		if n := len(s.cur) + len(s.old); n > maxSeen {
			t.Fatalf("%d ids held after %d envelopes in one window, want at most %d", n, i+1, maxSeen)
		}
	}
	last := fmt.Sprintf("env-x%d", 5*maxSeen-1)
	if s.first(last) {
		t.Error("the latest envelope was forgotten")
	}
}
