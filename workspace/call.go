package workspace

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"golang.org/x/time/rate"
)

// maxCacheEntries bounds the answer cache; during an incident many people
// ask the same few questions, so a small cache is enough.
const maxCacheEntries = 1024

type cacheEntry struct {
	v       any
	expires time.Time
}

// flight is one call shared by every concurrent caller with the same key.
type flight struct {
	done    chan struct{}
	v       any
	err     error
	waiters int // callers still waiting; guarded by Client.mu
	cancel  context.CancelFunc
}

// do runs one API call the way every method needs it: from the cache, or
// joined to an identical call in flight, or as a new call that waits for the
// token bucket and retries transient failures. The call runs in its own
// goroutine so that each caller can leave as soon as its ctx ends; the
// HTTP request itself is cancelled when the last caller has left.
//
// call makes one SDK attempt; it must pass hdr to the SDK as extra headers.
func (c *Client) do(ctx context.Context, op, key string, call func(hdr map[string]string) (any, error)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := c.now()

	c.mu.Lock()
	if c.cfg.CacheTTL > 0 {
		if e, ok := c.cache[key]; ok {
			if now.Before(e.expires) {
				c.mu.Unlock()
				c.obs.CacheHit(op)
				return e.v, nil
			}
			delete(c.cache, key)
		}
	}
	f, shared := c.flights[key]
	if shared {
		f.waiters++
	} else {
		// The shared call keeps the first caller's values (CountCalls) but
		// not its deadline or cancellation: it ends when every caller left.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
		c.flights[key] = f
		go c.run(fctx, op, key, f, call)
	}
	c.mu.Unlock()
	if shared {
		c.obs.Coalesced(op)
	}

	select {
	case <-f.done:
		return f.v, f.err
	case <-ctx.Done():
		c.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			if c.flights[key] == f {
				delete(c.flights, key)
			}
		}
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (c *Client) run(ctx context.Context, op, key string, f *flight, call func(map[string]string) (any, error)) {
	var v any
	var err error
	func() {
		// This goroutine belongs to no handler that could recover: a panic
		// in the SDK must become an error, not end the process.
		defer func() {
			if p := recover(); p != nil {
				v, err = nil, fmt.Errorf("workspace api: %s: internal error: %v", op, p)
			}
		}()
		v, err = c.retry(ctx, op, call)
	}()
	c.mu.Lock()
	f.v, f.err = v, err
	if c.flights[key] == f {
		delete(c.flights, key)
	}
	if err == nil && c.cfg.CacheTTL > 0 {
		c.store(key, v, c.now().Add(c.cfg.CacheTTL))
	}
	c.mu.Unlock()
	f.cancel()
	close(f.done)
}

// store adds an answer to the cache; c.mu must be held.
func (c *Client) store(key string, v any, expires time.Time) {
	if len(c.cache) >= maxCacheEntries {
		now := c.now()
		for k, e := range c.cache {
			if !now.Before(e.expires) {
				delete(c.cache, k)
			}
		}
		for k := range c.cache {
			if len(c.cache) < maxCacheEntries {
				break
			}
			delete(c.cache, k)
		}
	}
	c.cache[key] = cacheEntry{v: v, expires: expires}
}

// retry makes attempts until one succeeds, fails for good, or the attempts
// or the time for retrying run out.
func (c *Client) retry(ctx context.Context, op string, call func(map[string]string) (any, error)) (any, error) {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		if err := c.wait(ctx); err != nil {
			return nil, err
		}

		v, err := c.attempt(ctx, op, call)
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !IsRetryable(err) || attempt >= c.cfg.MaxAttempts {
			return nil, err
		}
		d := c.backoff(attempt, err)
		if time.Since(start)+d > c.cfg.MaxRetryTime {
			return nil, err
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

// wait takes a token from the bucket shared by all calls.
func (c *Client) wait(ctx context.Context) error {
	if c.limiter.Limit() == rate.Inf {
		return nil
	}
	t0 := time.Now()
	if err := c.limiter.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("waiting for the rate limiter: %w", err)
	}
	c.obs.RateLimitWait(time.Since(t0))
	return nil
}

// attempt makes one SDK call bounded by the per-attempt timeout.
func (c *Client) attempt(ctx context.Context, op string, call func(map[string]string) (any, error)) (any, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	id := c.calls.register(&attemptInfo{ctx: actx, op: op})
	defer c.calls.unregister(id)

	v, err := call(map[string]string{callHeader: id})
	if err == nil {
		return v, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return nil, err
	}
	var ne net.Error
	if actx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return nil, fmt.Errorf("workspace api: no answer within %s: %w", c.cfg.Timeout, context.DeadlineExceeded)
	}
	return nil, fmt.Errorf("workspace api: %w", sdkError(err))
}

// backoff returns the wait before attempt+1: jittered exponential from
// BackoffBase, or for throttling what Retry-After says, else 4–10 times
// BackoffBase (2–5 s by default, as Huawei advises).
func (c *Client) backoff(attempt int, err error) time.Duration {
	base := c.cfg.BackoffBase
	if IsThrottled(err) {
		var ae *APIError
		if errors.As(err, &ae) && ae.RetryAfter > 0 {
			return ae.RetryAfter
		}
		return 4*base + rand.N(6*base+1)
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter
	}
	d := base << (attempt - 1)
	if max := 16 * base; d > max || d <= 0 {
		d = max
	}
	// Equal jitter: half fixed, half random, so callers spread out but
	// still back off.
	return d/2 + rand.N(d/2+1)
}
