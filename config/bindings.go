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
	return parseEntries("POOLTASKS_CHANNEL_POOLS", s, true)
}

// parseEntries reads the CHANNEL=POOLS;… grammar of the variable name (see
// Bindings). others says whether a *= entry is allowed (bindings: yes;
// alert routes, which name channels to post in: no).
func parseEntries(name, s string, others bool) (Bindings, Problems) {
	fix := `write entries as CHANNEL=pool-a,pool-b separated by ";": a channel id (C…, G… or D…), "=", pool ids or names (Finance* for every pool whose name starts so) or * for every pool`
	if others {
		fix += "; *=pools for every other channel and DM (*= for none)"
	}
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
		case key == "*" && !others:
			bad(entry, "names no channel: each entry names the channel (C…) its pools' alerts go to")
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

// Route says where the alerts of some pools go: POOLTASKS_ALERT_CHANNEL
// (every pool its binding lets it see) or one entry of
// POOLTASKS_ALERT_ROUTES, in the grammar of POOLTASKS_CHANNEL_POOLS
// (C_FIN=Finance*,pool-x;C_OPS=*). A channel has one route at most, so a
// failure is alerted once in each channel it routes to.
type Route struct {
	Channel string
	// Pools are ids, names or names with * globs (Finance*), resolved by
	// the one pool rule at each poll; empty is every pool.
	Pools []string
}

// ParseRoutes reads POOLTASKS_ALERT_ROUTES: the grammar of
// POOLTASKS_CHANNEL_POOLS without the *= entry. The error is an
// *InvalidError naming each bad entry.
func ParseRoutes(s string) ([]Route, error) {
	rs, ps := parseRoutes(s)
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return rs, nil
}

func parseRoutes(s string) ([]Route, Problems) {
	b, ps := parseEntries("POOLTASKS_ALERT_ROUTES", s, false)
	var rs []Route
	for ch, pools := range b.All() {
		if len(pools) == 1 && pools[0] == "*" {
			pools = nil
		}
		rs = append(rs, Route{Channel: ch, Pools: pools})
	}
	return rs, ps
}

// SplitTarget reads a binding's pool entry: "eu:pool-a" is the pool pool-a
// of target eu; an entry without a target prefix ("pool-a") is that pool
// in any target.
func SplitTarget(entry string) (target, pool string) {
	if t, p, ok := strings.Cut(entry, ":"); ok && targetNameRe.MatchString(t) && p != "" {
		return t, p
	}
	return "", entry
}

// Targets returns the targets a channel's binding names when each of its
// pools has a TARGET: prefix (in their order, each once), or nil when the
// channel sees every pool or has a pool of any target.
func (b Bindings) Targets(channel string) []string {
	pools, all := b.Pools(channel)
	if all {
		return nil
	}
	var out []string
	for _, p := range pools {
		t, _ := SplitTarget(p)
		if t == "" {
			return nil
		}
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, t) }) {
			out = append(out, t)
		}
	}
	return out
}

// PoolsIn is Pools within one target: the channel's pools without a
// prefix and those prefixed with target (prefix removed), the first its
// default; all is true when it sees every pool of target (no binding, *,
// or TARGET:*).
func (b Bindings) PoolsIn(channel, target string) (pools []string, all bool) {
	entries, all := b.Pools(channel)
	if all {
		return nil, true
	}
	for _, e := range entries {
		t, p := SplitTarget(e)
		if t != "" && !strings.EqualFold(t, target) {
			continue
		}
		if p == "*" {
			return nil, true
		}
		pools = append(pools, p)
	}
	return pools, false
}
