package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/workspace"
)

// Action ids and values of the buttons notify renders. They match the bot's
// blocks package: the bot core handles the clicks.
const (
	ActionDetails   = "details"    // value "show TASK_ID"
	ActionStopWatch = "watch_stop" // value: the watch id
	ActionViewAll   = "view_all"   // value: a canonical list command
)

// Message is a message to post: the notification text and its blocks.
type Message struct {
	Text   string
	Blocks []slack.Block
}

// Slack's limits that the renderers keep to.
const (
	maxBlocks     = 50
	maxText       = 3000
	maxHeader     = 150
	maxButtonVal  = 2000
	maxChartLabel = 20
)

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape makes API text safe inside mrkdwn: it can no longer ping, link or
// format dates.
func escape(s string) string { return mrkdwnEscaper.Replace(s) }

// cut shortens s to at most n runes, marking the cut with an ellipsis.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// slackDate shows t in each reader's time zone, with a UTC fallback.
func slackDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// duration renders d for people: 45s, 12m 5s, 3h 20m, 2d 4h.
func duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

func statusEmoji(s workspace.TaskStatus) string {
	switch s {
	case workspace.StatusFinish:
		return ":large_green_circle:"
	case workspace.StatusFailed:
		return ":red_circle:"
	case workspace.StatusRunning:
		return ":large_blue_circle:"
	case workspace.StatusInit:
		return ":white_circle:"
	default:
		return ":grey_question:"
	}
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, cut(s, maxText), false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func header(s string) slack.Block {
	return slack.NewHeaderBlock(plain(cut(s, maxHeader)))
}

func contextBlock(parts ...string) slack.Block {
	els := make([]slack.MixedElement, 0, len(parts))
	for _, p := range parts {
		els = append(els, mrkdwn(p))
	}
	return slack.NewContextBlock("", els...)
}

func button(actionID, text, value string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, cut(value, maxButtonVal), plain(text))
}

func detailsButton(taskID string) *slack.ButtonBlockElement {
	return button(ActionDetails, "Details", "show "+taskID)
}

// taskWork says what a task ran: its scripts or its command.
func taskWork(t workspace.Task) string {
	if len(t.Scripts) > 0 {
		names := make([]string, len(t.Scripts))
		for i, s := range t.Scripts {
			names[i] = s.Name
			if names[i] == "" {
				names[i] = s.ID
			}
		}
		return "scripts " + escape(cut(strings.Join(names, ", "), 300))
	}
	if t.CommandContent != "" {
		kind := t.CommandType
		if kind == "" {
			kind = "command"
		}
		return escape(kind) + " command `" + escape(cut(strings.ReplaceAll(t.CommandContent, "`", "'"), 120)) + "`"
	}
	return "no scripts"
}

func poolLabel(t workspace.Task) string {
	if t.PoolName != "" {
		return t.PoolName
	}
	if t.PoolID != "" {
		return t.PoolID
	}
	return "unknown pool"
}

// taskSection is one task on a line or two, with a Details button.
func taskSection(t workspace.Task) slack.Block {
	text := fmt.Sprintf("%s *%s* `%s` in *%s*\n%s · started %s · %d failed, %d ok, %d skipped",
		statusEmoji(t.Status), escape(string(t.Status)), escape(t.ID), escape(poolLabel(t)),
		taskWork(t), slackDate(t.Start), t.FailedNum, t.SuccessNum, t.SkipNum)
	return slack.NewSectionBlock(mrkdwn(text), nil, slack.NewAccessory(detailsButton(t.ID)))
}

var chartLabelCleaner = strings.NewReplacer("<", "‹", ">", "›", "&", "+")

// chartLabels turns names into distinct chart labels of at most 20 runes,
// without the characters that make Slack mentions or links.
func chartLabels(names []string) []string {
	out := make([]string, len(names))
	seen := map[string]bool{}
	for i, n := range names {
		n = chartLabelCleaner.Replace(n)
		if n == "" {
			n = "?"
		}
		l := cut(n, maxChartLabel)
		for k := 2; seen[l]; k++ {
			suffix := fmt.Sprintf("~%d", k)
			l = cut(n, maxChartLabel-utf8.RuneCountInString(suffix)) + suffix
		}
		seen[l] = true
		out[i] = l
	}
	return out
}

// sparkline draws counts as a row of block characters.
func sparkline(counts []int) string {
	const bars = "▁▂▃▄▅▆▇█"
	levels := []rune(bars)
	max := 0
	for _, c := range counts {
		if c > max {
			max = c
		}
	}
	var b strings.Builder
	for _, c := range counts {
		if c <= 0 {
			b.WriteRune(levels[0])
			continue
		}
		// Non-zero counts use the upper seven levels, so they never look empty.
		b.WriteRune(levels[1+((c*(len(levels)-1)+max-1)/max-1)])
	}
	return b.String()
}

// bar draws n out of max as a horizontal bar of at most width cells.
func bar(n, max, width int) string {
	if max <= 0 || n <= 0 {
		return ""
	}
	cells := (n*width + max - 1) / max
	return strings.Repeat("▇", cells)
}

// plural writes n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
