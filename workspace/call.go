package workspace

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
)

// maxCacheEntries bounds the answer cache; during an incident many people
// ask the same few questions, so a small cache is enough.
const maxCacheEntries = 1024

type cacheEntry struct {
	v       any
	expires time.Time
}

// flight is one call shared by every concurrent caller with the same key.
// The first caller makes the call in its own goroutine; the others wait for
// it. If the first caller leaves (its ctx ended) before an answer came, the
// flight is abandoned and the others start over, one of them leading.
type flight struct {
	done chan struct{} // made by the first waiter, under Client.mu

	v         any
	err       error
	abandoned bool
}

// do runs one API call the way every method needs it: from the cache, or
// joined to an identical call in flight, or as a new call that waits for the
// token bucket and retries transient failures. Every caller returns
// ctx.Err() as soon as its ctx ends: the leader's HTTP request carries its
// ctx, and waiters stop waiting.
//
// call makes one SDK attempt; it must pass hdr to the SDK as extra headers.
func (c *Client) do(ctx context.Context, op, key string, call func(hdr map[string]string) (any, error)) (any, error) {
	v, _, err := c.doShared(ctx, op, key, call)
	return v, err
}

// doShared is do, and also reports whether the answer may be seen by
// another caller (it came from the cache or another caller's call, was
// handed to waiters, or went into the cache). An answer that is not shared
// belongs to the caller alone, who need not copy it.
func (c *Client) doShared(ctx context.Context, op, key string, call func(hdr map[string]string) (any, error)) (any, bool, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		c.mu.Lock()
		if c.cfg.CacheTTL > 0 {
			if e, ok := c.cache[key]; ok {
				if c.now().Before(e.expires) {
					c.mu.Unlock()
					c.obs.CacheHit(op)
					return e.v, true, nil
				}
				delete(c.cache, key)
			}
		}
		if f, ok := c.flights[key]; ok {
			// The channel is made by the first waiter: most calls have
			// none.
			if f.done == nil {
				f.done = make(chan struct{})
			}
			done := f.done
			c.mu.Unlock()
			c.obs.Coalesced(op)
			select {
			case <-done:
				if f.abandoned {
					continue
				}
				return f.v, true, f.err
			case <-ctx.Done():
				return nil, false, ctx.Err()
			}
		}
		f := &flight{}
		c.flights[key] = f
		c.mu.Unlock()
		return c.lead(ctx, op, key, f, call)
	}
}

// lead makes the call of a flight and hands its answer to the waiters.
func (c *Client) lead(ctx context.Context, op, key string, f *flight, call func(map[string]string) (any, error)) (v any, shared bool, err error) {
	defer func() {
		// A panic in the SDK becomes an error: the waiters must not wait
		// forever, and the caller gets an answer.
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("workspace api: %s: internal error: %v", op, p)
		}
		c.mu.Lock()
		if c.flights[key] == f {
			delete(c.flights, key)
		}
		if err != nil && ctx.Err() != nil {
			// Our own ctx ended the call: the waiters try again themselves.
			f.abandoned = true
			err = ctx.Err()
		} else {
			f.v, f.err = v, err
			if err == nil && c.cfg.CacheTTL > 0 {
				c.store(key, v, c.now().Add(c.cfg.CacheTTL))
				shared = true
			}
		}
		// No waiter can join any more: the flight left the map.
		done := f.done
		c.mu.Unlock()
		if done != nil {
			shared = true
			close(done)
		}
	}()
	v, err = c.retry(ctx, op, call)
	return v, false, err
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

// wait takes a token from the bucket shared by all calls. Unlike
// Limiter.Wait it waits until ctx ends rather than failing at once when the
// token comes after ctx's deadline, so a caller's error is always ctx.Err().
func (c *Client) wait(ctx context.Context) error {
	if c.unlimited {
		return nil
	}
	// Limiter.Reserve and Cancel read the clock before taking the limiter's
	// lock, and a reading older than the last one credits that interval
	// again: concurrent callers would be admitted early. Reading the clock
	// under limMu keeps the readings the limiter sees in order.
	c.limMu.Lock()
	now := time.Now()
	r := c.limiter.ReserveN(now, 1)
	c.limMu.Unlock()
	d := r.DelayFrom(now)
	c.obs.RateLimitWait(d)
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		c.limMu.Lock()
		r.CancelAt(time.Now())
		c.limMu.Unlock()
		return ctx.Err()
	}
}

// attempt makes one SDK call, bounded by cfg.Timeout (body included). The
// transport gives the request a ctx derived from the caller's, so the
// caller's cancellation and the timeout close the connection. The timeout is
// ours rather than the http.Client's: with a custom RoundTripper the
// http.Client would start a timer goroutine for every request.
func (c *Client) attempt(ctx context.Context, op string, call func(map[string]string) (any, error)) (any, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	a := c.calls.register(actx, op)
	v, err := call(a.hdr)
	c.calls.unregister(a)
	if err == nil {
		return v, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var ae *pooltask.APIError
	if errors.As(err, &ae) {
		return nil, err
	}
	// The transport's verdicts on an answer reach us wrapped in the
	// *url.Error of the http.Client, whose text quotes the URL: say what
	// was wrong alone.
	if tl, ok := errors.AsType[*BodyTooLargeError](err); ok {
		return nil, fmt.Errorf("workspace api: %w", tl)
	}
	if nj, ok := errors.AsType[*NotJSONError](err); ok {
		return nil, fmt.Errorf("workspace api: %w", nj)
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
	var ae *pooltask.APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter
	}
	if IsThrottled(err) {
		return 4*base + rand.N(6*base+1)
	}
	d := base << (attempt - 1)
	if max := 16 * base; d > max || d <= 0 {
		d = max
	}
	// Equal jitter: half fixed, half random, so callers spread out but
	// still back off.
	return d/2 + rand.N(d/2+1)
}
