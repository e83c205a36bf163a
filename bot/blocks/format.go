package blocks

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/trunc"
	"github.com/pooltasks/pooltasks/view"
)

// Slack's limits, as documented for messages (NOTES-SLACK.md).
const (
	maxBlocks       = 50
	maxText         = 3000
	maxHeader       = 150
	maxButtonText   = 75
	maxButtonValue  = 2000
	maxFields       = 10
	maxField        = 2000
	maxContextElems = 10
	maxTableRows    = 100
	maxTableChars   = 10000
)

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape makes s safe inside mrkdwn text: it replaces exactly &, < and > by
// &amp;, &lt; and &gt;, so that no mention, link or date token survives.
// Formatting characters (*, _, ~, `) have no escape in mrkdwn and are kept.
func Escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return escaper.Replace(s)
}

// Date renders t as a Slack date token that each reader sees in their own
// time zone, with a UTC fallback for clients that cannot render it. The zero
// time renders as "—".
func Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	u := t.UTC()
	return "<!date^" + strconv.FormatInt(u.Unix(), 10) + "^{date_short_pretty} {time}|" + u.Format("2006-01-02 15:04") + " UTC>"
}

// clock renders t as a date token showing only the time of day.
func clock(t time.Time) string {
	u := t.UTC()
	return "<!date^" + strconv.FormatInt(u.Unix(), 10) + "^{time}|" + u.Format("15:04") + " UTC>"
}

// StatusEmoji is the emoji shortcode shown next to a task status:
// FINISH :white_check_mark:, FAILED :x:, RUNNING :hourglass_flowing_sand:,
// INIT :clock3:, anything else :grey_question:.
func StatusEmoji(s pooltask.TaskStatus) string {
	switch s {
	case pooltask.StatusFinish:
		return ":white_check_mark:"
	case pooltask.StatusFailed:
		return ":x:"
	case pooltask.StatusRunning:
		return ":hourglass_flowing_sand:"
	case pooltask.StatusInit:
		return ":clock3:"
	default:
		return ":grey_question:"
	}
}

// statusIcon is the Unicode form of StatusEmoji, for raw_text table cells
// where shortcodes are not rendered.
func statusIcon(s pooltask.TaskStatus) string {
	switch s {
	case pooltask.StatusFinish:
		return "✅"
	case pooltask.StatusFailed:
		return "❌"
	case pooltask.StatusRunning:
		return "⏳"
	case pooltask.StatusInit:
		return "🕒"
	default:
		return "❔"
	}
}

// esc escapes s for mrkdwn and cuts the result to max characters without
// splitting an entity; a cut result ends with "…". Runs of backticks get a
// zero-width space between them, so that untrusted text cannot open or
// close a code block around what follows it.
func esc(s string, max int) string {
	if len(s) <= max && !strings.Contains(s, "``") {
		if e := Escape(s); len(e) <= max || trunc.Len(e) <= max {
			return e
		}
	}
	if max <= 0 {
		return ""
	}
	var b strings.Builder
	n := 0
	prev := rune(0)
	for i, r := range s {
		w := escLen(r)
		if r == '`' && prev == '`' {
			w++
		}
		if n+w > max-1 && (n+w > max || i+utf8.RuneLen(r) < len(s)) {
			b.WriteString("…")
			return b.String()
		}
		n += w
		if r == '`' && prev == '`' {
			b.WriteString("\u200b")
		}
		writeEsc(&b, r)
		prev = r
	}
	return b.String()
}

func escLen(r rune) int {
	switch r {
	case '&':
		return 5
	case '<', '>':
		return 4
	}
	return trunc.RuneLen(r)
}

func writeEsc(b *strings.Builder, r rune) {
	switch r {
	case '&':
		b.WriteString("&amp;")
	case '<':
		b.WriteString("&lt;")
	case '>':
		b.WriteString("&gt;")
	default:
		b.WriteRune(r)
	}
}

// flat is s cut and folded onto one line; cutting it to max (which
// callers do) still shows "…" when s was longer.
func flat(s string, max int) string {
	return view.Clean(trunc.Cut(s, max+1))
}

// code renders untrusted s as an inline code span of at most max
// characters: escaped, on one line, with backticks replaced so that s
// cannot close the span. Empty s renders as "—".
func code(s string, max int) string {
	if s == "" {
		return "—"
	}
	s = flat(s, max)
	if strings.Contains(s, "`") {
		s = strings.ReplaceAll(s, "`", "ˋ")
	}
	return "`" + esc(s, max-2) + "`"
}

// plain returns s cut to max for a plain_text object, or alt when s is blank.
func plain(s string, max int, alt string) string {
	if strings.TrimSpace(s) == "" {
		return alt
	}
	return trunc.Cut(s, max)
}

// codeBlock renders untrusted s as a ``` code block of at most max
// characters. Content is escaped; runs of backticks get a zero-width space
// between them so the content cannot close the block. When s does not fit,
// keepEnd keeps its end (where errors are) instead of its start. It returns
// the block and how many characters of s were left out.
func codeBlock(s string, max int, keepEnd bool) (string, int) {
	budget := max - 6 // the two fences
	if budget < 1 {
		return "", utf8.RuneCountInString(s)
	}
	runes := []rune(s)
	cost := func(r rune) int {
		n := escLen(r)
		if r == '`' {
			n += 2 // zero-width spaces around it
		}
		return n
	}
	lo, hi := 0, len(runes)
	used := 0
	if keepEnd {
		for lo = len(runes); lo > 0; lo-- {
			c := cost(runes[lo-1])
			if used+c > budget {
				break
			}
			used += c
		}
	} else {
		for hi = 0; hi < len(runes); hi++ {
			c := cost(runes[hi])
			if used+c > budget {
				break
			}
			used += c
		}
	}
	kept := runes[lo:hi]
	var b strings.Builder
	b.Grow(used + 8)
	b.WriteString("```")
	for i, r := range kept {
		if r == '`' && i == 0 {
			b.WriteString("\u200b")
		}
		writeEsc(&b, r)
		if r == '`' && (i == len(kept)-1 || kept[i+1] == '`') {
			b.WriteString("\u200b")
		}
	}
	if len(kept) == 0 {
		b.WriteString(" ")
	}
	b.WriteString("```")
	return b.String(), len(runes) - len(kept)
}
