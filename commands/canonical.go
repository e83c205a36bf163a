package commands

import (
	"strconv"
	"strings"
	"time"
)

// Canonical returns the command as text that Parse reads back to the same
// Command, whatever now it is given (times are written out in UTC), e.g.
//
//	failed pool=abc since=2026-11-26T13:00:00Z limit=20 page=2
//
// It starts with the verb and writes keys in a fixed order under their
// canonical names, leaving out defaults (limit=10, page=1, the status of
// failed). Values with spaces or quotes are quoted. Query.Offset is not
// written: Parse derives it from page and limit, so a caller may change Page
// alone to make the command of the next page.
func (c Command) Canonical() string {
	return string(c.appendCanonical(make([]byte, 0, 96)))
}

func (c Command) appendCanonical(b []byte) []byte {
	verb := c.Verb
	if verb == "" {
		verb = VerbList
	}
	b = append(b, verb...)
	q := &c.Query
	switch verb {
	case VerbShow, VerbWatch, VerbRetry, VerbStop:
		if c.TaskID != "" {
			b = append(b, ' ')
			b = appendValue(b, c.TaskID)
		}
	case VerbHelp:
		if c.Topic != "" {
			b = append(b, ' ')
			b = appendValue(b, c.Topic)
		}
	}
	str := func(k keyID, v string) {
		if v != "" {
			b = append(b, ' ')
			b = append(b, keys[k].name...)
			b = append(b, '=')
			b = appendValue(b, v)
		}
	}
	tm := func(k keyID, t time.Time) {
		if !t.IsZero() {
			b = append(b, ' ')
			b = append(b, keys[k].name...)
			b = append(b, '=')
			b = t.UTC().Truncate(time.Second).AppendFormat(b, time.RFC3339)
		}
	}
	str(keyTarget, c.Target)
	str(keyPool, q.PoolID)
	str(keyScript, q.ScriptID)
	str(keyName, q.ScriptName)
	if verb != VerbFailed {
		str(keyStatus, string(q.Status))
	}
	str(keyType, string(q.TaskType))
	tm(keySince, q.Start)
	tm(keyUntil, q.End)
	if !takesTaskID(verb) && len(q.TaskIDs) > 0 {
		b = append(b, " task="...)
		for i, id := range q.TaskIDs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, id...)
		}
	}
	if q.Limit != 0 && q.Limit != DefaultLimit {
		b = append(b, " limit="...)
		b = strconv.AppendInt(b, int64(q.Limit), 10)
	}
	if c.Page > 1 {
		b = append(b, " page="...)
		b = strconv.AppendInt(b, int64(c.Page), 10)
	}
	if c.For > 0 {
		b = append(b, " for="...)
		b = appendDuration(b, c.For)
	}
	str(keyReason, c.Reason)
	if c.Share {
		b = append(b, " share"...)
	}
	return b
}

// appendDuration writes d as parseRelative reads it, largest unit first:
// 1d12h, 2h, 90s.
func appendDuration(b []byte, d time.Duration) []byte {
	for _, u := range []struct {
		d    time.Duration
		name byte
	}{{24 * time.Hour, 'd'}, {time.Hour, 'h'}, {time.Minute, 'm'}, {time.Second, 's'}} {
		if n := d / u.d; n > 0 {
			b = strconv.AppendInt(b, int64(n), 10)
			b = append(b, u.name)
			d -= n * u.d
		}
	}
	return b
}

// Describe returns a short summary of what the command asks for, for the
// context line of an answer, e.g.
//
//	status FAILED · pool finance-win11 · since 2026-11-26 13:00 UTC
//
// It is plain text holding values as typed: escape it before using it in
// mrkdwn.
func (c Command) Describe() string {
	var parts []string
	q := &c.Query
	switch c.Verb {
	case VerbShow, VerbWatch, VerbRetry, VerbStop:
		if c.Target != "" {
			return "task " + c.TaskID + " · target " + c.Target
		}
		return "task " + c.TaskID
	case VerbHelp:
		if c.Topic != "" {
			return "help on " + c.Topic
		}
		return "help"
	case VerbDoctor:
		return "diagnostics"
	case VerbDigest:
		parts = append(parts, "failure digest")
	}
	if c.Target != "" {
		parts = append(parts, "target "+c.Target)
	}
	if q.Status != "" {
		status := "status " + string(q.Status)
		if shown := q.Status.Shown(); string(shown) != string(q.Status) {
			status += " (shown as " + string(shown) + ")"
		}
		parts = append(parts, status)
	}
	if q.TaskType != "" {
		parts = append(parts, "type "+string(q.TaskType))
	}
	if q.PoolID != "" {
		parts = append(parts, "pool "+q.PoolID)
	}
	if q.ScriptID != "" {
		parts = append(parts, "script "+q.ScriptID)
	}
	if q.ScriptName != "" {
		parts = append(parts, "script name "+q.ScriptName)
	}
	switch n := len(q.TaskIDs); {
	case n == 1:
		parts = append(parts, "task "+q.TaskIDs[0])
	case n > 1:
		parts = append(parts, strconv.Itoa(n)+" tasks")
	}
	if !q.Start.IsZero() {
		parts = append(parts, "since "+formatDescribe(q.Start))
	}
	if !q.End.IsZero() {
		parts = append(parts, "until "+formatDescribe(q.End))
	}
	if len(parts) == 0 {
		parts = append(parts, "all tasks")
	}
	if c.Page > 1 {
		parts = append(parts, "page "+strconv.Itoa(c.Page))
	}
	return strings.Join(parts, " · ")
}
