package redisstore

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/redis/go-redis/v9"
)

// Observe counts every Redis command of the store (of the lease too: they
// share the client) in set: pooltasks_state_op_seconds{op} (a histogram
// of each command's latency) and pooltasks_state_op_errors_total{op} (a
// failed command; redis.Nil, "no such key", is not a failure).
func (s *Store) Observe(set *metrics.Set) {
	s.rdb.AddHook(observer{set})
}

type observer struct{ set *metrics.Set }

// latencyBuckets go from 100 µs to about 3 s.
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3}

func (o observer) DialHook(next redis.DialHook) redis.DialHook { return next }

func (o observer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		o.observe(strings.ToLower(cmd.Name()), start, err)
		return err
	}
}

func (o observer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		o.observe("pipeline", start, err)
		return err
	}
}

func (o observer) observe(op string, start time.Time, err error) {
	label := `{op="` + op + `"}`
	o.set.GetOrCreatePrometheusHistogramExt("pooltasks_state_op_seconds"+label, latencyBuckets).UpdateDuration(start)
	var ne net.Error
	if err != nil && !errors.Is(err, redis.Nil) && (errors.As(err, &ne) || !strings.HasPrefix(err.Error(), "NOSCRIPT")) {
		o.set.GetOrCreateCounter("pooltasks_state_op_errors_total" + label).Inc()
	}
}
