package digest

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
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

// TestDigesterPostedButNotSaved: a digest that was posted while its
// watermark could not be saved is said so, and is not posted again while
// Run tries to save it; once the save works the schedule goes on.
func TestDigesterPostedButNotSaved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	cfg := Config{Channel: "C1", Every: time.Hour}
	if err := notifytest.OpenStore(t, dir).SetDigestWatermark(t.Context(), cfg.key(), day0); err != nil {
		t.Fatal(err)
	}
	store := notifytest.OpenStore(t, dir)
	clock := notifytest.NewClock(day0.Add(30 * time.Minute))
	rec := notifytest.NewPoster(clock)
	health := loop.NewHealth(nil)
	d := New(cfg, loop.Deps{Lister: notifytest.NewLister(sampleDigestTasks()...), Poster: rec, Clock: clock, Health: health}, store)
	notifytest.Run(t, d.Run)
	clock.BlockUntil(t, 1) // waits for the end of the window

	mend := notifytest.BreakDir(t, dir)
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

	mend()
	clock.FireNext()
	clock.BlockUntil(t, 1)
	if err := health.Err(); err != nil {
		t.Fatalf("after the directory was mended: %v", err)
	}
	if end, _, _ := notifytest.OpenStore(t, dir).DigestWatermark(t.Context(), cfg.key()); !end.Equal(day0.Add(time.Hour)) {
		t.Errorf("saved watermark %v, want %v", end, day0.Add(time.Hour))
	}
	if n := len(rec.Posts()); n != 1 {
		t.Errorf("%d posts after the save, want 1", n)
	}
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
