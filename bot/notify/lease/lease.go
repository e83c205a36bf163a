// Package lease elects, among the replicas that share one Redis, the one
// that schedules (digests, alerts, watch updates): it holds a lease key
// (SET NX PX, renewed at a third of its length). Each acquisition takes a
// new fencing token (INCR), which is the lease key's value: the scheduler's
// writes check it in Redis (redisstore.Store.Fenced), and its Slack posts
// check it first (Poster), so a leader that was paused past its lease
// (SIGSTOP, a long GC, a partition) posts and saves nothing once it wakes.
//
// The Elector also watches whether Redis answers at all, for /readyz and
// the metrics: a replica without Redis still answers queries (degraded),
// and one that led pauses its schedules until Redis is back.
package lease

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
)

// ErrLost is a check of a token that no longer holds the lease.
var ErrLost = errors.New("this replica no longer holds the scheduler lease")

// Config configures an Elector.
type Config struct {
	Client   redis.UniversalClient
	Key      string        // the lease key (its value: "TOKEN HOLDER")
	FenceKey string        // the token counter
	TTL      time.Duration // lease length (POOLTASKS_LEASE); default 15s
	Holder   string        // who this replica is, for doctor and the log
	// Campaign is false for a replica that never schedules
	// (POOLTASKS_SCHEDULER=false): it only watches Redis.
	Campaign bool
	Log      *slog.Logger
	Metrics  *metrics.Set // nil: none
}

// Elector campaigns for the lease and runs lead while it holds it.
type Elector struct {
	cfg Config

	leader  *metrics.Gauge   // pooltasks_scheduler_leader
	changes *metrics.Counter // pooltasks_scheduler_lease_changes_total
	up      *metrics.Gauge   // pooltasks_redis_up
	latency *metrics.Histogram

	mu       sync.Mutex
	degraded string    // why Redis does not answer; empty when it does
	token    string    // held token; empty when not leading
	deadline time.Time // local end of the held lease
}

// New returns an Elector.
func New(cfg Config) *Elector {
	if cfg.TTL <= 0 {
		cfg.TTL = 15 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	set := cfg.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	return &Elector{cfg: cfg,
		leader:  set.NewGauge("pooltasks_scheduler_leader", nil),
		changes: set.NewCounter("pooltasks_scheduler_lease_changes_total"),
		up:      set.NewGauge("pooltasks_redis_up", nil),
		latency: set.NewHistogram("pooltasks_redis_lease_seconds"),
	}
}

// acquire takes the lease when nobody holds it: the token is a number
// from the counter, a random nonce (the counter starts again in a Redis
// that lost its data) and the holder, and is the lease's value.
var acquireScript = redis.NewScript(`if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local v = redis.call('INCR', KEYS[2]) .. ' ' .. ARGV[3] .. ' ' .. ARGV[1]
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return v`)

// renew extends the lease while it holds ARGV[1].
var renewScript = redis.NewScript(`if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1`)

// release drops the lease while it holds ARGV[1].
var releaseScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// Run campaigns until ctx ends. Whenever this replica holds the lease it
// calls lead with a ctx that ends as soon as the lease may be lost (a
// renewal refused, or none confirmed before the lease's local end) and
// with the fencing token; lead must return soon after its ctx ends. At
// the end of ctx the lease is released, so another replica takes over at
// once. Without Campaign, Run only watches whether Redis answers.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context, token string)) {
	every := e.cfg.TTL / 3
	for {
		if e.cfg.Campaign {
			token, deadline, err := e.acquire(ctx)
			if err == nil && token != "" {
				e.hold(ctx, token, deadline, lead)
				if ctx.Err() != nil {
					return
				}
				continue // campaign again at once
			}
		} else {
			e.ping(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// acquire tries once to take the lease; "" when another replica holds it.
func (e *Elector) acquire(ctx context.Context) (token string, deadline time.Time, err error) {
	sent := time.Now()
	v, err := acquireScript.Run(ctx, e.cfg.Client, []string{e.cfg.Key, e.cfg.FenceKey}, e.cfg.Holder, e.cfg.TTL.Milliseconds(), rand.Text()[:8]).Result()
	e.observe(sent, err)
	if errors.Is(err, redis.Nil) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return v.(string), sent.Add(e.cfg.TTL), nil
}

// hold runs lead while the lease is held, renewing it; it returns once the
// lease is lost or released.
func (e *Elector) hold(ctx context.Context, token string, deadline time.Time, lead func(context.Context, string)) {
	e.mu.Lock()
	e.token, e.deadline = token, deadline
	e.mu.Unlock()
	e.leader.Set(1)
	e.changes.Inc()
	e.cfg.Log.Info("scheduler lease acquired: this replica schedules", "holder", e.cfg.Holder, "token", tokenNumber(token))

	leadCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lead(leadCtx, token)
	}()
	why := e.renew(ctx, token, done)
	cancel()
	<-done
	e.mu.Lock()
	e.token, e.deadline = "", time.Time{}
	e.mu.Unlock()
	e.leader.Set(0)
	if ctx.Err() != nil {
		// Shutting down: hand the lease over now, not at its expiry.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer rcancel()
		releaseScript.Run(rctx, e.cfg.Client, []string{e.cfg.Key}, token)
		e.cfg.Log.Info("scheduler lease released", "token", tokenNumber(token))
		return
	}
	e.cfg.Log.Warn("scheduler lease lost: this replica stops scheduling", "token", tokenNumber(token), "why", why)
}

// renew renews the lease every third of its length until ctx ends, lead
// returns, or the lease may be lost; it says why it stopped.
func (e *Elector) renew(ctx context.Context, token string, done <-chan struct{}) string {
	every := e.cfg.TTL / 3
	for {
		e.mu.Lock()
		deadline := e.deadline
		e.mu.Unlock()
		wait := min(every, time.Until(deadline))
		if wait <= 0 {
			return "no renewal confirmed before the lease's end"
		}
		select {
		case <-ctx.Done():
			return "shutting down"
		case <-done:
			return "the schedules stopped"
		case <-time.After(wait):
		}
		if time.Now().After(deadline) {
			// Woken after the lease's end (a pause): it may be
			// another's already.
			return "the lease ended while this replica was paused"
		}
		sent := time.Now()
		rctx, cancel := context.WithDeadline(ctx, deadline)
		n, err := renewScript.Run(rctx, e.cfg.Client, []string{e.cfg.Key}, token, e.cfg.TTL.Milliseconds()).Int()
		cancel()
		e.observe(sent, err)
		switch {
		case err != nil:
			e.cfg.Log.Warn("renewing the scheduler lease failed; trying again until it ends", "err", err, "ends_in", time.Until(deadline).Round(time.Millisecond))
		case n == 0:
			return "another replica holds it"
		default:
			e.mu.Lock()
			e.deadline = sent.Add(e.cfg.TTL)
			e.mu.Unlock()
		}
	}
}

// margin is how long before the lease's local end a leader stops posting:
// a post takes time, and clocks drift.
const margin = time.Second

// Check returns nil when token holds the lease (this replica's, with time
// left on it, confirmed by Redis), else ErrLost or why it cannot tell.
// It is asked before each post the scheduler makes.
func (e *Elector) Check(ctx context.Context, token string) error {
	e.mu.Lock()
	held, deadline := e.token, e.deadline
	e.mu.Unlock()
	if held != token || time.Until(deadline) < margin {
		return ErrLost
	}
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(-margin))
	defer cancel()
	v, err := e.cfg.Client.Get(ctx, e.cfg.Key).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return ErrLost
	case err != nil:
		return fmt.Errorf("checking the scheduler lease: %w", err)
	case v != token:
		return ErrLost
	}
	return nil
}

// ping checks that Redis answers, for a replica that does not campaign.
func (e *Elector) ping(ctx context.Context) {
	sent := time.Now()
	pctx, cancel := context.WithTimeout(ctx, e.cfg.TTL/3)
	err := e.cfg.Client.Ping(pctx).Err()
	cancel()
	if ctx.Err() == nil {
		e.observe(sent, err)
	}
}

// observe records whether Redis answered a lease call, and how fast.
func (e *Elector) observe(sent time.Time, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil && !errors.Is(err, redis.Nil) {
		if e.degraded == "" {
			e.cfg.Log.Error("redis does not answer: queries go on; scheduling, watches and exactly-once actions wait for it", "err", err)
		}
		e.degraded = "redis does not answer (" + publicError(err) + "): queries are answered; digests, alerts, watches and actions wait for it"
		e.up.Set(0)
		return
	}
	if e.degraded != "" {
		e.cfg.Log.Info("redis answers again")
	}
	e.degraded = ""
	e.up.Set(1)
	e.latency.UpdateDuration(sent)
}

// Degraded says why this replica runs degraded (Redis does not answer), or
// "" when it does not: /readyz shows it with 200, since queries are still
// answered.
func (e *Elector) Degraded() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.degraded
}

// publicError is err without what it may quote (a URL's password never is
// in go-redis's errors, but an address is enough).
func publicError(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "i/o timeout"):
		return "timed out"
	}
	var re redis.Error
	if errors.As(err, &re) {
		return "redis answered " + strings.SplitN(re.Error(), " ", 2)[0]
	}
	return "see the log"
}

// tokenNumber is the token's counter part, for the log.
func tokenNumber(token string) string {
	n, _, _ := strings.Cut(token, " ")
	return n
}

// Holder returns who holds the lease and for how much longer, for doctor;
// "" when nobody does.
func Holder(ctx context.Context, rdb redis.UniversalClient, key string) (holder string, left time.Duration, err error) {
	v, err := rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	left, err = rdb.PTTL(ctx, key).Result()
	if err != nil {
		return "", 0, err
	}
	if f := strings.SplitN(v, " ", 3); len(f) == 3 {
		holder = f[2]
	}
	return holder, left, nil
}

// Poster is a loop.Poster for the scheduler: each post (and update) is
// made only after Check confirmed that Token still holds the lease. Every
// method of loop.Poster that posts or changes a message must be here; the
// reads (FindRecorded) pass through.
type Poster struct {
	loop.Poster
	Elector *Elector
	Token   string
}

// PostMessage posts when the lease is still held.
func (p Poster) PostMessage(ctx context.Context, channel, threadTS, text string, blocks []slack.Block) (string, error) {
	if err := p.Elector.Check(ctx, p.Token); err != nil {
		return "", err
	}
	return p.Poster.PostMessage(ctx, channel, threadTS, text, blocks)
}

// PostRecorded posts a recorded message (a digest, an alert) when the
// lease is still held.
func (p Poster) PostRecorded(ctx context.Context, channel string, rec loop.Record, text string, blocks []slack.Block) (string, error) {
	if err := p.Elector.Check(ctx, p.Token); err != nil {
		return "", err
	}
	return p.Poster.PostRecorded(ctx, channel, rec, text, blocks)
}

// UpdateMessage updates when the lease is still held.
func (p Poster) UpdateMessage(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	if err := p.Elector.Check(ctx, p.Token); err != nil {
		return err
	}
	return p.Poster.UpdateMessage(ctx, channel, ts, text, blocks)
}
