package workspace

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"2026-11-27T09:05:07Z", time.Date(2026, 11, 27, 9, 5, 7, 0, time.UTC)},
		{"2024-02-29T23:59:59Z", time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)},
		{"2026-11-27T10:05:07+01:00", time.Date(2026, 11, 27, 9, 5, 7, 0, time.UTC)},
		{"2026-11-27T09:05:07.250Z", time.Date(2026, 11, 27, 9, 5, 7, 250e6, time.UTC)},
		{"2026-11-27T09:05:07", time.Date(2026, 11, 27, 9, 5, 7, 0, time.UTC)},
		{"2026-11-27 09:05:07", time.Date(2026, 11, 27, 9, 5, 7, 0, time.UTC)},
		{"2025-02-29T00:00:00Z", time.Time{}}, // not a leap year
		{"2026-13-01T00:00:00Z", time.Time{}},
		{"2026-11-27T24:00:00Z", time.Time{}},
		{"2026-11-2xT09:05:07Z", time.Time{}},
		{"yesterday", time.Time{}},
	}
	for _, tt := range tests {
		s := tt.in
		if got := parseTime(&s); !got.Equal(tt.want) {
			t.Errorf("parseTime(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseWireTime(f *testing.F) {
	f.Add("2026-11-27T09:05:07Z")
	f.Add("2024-02-29T23:59:59Z")
	f.Fuzz(func(t *testing.T, s string) {
		// The fast path may refuse what time.Parse takes (a one-digit
		// hour, say): parseTime then falls back to time.Parse. What it
		// accepts must be what time.Parse reads.
		got, ok := parseWireTime(s)
		want, err := time.Parse(WireTime, s)
		if ok && (err != nil || !got.Equal(want)) {
			t.Errorf("parseWireTime(%q) = %v; time.Parse: %v, %v", s, got, want, err)
		}
		if err == nil && !want.IsZero() {
			if p := parseTime(&s); !p.Equal(want) {
				t.Errorf("parseTime(%q) = %v, want %v", s, p, want)
			}
		}
	})
}
