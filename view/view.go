// Package view says what pooltasks tells people about a task, before any
// format: what it ran, the words for its status, its pool and how long it
// took. The Slack renderer (bot/blocks) and the CLI (cmd/pooltasks) both
// render these values, so a task reads the same in Slack and in a
// terminal. It imports neither the Huawei SDK nor Slack.
package view

import (
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/trunc"
)

// Task is a task as pooltasks shows it.
type Task struct {
	pooltask.Task
	StatusWord string // the API's status, or "UNKNOWN"
	Pool       string // the pool's name, else its id, else "unknown pool"
	Work       Work
	Timing     Timing
}

// TaskOf is the view of t at now (now is for a running task's duration; the
// zero time leaves it unknown).
func TaskOf(t pooltask.Task, now time.Time) Task {
	return Task{Task: t, StatusWord: StatusWord(t.Status), Pool: PoolLabel(t), Work: WorkOf(t), Timing: TimingOf(t, now)}
}

// StatusWord is the API's word for a status, or "UNKNOWN" when it gave none.
func StatusWord(s pooltask.TaskStatus) string {
	if s == "" {
		return "UNKNOWN"
	}
	return string(s)
}

// StatusPhrase says where a task in status s is, for a title: "finished",
// "failed", "running", "waiting", or the API's word for a status it added.
func StatusPhrase(s pooltask.TaskStatus) string {
	switch s {
	case pooltask.StatusFinish:
		return "finished"
	case pooltask.StatusFailed:
		return "failed"
	case pooltask.StatusRunning:
		return "running"
	case pooltask.StatusInit:
		return "waiting"
	case "":
		return "(status unknown)"
	}
	return string(s)
}

// PoolLabel names a task's pool: its name, else its id, else "unknown pool",
// after its target as TARGET:pool when it names one (a bot of several
// targets has a pool of one name in each).
func PoolLabel(t pooltask.Task) string {
	label := "unknown pool"
	switch {
	case strings.TrimSpace(t.PoolName) != "":
		label = t.PoolName
	case t.PoolID != "":
		label = t.PoolID
	}
	if t.Target != "" {
		return t.Target + ":" + label
	}
	return label
}

// Work is what a task ran, as the API returned it. The API's task has no
// type: it returns scripts and command_content, and a task may have both.
type Work struct {
	Scripts     []pooltask.Script
	CommandType string // POWERSHELL, BAT, SHELL or "" (unknown)
	Command     string // command_content, whole
}

// WorkOf is what t ran.
func WorkOf(t pooltask.Task) Work {
	return Work{Scripts: t.Scripts, CommandType: t.CommandType, Command: t.CommandContent}
}

// Empty reports whether the task ran neither a script nor a command.
func (w Work) Empty() bool { return len(w.Scripts) == 0 && w.Command == "" }

// HasCommand reports whether the task has a command to show.
func (w Work) HasCommand() bool { return w.Command != "" }

// ScriptName is how a script is named: its name, or its id when it has none.
func ScriptName(s pooltask.Script) string {
	if strings.TrimSpace(s.Name) != "" {
		return s.Name
	}
	return s.ID
}

// Kind says what sort of work it is: "Scripts (2)", "Command (SHELL)",
// "Scripts (2) and command (SHELL)", or "—" for neither.
func (w Work) Kind() string {
	var parts []string
	if len(w.Scripts) > 0 {
		parts = append(parts, "Scripts ("+strconv.Itoa(len(w.Scripts))+")")
	}
	if w.HasCommand() {
		c := "Command"
		if len(parts) > 0 {
			c = "command"
		}
		if w.CommandType != "" {
			c += " (" + w.CommandType + ")"
		}
		parts = append(parts, c)
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, " and ")
}

// FirstLine returns the first non-blank line of the command and whether
// more follows it.
func (w Work) FirstLine() (string, bool) { return FirstLine(w.Command) }

// FirstLine returns the first non-blank line of s and whether more follows.
func FirstLine(s string) (string, bool) {
	s = strings.TrimLeft(s, " \t\r\n")
	i := strings.IndexAny(s, "\r\n")
	if i < 0 {
		return s, false
	}
	return strings.TrimRight(s[:i], " \t"), strings.TrimSpace(s[i:]) != ""
}

// CommandLine is the command on one line for a summary: its type and first
// line, "SHELL: df -h / …" (the ellipsis says more lines follow).
func (w Work) CommandLine() string {
	line, more := w.FirstLine()
	if w.CommandType != "" {
		line = w.CommandType + ": " + line
	}
	if more {
		line += " …"
	}
	return line
}

// Summary is what the task ran on one line of plain text, at most max
// long: the scripts' names, then the command's line; "" when it ran
// nothing. Control characters become spaces.
func (w Work) Summary(max int) string {
	var b strings.Builder
	for i, s := range w.Scripts {
		if b.Len() > 4*max { // enough to fill max: the rest is cut anyway
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(ScriptName(s))
	}
	if w.HasCommand() {
		if b.Len() > 0 {
			b.WriteString(" · ")
		}
		b.WriteString(trunc.Cut(w.CommandLine(), 4*max))
	}
	return trunc.Cut(Clean(b.String()), max)
}

// Timing is how long a task took, or has been running.
type Timing struct {
	Known    bool          // the task started (and, when running, now is known)
	Running  bool          // it has not ended: Duration is up to now
	Waiting  bool          // running, but its desktops have not started (INIT)
	Duration time.Duration // never negative
}

// TimingOf is t's timing at now.
func TimingOf(t pooltask.Task, now time.Time) Timing {
	switch {
	case t.Start.IsZero():
		return Timing{}
	case !t.End.IsZero():
		return Timing{Known: true, Duration: max(t.End.Sub(t.Start), 0)}
	case !now.IsZero() && !t.Status.Ended():
		return Timing{Known: true, Running: true, Waiting: t.Status == pooltask.StatusInit, Duration: max(now.Sub(t.Start), 0)}
	}
	return Timing{}
}

// String is "4m 12s", "running for 4m 12s", "waiting for 12s", or "—"
// when unknown.
func (t Timing) String() string {
	switch {
	case !t.Known:
		return "—"
	case t.Waiting:
		return "waiting for " + Duration(t.Duration)
	case t.Running:
		return "running for " + Duration(t.Duration)
	}
	return Duration(t.Duration)
}

// Duration renders d with its two most significant units: "45s", "4m 12s",
// "2h 05m", "3d 4h". Negative durations render as "0s".
func Duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return strconv.FormatInt(s, 10) + "s"
	case s < 3600:
		return strconv.FormatInt(s/60, 10) + "m " + strconv.FormatInt(s%60, 10) + "s"
	case s < 86400:
		return strconv.FormatInt(s/3600, 10) + "h " + pad2(s%3600/60) + "m"
	default:
		return strconv.FormatInt(s/86400, 10) + "d " + strconv.FormatInt(s%86400/3600, 10) + "h"
	}
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

// Range says which tasks of a query a page holds: "11–20 of 57", "no
// tasks", or past the end "none of 57". n is how many the page holds,
// offset where it starts.
func Range(offset, n, total int) string {
	switch {
	case n == 0 && total <= 0:
		return "no tasks"
	case n == 0:
		return "none of " + Count(total)
	}
	total = max(total, offset+n)
	return Count(offset+1) + "–" + Count(offset+n) + " of " + Count(total)
}

// Count renders n with thousands separators: 12,345.
func Count(n int) string {
	s := strconv.Itoa(n)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// Clean makes text from the API fit on one line of a table or a terminal:
// control characters (line breaks, tabs, escape sequences) become spaces.
func Clean(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
