package blocks

import (
	"strings"

	"github.com/pooltasks/pooltasks/trunc"
	"github.com/pooltasks/pooltasks/view"
	"github.com/slack-go/slack"
)

// ErrorView is an error answer: either problems with what the user typed,
// or an error of the Workspace API, or both.
type ErrorView struct {
	Title     string   // e.g. "I couldn't read that command" / "Workspace API error"
	Problems  []string // user-input problems, one bullet each (escaped here)
	Code      string   // error_code
	Message   string   // error_msg (escaped here)
	RequestID string   // X-Request-Id of the failed call
	Hint      string   // what to do, e.g. which IAM permission to check
	Example   string   // a corrected example command to copy, optional
}

// maxProblems is how many problems an error answer lists one by one.
const maxProblems = 20

// Error renders an error answer: the title, the problems as bullets, the
// API's code, message and request id, a hint and an example to copy.
func Error(v ErrorView) (string, []slack.Block) {
	title := plain(v.Title, maxHeader, "Something went wrong")
	first := v.Message
	if len(v.Problems) > 0 {
		first = v.Problems[0]
	}
	text := title
	if strings.TrimSpace(first) != "" {
		text += ": " + flat(first, 300)
	}
	text = fallback(text)

	bs := []slack.Block{header(":warning: " + title)}
	if len(v.Problems) > 0 {
		var b strings.Builder
		for i, p := range v.Problems {
			line := "• " + esc(flat(p, 500), 500)
			if i == maxProblems || b.Len()+len(line) > maxText-60 {
				b.WriteString("_… and " + view.Count(len(v.Problems)-i) + " more problems_")
				break
			}
			b.WriteString(line)
			b.WriteString("\n")
		}
		bs = append(bs, section(strings.TrimSuffix(b.String(), "\n"), nil))
	}
	if v.Code != "" || v.Message != "" || v.RequestID != "" {
		var fields []*slack.TextBlockObject
		if v.Code != "" {
			fields = append(fields, field("Error code", code(v.Code, 100)))
		}
		if v.RequestID != "" {
			fields = append(fields, field("Request ID", code(v.RequestID, 200)))
		}
		var msg *slack.TextBlockObject
		if strings.TrimSpace(v.Message) != "" {
			msg = mrkdwn(esc(v.Message, maxText))
		}
		if msg == nil && len(fields) == 0 {
			msg = mrkdwn("_no details_")
		}
		bs = append(bs, slack.NewSectionBlock(msg, fields, nil))
	}
	if strings.TrimSpace(v.Hint) != "" {
		bs = append(bs, context(":bulb: "+esc(v.Hint, maxText-10)))
	}
	if strings.TrimSpace(v.Example) != "" {
		block, _ := codeBlock(flat(v.Example, maxText), maxText-10, false)
		bs = append(bs, section("Try:\n"+block, nil))
	}
	return text, bs
}

// Help renders the help text (plain text, as the commands package writes
// it) in code blocks, so its columns stay aligned. Long help is split over
// several sections, at blank lines where it can, else at line breaks.
func Help(text string) (string, []slack.Block) {
	bs := []slack.Block{header("pooltasks help")}
	const room = maxText - 10
	var chunk strings.Builder
	est := 0 // chunk's length once escaped
	flush := func() {
		if chunk.Len() > 0 && len(bs) < maxBlocks {
			block, _ := codeBlock(strings.Trim(chunk.String(), "\n"), maxText, false)
			bs = append(bs, section(block, nil))
		}
		chunk.Reset()
		est = 0
	}
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if est > 0 && est+codeLen(para) > room {
			flush()
		}
		for _, line := range strings.Split(para, "\n") {
			line = trunc.Cut(line, room/2)
			if est > 0 && est+codeLen(line) > room {
				flush()
			}
			est += codeLen(line)
			chunk.WriteString(line)
			chunk.WriteString("\n")
		}
		est++
		chunk.WriteString("\n")
	}
	flush()
	if len(bs) == 1 {
		bs = append(bs, section("_No help available._", nil))
	}
	first, _ := view.FirstLine(text)
	return fallback(plain(first, 200, "pooltasks help")), bs
}

// Notice renders a short message as one section: a refused user, a rate
// limit ("try again in 12 s"), "watching …". The text is plain and escaped.
func Notice(text string) (string, []slack.Block) {
	return fallback(text), []slack.Block{section(esc(plain(text, maxText, "…"), maxText), nil)}
}

// codeLen is at most the length of line inside a code block (escaped, with
// zero-width spaces around backticks), measured on the raw line's escape.
func codeLen(line string) int {
	return len(Escape(line)) + 2*strings.Count(line, "`") + 1
}

// Doctor renders the report of `/pooltasks doctor` (plain text, as the
// doctor writes it) in a code block, its start kept when it is long.
func Doctor(report string) (string, []slack.Block) {
	block, left := codeBlock(report, maxText, false)
	bs := []slack.Block{header("pooltasks doctor"), section(block, nil)}
	if left > 0 {
		bs = append(bs, context("_… the last "+view.Count(left)+" characters are not shown; run `pooltasks doctor` for all of it_"))
	}
	return "pooltasks doctor", bs
}
