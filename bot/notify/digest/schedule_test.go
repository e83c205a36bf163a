package digest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
)

// metric returns the value of a loop's series of the metric name.
func metric(t *testing.T, set *metrics.Set, name string, l loop.Name) float64 {
	t.Helper()
	var b strings.Builder
	set.WritePrometheus(&b)
	series := fmt.Sprintf("%s{loop=%q} ", name, l)
	for line := range strings.Lines(b.String()) {
		if v, ok := strings.CutPrefix(line, series); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s{loop=%q}", name, l)
	return 0
}

// TestDigesterKeepsTryingWhenStateCannotBeSaved is defect 6: a state
// directory that cannot be written at the first start made Run return
// ("digests stopped") and no digest was posted again. Run now retries with
// backoff, loop.Health says so, and once the directory can be written the next
// digest is posted and loop.Health is clear.
func TestDigesterKeepsTryingWhenStateCannotBeSaved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	store := notifytest.OpenStore(t, dir)
	mend := notifytest.BreakDir(t, dir)
	clock := notifytest.NewClock(day0.Add(30 * time.Minute))
	rec := notifytest.NewPoster(clock)
	reg := metrics.NewSet()
	health := loop.NewHealth(reg)
	cfg := Config{Channel: "C1", Every: time.Hour}
	d := New(cfg, loop.Deps{Lister: notifytest.NewLister(sampleDigestTasks()...), Poster: rec, Clock: clock, Health: health}, store)
	notifytest.Run(t, d.Run)

	for attempt := 1; attempt <= 3; attempt++ {
		clock.BlockUntil(t, 1) // the attempt failed and waits to try again
		err := health.Err()
		if err == nil || !strings.Contains(err.Error(), "digests: failing since") ||
			!strings.Contains(err.Error(), "saving the digest watermark") || !strings.Contains(err.Error(), fmt.Sprintf("(%d attempts)", attempt)) {
			t.Fatalf("attempt %d: health %v", attempt, err)
		}
		if metric(t, reg, "pooltasks_loop_failing", loop.Digests) != 1 {
			t.Errorf("attempt %d: gauge not set", attempt)
		}
		next, _ := clock.Next()
		if wait := next.Sub(clock.Now()); wait <= 0 || wait > loop.DefaultBackoff.Max {
			t.Errorf("attempt %d: retries in %v", attempt, wait)
		}
		if attempt < 3 {
			clock.FireNext()
		}
	}
	if n := metric(t, reg, "pooltasks_loop_failures_total", loop.Digests); n != 3 {
		t.Errorf("failures counted %v, want 3", n)
	}

	mend()
	clock.FireNext() // the next attempt finds the directory mended
	clock.BlockUntil(t, 1)
	if next, _ := clock.Next(); !next.Equal(day0.Add(time.Hour)) {
		t.Errorf("next wake-up %v, want the end of the window", next)
	}
	if err := health.Err(); err != nil || metric(t, reg, "pooltasks_loop_failing", loop.Digests) != 0 {
		t.Fatalf("after the directory was mended: %v", err)
	}
	if end, ok, _ := notifytest.OpenStore(t, dir).DigestWatermark(t.Context(), cfg.key()); !ok || !end.Equal(day0) {
		t.Errorf("saved watermark %v, %v; want %v", end, ok, day0)
	}
	clock.Set(day0.Add(time.Hour))
	rec.WaitCalls(t, 1)
	if got := digestWindows(rec.Posts()); len(got) != 1 || got[0] != "2026-11-26 09:00–10:00 UTC" {
		t.Errorf("posted %q, want the first window", got)
	}
}

// TestDigesterPostedButNotSaved: a digest posted whose watermark could
// not be saved is said so, and is not posted again while Run tries to save
// it, nor after a restart before the save worked: the intent saved before
// the post is found in the channel's history by the post's metadata.
func TestDigesterPostedButNotSaved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	cfg := Config{Channel: "C1", Every: time.Hour}
	if err := notifytest.OpenStore(t, dir).SetDigestWatermark(t.Context(), cfg.key(), day0); err != nil {
		t.Fatal(err)
	}
	store := &failingWatermark{Store: notifytest.OpenStore(t, dir)}
	store.fail.Store(true)
	clock := notifytest.NewClock(day0.Add(30 * time.Minute))
	rec := notifytest.NewPoster(clock)
	health := loop.NewHealth(nil)
	d := New(cfg, loop.Deps{Lister: notifytest.NewLister(sampleDigestTasks()...), Poster: rec, Clock: clock, Health: health}, store)
	stop := notifytest.Run(t, d.Run)
	clock.BlockUntil(t, 1) // waits for the end of the window

	clock.Set(day0.Add(time.Hour))
	rec.WaitCalls(t, 1)
	clock.BlockUntil(t, 1) // the save failed: waits to try again
	err := health.Err()
	if err == nil || !strings.Contains(err.Error(), "the digest of 2026-11-26T09:00:00Z–2026-11-26T10:00:00Z was posted in C1, but saving its watermark failed") {
		t.Fatalf("health %v", err)
	}
	for range 3 {
		clock.FireNext()
		clock.BlockUntil(t, 1)
	}
	if n := len(rec.Posts()); n != 1 {
		t.Fatalf("%d posts while the watermark could not be saved, want 1", n)
	}
	want := loop.Record{Type: loop.DigestRecord, Key: cfg.key() + "|2026-11-26T09:00:00Z|2026-11-26T10:00:00Z"}
	if got := rec.Posts()[0].Record; got != want {
		t.Errorf("the post carries %+v, want %+v", got, want)
	}

	// A restart (kill -9) before the save worked: the window is found in
	// the channel's history, and not posted again.
	stop()
	clock.DropWaiters()
	restarted := notifytest.OpenStore(t, dir)
	if in, ok, _ := restarted.DigestIntent(t.Context(), cfg.key()); !ok || in.Key != want.Key {
		t.Fatalf("intent on disk = %+v, %v", in, ok)
	}
	health = loop.NewHealth(nil)
	d = New(cfg, loop.Deps{Lister: notifytest.NewLister(sampleDigestTasks()...), Poster: rec, Clock: clock, Health: health}, restarted)
	notifytest.Run(t, d.Run)
	clock.BlockUntil(t, 1)
	if err := health.Err(); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if n := len(rec.Posts()); n != 1 || rec.HistoryReads() != 1 {
		t.Errorf("%d posts and %d history reads after the restart, want 1 and 1", n, rec.HistoryReads())
	}
	if end, _, _ := notifytest.OpenStore(t, dir).DigestWatermark(t.Context(), cfg.key()); !end.Equal(day0.Add(time.Hour)) {
		t.Errorf("saved watermark %v, want %v", end, day0.Add(time.Hour))
	}
	if _, ok, _ := notifytest.OpenStore(t, dir).DigestIntent(t.Context(), cfg.key()); ok {
		t.Error("the intent is still saved after its window was")
	}
}

// TestDigesterIntentWithoutPost: an intent left by a crash before the post
// went out (none in the channel's history) posts the window once; so does
// one whose history cannot be read (it may post twice rather than never);
// an intent for a later window than the watermark says the windows before
// it went out.
func TestDigesterIntentWithoutPost(t *testing.T) {
	cfg := Config{Channel: "C1", Every: time.Hour}
	w := func(h int) [2]time.Time {
		return [2]time.Time{day0.Add(time.Duration(h) * time.Hour), day0.Add(time.Duration(h+1) * time.Hour)}
	}
	for _, tc := range []struct {
		name       string
		intent     [2]time.Time
		historyErr error
		want       []string // windows posted
	}{
		{"not in history", w(0), nil, []string{"2026-11-26 09:00–10:00 UTC"}},
		{"history unreadable", w(0), &loop.HistoryError{Channel: "C1", Err: "not_in_channel"}, []string{"2026-11-26 09:00–10:00 UTC"}},
		{"a later window", w(1), nil, []string{"2026-11-26 10:00–11:00 UTC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			store := notifytest.OpenStore(t, dir)
			if err := store.SetDigestWatermark(t.Context(), cfg.key(), day0); err != nil {
				t.Fatal(err)
			}
			in := state.Intent{Key: cfg.windowKey("C1", tc.intent[0], tc.intent[1]), At: tc.intent[1], Start: tc.intent[0], End: tc.intent[1]}
			if err := store.SetDigestIntent(t.Context(), cfg.key(), in); err != nil {
				t.Fatal(err)
			}
			clock := notifytest.NewClock(tc.intent[1].Add(time.Minute))
			rec := notifytest.NewPoster(clock)
			rec.HistoryErr = tc.historyErr
			health := loop.NewHealth(nil)
			var log bytes.Buffer
			d := New(cfg, loop.Deps{Lister: notifytest.NewLister(sampleDigestTasks()...), Poster: rec, Clock: clock, Health: health,
				Log: slog.New(slog.NewTextHandler(&log, nil))}, store)
			notifytest.Run(t, d.Run)
			rec.WaitCalls(t, len(tc.want))
			clock.BlockUntil(t, 1) // waits for the next window
			if got := digestWindows(rec.Posts()); !slices.Equal(got, tc.want) {
				t.Errorf("posted %q, want %q", got, tc.want)
			}
			if err := health.Err(); err != nil {
				t.Errorf("health %v", err)
			}
			if end, _, _ := notifytest.OpenStore(t, dir).DigestWatermark(t.Context(), cfg.key()); !end.Equal(tc.intent[1]) {
				t.Errorf("watermark %v, want %v", end, tc.intent[1])
			}
			if tc.historyErr != nil && !strings.Contains(log.String(), "cannot be checked") {
				t.Errorf("no warning that the post cannot be checked:\n%s", log.String())
			}
		})
	}
}

// failingWatermark is a Store whose watermark saves fail while fail is set,
// as a full disk makes them fail after the intent was saved.
type failingWatermark struct {
	*state.Store
	fail atomic.Bool
}

func (f *failingWatermark) SetDigestWatermark(ctx context.Context, key string, end time.Time) error {
	if f.fail.Load() {
		return &fs.PathError{Op: "write", Path: "state.json.tmp-1", Err: syscall.ENOSPC}
	}
	return f.Store.SetDigestWatermark(ctx, key, end)
}

// TestDigestPoolsAPIDown: a scheduled digest whose pools cannot be looked
// up is not posted (it is tried again), rather than posted without them.
func TestDigestPoolsAPIDown(t *testing.T) {
	rec := notifytest.NewPoster(nil)
	d := New(Config{Channel: "CD", Pools: []string{"finance-win11", "dev-ubuntu"}}, loop.Deps{Lister: notifytest.FlakyPools{NamedPools: notifytest.NamedPools{Lister: notifytest.NewLister(sampleDigestTasks()...)}}, Poster: rec}, nil)
	if _, err := d.Post(context.Background(), "", pooltask.ListOptions{Start: day0, End: day0.Add(24 * time.Hour)}); err == nil {
		t.Error("posted with the pools API down")
	}
	if n := len(rec.Calls()); n != 0 {
		t.Errorf("%d posts", n)
	}
}

// TestQuietDigestStillSaysWhatWasLeftOut: a quiet digest that is all clear
// still posts when a configured pool was left out, so that someone sees it.
func TestQuietDigestStillSaysWhatWasLeftOut(t *testing.T) {
	rec := notifytest.NewPoster(nil)
	d := New(Config{Channel: "CD", Quiet: true, Pools: []string{"nowhere", "dev-ubuntu"}}, loop.Deps{Lister: notifytest.NamedPools{Lister: notifytest.NewLister()}, Poster: rec}, nil)
	if _, err := d.Post(context.Background(), "", pooltask.ListOptions{Start: day0, End: day0.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	calls := rec.Calls()
	if len(calls) != 1 || !strings.Contains(notifytest.BlocksJSON(t, calls[0].Blocks), "Left out") {
		t.Errorf("quiet all-clear digest with a pool left out: %+v", calls)
	}
}
