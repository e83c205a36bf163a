package commands

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParse checks that Parse never panics, that it either accepts a text or
// explains every refusal, and that whatever it accepts survives a trip
// through Canonical: Parse(c.Canonical()) == c.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"failed pool=finance-win11 since=2h limit=20",
		`list name="rotate cert" status=ok type=script since=yesterday until=today task=a,b limit=5 page=3 share`,
		"show 8d1c2b3a-1111-4a2b-9c3d-0e1f2a3b4c5d share",
		"watch abc",
		"digest pool=p since=7d",
		"help since",
		"doctor",
		`name=“a b” pool=R&amp;D script=&lt;x&gt;`,
		`name="say \"hi\" \\ there"`,
		`since="2026-11-27 09:00" until=2026-11-27T10:00:00+01:00`,
		"stauts=ok limit=500 page=0 shwo",
		`pool="unclosed`,
		"task=a,,b, failed",
		"since=1h30m15s until=90s",
		"failed since=2 hours ago share",
		`from="1d 12h ago" to=30min`,
		"since=2h30 3mo ago 1.5h",
	} {
		f.Add(s)
	}
	opts := cmp.Options{cmpopts.EquateEmpty()}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(text, now)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || len(ie.Problems) == 0 {
				t.Fatalf("Parse(%q) error %v: want an *InputError with problems", text, err)
			}
			for _, p := range ie.Problems {
				if p.Message == "" {
					t.Fatalf("Parse(%q): a problem without a message: %+v", text, p)
				}
			}
			return
		}
		if c.Query.Limit < 1 || c.Query.Limit > MaxLimit || c.Page < 1 || c.Query.Offset != (c.Page-1)*c.Query.Limit {
			t.Fatalf("Parse(%q) = %+v: limit, page or offset out of range", text, c)
		}
		if len(c.Query.TaskIDs) > MaxTaskIDs {
			t.Fatalf("Parse(%q): %d task ids", text, len(c.Query.TaskIDs))
		}
		canon := c.Canonical()
		if n := utf8.RuneCountInString(canon); n > MaxTextLen {
			t.Fatalf("Parse(%q).Canonical() is %d characters long", text, n)
		}
		back, err := Parse(canon, now)
		if err != nil {
			t.Fatalf("Parse(%q).Canonical() = %q, which Parse refuses: %v", text, canon, err)
		}
		if diff := cmp.Diff(c, back, opts); diff != "" {
			t.Fatalf("Parse(%q).Canonical() = %q parses to another command (-first +second):\n%s", text, canon, diff)
		}
		if again := back.Canonical(); again != canon {
			t.Fatalf("Canonical is not stable: %q then %q", canon, again)
		}
		if d := c.Describe(); d == "" {
			t.Fatalf("Parse(%q).Describe() is empty", text)
		}
		if strings.ContainsAny(canon, "\u201c\u201d") {
			t.Fatalf("Canonical %q holds a smart quote", canon)
		}
	})
}
