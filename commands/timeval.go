package commands

import (
	"strings"
	"time"
)

// Times outside [minTime, maxTime) are refused: a zero time.Time means "not
// given" in workspace.ListOptions, and the API's format has four-digit years.
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// maxAgo bounds relative times, so that no arithmetic overflows.
const maxAgo = 3660 * 24 * time.Hour

var units = []struct {
	names []string
	d     time.Duration
}{
	{[]string{"m", "min", "mins"}, time.Minute},
	{[]string{"h", "hr", "hrs", "hour", "hours"}, time.Hour},
	{[]string{"d", "day", "days"}, 24 * time.Hour},
	{[]string{"w", "wk", "week", "weeks"}, 7 * 24 * time.Hour},
}

// parseTime reads a time value relative to now (UTC, whole seconds). A
// calendar day (a date, today, yesterday) means its first second, or its
// last when endOfDay is set, which is how until reads it. The result is UTC
// and truncated to the second. msg explains a refusal.
func parseTime(v string, now time.Time, endOfDay bool) (t time.Time, msg string) {
	if d, ok, msg := parseRelative(v); ok || msg != "" {
		if msg != "" {
			return time.Time{}, msg
		}
		t = now.Add(-d)
		return checkRange(t)
	}
	day := func(t time.Time) (time.Time, string) {
		if endOfDay {
			t = t.Add(24*time.Hour - time.Second)
		}
		return checkRange(t)
	}
	switch {
	case equalFoldASCII(v, "now"):
		return checkRange(now)
	case equalFoldASCII(v, "today"):
		return day(now.Truncate(24 * time.Hour))
	case equalFoldASCII(v, "yesterday"):
		return day(now.Truncate(24 * time.Hour).Add(-24 * time.Hour))
	}
	if len(v) == len("2006-01-02") {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return time.Time{}, ""
		}
		return day(d)
	}
	if len(v) < len("2006-01-02T15:04") {
		return time.Time{}, ""
	}
	// Accept lower-case t and z, and a space between date and time.
	if sep := v[10]; sep == ' ' || sep == 't' || strings.IndexByte(v, 'z') >= 0 {
		if sep == ' ' || sep == 't' {
			sep = 'T'
		}
		v = v[:10] + string(sep) + strings.ToUpper(v[11:])
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02T15:04Z07:00"} {
		if p, err := time.Parse(layout, v); err == nil {
			return checkRange(p.UTC().Truncate(time.Second))
		}
	}
	return time.Time{}, ""
}

// parseRelative reads "30m", "2h", "7d", "1w" and their longer unit names.
// ok is false when v does not look like a relative time at all.
func parseRelative(v string) (d time.Duration, ok bool, msg string) {
	i := 0
	for i < len(v) && '0' <= v[i] && v[i] <= '9' {
		i++
	}
	if i == 0 || i == len(v) {
		return 0, false, ""
	}
	unit := v[i:]
	for _, u := range units {
		for _, name := range u.names {
			if !equalFoldASCII(unit, name) {
				continue
			}
			// Compare before multiplying: a million weeks overflows a
			// time.Duration (the fuzzer found that).
			n := 0
			for _, c := range v[:i] {
				n = n*10 + int(c-'0')
				if time.Duration(n) > maxAgo/u.d {
					return 0, false, "is too far back; relative times go back at most 3660 days"
				}
			}
			return time.Duration(n) * u.d, true, ""
		}
	}
	return 0, false, ""
}

func checkRange(t time.Time) (time.Time, string) {
	if t.Before(minTime) {
		return time.Time{}, "is before the year 2000"
	}
	if !t.Before(maxTime) {
		return time.Time{}, "is after the year 9999"
	}
	return t, ""
}

// formatDescribe is how Describe shows a time.
func formatDescribe(t time.Time) string {
	t = t.UTC()
	if t.Second() != 0 {
		return t.Format("2006-01-02 15:04:05 UTC")
	}
	return t.Format("2006-01-02 15:04 UTC")
}
