package blocks

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/view"
)

// Message is one message to post: its notification text and its blocks.
type Message struct {
	Text   string
	Blocks []slack.Block
}

// AlertStorm renders a storm of failed tasks (too many to alert one by one)
// as messages that name every task, as many as it takes.
func AlertStorm(tasks []pooltask.Task) []Message {
	var sections []string
	var cur strings.Builder
	for _, t := range tasks {
		l := fmt.Sprintf("• %s in %s (%d failed desktops)", code(t.ID, idMax), esc(flat(view.PoolLabel(t), 60), 60), t.FailedNum)
		if cur.Len()+len(l)+1 > maxText-100 {
			sections = append(sections, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(l)
	}
	sections = append(sections, cur.String())
	const perMessage = maxBlocks - 3
	text := fallback(fmt.Sprintf("%d tasks failed", len(tasks)))
	var msgs []Message
	for i := 0; i < len(sections); i += perMessage {
		part := sections[i:min(i+perMessage, len(sections))]
		title := fmt.Sprintf("%d tasks failed", len(tasks))
		if len(sections) > perMessage {
			title += fmt.Sprintf(" (part %d)", i/perMessage+1)
		}
		bs := []slack.Block{header(title)}
		for _, s := range part {
			bs = append(bs, section(s, nil))
		}
		if i == 0 {
			bs = append(bs, context("`/pooltasks show TASK_ID` opens any of them."))
		}
		msgs = append(msgs, Message{Text: text, Blocks: bs})
	}
	return msgs
}

// taskLine is one task on a line or two, with a Details button: what
// alerts and digests show of a task.
func taskLine(t pooltask.Task) *slack.SectionBlock {
	v := view.TaskOf(t, time.Time{})
	s := fmt.Sprintf("%s *%s* %s in *%s*\n%s · started %s · %d failed, %d ok, %d skipped",
		StatusEmoji(t.Status), esc(v.StatusWord, statusMax), code(t.ID, idMax), esc(flat(v.Pool, poolMax), poolMax),
		whatText(v.Work), Date(t.Start), t.FailedNum, t.SuccessNum, t.SkipNum)
	return section(s, Button(ActionDetails, "Details", showValue(t)))
}
