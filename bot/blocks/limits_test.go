package blocks

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/pooltasks/pooltasks/trunc"
)

// dateToken and mention are the only "<…>" constructs pooltasks itself
// writes in mrkdwn: dates, and the user who asked for a watch.
var (
	dateToken = regexp.MustCompile(`^<!date\^\d+\^\{[a-z_]+\}( \{time\})?\|[0-9: -]+ UTC>`)
	mention   = regexp.MustCompile(`^<@[A-Z0-9]+>`)
)

// checkLimits walks a marshalled message ({"text", "blocks"}) and reports
// every Slack limit it breaks and every "<" or stray "&" in mrkdwn that is
// not one of our date tokens or entities: those could ping or link.
func checkLimits(t *testing.T, raw []byte) {
	t.Helper()
	var msg struct {
		Text   string           `json:"text"`
		Blocks []map[string]any `json:"blocks"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil {
		t.Fatal(err)
	}
	for _, p := range limitProblems(msg.Text, msg.Blocks) {
		t.Error(p)
	}
}

func limitProblems(text string, blocks []map[string]any) []string {
	var ps []string
	bad := func(format string, a ...any) { ps = append(ps, fmt.Sprintf(format, a...)) }
	if trunc.Len(text) > 40000 {
		bad("message text has %d characters", trunc.Len(text))
	}
	checkMrkdwn("text", text, bad)
	if strings.Contains(text, "\n") {
		bad("fallback text has a line break")
	}
	if len(blocks) > maxBlocks {
		bad("%d blocks", len(blocks))
	}
	if len(blocks) == 0 {
		bad("no blocks")
	}
	tables, charts := 0, 0
	for i, b := range blocks {
		where := fmt.Sprintf("block %d (%v)", i, b["type"])
		if id, _ := b["block_id"].(string); trunc.Len(id) > 255 {
			bad("%s: block_id of %d", where, trunc.Len(id))
		}
		switch b["type"] {
		case "header":
			txt := obj(b["text"])
			if txt["type"] != "plain_text" || trunc.Len(str(txt["text"])) > maxHeader || str(txt["text"]) == "" {
				bad("%s: header text %q", where, str(txt["text"]))
			}
		case "section":
			if b["text"] == nil && b["fields"] == nil {
				bad("%s: neither text nor fields", where)
			}
			if b["text"] != nil {
				checkText(where+" text", obj(b["text"]), maxText, bad)
			}
			fields := list(b["fields"])
			if len(fields) > maxFields {
				bad("%s: %d fields", where, len(fields))
			}
			for j, f := range fields {
				checkText(fmt.Sprintf("%s field %d", where, j), obj(f), maxField, bad)
			}
			if b["accessory"] != nil {
				checkElement(where+" accessory", obj(b["accessory"]), bad)
			}
		case "context":
			els := list(b["elements"])
			if len(els) == 0 || len(els) > maxContextElems {
				bad("%s: %d elements", where, len(els))
			}
			for j, e := range els {
				checkText(fmt.Sprintf("%s element %d", where, j), obj(e), maxText, bad)
			}
		case "actions":
			els := list(b["elements"])
			if len(els) == 0 || len(els) > 25 {
				bad("%s: %d elements", where, len(els))
			}
			ids := map[string]bool{}
			for j, e := range els {
				el := obj(e)
				checkElement(fmt.Sprintf("%s element %d", where, j), el, bad)
				if ids[str(el["action_id"])] {
					bad("%s: action_id %q twice", where, el["action_id"])
				}
				ids[str(el["action_id"])] = true
			}
		case "data_table":
			tables++
			checkTable(where, b, bad)
		case "data_visualization":
			charts++ // their shape is checked with slack-go's Validate
		case "divider":
		case "input": // modals only
			if l, _ := b["label"].(map[string]any); len(str(l["text"])) > 2000 {
				bad("%s: label over 2000", where)
			}
		default:
			bad("%s: unexpected block type", where)
		}
	}
	if tables > 1 {
		bad("%d data tables", tables)
	}
	if charts > 2 {
		bad("%d charts, at most 2 allowed", charts)
	}
	return ps
}

func checkText(where string, o map[string]any, max int, bad func(string, ...any)) {
	s := str(o["text"])
	if s == "" {
		bad("%s: empty text", where)
	}
	if trunc.Len(s) > max {
		bad("%s: %d characters (max %d)", where, trunc.Len(s), max)
	}
	switch o["type"] {
	case "mrkdwn":
		checkMrkdwn(where, s, bad)
	case "plain_text":
	default:
		bad("%s: text type %v", where, o["type"])
	}
}

// checkMrkdwn: every "<" starts one of our date tokens, every "&" an
// entity, and code fences pair up (content cannot break out of a block).
func checkMrkdwn(where, s string, bad func(string, ...any)) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<':
			if !dateToken.MatchString(s[i:]) && !mention.MatchString(s[i:]) {
				bad("%s: unescaped %q", where, excerpt(s, i))
				return
			}
		case '&':
			r := s[i:]
			if !strings.HasPrefix(r, "&amp;") && !strings.HasPrefix(r, "&lt;") && !strings.HasPrefix(r, "&gt;") {
				bad("%s: stray & in %q", where, excerpt(s, i))
				return
			}
		}
	}
	if n := strings.Count(s, "```"); n%2 != 0 && where != "text" {
		bad("%s: %d code fences", where, n)
	}
}

func excerpt(s string, i int) string {
	return s[max(0, i-10):min(len(s), i+30)]
}

func checkElement(where string, el map[string]any, bad func(string, ...any)) {
	if el["type"] == "static_select" { // the Snooze menu
		opts := list(el["options"])
		if len(opts) == 0 || len(opts) > 100 || str(el["action_id"]) == "" {
			bad("%s: select with %d options, action_id %q", where, len(opts), str(el["action_id"]))
		}
		for _, o := range opts {
			if v := str(obj(o)["value"]); v == "" || len(v) > 150 {
				bad("%s: option value %q", where, v)
			}
		}
		return
	}
	if el["type"] != "button" {
		bad("%s: element type %v", where, el["type"])
		return
	}
	txt := obj(el["text"])
	if txt["type"] != "plain_text" || str(txt["text"]) == "" || trunc.Len(str(txt["text"])) > maxButtonText {
		bad("%s: button text %q", where, str(txt["text"]))
	}
	if v := str(el["value"]); v == "" || trunc.Len(v) > maxButtonValue {
		bad("%s: button value of %d characters", where, trunc.Len(v))
	}
	if id := str(el["action_id"]); id == "" || trunc.Len(id) > 255 {
		bad("%s: action_id %q", where, id)
	}
}

func checkTable(where string, b map[string]any, bad func(string, ...any)) {
	rows := list(b["rows"])
	if len(rows) < 2 || len(rows) > maxTableRows+1 {
		bad("%s: %d rows", where, len(rows))
	}
	if ps, _ := b["page_size"].(float64); ps < 1 || ps > 100 {
		bad("%s: page_size %v", where, b["page_size"])
	}
	if str(b["caption"]) == "" {
		bad("%s: no caption", where)
	}
	chars, cols := 0, -1
	ids := map[string]bool{}
	for r, row := range rows {
		cells := list(row)
		if cols >= 0 && len(cells) != cols {
			bad("%s: row %d has %d cells, not %d", where, r, len(cells), cols)
		}
		cols = len(cells)
		if cols < 1 || cols > 20 {
			bad("%s: %d columns", where, cols)
		}
		for c, x := range cells {
			cell := obj(x)
			at := fmt.Sprintf("%s cell %d,%d", where, r, c)
			switch cell["type"] {
			case "raw_text":
				s := str(cell["text"])
				if s == "" {
					bad("%s: empty raw_text", at)
				}
				chars += trunc.Len(s)
			case "raw_number":
				if _, ok := cell["value"].(float64); !ok {
					bad("%s: raw_number without value", at)
				}
				if s, ok := cell["text"]; ok {
					if str(s) == "" {
						bad("%s: empty raw_number text", at)
					}
					chars += trunc.Len(str(s))
				} else {
					chars += len(fmt.Sprint(cell["value"]))
				}
			case "action_cell":
				if r == 0 {
					bad("%s: action cell in header", at)
				}
				el := obj(cell["element"])
				checkElement(at, el, bad)
				chars += trunc.Len(str(obj(el["text"])["text"]))
				if ids[str(el["action_id"])] {
					bad("%s: action_id %q twice", at, el["action_id"])
				}
				ids[str(el["action_id"])] = true
			default:
				bad("%s: cell type %v", at, cell["type"])
			}
		}
	}
	if chars > maxTableChars {
		bad("%s: %d characters in cells", where, chars)
	}
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func list(v any) []any         { l, _ := v.([]any); return l }
func str(v any) string         { s, _ := v.(string); return s }
