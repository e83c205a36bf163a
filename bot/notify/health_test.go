package notify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/pooltask"
)

// brokenDir is a state directory that cannot be written until the
// returned function mends it: the directory is gone, which refuses every
// save even to root (a read-only mode does not).
func brokenDir(t *testing.T, dir string) (mend func()) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

// metric returns the value of a loop's series of the metric name.
func metric(t *testing.T, reg *prometheus.Registry, name string, loop Loop) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "loop" && lp.GetValue() == string(loop) {
					return m.GetGauge().GetValue() + m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{loop=%q}", name, loop)
	return 0
}

// TestDigesterKeepsTryingWhenStateCannotBeSaved is defect 6: a state
// directory that cannot be written at the first start made Run return
// ("digests stopped") and no digest was posted again. Run now retries with
// backoff, Health says so, and once the directory can be written the next
// digest is posted and Health is clear.
func TestDigesterKeepsTryingWhenStateCannotBeSaved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	store := openStore(t, dir)
	mend := brokenDir(t, dir)
	clock := notifytest.NewClock(day0.Add(30 * time.Minute))
	rec := notifytest.NewPoster(clock)
	reg := prometheus.NewRegistry()
	health := NewHealth(reg)
	cfg := DigestConfig{Channel: "C1", Every: time.Hour}
	d := NewDigester(cfg, Deps{Lister: notifytest.NewLister(sampleDigestTasks()...), Poster: rec, Clock: clock, Health: health}, store)
	runBG(t, d.Run)

	for attempt := 1; attempt <= 3; attempt++ {
		clock.BlockUntil(t, 1) // the attempt failed and waits to try again
		err := health.Err()
		if err == nil || !strings.Contains(err.Error(), "digests: failing since") ||
			!strings.Contains(err.Error(), "saving the digest watermark") || !strings.Contains(err.Error(), fmt.Sprintf("(%d attempts)", attempt)) {
			t.Fatalf("attempt %d: health %v", attempt, err)
		}
		if metric(t, reg, "pooltasks_loop_failing", LoopDigests) != 1 {
			t.Errorf("attempt %d: gauge not set", attempt)
		}
		next, _ := clock.Next()
		if wait := next.Sub(clock.Now()); wait <= 0 || wait > DefaultBackoff.Max {
			t.Errorf("attempt %d: retries in %v", attempt, wait)
		}
		if attempt < 3 {
			clock.FireNext()
		}
	}
	if n := metric(t, reg, "pooltasks_loop_failures_total", LoopDigests); n != 3 {
		t.Errorf("failures counted %v, want 3", n)
	}

	mend()
	clock.FireNext() // the next attempt finds the directory mended
	clock.BlockUntil(t, 1)
	if next, _ := clock.Next(); !next.Equal(day0.Add(time.Hour)) {
		t.Errorf("next wake-up %v, want the end of the window", next)
	}
	if err := health.Err(); err != nil || metric(t, reg, "pooltasks_loop_failing", LoopDigests) != 0 {
		t.Fatalf("after the directory was mended: %v", err)
	}
	if end, ok := openStore(t, dir).DigestWatermark(cfg.key()); !ok || !end.Equal(day0) {
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
	cfg := DigestConfig{Channel: "C1", Every: time.Hour}
	if err := openStore(t, dir).SetDigestWatermark(cfg.key(), day0); err != nil {
		t.Fatal(err)
	}
	store := openStore(t, dir)
	clock := notifytest.NewClock(day0.Add(30 * time.Minute))
	rec := notifytest.NewPoster(clock)
	health := NewHealth(nil)
	d := NewDigester(cfg, Deps{Lister: notifytest.NewLister(sampleDigestTasks()...), Poster: rec, Clock: clock, Health: health}, store)
	runBG(t, d.Run)
	clock.BlockUntil(t, 1) // waits for the end of the window

	mend := brokenDir(t, dir)
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
	if end, _ := openStore(t, dir).DigestWatermark(cfg.key()); !end.Equal(day0.Add(time.Hour)) {
		t.Errorf("saved watermark %v, want %v", end, day0.Add(time.Hour))
	}
	if n := len(rec.Posts()); n != 1 {
		t.Errorf("%d posts after the save, want 1", n)
	}
}

// TestAlerterBacksOffAndRecovers: a failing poll is retried sooner than
// the period, later at each failure, and Health clears when it works.
func TestAlerterBacksOffAndRecovers(t *testing.T) {
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	l := notifytest.NewLister()
	l.Err = &pooltask.APIError{Status: 503, Code: "WKS.5000", Message: "the canonical request was …", RequestID: "req-9"}
	health := NewHealth(nil)
	backoff := Backoff{Base: time.Second, Max: 8 * time.Second}
	a := NewAlerter(AlertConfig{Channel: "CALERT", Every: time.Hour}, Deps{Lister: l, Poster: notifytest.NewPoster(clock), Clock: clock, Health: health, Backoff: backoff}, openStore(t, t.TempDir()))
	runBG(t, a.Run)
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

// TestWatchesSaveAgain: a watch started while the store refuses it shows
// the watches failing; Run saves it once the store works again.
func TestWatchesSaveAgain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	store := openStore(t, dir)
	mend := brokenDir(t, dir)
	clock := notifytest.NewClock(day0)
	rec := notifytest.NewPoster(clock)
	tk := notifytest.Task("eeeeeeee-0000-0000-0000-0000000000a1", "p", pooltask.StatusRunning, day0.Add(-time.Minute), 0, "s")
	health := NewHealth(nil)
	w := NewWatches(WatchConfig{Every: time.Hour}, Deps{Lister: notifytest.NewLister(tk), Poster: rec, Clock: clock, Health: health,
		Backoff: Backoff{Base: time.Second, Max: time.Second}}, store)
	runBG(t, w.Run)
	if _, err := w.Start(context.Background(), WatchRequest{TaskID: tk.ID, Channel: "C1", UserID: "U1"}); err != nil {
		t.Fatal(err)
	}
	if err := health.Err(); err == nil || !strings.Contains(err.Error(), "watches: failing") || !strings.Contains(err.Error(), "would not resume after a restart") {
		t.Fatalf("health %v", err)
	}
	clock.BlockUntil(t, 2) // the watch's poll and Run's retry
	clock.Advance(time.Second)
	clock.BlockUntil(t, 2) // the retry failed again
	if health.Err() == nil {
		t.Fatal("health clear while the watch is not saved")
	}
	mend()
	clock.Advance(time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for health.Err() != nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // a poll with a deadline: Health has no channel
	}
	if err := health.Err(); err != nil {
		t.Fatalf("after the directory was mended: %v", err)
	}
	if ws := openStore(t, dir).Watches(); len(ws) != 1 || ws[0].TaskID != tk.ID {
		t.Errorf("saved watches %+v", ws)
	}
}

func TestPublicErrorHidesTexts(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&StepError{What: "posting the digest", Err: fmt.Errorf("posting to C1: %w", slack.SlackErrorResponse{Err: "not_in_channel"})}, "posting the digest: Slack answered not_in_channel"},
		{&StepError{What: "saving", Err: &fs.PathError{Op: "open", Path: "/state/x", Err: fs.ErrPermission}}, "saving: open /state/x: permission denied"},
		{errors.New("Authorization: Bearer xoxb-secret"), "see the log for why"},
		{&StepError{What: "posting", Err: errors.New("xapp-1-secret echoed")}, "posting: see the log for why"},
		{context.DeadlineExceeded, "timed out"},
	} {
		if got := publicError(tc.err); got != tc.want {
			t.Errorf("publicError(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestBackoffWait(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Minute}
	for failures, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 6: 32 * time.Second, 7: time.Minute, 100: time.Minute} {
		for range 20 {
			if got := b.Wait(failures); got < want/2 || got > want {
				t.Errorf("Wait(%d) = %v, want %v–%v", failures, got, want/2, want)
			}
		}
	}
}
