package commands

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestRoundTripGenerated builds thousands of commands from the grammar, with
// awkward values (spaces, quotes, backslashes, entities, links, unicode),
// and checks that every accepted one survives Canonical and Parse.
func TestRoundTripGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "b", " ", `\`, `"`, "&", "&amp;", "&lt;", "<", ">", "=", ",", "é", "\u00a0", "“", "”", "|", "http://", "x.sh", "-", "_", "9"}
	value := func() string {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	quoted := func(v string) string {
		switch r.IntN(3) {
		case 0:
			return v
		case 1:
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
		default:
			return "<http://" + v + "|" + v + ">"
		}
	}
	words := []func() string{
		func() string { return "pool=" + quoted(value()) },
		func() string { return "script_id=" + quoted(value()) },
		func() string { return "NAME=" + quoted(value()) },
		func() string { return "status=" + []string{"ok", "fail", "Running", "queued", "x"}[r.IntN(5)] },
		func() string { return "type=" + []string{"script", "COMMAND"}[r.IntN(2)] },
		func() string {
			l := []string{"2h", "7d", "1w", "today", "yesterday", "2026-11-20", `"2026-11-20 09:00"`, "2026-11-20T09:00:00+02:00",
				"1h30m", "90s", "3days", "2 hours", "2h ago", "2 hours ago", `"1d 12h ago"`}
			return "since=" + l[r.IntN(len(l))]
		},
		func() string {
			l := []string{"1h", "now", "today", "2026-11-27", "2026-11-27 10:00", "30 min ago", "45s"}
			return "to=" + l[r.IntN(len(l))]
		},
		func() string { return "task=" + []string{"a", "a,b", "a,,b,a", "x-1_Y"}[r.IntN(4)] },
		func() string { return "limit=" + []string{"1", "10", "55", "100"}[r.IntN(4)] },
		func() string { return "page=" + []string{"1", "2", "9999"}[r.IntN(3)] },
		func() string { return "share" },
	}
	heads := []string{"", "list ", "failed ", "digest ", "show abc ", "watch a-1 ", "help ", "help since ", "doctor "}
	accepted := 0
	for range 5000 {
		var b strings.Builder
		b.WriteString(heads[r.IntN(len(heads))])
		for range r.IntN(5) {
			b.WriteString(words[r.IntN(len(words))]())
			b.WriteByte(' ')
		}
		text := b.String()
		c, err := Parse(text, now)
		if err != nil {
			continue
		}
		accepted++
		back, err := Parse(c.Canonical(), now)
		if err != nil {
			t.Fatalf("Parse(%q).Canonical() = %q, which Parse refuses: %v", text, c.Canonical(), err)
		}
		if diff := cmp.Diff(c, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("Parse(%q).Canonical() = %q parses to another command (-first +second):\n%s", text, c.Canonical(), diff)
		}
	}
	t.Logf("%d of 5000 generated commands accepted", accepted)
	if accepted < 500 {
		t.Errorf("only %d of 5000 generated commands were accepted; the generator is off", accepted)
	}
}
