package redisstore_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/notify/state/redisstore"
	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
)

func open(t *testing.T, url, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(t.Context(), url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestStoreRoundTrip is the file store's round trip, across two
// connections (two replicas) with a password.
func TestStoreRoundTrip(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Password: "s3cret"})
	ctx := t.Context()
	a, b := open(t, srv.URL(), ""), open(t, srv.URL(), "")
	end := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	if err := a.SetDigestWatermark(ctx, "k", end); err != nil {
		t.Fatal(err)
	}
	w := state.Watch{ID: "w1", TaskID: "t1", Target: "sim-b", Channel: "C1", MessageTS: "1.2", UserID: "U1", Started: end,
		Act: &state.WatchAct{Action: "stop", Actor: "U2", At: end, Outcome: "done"}}
	if err := a.PutWatch(ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := a.AddAlertKnown(ctx, "a", map[string]time.Time{"t9": end}, end.Add(-time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	if err := a.SetChartsRefused(ctx); err != nil {
		t.Fatal(err)
	}

	if got, ok, err := b.DigestWatermark(ctx, "k"); err != nil || !ok || !got.Equal(end) {
		t.Errorf("watermark = %v, %v, %v; want %v", got, ok, err, end)
	}
	if ws, err := b.Watches(ctx); err != nil || len(ws) != 1 || !reflect.DeepEqual(ws[0], w) {
		t.Errorf("watches = %+v, %v; want %+v", ws, err, w)
	}
	if known, ok, err := b.AlertKnown(ctx, "a"); err != nil || !ok || len(known) != 1 || !known["t9"].Equal(end) {
		t.Errorf("alert known = %v, %v, %v", known, ok, err)
	}
	if _, ok, _ := b.AlertKnown(ctx, "other"); ok {
		t.Error("an alert key never saved has state")
	}
	if refused, err := b.ChartsRefused(ctx); err != nil || !refused {
		t.Errorf("charts refused = %v, %v", refused, err)
	}
	if err := b.DeleteWatch(ctx, "w1"); err != nil {
		t.Fatal(err)
	}
	if ws, _ := a.Watches(ctx); len(ws) != 0 {
		t.Errorf("watches after delete = %+v", ws)
	}
	// Every key is under the prefix.
	if keys := srv.List("KEYS", "*"); len(keys) == 0 || !strings.HasPrefix(keys[0], "pooltasks:") {
		t.Errorf("no keys written: %s", keys)
	}
	other := open(t, srv.URL(), "other:")
	if _, ok, _ := other.DigestWatermark(ctx, "k"); ok {
		t.Error("a store under another prefix sees the watermark")
	}
}

// TestStoreOpenFails says what is wrong with the URL or the server.
func TestStoreOpenFails(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Password: "s3cret"})
	for _, tc := range []struct{ url, want string }{
		{"http://" + srv.Addr, "POOLTASKS_REDIS_URL: redis: invalid URL scheme"},
		{"redis://:wrong@" + srv.Addr, "WRONGPASS"},
		{"redis://" + srv.Addr, "NOAUTH"},
	} {
		_, err := redisstore.Open(t.Context(), tc.url, "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s) = %v, want an error with %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "wrong") {
			t.Errorf("Open's error shows the password: %v", err)
		}
	}
}

// TestWatermarkNeverGoesBack: two writers (a slow old scheduler and a new
// one) cannot move a watermark back, which would post windows again.
func TestWatermarkNeverGoesBack(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := open(t, srv.URL(), "")
	ctx := t.Context()
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for _, end := range []time.Time{t0.Add(2 * time.Hour), t0, t0.Add(time.Hour)} {
		if err := s.SetDigestWatermark(ctx, "k", end); err != nil {
			t.Fatal(err)
		}
	}
	if got, _, _ := s.DigestWatermark(ctx, "k"); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("watermark = %v, want %v", got, t0.Add(2*time.Hour))
	}
}

// TestAlertKnownBounds drops ids older than the horizon and the oldest
// beyond max, as the file store does.
func TestAlertKnownBounds(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := open(t, srv.URL(), "")
	ctx := t.Context()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	ids := map[string]time.Time{}
	for i := range 20 {
		ids[string(rune('a'+i))] = now.Add(-time.Duration(i) * time.Hour)
	}
	if err := s.AddAlertKnown(ctx, "k", ids, now.Add(-15*time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	known, _, _ := s.AlertKnown(ctx, "k")
	if len(known) != 10 {
		t.Fatalf("known = %d ids, want 10: %v", len(known), known)
	}
	for i := range 10 {
		if _, ok := known[string(rune('a'+i))]; !ok {
			t.Errorf("the %d h old id was dropped", i)
		}
	}
	// An empty memory is still a memory: not a fresh start.
	if err := s.AddAlertKnown(ctx, "empty", nil, now, 10); err != nil {
		t.Fatal(err)
	}
	if m, ok, err := s.AlertKnown(ctx, "empty"); err != nil || !ok || len(m) != 0 {
		t.Errorf("empty memory = %v, %v, %v; want primed with no id", m, ok, err)
	}
}

// TestFencedWrites: a store fenced with a token writes only while the
// lease holds that token; reads are not fenced.
func TestFencedWrites(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := open(t, srv.URL(), "")
	ctx := t.Context()
	srv.Do("SET", s.Key(redisstore.LeaseKey), "7")
	mine, old := s.Fenced("7"), s.Fenced("6")
	end := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	if err := mine.SetDigestWatermark(ctx, "k", end); err != nil {
		t.Fatal(err)
	}
	writes := map[string]func(*redisstore.Store) error{
		"watermark": func(s *redisstore.Store) error { return s.SetDigestWatermark(ctx, "k", end.Add(time.Hour)) },
		"alerts": func(s *redisstore.Store) error {
			return s.AddAlertKnown(ctx, "a", map[string]time.Time{"t": end}, end, 0)
		},
		"put watch": func(s *redisstore.Store) error { return s.PutWatch(ctx, state.Watch{ID: "w"}) },
		"del watch": func(s *redisstore.Store) error { return s.DeleteWatch(ctx, "w") },
		"charts":    func(s *redisstore.Store) error { return s.SetChartsRefused(ctx) },
		"digest intent": func(s *redisstore.Store) error {
			return s.SetDigestIntent(ctx, "k", state.Intent{Key: "d", End: end.Add(time.Hour)})
		},
		"alert intent": func(s *redisstore.Store) error { return s.AddAlertIntent(ctx, "a", state.Intent{Key: "i"}) },
	}
	for name, write := range writes {
		if err := write(old); !errors.Is(err, redisstore.ErrFenced) {
			t.Errorf("%s with a lost token: %v, want ErrFenced", name, err)
		}
	}
	if got, _, _ := old.DigestWatermark(ctx, "k"); !got.Equal(end) {
		t.Errorf("watermark = %v, want %v (the fenced write must not land)", got, end)
	}
	srv.Do("DEL", s.Key(redisstore.LeaseKey)) // expired, nobody took it
	if err := mine.PutWatch(ctx, state.Watch{ID: "w"}); !errors.Is(err, redisstore.ErrFenced) {
		t.Errorf("write after the lease expired: %v, want ErrFenced", err)
	}
	if err := s.PutWatch(context.Background(), state.Watch{ID: "w"}); err != nil {
		t.Errorf("an unfenced write: %v", err)
	}
}

// TestIntents is the file store's TestStoreIntents: intents survive
// another connection (a replica taking over), a watermark at the window's
// end forgets the digest's, and known tasks or the horizon forget an
// alert's, atomically with the save that makes them so.
func TestIntents(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := t.Context()
	s, other := open(t, srv.URL(), ""), open(t, srv.URL(), "")
	end := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	in := state.Intent{Key: "d1", At: end.Add(time.Minute), Start: end, End: end.Add(time.Hour)}
	if err := s.SetDigestIntent(ctx, "k", in); err != nil {
		t.Fatal(err)
	}
	a1 := state.Intent{Key: "a1", At: end, Tasks: map[string]time.Time{"t1": end}}
	a2 := state.Intent{Key: "a2", At: end, Tasks: map[string]time.Time{"t2": end, "t3": end}}
	old := state.Intent{Key: "a0", At: end.Add(-48 * time.Hour), Tasks: map[string]time.Time{"t0": end}}
	for _, a := range []state.Intent{a1, a2, old} {
		if err := s.AddAlertIntent(ctx, "ak", a); err != nil {
			t.Fatal(err)
		}
	}
	if got, ok, err := other.DigestIntent(ctx, "k"); err != nil || !ok || got.Key != "d1" || !got.End.Equal(in.End) || !got.At.Equal(in.At) {
		t.Errorf("digest intent = %+v, %v, %v", got, ok, err)
	}
	if got, err := other.AlertIntents(ctx, "ak"); err != nil || len(got) != 3 || got[1].Key != "a1" || !got[1].Tasks["t1"].Equal(end) {
		t.Errorf("alert intents = %+v, %v", got, err)
	}
	if err := other.SetDigestWatermark(ctx, "k", end); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.DigestIntent(ctx, "k"); !ok {
		t.Error("intent forgotten by a watermark before its window's end")
	}
	if err := other.SetDigestWatermark(ctx, "k", end.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.DigestIntent(ctx, "k"); ok {
		t.Error("intent kept after its window was saved as posted")
	}
	if _, primed, _ := s.AlertKnown(ctx, "ak"); primed {
		t.Error("an alert intent made the key primed")
	}
	if err := other.AddAlertKnown(ctx, "ak", map[string]time.Time{"t1": end, "t2": end}, end.Add(-24*time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AlertIntents(ctx, "ak"); len(got) != 1 || got[0].Key != "a2" {
		t.Errorf("alert intents = %+v, want a2 alone", got)
	}
}

// TestStoreRedisDown: every method fails (no pretended fresh start) while
// Redis is down, and works again once it is back.
func TestStoreRedisDown(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := open(t, srv.URL(), "")
	srv.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, _, err := s.DigestWatermark(ctx, "k"); err == nil {
		t.Error("DigestWatermark with Redis down: no error")
	}
	if _, _, err := s.AlertKnown(ctx, "k"); err == nil {
		t.Error("AlertKnown with Redis down: no error")
	}
	if _, err := s.Watches(ctx); err == nil {
		t.Error("Watches with Redis down: no error")
	}
	if err := s.PutWatch(ctx, state.Watch{ID: "w"}); err == nil {
		t.Error("PutWatch with Redis down: no error")
	}
	srv.Start()
	if err := s.PutWatch(t.Context(), state.Watch{ID: "w"}); err != nil {
		t.Errorf("PutWatch once Redis is back: %v", err)
	}
}

// TestObserve: each command's latency, and its failures, are in the
// metrics; a missing key is not a failure.
func TestObserve(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := open(t, srv.URL(), "")
	set := metrics.NewSet()
	s.Observe(set)
	ctx := t.Context()
	if _, _, err := s.DigestWatermark(ctx, "none"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := s.Watches(ctx); err == nil {
		t.Fatal("no error with Redis down")
	}
	var b strings.Builder
	set.WritePrometheus(&b)
	for _, want := range []string{`pooltasks_state_op_seconds_count{op="get"} 1`, `pooltasks_state_op_errors_total{op="hgetall"} 1`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %s in\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), `pooltasks_state_op_errors_total{op="get"}`) {
		t.Error("a missing key counted as an error")
	}
}

// TestSeen: the dedupe memory the replicas share: a key is fresh once,
// until its ttl ends.
func TestSeen(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a, b := open(t, srv.URL(), ""), open(t, srv.URL(), "")
	ctx := t.Context()
	if fresh, err := a.Seen(ctx, []string{"env-1", "event:Ev1"}, time.Minute); err != nil || !fresh {
		t.Fatalf("first delivery: %v, %v", fresh, err)
	}
	if fresh, err := b.Seen(ctx, []string{"env-2", "event:Ev1"}, time.Minute); err != nil || fresh {
		t.Errorf("the same event in another envelope, on another replica: fresh=%v, %v", fresh, err)
	}
	if ttl := srv.Do("PTTL", "pooltasks:seen:env-1"); ttl == "-1" || ttl == "-2" {
		t.Errorf("seen key without expiry: PTTL %s", ttl)
	}
}

// TestRequestAct: an action on a watch's message, recorded by any replica,
// is kept apart from the watch, so that the scheduler's saves of the
// watch do not overwrite it, until the scheduler forgets it; none is
// recorded for a watch no longer saved.
func TestRequestAct(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := t.Context()
	replica, sched := open(t, srv.URL(), ""), open(t, srv.URL(), "")
	at := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	w := state.Watch{ID: "w1", TaskID: "t1", Channel: "C1", MessageTS: "1.2", UserID: "U1", Started: at}
	if err := sched.PutWatch(ctx, w); err != nil {
		t.Fatal(err)
	}
	a := state.WatchAct{Action: "stop", Actor: "U2", At: at, Outcome: "done"}
	if ok, err := replica.RequestAct(ctx, "w1", a); err != nil || !ok {
		t.Fatalf("RequestAct on a saved watch = %v, %v; want true", ok, err)
	}
	if ok, err := replica.RequestAct(ctx, "w2", a); err != nil || ok {
		t.Errorf("RequestAct on a watch never saved = %v, %v; want false", ok, err)
	}
	if err := sched.PutWatch(ctx, w); err != nil { // the scheduler saves the watch as it knew it
		t.Fatal(err)
	}
	if got, err := sched.ActRequests(ctx); err != nil || !reflect.DeepEqual(got, map[string]state.WatchAct{"w1": a}) {
		t.Errorf("ActRequests = %+v, %v; want w1's", got, err)
	}
	if err := sched.DeleteWatch(ctx, "w1"); err != nil {
		t.Fatal(err)
	}
	if ok, err := replica.RequestAct(ctx, "w1", a); err != nil || ok {
		t.Errorf("RequestAct on a watch forgotten = %v, %v; want false", ok, err)
	}
	if got, err := sched.ActRequests(ctx); err != nil || len(got) != 1 {
		t.Errorf("ActRequests after the watch was forgotten = %+v, %v; want w1's still, for its final update", got, err)
	}
	if err := sched.ForgetAct(ctx, "w1"); err != nil {
		t.Fatal(err)
	}
	if got, err := sched.ActRequests(ctx); err != nil || len(got) != 0 {
		t.Errorf("ActRequests after ForgetAct = %+v, %v; want none", got, err)
	}
}
