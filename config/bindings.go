package config

import (
	"fmt"
	"iter"
	"slices"
	"strings"
)

// Bindings is POOLTASKS_CHANNEL_POOLS: which pools each channel may see.
//
// The variable is a list of entries separated by ";", each CHANNEL=POOLS:
// a Slack channel id, "=", and a comma list of pool ids or names (the first
// is the channel's default pool) or "*" for every pool. The entry
// *=POOLS says what every channel the bindings do not name, and every DM,
// may see: *=pool-a,pool-b those pools, *=* every pool, and *= (nothing
// after the "=") no pool at all. Without a *= entry an unnamed channel or
// DM sees every pool.
//
// The zero Bindings binds nothing: every channel sees every pool.
type Bindings struct {
	channels map[string][]string // channel id → pools, or ["*"]
	others   []string            // the *= entry: pools, ["*"], or empty for nothing
	hasOther bool                // there is a *= entry
}

// ParseBindings reads POOLTASKS_CHANNEL_POOLS. An entry it cannot use
// without guessing (a key that is not a channel id, "*" mixed with pools,
// an empty pool, a channel bound twice) is an error that names the entry:
// access fails closed. The error is an *InvalidError.
func ParseBindings(s string) (Bindings, error) {
	b, ps := parseBindings(s)
	if err := ps.Err(); err != nil {
		return Bindings{}, err
	}
	return b, nil
}

// parseBindings is ParseBindings with every problem, warnings included,
// for Validate.
func parseBindings(s string) (Bindings, Problems) {
	const name = "POOLTASKS_CHANNEL_POOLS"
	const fix = `write entries as CHANNEL=pool-a,pool-b separated by ";": a channel id (C…, G… or D…), "=", pool ids or names or * for every pool; *=pools for every other channel and DM (*= for none)`
	var ps Problems
	bad := func(entry, why string) {
		ps = append(ps, Problem{Var: name, Severity: Error, Detail: fmt.Sprintf("entry %q %s", entry, why), Fix: fix})
	}
	b := Bindings{channels: map[string][]string{}}
	for entry := range strings.SplitSeq(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		key, list, ok := strings.Cut(entry, "=")
		key = strings.TrimSpace(key)
		if !ok {
			bad(entry, `has no "="`)
			continue
		}
		var pools []string
		empty := false
		if strings.TrimSpace(list) != "" {
			for p := range strings.SplitSeq(list, ",") {
				p = strings.TrimSpace(p)
				if p == "" {
					empty = true
				}
				pools = append(pools, p)
			}
		}
		switch {
		case key != "*" && !channelIDRe.MatchString(key):
			bad(entry, fmt.Sprintf("binds %q, which is not a channel id (C…, G… or D…; not a #name)", key))
		case key == "*" && b.hasOther, key != "*" && b.channels[key] != nil:
			bad(entry, fmt.Sprintf("binds %s a second time", key))
		case key != "*" && len(pools) == 0:
			bad(entry, "has no pools (write * for every pool; only *= may be empty, for other channels and DMs)")
		case empty:
			bad(entry, "has an empty pool")
		case len(pools) > 1 && slices.Contains(pools, "*"):
			bad(entry, "mixes * with pools: * alone is every pool")
		default:
			for i, p := range pools {
				if slices.ContainsFunc(pools[:i], func(q string) bool { return strings.EqualFold(p, q) }) {
					ps = append(ps, Problem{Var: name, Severity: Warning, Detail: fmt.Sprintf("entry %q lists %s twice", entry, p),
						Fix: "list each pool once"})
					break
				}
			}
			if key == "*" {
				b.others, b.hasOther = pools, true
			} else {
				b.channels[key] = pools
			}
		}
	}
	return b, ps
}

// Pools returns what a channel (or DM) may see: every pool (all is true),
// or the pools listed, the first its default. No pools and all false is
// nothing at all: the bindings' *= entry is empty and does not name it.
func (b Bindings) Pools(channel string) (pools []string, all bool) {
	ps, ok := b.channels[channel]
	if !ok {
		if !b.hasOther {
			return nil, true
		}
		ps = b.others
	}
	if len(ps) == 1 && ps[0] == "*" {
		return nil, true
	}
	return slices.Clone(ps), false
}

// All yields each entry: a channel id and its pools (["*"] for every pool),
// then, when there is one, "*" and the pools of every other channel and DM
// (empty for none). Channels come in the order of their ids.
func (b Bindings) All() iter.Seq2[string, []string] {
	return func(yield func(string, []string) bool) {
		keys := make([]string, 0, len(b.channels))
		for k := range b.channels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !yield(k, slices.Clone(b.channels[k])) {
				return
			}
		}
		if b.hasOther {
			yield("*", slices.Clone(b.others))
		}
	}
}

// Describe says what the bindings do, and which default is in force for
// the channels and DMs they do not name.
func (b Bindings) Describe() string {
	var what string
	switch n := len(b.channels); n {
	case 0:
		what = "no channel is bound"
	case 1:
		what = "1 channel is bound"
	default:
		what = fmt.Sprintf("%d channels are bound", n)
	}
	switch {
	case !b.hasOther:
		return what + "; other channels and DMs see every pool (no *= entry)"
	case len(b.others) == 0:
		return what + "; other channels and DMs see no pool (*=): pooltasks refuses there"
	case b.others[0] == "*":
		return what + "; other channels and DMs see every pool (*=*)"
	}
	return what + "; other channels and DMs see only " + strings.Join(b.others, ", ") + " (*=)"
}
