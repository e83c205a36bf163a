package notify

import (
	"testing"
	"time"
)

func TestParseTimeOfDay(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "09:00": 9 * time.Hour, "23:59:30": 23*time.Hour + 59*time.Minute + 30*time.Second, "9h30m": 9*time.Hour + 30*time.Minute} {
		if got, err := ParseTimeOfDay(in); err != nil || got != want {
			t.Errorf("ParseTimeOfDay(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"24:00", "9", "nine", "-1h", "12:60"} {
		if _, err := ParseTimeOfDay(in); err == nil {
			t.Errorf("ParseTimeOfDay(%q) accepted", in)
		}
	}
}
