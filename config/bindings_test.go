package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseBindings: entries that would widen or silently drop access are
// refused with an error naming the entry.
func TestParseBindings(t *testing.T) {
	for in, wantErr := range map[string]string{
		"":                              "",
		"C0123=pool-a,pool-b;C0456=*":   "",
		" C0123 = pool-a ; ":            "",
		"C0123=pool-a;*=":               "",
		"*=pool-a,pool-b":               "",
		"*=*":                           "",
		"C0123":                         `entry "C0123" has no "="`,
		"C0123=a;C0123=b":               `entry "C0123=b" binds C0123 a second time`,
		"*=;*=a":                        `entry "*=a" binds * a second time`,
		"C0123=a,,b":                    `entry "C0123=a,,b" has an empty pool`,
		"C0123=a,":                      `entry "C0123=a," has an empty pool`,
		"C0123=":                        `entry "C0123=" has no pools`,
		"C0123=pool-a,*":                `entry "C0123=pool-a,*" mixes * with pools`,
		"C0123=*,a":                     `entry "C0123=*,a" mixes *`,
		"*=a,*":                         `entry "*=a,*" mixes *`,
		"general=pool-a":                `entry "general=pool-a" binds "general", which is not a channel id`,
		"#ops=pool-a":                   `binds "#ops", which is not a channel id`,
		"c0123=pool-a":                  `binds "c0123", which is not a channel id`,
		"=a":                            `binds "", which is not a channel id`,
		"C0123=pool-a;U0456=pool-b":     `binds "U0456"`,
		"C0123=pool-a;general=pool-b;x": `entry "general=pool-b"`,
	} {
		_, err := ParseBindings(in)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("ParseBindings(%q) = %v, want nil", in, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("ParseBindings(%q) = %v, want an error with %q", in, err, wantErr)
		case err != nil && !strings.Contains(err.Error(), "POOLTASKS_CHANNEL_POOLS"):
			t.Errorf("ParseBindings(%q) = %v, which does not name the variable", in, err)
		}
	}
	// Every bad entry is named, not only the first.
	_, err := ParseBindings("general=a;C1=a,*;C2=b")
	if err == nil || !strings.Contains(err.Error(), "general=a") || !strings.Contains(err.Error(), "C1=a,*") {
		t.Errorf("both bad entries should be named: %v", err)
	}
}

// TestBindingsPools: what each channel and DM may see.
func TestBindingsPools(t *testing.T) {
	type scope struct {
		Pools []string
		All   bool
	}
	every, nothing := scope{All: true}, scope{}
	for _, tc := range []struct {
		in   string
		want map[string]scope // channel → what it sees
	}{
		{"", map[string]scope{"C1": every, "D1": every}},
		{"C1=pool-a, pool-b;C2=*", map[string]scope{
			"C1": {Pools: []string{"pool-a", "pool-b"}}, "C2": every, "C3": every, "D1": every}},
		{"C1=pool-a;*=pool-b,pool-c", map[string]scope{
			"C1": {Pools: []string{"pool-a"}}, "C3": {Pools: []string{"pool-b", "pool-c"}}, "D1": {Pools: []string{"pool-b", "pool-c"}}}},
		{"C1=pool-a;C2=*;*=", map[string]scope{"C1": {Pools: []string{"pool-a"}}, "C2": every, "C3": nothing, "D1": nothing}},
		{"*=*", map[string]scope{"C3": every, "D1": every}},
	} {
		b, err := ParseBindings(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		got := map[string]scope{}
		for ch := range tc.want {
			ps, all := b.Pools(ch)
			got[ch] = scope{ps, all}
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%q (-want +got)\n%s", tc.in, d)
		}
	}
	var zero Bindings
	if ps, all := zero.Pools("D1"); !all || ps != nil {
		t.Errorf("zero Bindings: %v %v, want every pool", ps, all)
	}
}

func TestBindingsAll(t *testing.T) {
	b, err := ParseBindings("C2=b;C1=a,c;*=")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for ch, ps := range b.All() {
		got = append(got, ch+"="+strings.Join(ps, ","))
	}
	if d := cmp.Diff([]string{"C1=a,c", "C2=b", "*="}, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}
