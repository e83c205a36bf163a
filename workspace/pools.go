package workspace

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
)

// PoolLister lists desktop pools; *Client has it.
type PoolLister interface {
	ListPools(ctx context.Context, opts pooltask.PoolOptions) (pooltask.PoolPage, error)
}

// DefaultPoolCacheTTL is how long a PoolResolver keeps the pool list when
// NewPoolResolver is given no TTL: pools are created and renamed rarely.
const DefaultPoolCacheTTL = 5 * time.Minute

// poolPageSize is the largest page of the pools list the API gives.
const poolPageSize = 1000

// maxPools bounds the pools a resolver reads and keeps (10 pages): far
// more than one project holds, and a bound on the memory of the cache.
const maxPools = 10 * poolPageSize

// maxSuggestions is how many pool names a miss suggests.
const maxSuggestions = 3

// PoolResolver applies the one pool rule (see ResolvePool) for every entry
// point: Slack commands and buttons, `pooltasks query`, digests, alerts and
// channel bindings. It keeps the pool list for its TTL; a failed listing is
// not kept, so the next value tries again. It is safe for concurrent use.
type PoolResolver struct {
	l   PoolLister
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	pools   []pooltask.Pool // nil until listed; never changed once set, only replaced
	expires time.Time
}

// NewPoolResolver returns a resolver over l that keeps the pool list for
// ttl (DefaultPoolCacheTTL when ttl <= 0). now is the cache's clock;
// nil means time.Now.
func NewPoolResolver(l PoolLister, ttl time.Duration, now func() time.Time) *PoolResolver {
	if ttl <= 0 {
		ttl = DefaultPoolCacheTTL
	}
	if now == nil {
		now = time.Now
	}
	return &PoolResolver{l: l, ttl: ttl, now: now}
}

// ResolvePool says what a pool value names. A UUID-shaped value is an id
// and costs no call; an empty value resolves to nothing. Otherwise the rule
// runs over the project's pools (see ResolvePool); when they cannot be
// listed, the value is used as an id and LookupErr says why.
func (r *PoolResolver) ResolvePool(ctx context.Context, value string) pooltask.Resolution {
	if value == "" || pooltask.IsID(value) {
		return pooltask.Resolution{Value: value, ID: value}
	}
	pools, err := r.list(ctx)
	if err != nil {
		return pooltask.Resolution{Value: value, ID: value, LookupErr: err}
	}
	return ResolvePool(pools, value)
}

// list returns the project's pools, from the cache while it is fresh.
// Concurrent callers of a cold cache share the Client's call.
func (r *PoolResolver) list(ctx context.Context) ([]pooltask.Pool, error) {
	now := r.now()
	r.mu.Lock()
	if r.pools != nil && now.Before(r.expires) {
		pools := r.pools
		r.mu.Unlock()
		return pools, nil
	}
	r.mu.Unlock()

	pools := []pooltask.Pool{}
	for p, err := range Pools(ctx, r.l, pooltask.PoolOptions{}) {
		if err != nil {
			return nil, err
		}
		if len(pools) == maxPools {
			break
		}
		pools = append(pools, p)
	}
	r.mu.Lock()
	r.pools, r.expires = pools, now.Add(r.ttl)
	r.mu.Unlock()
	return pools, nil
}

// ResolvePool is the one pool rule, over a list of pools: a UUID-shaped
// value is an id as it is; a value equal to a pool's id is that pool; else
// the pool named exactly that (case-insensitive); else the one pool whose
// name contains it (case-insensitive). Several pools with that exact name,
// or several containing it, are the Choices; none gives Suggestions, the
// closest names. Both leave ID empty. A value with a * is a glob over names
// (Finance* is every pool whose name starts with "finance", in any case):
// Glob is set, and the pools it matches are its Choices, or its ID when
// one; none is no Suggestions, since pools may come later.
func ResolvePool(pools []pooltask.Pool, value string) pooltask.Resolution {
	res := pooltask.Resolution{Value: value}
	if value == "" || pooltask.IsID(value) {
		res.ID = value
		return res
	}
	found := func(p pooltask.Pool) pooltask.Resolution {
		res.ID, res.Name = p.ID, p.Name
		return res
	}
	if strings.Contains(value, "*") {
		res.Glob = true
		for _, p := range pools {
			if globMatch(strings.ToLower(value), strings.ToLower(p.Name)) {
				res.Choices = append(res.Choices, p)
			}
		}
		if len(res.Choices) == 1 {
			res = found(res.Choices[0])
			res.Choices = nil
		}
		return res
	}
	for _, p := range pools {
		if p.ID == value {
			return found(p)
		}
	}
	var exact, within []pooltask.Pool
	lower := strings.ToLower(value)
	for _, p := range pools {
		name := strings.ToLower(p.Name)
		switch {
		case name == lower:
			exact = append(exact, p)
		case strings.Contains(name, lower):
			within = append(within, p)
		}
	}
	switch {
	case len(exact) == 1:
		return found(exact[0])
	case len(exact) > 1:
		res.Choices = exact
	case len(within) == 1:
		return found(within[0])
	case len(within) > 1:
		res.Choices = within
	default:
		res.Suggestions = suggest(pools, lower)
	}
	return res
}

// globMatch reports whether name matches pattern, in which * stands for
// any run of characters and every other character for itself.
func globMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := len(parts) - 1
	for _, part := range parts[1:last] {
		i := strings.Index(name, part)
		if i < 0 {
			return false
		}
		name = name[i+len(part):]
	}
	return strings.HasSuffix(name, parts[last])
}

// suggest returns the names closest to value (lower case), closest first,
// at most maxSuggestions: those whose best matching part is at most a third
// of value's length of edits away (one at least), or, when none is that
// close, the closest there are, so that a miss always shows what pools
// exist.
func suggest(pools []pooltask.Pool, value string) []string {
	type scored struct {
		name       string
		part, full int
	}
	limit := max(1, len([]rune(value))/3)
	var found []scored
	seen := map[string]bool{}
	for _, p := range pools {
		name := strings.ToLower(p.Name)
		if seen[name] {
			continue
		}
		seen[name] = true
		found = append(found, scored{p.Name, partDistance(value, name), distance(value, name)})
	}
	slices.SortFunc(found, func(a, b scored) int {
		if a.part != b.part {
			return a.part - b.part
		}
		if a.full != b.full {
			return a.full - b.full
		}
		return strings.Compare(a.name, b.name)
	})
	if close := slices.IndexFunc(found, func(s scored) bool { return s.part > limit }); close > 0 {
		found = found[:close]
	}
	var out []string
	for _, s := range found[:min(len(found), maxSuggestions)] {
		out = append(out, s.name)
	}
	return out
}

// distance is the Levenshtein distance between a and b, by rune.
func distance(a, b string) int {
	return editDistance([]rune(a), []rune(b), false)
}

// partDistance is the fewest edits that turn a into some part of b (a
// substring), so that a typo in part of a long name still counts as close.
func partDistance(a, b string) int {
	return editDistance([]rune(a), []rune(b), true)
}

// editDistance is Levenshtein's dynamic programme with transpositions
// (optimal string alignment) over three rows; with part,
// b's prefix and suffix cost nothing (Sellers' approximate substring match).
func editDistance(a, b []rune, part bool) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		if !part {
			prev[j] = j
		}
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1) // two letters swapped: one edit
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	if part {
		return slices.Min(prev)
	}
	return prev[len(b)]
}
