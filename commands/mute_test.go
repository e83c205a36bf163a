package commands

import (
	"strings"
	"testing"
	"time"
)

// TestParseMute: mute, mutes and unmute, their canonical forms (which
// Parse reads back alike), and every mistake named.
func TestParseMute(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for in, want := range map[string]string{
		`mute pool=finance-win11 for=2h reason="patch window"`: `mute pool=finance-win11 for=2h reason="patch window"`,
		`MUTE pool="Finance Desktops" for="1 day 12 hours"`:    `mute pool="Finance Desktops" for=1d12h`,
		`mute pool=p for=90m why=deploy`:                       `mute pool=p for=1h30m reason=deploy`,
		`mutes`:                                                `mutes`,
		`unmute pool=finance-win11`:                            `unmute pool=finance-win11`,
	} {
		c, err := Parse(in, now)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if got := c.Canonical(); got != want {
			t.Errorf("Parse(%q).Canonical() = %q, want %q", in, got, want)
		}
		again, err := Parse(c.Canonical(), now.Add(time.Hour))
		if err != nil || again.Canonical() != want || again.For != c.For || again.Reason != c.Reason {
			t.Errorf("%q read back as %+v, %v", want, again, err)
		}
	}
	for in, wantErr := range map[string]string{
		"mute for=2h":                      "mute needs the pool: mute pool=NAME",
		"mute pool=p":                      "mute needs how long: add for=2h",
		"mute pool=p for=soon":             `for "soon" is not a length of time`,
		"mute pool=p for=45d":              "longer than a mute may last (30 days)",
		"mute pool=p for=2h status=failed": "mute does not take status",
		"mute pool=p for=2h tonight":       `stray word "tonight": write mute pool=NAME for=2h reason="why"`,
		"unmute":                           "unmute needs the pool",
		"mutes pool=p":                     "mutes does not take pool",
		"list for=2h":                      "list does not take for",
		"mute pool=p for=2h reason=" + strings.Repeat("x", 201): "reason is 201 characters long; keep it to 200",
	} {
		_, err := Parse(in, now)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Parse(%q) = %v, want an error with %q", in, err, wantErr)
		}
	}
}
