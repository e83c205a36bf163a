package blocks

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// TestWithNote: a caveat joins the context line under the header, or has
// a block of its own, and never takes a message over Slack's limits.
func TestWithNote(t *testing.T) {
	const note = "the pools could not be listed <!channel>"
	text, bs := List(ListView{Title: "Tasks", Command: "list"})
	gotText, got := WithNote(note)(text, bs)
	if len(got) != len(bs) || !strings.HasPrefix(gotText, "the pools could not be listed &lt;!channel&gt; · ") {
		t.Errorf("list: %d blocks (want %d), text %q", len(got), len(bs), gotText)
	}
	c := got[1].(*slack.ContextBlock).ContextElements.Elements[0].(*slack.TextBlockObject)
	if c.Text != ":warning: the pools could not be listed &lt;!channel&gt;" {
		t.Errorf("note element %q", c.Text)
	}
	if first := bs[1].(*slack.ContextBlock).ContextElements.Elements[0].(*slack.TextBlockObject); strings.Contains(first.Text, "warning") {
		t.Errorf("WithNote changed the blocks it was given")
	}

	_, got = WithNote(note)(Help("usage"))
	if _, ok := got[1].(*slack.ContextBlock); !ok {
		t.Errorf("help: block 1 is %T, want the note's context block", got[1])
	}

	full := make([]slack.Block, maxBlocks)
	for i := range full {
		full[i] = slack.NewDividerBlock()
	}
	if _, got := WithNote(note)("t", full); len(got) != maxBlocks {
		t.Errorf("a full message grew to %d blocks", len(got))
	}
}
