package lease_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/lease"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/notify/state/redisstore"
	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
)

// replica is one Elector running in the test, with what its lead saw.
type replica struct {
	e      *lease.Elector
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	tokens []string
	leads  chan string // the token of each lead that starts
	ended  chan string // the token of each lead that ends
}

func startReplica(t *testing.T, store *redisstore.Store, name string, ttl time.Duration) *replica {
	t.Helper()
	e := lease.New(lease.Config{Client: store.Client(), Key: store.Key(redisstore.LeaseKey), FenceKey: store.Key("fence"),
		TTL: ttl, Holder: name, Campaign: true})
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{e: e, cancel: cancel, done: make(chan struct{}), leads: make(chan string, 10), ended: make(chan string, 10)}
	go func() {
		defer close(r.done)
		e.Run(ctx, func(ctx context.Context, token string) {
			r.mu.Lock()
			r.tokens = append(r.tokens, token)
			r.mu.Unlock()
			r.leads <- token
			<-ctx.Done()
			r.ended <- token
		})
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
}

func wait(t *testing.T, ch <-chan string, within time.Duration, what string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatalf("no %s within %v", what, within)
		return ""
	}
}

func openStore(t *testing.T, srv *redistest.Server) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(t.Context(), srv.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestOneLeaderAndHandOver: of two replicas one leads; when it stops, the
// other leads at once (the lease is released, not left to expire), with a
// new token; the old token's writes and posts are refused.
func TestOneLeaderAndHandOver(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	store := openStore(t, srv)
	ttl := 3 * time.Second
	a := startReplica(t, store, "a", ttl)
	first := wait(t, a.leads, 5*time.Second, "leader")
	b := startReplica(t, store, "b", ttl)
	select {
	case tok := <-b.leads:
		t.Fatalf("a second leader while the first holds the lease: %s", tok)
	case <-time.After(ttl + ttl/2): // renewed past its first end
	}
	if err := a.e.Check(t.Context(), first); err != nil {
		t.Errorf("the leader's check: %v", err)
	}
	start := time.Now()
	a.stop()
	second := wait(t, b.leads, ttl, "takeover")
	if took := time.Since(start); took > ttl {
		t.Errorf("takeover took %v, more than one lease", took)
	}
	if second == first || !strings.HasSuffix(second, " b") || strings.Count(second, " ") != 2 {
		t.Errorf("tokens %q then %q", first, second)
	}
	if err := a.e.Check(t.Context(), first); !errors.Is(err, lease.ErrLost) {
		t.Errorf("the old leader's check: %v, want ErrLost", err)
	}
	if err := store.Fenced(first).PutWatch(t.Context(), redisWatch()); !errors.Is(err, redisstore.ErrFenced) {
		t.Errorf("the old leader's write: %v, want ErrFenced", err)
	}
	if err := store.Fenced(second).PutWatch(t.Context(), redisWatch()); err != nil {
		t.Errorf("the new leader's write: %v", err)
	}
}

// TestLeaseTakenOver: a leader whose lease another replica took (as after
// a pause past its end) stops leading at its next renewal, and its checks
// fail at once.
func TestLeaseTakenOver(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	store := openStore(t, srv)
	ttl := 3 * time.Second
	a := startReplica(t, store, "a", ttl)
	token := wait(t, a.leads, 5*time.Second, "leader")
	srv.Do("SET", store.Key(redisstore.LeaseKey), "99 thief", "PX", "60000")
	if err := a.e.Check(t.Context(), token); !errors.Is(err, lease.ErrLost) {
		t.Errorf("check after the takeover: %v, want ErrLost", err)
	}
	// Every method that posts or changes a message is refused.
	rec := notifytest.NewPoster(nil)
	p := lease.Poster{Poster: rec, Elector: a.e, Token: token}
	if _, err := p.PostMessage(t.Context(), "C1", "", "x", nil); !errors.Is(err, lease.ErrLost) {
		t.Errorf("PostMessage: %v, want ErrLost", err)
	}
	if err := p.UpdateMessage(t.Context(), "C1", "1.2", "x", nil); !errors.Is(err, lease.ErrLost) {
		t.Errorf("UpdateMessage: %v, want ErrLost", err)
	}
	if _, err := p.PostRecorded(t.Context(), "C1", loop.Record{}, "x", nil); !errors.Is(err, lease.ErrLost) {
		t.Errorf("PostRecorded: %v, want ErrLost", err)
	}
	if n := len(rec.Calls()); n != 0 {
		t.Errorf("%d calls reached Slack after the lease was lost", n)
	}
	if got := wait(t, a.ended, ttl, "end of the lead"); got != token {
		t.Errorf("ended %q, want %q", got, token)
	}
}

// TestRedisDownPausesAndResumes: with Redis down the leader stops leading
// within one lease and the replica says it is degraded; once Redis is back
// (empty) it leads again with a new token.
func TestRedisDownPausesAndResumes(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	store := openStore(t, srv)
	ttl := 3 * time.Second
	a := startReplica(t, store, "a", ttl)
	first := wait(t, a.leads, 5*time.Second, "leader")
	srv.Stop()
	wait(t, a.ended, ttl+time.Second, "pause of the schedules")
	if err := a.e.Check(t.Context(), first); !errors.Is(err, lease.ErrLost) {
		t.Errorf("check with Redis down: %v, want ErrLost", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.e.Degraded() == "" {
		if time.Now().After(deadline) {
			t.Fatal("not degraded with Redis down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := a.e.Degraded(); !strings.Contains(d, "redis does not answer") || strings.Contains(d, srv.Addr) {
		t.Errorf("degraded = %q", d)
	}
	srv.Start()
	second := wait(t, a.leads, 2*ttl, "lead once Redis is back")
	if second == first {
		t.Errorf("the same token %q after Redis came back empty", second)
	}
	if d := a.e.Degraded(); d != "" {
		t.Errorf("still degraded: %q", d)
	}
}

func redisWatch() state.Watch { return state.Watch{ID: "w1", TaskID: "t1"} }

// TestHolder is what doctor shows: who holds the lease, for how long.
func TestHolder(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	store := openStore(t, srv)
	key := store.Key(redisstore.LeaseKey)
	if h, _, err := lease.Holder(t.Context(), store.Client(), key); err != nil || h != "" {
		t.Errorf("nobody: %q, %v", h, err)
	}
	a := startReplica(t, store, "pod-a", 10*time.Second)
	wait(t, a.leads, 5*time.Second, "leader")
	h, left, err := lease.Holder(t.Context(), store.Client(), key)
	if err != nil || h != "pod-a" || left <= 0 || left > 10*time.Second {
		t.Errorf("Holder = %q, %v, %v", h, left, err)
	}
}
