package blocks

import (
	"strings"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/trunc"
	"github.com/slack-go/slack"
)

// Action ids of every button pooltasks renders; the bot routes clicks by
// them (see BaseAction). Each value says what the button's value carries.
const (
	ActionDetails   = "details"     // value: canonical command "show TASK_ID"
	ActionOutput    = "output"      // value: OutputValue(RECORD_ID, TASK_ID)
	ActionPrev      = "page_prev"   // value: canonical command of the previous page
	ActionNext      = "page_next"   // value: canonical command of the next page
	ActionFailed    = "failed_only" // value: canonical command of the failed-only list
	ActionRefresh   = "refresh"     // value: canonical command of this answer
	ActionShare     = "share"       // value: canonical command to post in channel (with " share")
	ActionWatch     = "watch"       // value: canonical command "watch TASK_ID"
	ActionStopWatch = "watch_stop"  // value: the watch id (used by bot/notify)
	ActionViewAll   = "view_all"    // value: canonical list command (used by digests)
)

// BaseAction returns the action id a click should be routed by. Buttons
// that share a block (the rows of a data_table) need distinct action ids,
// so they carry a suffix after '#' ("details#3"); BaseAction removes it.
func BaseAction(actionID string) string {
	if i := strings.IndexByte(actionID, '#'); i >= 0 {
		return actionID[:i]
	}
	return actionID
}

// showValue is the value of a Details button: the canonical command that
// shows the task (in its target, task ids being unique only per target),
// as for every button that carries a command.
func showValue(t pooltask.Task) string {
	return commands.Command{Verb: commands.VerbShow, TaskID: t.ID, Target: t.Target}.Canonical()
}

// OutputValue is the value of the Output button of a task's record, which
// OutputIDs reads back; target is the task's ("" with one target). It is
// not a command: no verb shows one desktop's output, so it cannot be typed.
func OutputValue(recordID, taskID, target string) string {
	return idsValue(ActionOutput, recordID, taskID, target)
}

// OutputIDs reads the record and task ids and the target of an
// OutputValue.
func OutputIDs(value string) (recordID, taskID, target string, ok bool) {
	f, ok := readIDs(ActionOutput, value, 2)
	return f[0], f[1], f[2], ok
}

// idsValue is the value of a button about ids that no command names (a
// record's Output, its Retry on this desktop, a Re-run in stages): its
// action id, the ids, and the task's target last when there are several
// ("" with one), as every button carries it.
func idsValue(actionID string, ids ...string) string {
	return strings.TrimSuffix(actionID+" "+strings.Join(ids, " "), " ")
}

// readIDs reads an idsValue of n ids and a target: the ids then the target
// ("" when there is none); ok is false for another button's value.
func readIDs(actionID, value string, n int) ([]string, bool) {
	out := make([]string, n+1)
	f := strings.Fields(value)
	if len(f) < n+1 || len(f) > n+2 || f[0] != actionID {
		return out, false
	}
	copy(out, f[1:])
	return out, true
}

// Button returns a button with the given action id, label and value, or nil
// when value is empty or longer than Slack allows: a cut command would do
// something else than its label says, so such a button is left out.
func Button(actionID, label, value string) *slack.ButtonBlockElement {
	if value == "" || len(value) > maxButtonValue && trunc.Len(value) > maxButtonValue {
		return nil
	}
	return slack.NewButtonBlockElement(trunc.Cut(actionID, 255), value,
		slack.NewTextBlockObject(slack.PlainTextType, plain(label, maxButtonText, "…"), true, false))
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plainText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func header(s string) *slack.HeaderBlock {
	return slack.NewHeaderBlock(plainText(plain(s, maxHeader, "pooltasks")))
}

// section is a mrkdwn section; text is cut to the limit as a last resort
// (callers budget their parts so this does not happen in practice).
func section(text string, btn *slack.ButtonBlockElement) *slack.SectionBlock {
	var acc *slack.Accessory
	if btn != nil {
		acc = slack.NewAccessory(btn)
	}
	return slack.NewSectionBlock(mrkdwn(safeCut(text, maxText)), nil, acc)
}

// context builds a context block of mrkdwn elements, at most ten.
func context(texts ...string) *slack.ContextBlock {
	var els []slack.MixedElement
	for _, t := range texts {
		if t == "" || len(els) == maxContextElems {
			continue
		}
		els = append(els, mrkdwn(safeCut(t, maxText)))
	}
	return slack.NewContextBlock("", els...)
}

// actions builds an actions block of the non-nil buttons, or nil if none.
func actions(btns ...*slack.ButtonBlockElement) slack.Block {
	var els []slack.BlockElement
	for _, b := range btns {
		if b != nil && len(els) < 25 {
			els = append(els, b)
		}
	}
	if len(els) == 0 {
		return nil
	}
	return slack.NewActionBlock("", els...)
}

// safeCut cuts already-rendered mrkdwn to max characters and says so. It
// cuts at a line break when it can, never inside an entity or a <!date>
// token, and closes a code block it cut open. Callers budget their parts
// so that this is a last resort.
func safeCut(s string, max int) string {
	if len(s) <= max || trunc.Len(s) <= max {
		return s
	}
	const note = "\n_… cut to fit Slack's limit_"
	c := strings.TrimSuffix(trunc.Cut(s, max-len(note)-3), "…") // room for a closing fence
	if i := strings.LastIndexByte(c, '\n'); i > len(c)/2 {
		c = c[:i]
	}
	if i := strings.LastIndexByte(c, '<'); i > strings.LastIndexByte(c, '>') {
		c = c[:i]
	}
	if i := strings.LastIndexByte(c, '&'); i >= 0 && !strings.Contains(c[i:], ";") {
		c = c[:i]
	}
	if strings.Count(c, "```")%2 == 1 {
		c = strings.TrimRight(c, "`\u200b") + "```"
	}
	return c + note
}

// Classic reports whether blocks use only classic Block Kit (no data_table
// or data_visualization). When Slack answers invalid_blocks for a message
// that is not Classic, the bot renders it again with native blocks off.
func Classic(blocks []slack.Block) bool {
	for _, b := range blocks {
		switch b.BlockType() {
		case slack.MBTDataTable, slack.MBTDataVisualization:
			return false
		}
	}
	return true
}

// appendBlock appends b unless it is nil.
func appendBlock(bs []slack.Block, b slack.Block) []slack.Block {
	if b == nil {
		return bs
	}
	return append(bs, b)
}

// fallback is the message's notification text: one line, escaped (Slack
// parses it as mrkdwn too), short.
func fallback(s string) string {
	return esc(flat(s, 300), 300)
}

// WithNote returns a function that adds a caveat to a rendered answer: as
// the first element of the context line under its header when there is
// one (lists and digests have it), else as a context block of its own
// after the header, within Slack's limits; the notification text starts
// with it either way.
func WithNote(note string) func(text string, bs []slack.Block) (string, []slack.Block) {
	return func(text string, bs []slack.Block) (string, []slack.Block) {
		el := slack.NewTextBlockObject(slack.MarkdownType, ":warning: "+esc(note, 1000), false, false)
		text = fallback(note) + " · " + text
		if len(bs) > 1 {
			if c, ok := bs[1].(*slack.ContextBlock); ok && len(c.ContextElements.Elements) < maxContextElems {
				merged := *c
				merged.ContextElements.Elements = append([]slack.MixedElement{el}, c.ContextElements.Elements...)
				return text, append(append(append([]slack.Block(nil), bs[0]), &merged), bs[2:]...)
			}
		}
		if len(bs) >= maxBlocks {
			return text, bs
		}
		at := min(1, len(bs))
		out := append(append(append(make([]slack.Block, 0, len(bs)+1), bs[:at]...), slack.NewContextBlock("note", el)), bs[at:]...)
		return text, out
	}
}
