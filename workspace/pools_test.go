package workspace

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pooltasks/pooltasks/pooltask"
)

// TestResolvePoolRule is the one pool rule over a fixed list of pools.
func TestResolvePoolRule(t *testing.T) {
	pools := []pooltask.Pool{
		{ID: "pool-a", Name: "finance-win11"},
		{ID: "pool-b", Name: "callcenter-pool"},
		{ID: "pool-c", Name: "callcenter-pool-emea"},
		{ID: "pool-d", Name: "Shared"},
		{ID: "pool-e", Name: "shared"},
		{ID: "3f2a1b4c-0d9e-4f8a-b7c6-5d4e3f2a1b0c", Name: "dev-ubuntu"},
		{ID: "finance", Name: "id-shaped-like-a-name"},
	}
	byID := func(ids ...string) []pooltask.Pool {
		var out []pooltask.Pool
		for _, id := range ids {
			for _, p := range pools {
				if p.ID == id {
					out = append(out, p)
				}
			}
		}
		return out
	}
	tests := []struct {
		name  string
		value string
		want  pooltask.Resolution
	}{
		{"empty", "", pooltask.Resolution{}},
		{"a UUID is an id, listed or not", "0b1c2d3e-4f5a-6b7c-8d9e-0a1b2c3d4e5f",
			pooltask.Resolution{ID: "0b1c2d3e-4f5a-6b7c-8d9e-0a1b2c3d4e5f"}},
		{"a non-UUID id", "pool-b", pooltask.Resolution{ID: "pool-b", Name: "callcenter-pool"}},
		{"an id before a name containing it", "finance", pooltask.Resolution{ID: "finance", Name: "id-shaped-like-a-name"}},
		{"exact name, any case", "CALLCENTER-POOL", pooltask.Resolution{ID: "pool-b", Name: "callcenter-pool"}},
		{"exact name before the names containing it", "callcenter-pool", pooltask.Resolution{ID: "pool-b", Name: "callcenter-pool"}},
		{"the one name containing it", "emea", pooltask.Resolution{ID: "pool-c", Name: "callcenter-pool-emea"}},
		{"two pools named alike", "SHARED", pooltask.Resolution{Choices: byID("pool-d", "pool-e")}},
		{"several names contain it", "callcenter", pooltask.Resolution{Choices: byID("pool-b", "pool-c")}},
		{"a typo gets the closest names", "finanse-win11", pooltask.Resolution{Suggestions: []string{"finance-win11"}}},
		{"a typo in part of a name", "calcenter", pooltask.Resolution{Suggestions: []string{"callcenter-pool", "callcenter-pool-emea"}}},
		{"two letters swapped are one edit", "dve-", pooltask.Resolution{Suggestions: []string{"dev-ubuntu"}}},
		{"a glob names every pool it matches, in any case", "CALLCENTER*", pooltask.Resolution{Glob: true, Choices: byID("pool-b", "pool-c")}},
		{"a glob inside a name", "*center*emea", pooltask.Resolution{Glob: true, ID: "pool-c", Name: "callcenter-pool-emea"}},
		{"a glob anchors both ends", "*pool", pooltask.Resolution{Glob: true, ID: "pool-b", Name: "callcenter-pool"}},
		{"a glob matching no pool suggests none", "hr-*", pooltask.Resolution{Glob: true}},
		{"nothing close still names the closest pools", "xyzzy", pooltask.Resolution{Suggestions: []string{"Shared", "dev-ubuntu", "finance-win11"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Value = tt.value
			got := ResolvePool(pools, tt.value)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), cmpopts.EquateErrors()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestResolutionErr: the texts the CLI and the bindings show.
func TestResolutionErr(t *testing.T) {
	pools := []pooltask.Pool{{ID: "p1", Name: "finance-win11"}, {ID: "p2", Name: "finance-win10"}}
	tests := []struct {
		value, want string
	}{
		{"finance-win11", ""},
		{"finance", `pool "finance" matches 2 pools: finance-win11 (p1), finance-win10 (p2); give the full name or the id`},
		{"finanse-win1", `no desktop pool is named like "finanse-win1"; did you mean "finance-win10" or "finance-win11"?`},
		{"xyzzy", `no desktop pool is named like "xyzzy"; did you mean "finance-win10" or "finance-win11"?`},
	}
	for _, tt := range tests {
		got := ""
		if err := ResolvePool(pools, tt.value).Err(); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.value, got, tt.want)
		}
	}
}
