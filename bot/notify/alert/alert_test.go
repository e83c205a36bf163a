package alert

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/notify/state/redisstore"
	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
	"github.com/pooltasks/pooltasks/pooltask"
)

var day0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func TestAlerterFreshStartRestartAndStorm(t *testing.T) {
	dir := t.TempDir()
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	rec := notifytest.NewPoster(clock)
	old := notifytest.Task("aaaaaaaa-0000-0000-0000-000000000001", "finance-win11", pooltask.StatusFailed, now.Add(-3*time.Hour), 2, "install-agent")
	running := notifytest.Task("aaaaaaaa-0000-0000-0000-000000000002", "finance-win11", pooltask.StatusRunning, now.Add(-time.Hour), 0, "install-agent")
	l := notifytest.NewLister(old, running)
	cfg := Config{Channel: "CALERT", Every: time.Minute}

	a := New(cfg, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
	stop := notifytest.Run(t, Routes{a}.Run)
	clock.BlockUntil(t, 1) // first poll done
	if n := len(rec.Calls()); n != 0 {
		t.Fatalf("fresh start alerted %d tasks already failed", n)
	}

	// The running task fails: one alert, with Details.
	running.Status, running.FailedNum = pooltask.StatusFailed, 4
	l.Put(running)
	clock.Advance(time.Minute)
	posts := rec.WaitCalls(t, 1)
	if posts[0].Channel != "CALERT" || !strings.Contains(posts[0].Text, running.ID) {
		t.Errorf("alert %+v", posts[0])
	}
	if js := notifytest.BlocksJSON(t, posts[0].Blocks); !strings.Contains(js, `"action_id":"details"`) || !strings.Contains(js, "show "+running.ID) {
		t.Errorf("alert without a Details button: %s", js)
	}
	clock.BlockUntil(t, 1)
	clock.Advance(time.Minute) // nothing new
	clock.BlockUntil(t, 1)
	stop()
	clock.DropWaiters()

	// A restart alerts nothing again.
	a2 := New(cfg, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
	stop2 := notifytest.Run(t, Routes{a2}.Run)
	clock.BlockUntil(t, 1)
	if n := len(rec.Calls()); n != 1 {
		t.Fatalf("%d alerts after the restart, want 1", n)
	}

	// A storm of seven: one grouped message naming every id.
	var storm []string
	for i := range 7 {
		tk := notifytest.Task(fmt.Sprintf("bbbbbbbb-0000-0000-0000-%012d", i), "dev-linux", pooltask.StatusFailed, clock.Now().Add(-time.Duration(i)*time.Minute), 1)
		l.Put(tk)
		storm = append(storm, tk.ID)
	}
	clock.Advance(time.Minute)
	calls := rec.WaitCalls(t, 2)
	clock.BlockUntil(t, 1)
	if len(rec.Calls()) != 2 {
		t.Fatalf("%d messages for a storm, want 1", len(rec.Calls())-1)
	}
	js := notifytest.BlocksJSON(t, calls[1].Blocks)
	for _, id := range storm {
		if !strings.Contains(js, id) {
			t.Errorf("storm message does not name %s", id)
		}
	}
	if !strings.Contains(calls[1].Text, "7 tasks failed") {
		t.Errorf("storm text %q", calls[1].Text)
	}
	clock.Advance(time.Minute)
	clock.BlockUntil(t, 1)
	stop2()
	clock.DropWaiters()
	if n := len(rec.Calls()); n != 2 {
		t.Errorf("%d messages in all, want 2", n)
	}
}

func TestAlerterPostFailureRetriesNextPoll(t *testing.T) {
	dir := t.TempDir()
	clock := notifytest.NewClock(day0)
	rec := notifytest.NewPoster(clock)
	l := notifytest.NewLister()
	a := New(Config{Channel: "C"}, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
	ctx := context.Background()
	if err := a.Poll(ctx); err != nil { // primes
		t.Fatal(err)
	}
	l.Put(notifytest.Task("cccccccc-0000-0000-0000-000000000001", "p", pooltask.StatusFailed, day0.Add(-time.Minute), 1))
	rec.Fail = func(notifytest.Post) error { return fmt.Errorf("slack down") }
	if err := a.Poll(ctx); err == nil {
		t.Fatal("no error when the post failed")
	}
	rec.Fail = nil
	if err := a.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Posts()); n != 1 {
		t.Errorf("%d posts, want 1", n)
	}
}

// TestAlerterBoundKeepsWhatThePollSees: more failed tasks in the horizon
// than MaxKnown are remembered all the same, or the ids dropped would be
// alerted again at the next poll.
func TestAlerterBoundKeepsWhatThePollSees(t *testing.T) {
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	rec := notifytest.NewPoster(clock)
	l := notifytest.NewLister()
	for i := range 4 {
		l.Put(notifytest.Task(fmt.Sprintf("cccccccc-0000-0000-0000-%012d", i), "dev-linux", pooltask.StatusFailed, now.Add(-time.Duration(i+1)*time.Hour), 1))
	}
	a := New(Config{Channel: "CALERT", MaxKnown: 2}, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, t.TempDir()))
	ctx := context.Background()
	for range 3 {
		if err := a.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	if n := len(rec.Calls()); n != 0 {
		t.Errorf("%d alerts for tasks that had failed before the start", n)
	}
}

// TestAlerterFinishesPostAtShutdown: SIGTERM while an alert is being
// posted lets it finish and remembers its task, so a restart does not
// alert it again.
func TestAlerterFinishesPostAtShutdown(t *testing.T) {
	dir := t.TempDir()
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	l := notifytest.NewLister()
	cfg := Config{Channel: "CALERT"}
	if err := New(cfg, loop.Deps{Lister: l, Clock: clock}, notifytest.OpenStore(t, dir)).Poll(context.Background()); err != nil {
		t.Fatal(err) // primes the memory: nothing failed yet
	}
	failed := notifytest.Task("dddddddd-0000-0000-0000-000000000001", "dev-linux", pooltask.StatusFailed, now.Add(-time.Hour), 1)
	l.Put(failed)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slackGo := &notifytest.CancelingPoster{Poster: notifytest.NewPoster(clock), During: cancel}
	if err := New(cfg, loop.Deps{Lister: l, Poster: slackGo, Clock: clock}, notifytest.OpenStore(t, dir)).Poll(ctx); err != nil {
		t.Fatal(err)
	}
	rec := notifytest.NewPoster(clock)
	if err := New(cfg, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir)).Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, m := len(slackGo.Posts()), len(rec.Posts()); n != 1 || m != 0 {
		t.Errorf("%d alerts before the restart and %d after, want 1 and 0", n, m)
	}
}

// TestAlerterPoolsByName: alerts limited to pools given by name (a channel
// bound to them) alert those pools' failures only; a name that matches no
// pool makes the poll fail, not alert on nothing.
func TestAlerterPoolsByName(t *testing.T) {
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	rec := notifytest.NewPoster(clock)
	fin := notifytest.Task("aaaaaaaa-0000-0000-0000-000000000011", "finance-win11", pooltask.StatusRunning, now.Add(-time.Hour), 0, "s")
	dev := notifytest.Task("aaaaaaaa-0000-0000-0000-000000000012", "dev-ubuntu", pooltask.StatusRunning, now.Add(-time.Hour), 0, "s")
	l := notifytest.NamedPools{Lister: notifytest.NewLister(fin, dev)}
	a := New(Config{Channel: "CALERT", Every: time.Minute, Pools: []string{"finance-win11"}}, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, t.TempDir()))
	notifytest.Run(t, Routes{a}.Run)
	clock.BlockUntil(t, 1)

	fin.Status, dev.Status = pooltask.StatusFailed, pooltask.StatusFailed
	l.Put(fin, dev)
	clock.Advance(time.Minute)
	posts := rec.WaitCalls(t, 1)
	clock.BlockUntil(t, 1) // the poll is done
	if len(rec.Calls()) != 1 || !strings.Contains(posts[0].Text, fin.ID) {
		t.Errorf("alerts %+v, want one for %s only", rec.Calls(), fin.ID)
	}

	res, err := loop.ResolvePools(context.Background(), l, []string{"nowhere", "dev-ubuntu"})
	if err != nil || len(res.IDs) != 1 || res.IDs[0] != "pool-dev-ubuntu" || len(res.Problems) != 1 ||
		!strings.Contains(res.Problems[0], `no desktop pool is named like "nowhere"`) {
		t.Errorf("an unknown pool name among good ones: %+v, %v", res, err)
	}
	// The pools API failing is not a bad name: the whole poll fails and is
	// tried again, no pool is left out.
	if res, err := loop.ResolvePools(context.Background(), notifytest.FlakyPools{NamedPools: l}, []string{"dev-ubuntu", "finance-win11"}); err == nil || len(res.IDs)+len(res.Problems) != 0 {
		t.Errorf("pools API down: %+v, %v; want the error alone", res, err)
	}
}

// TestAlertStateKeyTakenOver: state saved under the key of before pools
// were sorted is taken over, not started afresh (which would take the
// failures of a restart's gap as known and never alert them).
func TestAlertStateKeyTakenOver(t *testing.T) {
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	rec := notifytest.NewPoster(clock)
	store := notifytest.OpenStore(t, t.TempDir())
	cfg := Config{Channel: "CALERT", Every: time.Minute, Pools: []string{"pool-p2", "pool-p1"}}
	old := notifytest.Task("aaaaaaaa-0000-0000-0000-000000000021", "p1", pooltask.StatusFailed, now.Add(-2*time.Hour), 1, "s")
	gap := notifytest.Task("aaaaaaaa-0000-0000-0000-000000000022", "p2", pooltask.StatusFailed, now.Add(-time.Minute), 1, "s")
	if err := store.AddAlertKnown(t.Context(), cfg.legacyKey(), map[string]time.Time{old.ID: old.Start}, now.Add(-24*time.Hour), 100); err != nil {
		t.Fatal(err)
	}
	if cfg.legacyKey() == cfg.key() {
		t.Fatal("the test needs pools out of order")
	}
	a := New(cfg, loop.Deps{Lister: notifytest.NewLister(old, gap), Poster: rec, Clock: clock}, store)
	notifytest.Run(t, Routes{a}.Run)
	posts := rec.WaitCalls(t, 1)
	clock.BlockUntil(t, 1)
	if len(rec.Calls()) != 1 || !strings.Contains(posts[0].Text, gap.ID) {
		t.Errorf("alerts %+v, want the gap's failure %s alone", rec.Calls(), gap.ID)
	}
}

// TestStateKeysIgnorePoolOrder: reordering a binding (to change a
// channel's default pool) keeps the alerts' saved state.
func TestStateKeysIgnorePoolOrder(t *testing.T) {
	a, b := Config{Channel: "C1", Pools: []string{"p2", "p1"}}, Config{Channel: "C1", Pools: []string{"p1", "p2"}}
	if a.key() != b.key() {
		t.Errorf("alert keys %q and %q differ", a.key(), b.key())
	}
	if c := (Config{Channel: "C1", Pools: []string{"p1"}}); c.key() == a.key() {
		t.Error("other pools share a key")
	}
}

// TestAlerterBacksOffAndRecovers: a failing poll is retried sooner than
// the period, later at each failure, and loop.Health clears when it works.
func TestAlerterBacksOffAndRecovers(t *testing.T) {
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	l := notifytest.NewLister()
	l.Err = &pooltask.APIError{Status: 503, Code: "WKS.5000", Message: "the canonical request was …", RequestID: "req-9"}
	health := loop.NewHealth(nil)
	backoff := loop.Backoff{Base: time.Second, Max: 8 * time.Second}
	a := New(Config{Channel: "CALERT", Every: time.Hour}, loop.Deps{Lister: l, Poster: notifytest.NewPoster(clock), Clock: clock, Health: health, Backoff: backoff}, notifytest.OpenStore(t, t.TempDir()))
	notifytest.Run(t, Routes{a}.Run)
	for attempt := 1; attempt <= 6; attempt++ {
		clock.BlockUntil(t, 1)
		next, _ := clock.Next()
		want := min(backoff.Base<<(attempt-1), backoff.Max)
		if wait := next.Sub(clock.Now()); wait < want/2 || wait > want {
			t.Errorf("attempt %d: retries in %v, want %v–%v", attempt, wait, want/2, want)
		}
		err := health.Err()
		if err == nil || !strings.Contains(err.Error(), "alerts: failing") || !strings.Contains(err.Error(), "503 WKS.5000 (request id req-9)") ||
			strings.Contains(err.Error(), "canonical") {
			t.Errorf("attempt %d: health %v", attempt, err)
		}
		if attempt == 6 {
			l.Err = nil // before the timer fires, so the poll sees it
		}
		clock.FireNext()
	}
	clock.BlockUntil(t, 1)
	if err := health.Err(); err != nil {
		t.Errorf("after the API came back: %v", err)
	}
	if next, _ := clock.Next(); next.Sub(clock.Now()) != time.Hour {
		t.Errorf("polls again in %v, want the period", next.Sub(clock.Now()))
	}
}

// TestAlerterPostedButNotRemembered: an alert posted while the store
// refuses to remember its task is said so and not posted again while the
// store refuses, nor after a restart before it worked (kill -9): the intent
// saved before the post is found in the channel's history.
func TestAlerterPostedButNotRemembered(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	l := notifytest.NewLister()
	rec := notifytest.NewPoster(clock)
	cfg := Config{Channel: "CALERT"}
	store := &failingKnown{Store: notifytest.OpenStore(t, dir)}
	a := New(cfg, loop.Deps{Lister: l, Poster: rec, Clock: clock}, store)
	if err := a.Poll(context.Background()); err != nil {
		t.Fatal(err) // primes the memory: nothing failed yet
	}
	store.fail.Store(true)
	const id = "dddddddd-0000-0000-0000-000000000002"
	l.Put(notifytest.Task(id, "dev-linux", pooltask.StatusFailed, now.Add(-time.Hour), 1))
	for range 3 {
		err := a.Poll(context.Background())
		if err == nil || !strings.Contains(err.Error(), "remembering 1 alerted tasks") {
			t.Fatalf("poll with the store refusing: %v", err)
		}
	}
	if n := len(rec.Posts()); n != 1 {
		t.Fatalf("%d alerts while the store refused, want 1", n)
	}
	want := loop.Record{Type: loop.AlertRecord, Key: cfg.key() + "|" + id}
	if got := rec.Posts()[0].Record; got != want {
		t.Errorf("the alert carries %+v, want %+v", got, want)
	}
	// Restarted before the store took the task: found in the history.
	restarted := notifytest.OpenStore(t, dir)
	if err := New(cfg, loop.Deps{Lister: l, Poster: rec, Clock: clock}, restarted).Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Posts()); n != 1 || rec.HistoryReads() != 1 {
		t.Errorf("%d alerts and %d history reads after a restart; want 1 and 1", n, rec.HistoryReads())
	}
	after := notifytest.NewPoster(clock)
	again := notifytest.OpenStore(t, dir)
	if err := New(cfg, loop.Deps{Lister: l, Poster: after, Clock: clock}, again).Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, h := len(after.Posts()), after.HistoryReads(); n != 0 || h != 0 {
		t.Errorf("a second restart posts %d and reads the history %d times; want 0 and 0", n, h)
	}
	if ins, _ := again.AlertIntents(t.Context(), cfg.key()); len(ins) != 0 {
		t.Errorf("intents left once their task is remembered: %+v", ins)
	}
}

// TestAlerterIntentWithoutPost: an intent left by a crash before its post
// went out (none in the history) alerts its task once; so does one whose
// history cannot be read, with a warning; and no alert goes out while its
// intent cannot be saved.
func TestAlerterIntentWithoutPost(t *testing.T) {
	now := day0.Add(12 * time.Hour)
	const id = "dddddddd-0000-0000-0000-000000000003"
	cfg := Config{Channel: "CALERT"}
	for _, tc := range []struct {
		name       string
		historyErr error
	}{
		{"not in history", nil},
		{"history unreadable", &loop.HistoryError{Channel: "CALERT", Err: "missing_scope", Needed: "channels:history"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := notifytest.OpenStore(t, t.TempDir())
			if err := store.AddAlertKnown(t.Context(), cfg.key(), nil, now.Add(-DefaultHorizon), DefaultMax); err != nil {
				t.Fatal(err) // primed
			}
			if err := store.AddAlertIntent(t.Context(), cfg.key(), state.Intent{Key: cfg.key() + "|" + id, At: now.Add(-time.Minute),
				Tasks: map[string]time.Time{id: now.Add(-time.Hour)}}); err != nil {
				t.Fatal(err)
			}
			clock := notifytest.NewClock(now)
			l := notifytest.NewLister(notifytest.Task(id, "dev-linux", pooltask.StatusFailed, now.Add(-time.Hour), 1))
			rec := notifytest.NewPoster(clock)
			rec.HistoryErr = tc.historyErr
			var log bytes.Buffer
			a := New(cfg, loop.Deps{Lister: l, Poster: rec, Clock: clock, Log: slog.New(slog.NewTextHandler(&log, nil))}, store)
			for range 2 {
				if err := a.Poll(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(rec.Posts()); n != 1 {
				t.Errorf("%d alerts, want 1", n)
			}
			if rec.HistoryReads() != 1 {
				t.Errorf("%d history reads, want 1", rec.HistoryReads())
			}
			if tc.historyErr != nil && !strings.Contains(log.String(), "cannot be checked") {
				t.Errorf("no warning that the alert cannot be checked:\n%s", log.String())
			}
		})
	}
	t.Run("intent cannot be saved", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "state")
		clock := notifytest.NewClock(now)
		l := notifytest.NewLister()
		rec := notifytest.NewPoster(clock)
		a := New(cfg, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
		if err := a.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		mend := notifytest.BreakDir(t, dir)
		l.Put(notifytest.Task(id, "dev-linux", pooltask.StatusFailed, now.Add(-time.Hour), 1))
		err := a.Poll(context.Background())
		if err == nil || !strings.Contains(err.Error(), "saving that 1 failed tasks are about to be alerted") {
			t.Errorf("poll = %v", err)
		}
		if n := len(rec.Posts()); n != 0 {
			t.Errorf("%d alerts without their intent saved", n)
		}
		mend()
		for range 2 {
			if err := a.Poll(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(rec.Posts()); n != 1 {
			t.Errorf("%d alerts once the store works, want 1", n)
		}
	})
}

// failingKnown is a Store whose saves of alerted tasks fail while fail is
// set, as a full disk makes them fail after the intent was saved.
type failingKnown struct {
	*state.Store
	fail atomic.Bool
}

func (f *failingKnown) AddAlertKnown(ctx context.Context, key string, ids map[string]time.Time, horizon time.Time, max int) error {
	if f.fail.Load() {
		return &fs.PathError{Op: "write", Path: "state.json.tmp-1", Err: syscall.ENOSPC}
	}
	return f.Store.AddAlertKnown(ctx, key, ids, horizon, max)
}

// TestRoutesAndThresholds: two routes, each channel gets the failures of
// its pools only (a glob picks up a pool that appears later), a pool in
// both routes is alerted once in each, never twice in one; a task below
// POOLTASKS_ALERT_MIN_FAILED or _MIN_RATIO is not alerted.
func TestRoutesAndThresholds(t *testing.T) {
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	rec := notifytest.NewPoster(clock)
	// The lister's pools are those of its tasks: finance-win11 exists from
	// the start, finance-emea only once a task runs there.
	l := notifytest.NewLister(
		notifytest.Task("aaaaaaaa-0000-0000-0000-000000000031", "finance-win11", pooltask.StatusFinish, now.Add(-time.Hour), 0, "s"),
		notifytest.Task("aaaaaaaa-0000-0000-0000-000000000032", "shared-kiosk", pooltask.StatusFinish, now.Add(-time.Hour), 0, "s"),
		notifytest.Task("aaaaaaaa-0000-0000-0000-000000000033", "dev-ubuntu", pooltask.StatusFinish, now.Add(-time.Hour), 0, "s"))
	store := notifytest.OpenStore(t, t.TempDir())
	deps := loop.Deps{Lister: l, Poster: rec, Clock: clock}
	th := Config{Every: time.Minute, MinFailed: 2, MinRatio: 0.25}
	fin, ops := th, th
	fin.Channel, fin.Pools = "CFIN", []string{"Finance*", "shared-kiosk"}
	ops.Channel, ops.Pools = "COPS", []string{"shared-kiosk", "dev-ubuntu"}
	routes := Routes{New(fin, deps, store), New(ops, deps, store)}
	ctx := context.Background()
	poll := func() {
		t.Helper()
		for _, a := range routes {
			if err := a.Poll(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	poll() // primes both routes

	failed := func(id, pool string, failedNum, of int) pooltask.Task {
		tk := notifytest.Task(id, pool, pooltask.StatusFailed, clock.Now().Add(-time.Minute), failedNum, "s")
		tk.SuccessNum = of - failedNum
		return tk
	}
	emea := failed("bbbbbbbb-0000-0000-0000-000000000001", "finance-emea", 3, 10)
	kiosk := failed("bbbbbbbb-0000-0000-0000-000000000002", "shared-kiosk", 2, 4)
	dev := failed("bbbbbbbb-0000-0000-0000-000000000003", "dev-ubuntu", 5, 10)
	fewDesktops := failed("bbbbbbbb-0000-0000-0000-000000000004", "dev-ubuntu", 1, 2)      // 50 % but 1 desktop
	smallShare := failed("bbbbbbbb-0000-0000-0000-000000000005", "finance-win11", 20, 100) // 20 desktops but 20 %
	l.Put(emea, kiosk, dev, fewDesktops, smallShare)
	clock.Advance(time.Minute)
	poll()
	poll() // nothing new

	got := map[string][]string{}
	for _, p := range rec.Posts() {
		for _, id := range []string{emea.ID, kiosk.ID, dev.ID, fewDesktops.ID, smallShare.ID} {
			if strings.Contains(p.Text, id) {
				got[p.Channel] = append(got[p.Channel], id)
			}
		}
	}
	want := map[string][]string{"CFIN": {emea.ID, kiosk.ID}, "COPS": {kiosk.ID, dev.ID}}
	for ch, ids := range want {
		if !slices.Equal(slices.Sorted(slices.Values(got[ch])), ids) {
			t.Errorf("%s was alerted %v, want %v", ch, got[ch], ids)
		}
	}
	if len(got) != 2 {
		t.Errorf("alerts went to %v, want CFIN and COPS only", got)
	}
}

// TestRouteOfGlobsWithoutPools: a route whose globs match no pool yet
// polls without failing (the pools may come later) and lists nothing;
// one with a misspelt name fails, as a wrong configuration should.
func TestRouteOfGlobsWithoutPools(t *testing.T) {
	clock := notifytest.NewClock(day0)
	l := notifytest.NewLister(notifytest.Task("aaaaaaaa-0000-0000-0000-000000000041", "dev-ubuntu", pooltask.StatusFailed, day0.Add(-time.Hour), 3, "s"))
	deps := loop.Deps{Lister: l, Poster: notifytest.NewPoster(clock), Clock: clock}
	a := New(Config{Channel: "CHR", Pools: []string{"hr-*"}}, deps, notifytest.OpenStore(t, t.TempDir()))
	for range 2 {
		if err := a.Poll(context.Background()); err != nil {
			t.Fatalf("a route of globs matching nothing: %v", err)
		}
	}
	for _, c := range l.Calls() {
		t.Errorf("listed tasks with %+v for a route with no pool", c)
	}
	b := New(Config{Channel: "CHR", Pools: []string{"hr-pool"}}, deps, notifytest.OpenStore(t, t.TempDir()))
	if err := b.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), `no desktop pool is named like "hr-pool"`) {
		t.Errorf("a route of a name matching nothing: %v", err)
	}
}

// TestAlerterStoreLostItsState: a Redis restarted empty under a running
// Alerter is a fresh start (the failures there are taken as known), not a
// flood of alerts for every failure of the horizon.
func TestAlerterStoreLostItsState(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	store, err := redisstore.Open(t.Context(), srv.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	rec := notifytest.NewPoster(clock)
	var tasks []pooltask.Task
	for i := range 3 {
		tasks = append(tasks, notifytest.Task(fmt.Sprintf("aaaaaaaa-0000-0000-0000-%012d", i), "finance-win11", pooltask.StatusFailed, now.Add(-time.Duration(i+1)*time.Hour), 1))
	}
	l := notifytest.NewLister(tasks...)
	a := New(Config{Channel: "CALERT", Every: time.Minute}, loop.Deps{Lister: l, Poster: rec, Clock: clock}, store)
	if err := a.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	srv.Start() // empty
	fresh := notifytest.Task("bbbbbbbb-0000-0000-0000-000000000001", "finance-win11", pooltask.StatusFailed, now.Add(-time.Minute), 1)
	l.Put(fresh)
	clock.Advance(time.Minute)
	if err := a.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Calls()); n != 0 {
		t.Fatalf("%d alerts after Redis lost its state, want none", n)
	}
	// And alerting goes on from there.
	later := notifytest.Task("bbbbbbbb-0000-0000-0000-000000000002", "finance-win11", pooltask.StatusFailed, clock.Now(), 1)
	l.Put(later)
	clock.Advance(time.Minute)
	if err := a.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if calls := rec.Calls(); len(calls) != 1 || !strings.Contains(calls[0].Text, later.ID) {
		t.Errorf("after the fresh start: %+v, want one alert of %s", calls, later.ID)
	}
}
