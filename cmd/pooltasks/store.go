package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/bot/notify/alert"
	"github.com/pooltasks/pooltasks/bot/notify/digest"
	"github.com/pooltasks/pooltasks/bot/notify/lease"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/state/redisstore"
	"github.com/pooltasks/pooltasks/bot/notify/watch"
	"github.com/pooltasks/pooltasks/config"
)

// stateStore is where serve keeps what must survive a restart: the file
// store in POOLTASKS_STATE_DIR, or Redis with POOLTASKS_REDIS_URL.
type stateStore interface {
	digest.Store
	alert.Store
	watch.Store
	bot.ActionStore
	bot.Alerts
	Close() error
}

// openStore opens the store the configuration names. held is why this
// process may not schedule with the file store (another one holds the
// directory; see openState); Redis elects its scheduler instead.
func openStore(ctx context.Context, cfg config.Config, health *loop.Health, logger *slog.Logger) (store stateStore, held error, err error) {
	if cfg.RedisURL == "" {
		return openState(cfg.StateDir, health, logger)
	}
	rs, err := redisstore.Open(ctx, cfg.RedisURL, cfg.RedisPrefix)
	if err != nil {
		return nil, nil, err
	}
	logger.Info("state in redis", "prefix", cfg.RedisPrefix)
	return rs, nil, nil
}

// elect returns the Elector of the scheduler lease in the Redis of store:
// it campaigns when POOLTASKS_SCHEDULER allows, and tells /readyz and the
// metrics whether Redis answers either way.
func elect(cfg config.Config, store *redisstore.Store, m *bot.Metrics, logger *slog.Logger) *lease.Elector {
	host, _ := os.Hostname()
	return lease.New(lease.Config{Client: store.Client(), Key: store.Key(redisstore.LeaseKey), FenceKey: store.Key("fence"),
		TTL: cfg.Lease, Holder: fmt.Sprintf("%s/%d", cmp.Or(host, "pooltasks"), os.Getpid()), Campaign: bool(cfg.Scheduler),
		Log: logger.With("component", "lease"), Metrics: m.Registry()})
}
