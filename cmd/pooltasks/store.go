package main

import (
	"context"
	"log/slog"

	"github.com/pooltasks/pooltasks/bot"

	"github.com/pooltasks/pooltasks/bot/notify/alert"
	"github.com/pooltasks/pooltasks/bot/notify/digest"
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
