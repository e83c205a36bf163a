package bot

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
)

// access holds the allow lists, channel bindings and per-user rates.
type access struct {
	users    map[string]bool // empty: everyone
	channels map[string]bool // empty: every channel
	bindings config.Bindings
	commands *budgets // per user
}

// budgets are per-minute budgets by key (a user's commands, a channel's
// actions).
type budgets struct {
	perMin int // 0 or less: unlimited

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	swept    time.Time // when idle limiters were last forgotten
}

func newBudgets(perMin int) *budgets {
	return &budgets{perMin: perMin, limiters: map[string]*rate.Limiter{}}
}

func newAccess(cfg Config) *access {
	a := &access{
		users:    set(cfg.AllowedUsers),
		channels: set(cfg.AllowedChannels),
		bindings: cfg.ChannelPools,
		commands: newBudgets(cfg.UserRate),
	}
	return a
}

func set(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			m[id] = true
		}
	}
	return m
}

func (a *access) userAllowed(id string) bool { return len(a.users) == 0 || a.users[id] }

func (a *access) channelAllowed(id string) bool { return len(a.channels) == 0 || a.channels[id] }

// binding returns the pools a channel (or DM) may see; bound is false for
// one that sees every pool. Bound with no pools is a channel that sees none
// (POOLTASKS_CHANNEL_POOLS has *= and does not name it): see seesNothing.
func (a *access) binding(channel string) (pools []string, bound bool) {
	pools, all := a.bindings.Pools(channel)
	return pools, !all
}

// seesNothing reports whether a channel may see no pool at all.
func (a *access) seesNothing(channel string) bool {
	pools, bound := a.binding(channel)
	return bound && len(pools) == 0
}

// errNotBound answers a request in a channel that may see no pool.
func errNotBound() error {
	return &userError{cond: condPoolNotAllowed,
		detail: "This channel is not bound to any pool, so pooltasks shows nothing here.",
		hint:   "Ask the team that runs pooltasks to bind it (POOLTASKS_CHANNEL_POOLS), or use a channel that is bound."}
}

// allow takes one command from the user's budget, or says how long to wait.
func (a *access) allow(user string, now time.Time) (bool, time.Duration) {
	return a.commands.allow(user, now)
}

// allow takes one from key's budget, or says how long to wait.
func (a *budgets) allow(key string, now time.Time) (bool, time.Duration) {
	if a.perMin <= 0 {
		return true, 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Sub(a.swept) >= time.Minute {
		a.forgetIdle(now)
	}
	l, ok := a.limiters[key]
	if !ok {
		if len(a.limiters) >= maxRateUsers {
			// Nearly all are still draining (that many users within a
			// minute): start afresh rather than sweep on every new user.
			a.forgetIdle(now)
			if len(a.limiters) >= maxRateUsers*9/10 {
				clear(a.limiters)
			}
		}
		l = rate.NewLimiter(rate.Every(time.Minute/time.Duration(a.perMin)), a.perMin)
		a.limiters[key] = l
	}
	if l.AllowN(now, 1) {
		return true, 0
	}
	r := l.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return false, d
}

// maxRateUsers bounds the limiters of a budgets kept in memory by count; a
// sweep once a minute (forgetIdle) bounds them by time.
const maxRateUsers = 10000

// forgetIdle drops the limiters whose bucket has refilled, which lose
// nothing by being forgotten; a.mu is held.
func (a *budgets) forgetIdle(now time.Time) {
	for u, l := range a.limiters {
		if l.TokensAt(now) >= float64(l.Burst()) {
			delete(a.limiters, u)
		}
	}
	a.swept = now
}

// seconds rounds a wait up to whole seconds, at least one.
func seconds(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }

// allowedPool reports whether a pool (as given, and its resolved id by ws)
// is within a channel's binding in ws's target; entries may be ids, names
// or globs of names (never "*" alone: a channel that sees every pool is not
// bound, see config.Bindings.PoolsIn).
func allowedPool(ctx context.Context, ws Workspace, entries []string, value, id string) bool {
	for _, e := range entries {
		if strings.EqualFold(e, value) || (id != "" && strings.EqualFold(e, id)) {
			return true
		}
	}
	if id == "" {
		return false
	}
	for _, e := range entries {
		res := ws.ResolvePool(ctx, e)
		if res.ID != "" && strings.EqualFold(res.ID, id) {
			return true
		}
		// A glob (Finance*) allows every pool it matches.
		if res.Glob && slices.ContainsFunc(res.Choices, func(p pooltask.Pool) bool { return strings.EqualFold(p.ID, id) }) {
			return true
		}
	}
	return false
}
