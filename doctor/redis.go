package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/lease"
	"github.com/pooltasks/pooltasks/bot/notify/state/redisstore"
	"github.com/pooltasks/pooltasks/config"
)

// checkRedis checks the Redis of POOLTASKS_REDIS_URL: that it answers (with
// the password), its version (7 or later: the scripts use nothing newer,
// but older ones are not tested), one round trip's latency, and which
// replica holds the scheduler lease.
func checkRedis(ctx context.Context, cfg config.Config, timeout time.Duration) []Check {
	c := Check{Name: "redis"}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	store, err := redisstore.Open(ctx, cfg.RedisURL, cfg.RedisPrefix)
	if err != nil {
		c.Status, c.Detail = Fail, err.Error()
		switch msg := err.Error(); {
		case strings.Contains(msg, "WRONGPASS"), strings.Contains(msg, "NOAUTH"):
			c.Fix = "put the Redis password in POOLTASKS_REDIS_URL: redis://:PASSWORD@HOST:6379/0 (or USER:PASSWORD with ACLs)"
		case errors.Is(err, context.DeadlineExceeded), strings.Contains(msg, "refused"), strings.Contains(msg, "no such host"):
			c.Fix = "check the host and port of POOLTASKS_REDIS_URL, and that this pod may reach it (NetworkPolicy, security group)"
		default:
			c.Fix = "check POOLTASKS_REDIS_URL"
		}
		return []Check{c}
	}
	defer store.Close()
	rdb := store.Client()
	start := time.Now()
	if err := rdb.Ping(ctx).Err(); err != nil {
		c.Status, c.Detail, c.Fix = Fail, "PING: "+err.Error(), "check that Redis answers"
		return []Check{c}
	}
	rtt := time.Since(start)
	version := "unknown version"
	if info, err := rdb.Info(ctx, "server").Result(); err == nil {
		for line := range strings.SplitSeq(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
				version = "Redis " + v
			}
		}
	}
	c.Status, c.Detail = OK, fmt.Sprintf("%s answers in %v, keys under %q", version, rtt.Round(10*time.Microsecond), cfg.RedisPrefix)
	if major, _, _ := strings.Cut(strings.TrimPrefix(version, "Redis "), "."); major < "7" && len(major) == 1 {
		c.Status, c.Fix = Warn, "use Redis 7 or later (or Valkey): older versions are not tested"
	}
	if rtt > 50*time.Millisecond {
		c.Status, c.Fix = Warn, "a round trip over 50 ms slows every watch and action; put Redis near the replicas"
	}
	l := Check{Name: "scheduler lease"}
	holder, left, err := lease.Holder(ctx, rdb, store.Key(redisstore.LeaseKey))
	switch {
	case err != nil:
		l.Status, l.Detail = Fail, "reading the lease: "+err.Error()
	case holder == "" && bool(cfg.Scheduler):
		l.Status, l.Detail = Warn, "no replica holds it: no digests, alerts or watch updates run now"
		l.Fix = "start serve (a replica takes the lease within POOLTASKS_LEASE), or look at the replicas' logs"
	case holder == "":
		l.Status, l.Detail = Warn, "no replica holds it, and this one never takes it (POOLTASKS_SCHEDULER=false)"
		l.Fix = "run at least one replica with POOLTASKS_SCHEDULER=auto"
	default:
		l.Status, l.Detail = OK, fmt.Sprintf("held by %s for %v more (renewed while it lives)", holder, left.Round(time.Millisecond))
	}
	return []Check{c, l}
}
