package bot_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/bot/notify/digest"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
)

// TestReadyzShowsFailingDigests is defect 6 as an operator sees it: with a
// state directory that cannot be written at the first start, /readyz
// answered 200 while digests had stopped for good. Now /readyz answers
// 503 naming the digests and why while they retry, the metrics show it,
// and once the directory can be written /readyz is 200 again and the next
// digest is posted.
func TestReadyzShowsFailingDigests(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	store, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil { // no save succeeds, even as root
		t.Fatal(err)
	}
	metrics := bot.NewMetrics()
	health := loop.NewHealth(metrics.Registry())
	e := start(t, setup{cfg: bot.Config{HTTPAddr: "127.0.0.1:0", Metrics: metrics, Ready: health.Err}})
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + e.bot.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// readyz polls until /readyz answers code, or fails after wait.
	readyz := func(code int) string {
		t.Helper()
		deadline := time.Now().Add(wait)
		for {
			c, body := get("/readyz")
			if c == code {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz = %d %q, want %d", c, body, code)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	readyz(http.StatusOK) // connected, no loop failing yet

	day := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	clock := notifytest.NewClock(day)
	poster := notifytest.NewPoster(clock)
	d := digest.New(digest.Config{Channel: "CDIGEST", Every: time.Hour},
		loop.Deps{Lister: e.ws, Poster: poster, Clock: clock, Health: health}, store)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	clock.BlockUntil(t, 1) // the first save failed; Run waits to try again
	body := readyz(http.StatusServiceUnavailable)
	for _, want := range []string{"digests: failing since", "saving the digest watermark", "no such file or directory"} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz body %q lacks %q", body, want)
		}
	}
	clock.FireNext()
	clock.BlockUntil(t, 1) // tried again, failed again
	_, m := get("/metrics")
	for _, want := range []string{`pooltasks_loop_failing{loop="digests"} 1`, `pooltasks_loop_failures_total{loop="digests"} 2`, `pooltasks_loop_failing{loop="alerts"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	clock.FireNext()
	clock.BlockUntil(t, 1) // saved; waits for the end of the window
	readyz(http.StatusOK)
	clock.Set(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	posts := poster.WaitCalls(t, 1)
	if posts[0].Channel != "CDIGEST" || !strings.Contains(posts[0].Text, "Failure digest 2026-11-26 09:00–10:00 UTC") {
		t.Errorf("post %+v", posts[0])
	}
	_, m = get("/metrics")
	if !strings.Contains(m, `pooltasks_loop_failing{loop="digests"} 0`) {
		t.Error(`/metrics lacks pooltasks_loop_failing{loop="digests"} 0`)
	}
}

// TestReadyzDegraded: a process that runs degraded (its shared state does
// not answer) still serves, so /readyz answers 200, saying why.
func TestReadyzDegraded(t *testing.T) {
	why := "redis does not answer (connection refused)"
	var degraded atomic.Bool
	degraded.Store(true)
	e := start(t, setup{cfg: bot.Config{HTTPAddr: "127.0.0.1:0", Degraded: func() string {
		if degraded.Load() {
			return why
		}
		return ""
	}}})
	get := func() (int, string) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for {
			resp, err := http.Get("http://" + e.bot.HTTPAddr() + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
				return resp.StatusCode, string(b)
			}
			time.Sleep(10 * time.Millisecond) // socket mode not connected yet
		}
	}
	if code, body := get(); code != 200 || body != "degraded: "+why+"\n" {
		t.Errorf("/readyz = %d %q, want 200 degraded", code, body)
	}
	degraded.Store(false)
	if code, body := get(); code != 200 || body != "ok\n" {
		t.Errorf("/readyz = %d %q, want 200 ok", code, body)
	}
}
