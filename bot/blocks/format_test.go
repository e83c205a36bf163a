package blocks

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/trunc"
	"github.com/slack-go/slack"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain *bold* `code`", "plain *bold* `code`"},
		{"<!channel>", "&lt;!channel&gt;"},
		{"a & b", "a &amp; b"},
		{"&amp;", "&amp;amp;"},
		{"<@U123|bob>", "&lt;@U123|bob&gt;"},
		{"日本 <x>", "日本 &lt;x&gt;"},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDate(t *testing.T) {
	if got := Date(time.Time{}); got != "—" {
		t.Errorf("Date(zero) = %q", got)
	}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	want := "<!date^1795770000^{date_short_pretty} {time}|2026-11-27 09:00 UTC>"
	if got := Date(at); got != want {
		t.Errorf("Date = %q, want %q", got, want)
	}
}

func TestStatusEmoji(t *testing.T) {
	for s, want := range map[pooltask.TaskStatus]string{
		pooltask.StatusFinish: ":white_check_mark:", pooltask.StatusFailed: ":x:",
		pooltask.StatusRunning: ":hourglass_flowing_sand:", pooltask.StatusInit: ":clock3:",
		"PAUSED": ":grey_question:", "": ":grey_question:",
	} {
		if got := StatusEmoji(s); got != want {
			t.Errorf("StatusEmoji(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestCodeBlock(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		max     int
		keepEnd bool
		want    string
		left    int
	}{
		{"escapes", "a<b>&c", 100, false, "```a&lt;b&gt;&amp;c```", 0},
		{"fence in content", "x```y", 100, false, "```x`\u200b`\u200b`y```", 0},
		{"leading and trailing backtick", "`a`", 100, false, "```\u200b`a`\u200b```", 0},
		{"single backticks kept", "Write-Host `n", 100, false, "```Write-Host `n```", 0},
		{"keeps the start", "abcdefghij", 10, false, "```abcd```", 6},
		{"keeps the end", "abcdefghij", 10, true, "```ghij```", 6},
		{"no entity split", "<<<<", 14, true, "```&lt;&lt;```", 2},
		{"empty", "", 10, false, "``` ```", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, left := codeBlock(tc.in, tc.max, tc.keepEnd)
			if got != tc.want || left != tc.left {
				t.Errorf("codeBlock(%q, %d, %v) = %q, %d; want %q, %d", tc.in, tc.max, tc.keepEnd, got, left, tc.want, tc.left)
			}
			if trunc.Len(got) > tc.max {
				t.Errorf("%d characters, max %d", trunc.Len(got), tc.max)
			}
		})
	}
}

func TestEscCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"a&b", 6, "a…"}, // "a&amp;" would leave no room for the mark
		{"a&b", 7, "a&amp;b"},
		{"``", 10, "`\u200b`"},
		{"🎉🎉🎉", 4, "🎉…"}, // two UTF-16 units each
	} {
		if got := esc(tc.in, tc.max); got != tc.want {
			t.Errorf("esc(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestCode(t *testing.T) {
	if got, want := code("a`b\nc<d>", 100), "`aˋb c&lt;d&gt;`"; got != want {
		t.Errorf("code = %q, want %q", got, want)
	}
	if got := code("", 10); got != "—" {
		t.Errorf("code(\"\") = %q", got)
	}
}

func TestBaseAction(t *testing.T) {
	for in, want := range map[string]string{"details": "details", "details#12": "details", "": "", "#x": ""} {
		if got := BaseAction(in); got != want {
			t.Errorf("BaseAction(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestButtonLeavesOutValuesTooLong(t *testing.T) {
	if b := Button(ActionNext, "Next ▶", strings.Repeat("x", 2000)); b == nil {
		t.Error("a 2000-character value was left out")
	}
	if b := Button(ActionNext, "Next ▶", strings.Repeat("x", 2001)); b != nil {
		t.Error("a 2001-character value was kept")
	}
	if b := Button(ActionNext, "Next ▶", ""); b != nil {
		t.Error("an empty value was kept")
	}
	if b := Button(ActionNext, strings.Repeat("y", 100), "v"); trunc.Len(b.Text.Text) > maxButtonText {
		t.Errorf("label of %d characters", trunc.Len(b.Text.Text))
	}
}

func TestClassic(t *testing.T) {
	_, classic := List(ListView{Title: "T", Tasks: manyTasks(20), Total: 20, Command: "list"})
	_, native := List(ListView{Title: "T", Tasks: manyTasks(20), Total: 20, Command: "list", Native: true})
	if !Classic(classic) {
		t.Error("Classic(classic list) = false")
	}
	if Classic(native) {
		t.Error("Classic(native list) = true")
	}
	if !Classic([]slack.Block{slack.NewDividerBlock()}) {
		t.Error("Classic(divider) = false")
	}
}

func TestSafeCut(t *testing.T) {
	long := strings.Repeat("x", 3000)
	for _, tc := range []struct{ name, in string }{
		{"code block", "*Command*\n```" + long + "```"},
		{"code block over lines", "*Command*\n```" + strings.Repeat("line of code\n", 300) + "```"},
		{"date token", strings.Repeat("y", 2950) + Date(now) + "z"},
		{"entity", strings.Repeat("y", 2960) + strings.Repeat("&amp;", 20)},
		{"fits", "short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := safeCut(tc.in, maxText)
			if trunc.Len(got) > maxText {
				t.Fatalf("%d characters", trunc.Len(got))
			}
			if got != tc.in && !strings.HasSuffix(got, "_… cut to fit Slack's limit_") {
				t.Errorf("no note: %q", got[max(0, len(got)-40):])
			}
			var problems []string
			checkMrkdwn("safeCut", got, func(f string, a ...any) { problems = append(problems, fmt.Sprintf(f, a...)) })
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}
