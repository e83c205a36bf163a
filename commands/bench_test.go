package commands

import "testing"

// BenchmarkParse parses a typical command. Target: under 2 µs and 10
// allocations per op.
func BenchmarkParse(b *testing.B) {
	for _, bm := range []struct{ name, text string }{
		{"typical", "failed pool=finance-win11 since=2h limit=20"},
		{"quoted", `list name="rotate cert" status=ok since="2026-11-27 09:00" until=today share`},
		{"slack-escaped", `name=R&amp;D pool=“Finance Win 11” type=command`},
		{"invalid", "stauts=ok limit=500 shwo"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bm.text, now); err != nil && bm.name != "invalid" {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCanonical renders the typical command back to text.
func BenchmarkCanonical(b *testing.B) {
	c, err := Parse("failed pool=finance-win11 since=2h limit=20", now)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Canonical()
	}
}
