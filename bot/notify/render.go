package notify

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/blocks"
	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/trunc"
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

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, trunc.Cut(s, maxText), false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func header(s string) slack.Block {
	return slack.NewHeaderBlock(plain(trunc.Cut(s, maxHeader)))
}

func contextBlock(parts ...string) slack.Block {
	els := make([]slack.MixedElement, 0, len(parts))
	for _, p := range parts {
		els = append(els, mrkdwn(p))
	}
	return slack.NewContextBlock("", els...)
}

func button(actionID, text, value string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, trunc.Cut(value, maxButtonVal), plain(text))
}

func detailsButton(taskID string) *slack.ButtonBlockElement {
	return button(blocks.ActionDetails, "Details", commands.Command{Verb: commands.VerbShow, TaskID: taskID}.Canonical())
}

// taskWork says what a task ran: its scripts or its command.
func taskWork(t pooltask.Task) string {
	if len(t.Scripts) > 0 {
		names := make([]string, len(t.Scripts))
		for i, s := range t.Scripts {
			names[i] = s.Name
			if names[i] == "" {
				names[i] = s.ID
			}
		}
		return "scripts " + blocks.Escape(trunc.Cut(strings.Join(names, ", "), 300))
	}
	if t.CommandContent != "" {
		kind := t.CommandType
		if kind == "" {
			kind = "command"
		}
		return blocks.Escape(kind) + " command `" + blocks.Escape(trunc.Cut(strings.ReplaceAll(t.CommandContent, "`", "'"), 120)) + "`"
	}
	return "no scripts"
}

func poolLabel(t pooltask.Task) string {
	if t.PoolName != "" {
		return t.PoolName
	}
	if t.PoolID != "" {
		return t.PoolID
	}
	return "unknown pool"
}

// taskSection is one task on a line or two, with a Details button.
func taskSection(t pooltask.Task) slack.Block {
	text := fmt.Sprintf("%s *%s* `%s` in *%s*\n%s · started %s · %d failed, %d ok, %d skipped",
		blocks.StatusEmoji(t.Status), blocks.Escape(string(t.Status)), blocks.Escape(t.ID), blocks.Escape(poolLabel(t)),
		taskWork(t), blocks.Date(t.Start), t.FailedNum, t.SuccessNum, t.SkipNum)
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
		l := trunc.Cut(n, maxChartLabel)
		for k := 2; seen[l]; k++ {
			suffix := fmt.Sprintf("~%d", k)
			l = trunc.Cut(n, maxChartLabel-trunc.Len(suffix)) + suffix
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
