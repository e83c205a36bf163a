package workspace

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
	"golang.org/x/sync/singleflight"
)

// maxCacheEntries bounds each kind of answer's cache; during an incident
// many people ask the same few questions, so a small cache is enough.
const maxCacheEntries = 1024

// errAbandoned ends a flight whose leader left (its ctx ended) before an
// answer came: the callers who shared it start over, one of them leading.
var errAbandoned = errors.New("workspace: call abandoned by its caller")

// shared makes the calls of one kind of answer (T): from its cache, or
// joined to an identical call in flight (golang.org/x/sync/singleflight),
// or as a new call that waits for the token bucket and retries transient
// failures. Every caller returns ctx.Err() as soon as its ctx ends: the
// leader's HTTP request carries its ctx, and the others stop waiting.
type shared[T any] struct {
	op    string
	group singleflight.Group

	mu      sync.Mutex
	cache   map[string]cached[T]
	swept   time.Time      // when expired answers were last forgotten
	waiting map[string]int // callers of each key waiting on the group, to report joins
}

type cached[T any] struct {
	v       T
	expires time.Time
}

func newShared[T any](op string) *shared[T] {
	return &shared[T]{op: op, cache: make(map[string]cached[T]), waiting: make(map[string]int)}
}

// do returns the answer for key, and whether it may be seen by another
// caller (it came from the cache or another caller's call, was handed to
// others, or went into the cache): such an answer must be copied before it
// is changed. call makes one SDK attempt; it must pass hdr to the SDK as
// extra headers.
func (s *shared[T]) do(ctx context.Context, c *Client, key string, call func(hdr map[string]string) (T, error)) (T, bool, error) {
	var zero T
	for {
		if err := ctx.Err(); err != nil {
			return zero, false, err
		}
		v, hit, joined := s.enter(c, key)
		if hit {
			c.obs.CacheHit(s.op)
			return v, true, nil
		}
		if joined {
			c.obs.Coalesced(s.op)
		}
		led := false // written by the flight's goroutine before it answers
		ch := s.group.DoChan(key, func() (any, error) {
			led = true
			return s.lead(ctx, c, key, call)
		})
		var r singleflight.Result
		select {
		case r = <-ch:
			s.leave(key)
		case <-ctx.Done():
			s.leave(key)
			return zero, false, ctx.Err()
		}
		if errors.Is(r.Err, errAbandoned) {
			if led {
				return zero, false, ctx.Err()
			}
			continue
		}
		v, _ = r.Val.(T) // lead returns a T, or nil with an error
		return v, r.Shared || (r.Err == nil && c.cfg.CacheTTL > 0), r.Err
	}
}

// enter answers from the cache, or counts the caller in as waiting on key;
// joined says another caller is waiting on it already, so this one shares
// that call.
func (s *shared[T]) enter(c *Client, key string) (v T, hit, joined bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.cfg.CacheTTL > 0 {
		if e, ok := s.cache[key]; ok {
			if c.now().Before(e.expires) {
				return e.v, true, false
			}
			delete(s.cache, key)
		}
	}
	joined = s.waiting[key] > 0
	s.waiting[key]++
	return v, false, joined
}

// peek returns the cached answer for key while it is fresh, without
// reporting a hit.
func (s *shared[T]) peek(c *Client, key string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.cache[key]
	if !ok || !c.now().Before(e.expires) {
		var zero T
		return zero, false
	}
	return e.v, true
}

func (s *shared[T]) leave(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waiting[key]--; s.waiting[key] <= 0 {
		delete(s.waiting, key)
	}
}

// lead makes the call of a flight, in the flight's goroutine, and keeps a
// good answer in the cache before the flight ends, so that no caller
// misses both.
func (s *shared[T]) lead(ctx context.Context, c *Client, key string, call func(map[string]string) (T, error)) (v any, err error) {
	defer func() {
		// A panic in the SDK becomes an error: singleflight would crash
		// the process with it, and the caller gets an answer.
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("workspace api: %s: internal error: %v", s.op, p)
		}
		if err != nil && ctx.Err() != nil {
			// The leader's own ctx ended the call: the others try again.
			v, err = nil, errAbandoned
		}
	}()
	t, err := retry(ctx, c, s.op, call)
	if err != nil {
		return nil, err
	}
	if c.cfg.CacheTTL > 0 {
		s.store(c, key, t)
	}
	return t, nil
}

// store adds an answer to the cache, making room when it is full.
func (s *shared[T]) store(c *Client, key string, v T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := c.now()
	// Expired answers are forgotten once a TTL, not only when the cache
	// is full: a page of 100 tasks weighs tens of KB, and a relative
	// time that moves on makes new keys all day, so waiting for 1024 of
	// them grew the heap by about 0.5 MB a minute at 20 commands a second.
	if len(s.cache) >= maxCacheEntries || now.Sub(s.swept) >= c.cfg.CacheTTL {
		for k, e := range s.cache {
			if !now.Before(e.expires) {
				delete(s.cache, k)
			}
		}
		s.swept = now
	}
	if len(s.cache) >= maxCacheEntries {
		for k := range s.cache {
			if len(s.cache) < maxCacheEntries {
				break
			}
			delete(s.cache, k)
		}
	}
	s.cache[key] = cached[T]{v: v, expires: now.Add(c.cfg.CacheTTL)}
}

// retry makes attempts until one succeeds, fails for good, or the attempts
// or the time for retrying run out.
func retry[T any](ctx context.Context, c *Client, op string, call func(map[string]string) (T, error)) (T, error) {
	var zero T
	start := time.Now()
	for n := 1; ; n++ {
		if err := c.wait(ctx); err != nil {
			return zero, err
		}

		v, err := attempt(ctx, c, op, call)
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return zero, ctx.Err()
		}
		if !IsRetryable(err) || n >= c.cfg.MaxAttempts {
			return zero, err
		}
		if err := c.pause(ctx, n, start, err); err != nil {
			return zero, err
		}
	}
}

// pause waits before attempt n+1 of a call that started at start and failed
// with err; it returns err when the time for retrying would run out, or
// ctx.Err() when ctx ends first.
func (c *Client) pause(ctx context.Context, n int, start time.Time, err error) error {
	d := c.backoff(n, err)
	if time.Since(start)+d > c.cfg.MaxRetryTime {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
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
func attempt[T any](ctx context.Context, c *Client, op string, call func(map[string]string) (T, error)) (T, error) {
	var zero T
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	a := c.calls.register(actx, op)
	v, err := call(a.hdr)
	c.calls.unregister(a)
	if err == nil {
		return v, nil
	}
	if ctx.Err() != nil {
		return zero, ctx.Err()
	}
	var ae *pooltask.APIError
	if errors.As(err, &ae) {
		return zero, err
	}
	// The transport's verdicts on an answer reach us wrapped in the
	// *url.Error of the http.Client, whose text quotes the URL: say what
	// was wrong alone.
	if tl, ok := errors.AsType[*BodyTooLargeError](err); ok {
		return zero, fmt.Errorf("workspace api: %w", tl)
	}
	if nj, ok := errors.AsType[*NotJSONError](err); ok {
		return zero, fmt.Errorf("workspace api: %w", nj)
	}
	var ne net.Error
	if actx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return zero, fmt.Errorf("workspace api: no answer within %s: %w", c.cfg.Timeout, context.DeadlineExceeded)
	}
	return zero, fmt.Errorf("workspace api: %w", sdkError(err))
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
