package commands

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Times outside [minTime, maxTime) are refused: a zero time.Time means "not
// given" in pooltask.ListOptions, and the API's format has four-digit years.
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
	{[]string{"s", "sec", "secs", "second", "seconds"}, time.Second},
	{[]string{"m", "min", "mins", "minute", "minutes"}, time.Minute},
	{[]string{"h", "hr", "hrs", "hour", "hours"}, time.Hour},
	{[]string{"d", "day", "days"}, 24 * time.Hour},
	{[]string{"w", "wk", "week", "weeks"}, 7 * 24 * time.Hour},
}

// unitsHelp lists the units of relative times, for messages.
const unitsHelp = "s, m, h, d or w (or seconds, minutes, hours, days, weeks), e.g. 90s, 30m, 1h30m, 7d"

// lookupWeekday finds a day of the week by its name or its first three
// letters, in any case.
func lookupWeekday(v string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if equalFoldASCII(v, name) || equalFoldASCII(v, name[:3]) {
			return d, true
		}
	}
	return 0, false
}

// ParseTime reads a time as since= does (until= when endOfDay is set),
// relative to now, for the flags that take a time: `digest --since`. Its
// error says what is accepted.
func ParseTime(v string, now time.Time, endOfDay bool) (time.Time, error) {
	t, msg := parseTime(strings.TrimSpace(v), now.UTC().Truncate(time.Second), endOfDay)
	if t.IsZero() {
		return t, fmt.Errorf("%q %s", v, cmp.Or(msg, "is not a time; use "+timeHelp))
	}
	return t, nil
}

// lookupUnit returns the length of a unit name in any case.
func lookupUnit(name string) (time.Duration, bool) {
	for _, u := range units {
		for _, n := range u.names {
			if equalFoldASCII(name, n) {
				return u.d, true
			}
		}
	}
	return 0, false
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
	today := now.Truncate(24 * time.Hour)
	switch {
	case equalFoldASCII(v, "now"):
		return checkRange(now)
	case equalFoldASCII(v, "today"):
		return day(today)
	case equalFoldASCII(v, "yesterday"), equalFoldASCII(v, "yday"):
		return day(today.Add(-24 * time.Hour))
	case equalFoldASCII(strings.Join(strings.Fields(v), " "), "last week"):
		return checkRange(now.Add(-7 * 24 * time.Hour))
	case isClock(v):
		// A time of day is today's, in UTC.
		for _, layout := range []string{"15:04", "15:04:05"} {
			if c, err := time.Parse(layout, v); err == nil {
				return checkRange(today.Add(c.Sub(c.Truncate(24 * time.Hour))))
			}
		}
		return time.Time{}, "is not a time of day; use 00:00 to 23:59, e.g. 09:00 (UTC)"
	}
	if wd, ok := lookupWeekday(v); ok {
		// The last such day: today if it is that day.
		back := (int(today.Weekday()) - int(wd) + 7) % 7
		return day(today.AddDate(0, 0, -back))
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

// parseRelative reads a time ago: a whole number and a unit (30m, 90s, 2h,
// 7d, 1w and the longer unit names), or several from the largest unit down
// (1h30m, 1d 12h), each number optionally followed by a space (2 hours), the
// whole optionally followed by " ago" (2h ago).
//
// ok is false when v does not look like a relative time at all: it does not
// start with a digit, or holds other characters than ASCII letters, digits,
// spaces and dots (so dates are left to the caller). A value that does look
// like one but is not valid (2h30, 1.5h, 3mo, 30m1h) gets a msg.
func parseRelative(v string) (d time.Duration, ok bool, msg string) {
	if len(v) == 0 || !isDigit(v[0]) {
		return 0, false, ""
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isDigit(c) && !isLetter(c) && c != ' ' && c != '.' {
			return 0, false, ""
		}
	}
	body := v
	if n := len(body); n > 4 && body[n-4] == ' ' && equalFoldASCII(body[n-3:], "ago") {
		body = strings.TrimRight(body[:n-4], " ")
	}
	prev := time.Duration(1<<63 - 1) // larger than any unit
	for i := 0; i < len(body); {
		for i < len(body) && body[i] == ' ' {
			i++
		}
		j := i
		for j < len(body) && isDigit(body[j]) {
			j++
		}
		if j == i {
			// A word where a number should be: not a time.
			return 0, false, ""
		}
		if j < len(body) && body[j] == '.' {
			m := j + 1
			for m < len(body) && isDigit(body[m]) {
				m++
			}
			if m > j+1 && m < len(body) && isLetter(body[m]) {
				return 0, false, "is not a time; use whole numbers, e.g. 1h30m rather than 1.5h; units are " + unitsHelp
			}
			return 0, false, ""
		}
		k := j
		for k < len(body) && body[k] == ' ' {
			k++
		}
		l := k
		for l < len(body) && isLetter(body[l]) {
			l++
		}
		if l == k {
			return 0, false, "is not a time: " + body[i:j] + " has no unit; use " + unitsHelp
		}
		ud, found := lookupUnit(body[k:l])
		if !found {
			return 0, false, "is not a time: " + strconv.Quote(body[k:l]) + " is not a unit; use " + unitsHelp + " (months and years are not accepted)"
		}
		if ud >= prev {
			return 0, false, "is not a time; give each unit once, the largest first, e.g. 1h30m or 1d12h"
		}
		prev = ud
		// Compare before multiplying: a million weeks overflows a
		// time.Duration (the fuzzer found that).
		n := time.Duration(0)
		for _, c := range body[i:j] {
			n = n*10 + time.Duration(c-'0')
			if n > (maxAgo-d)/ud {
				return 0, false, "is too far back; relative times go back at most 3660 days"
			}
		}
		d += n * ud
		i = l
	}
	return d, true, ""
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isRelative reports whether v is shaped like a relative time, valid or not.
func isRelative(v string) bool {
	_, ok, msg := parseRelative(v)
	return ok || msg != ""
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
