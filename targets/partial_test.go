package targets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/pooltasks/pooltasks/bot/notify/alert"
	"github.com/pooltasks/pooltasks/bot/notify/digest"
	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// failTask puts a task that failed on 3 of 4 desktops of sm's first pool,
// started at start.
// The Lister of several targets is what the loops read target by target.
var _ loop.Targets = fanLister{}

func failTask(sm *sim.Sim, id string, start time.Time) {
	pool := sm.Pools()[0]
	sm.PutTask(pooltask.Task{ID: id, PoolID: pool.ID, PoolName: pool.Name, Status: pooltask.StatusFailed,
		Start: start, End: start.Add(time.Minute), FailedNum: 3, SuccessNum: 1,
		Scripts: []pooltask.Script{{ID: "s1", Name: "install-agent"}}})
}

// alerted counts the posts that name each id.
func alerted(t *testing.T, p *notifytest.Poster, ids ...string) map[string]int {
	out := map[string]int{}
	for _, post := range p.Posts() {
		text := post.Text + notifytest.BlocksJSON(t, post.Blocks)
		for _, id := range ids {
			if strings.Contains(text, id) {
				out[id]++
			}
		}
	}
	return out
}

// TestAlertsWhileATargetIsDown: with sim-b's API answering 500, the
// alerts of sim-a go on (the poll fails naming sim-b alone, a partial
// failure that keeps the alerts' pace, also while a living alert of sim-b
// waits for its thread and its retry); a restart during the outage
// alerts nothing twice; sim-b's failure of the outage is alerted once
// when it answers again. Each target's alerted tasks are its own in the
// store.
func TestAlertsWhileATargetIsDown(t *testing.T) {
	s, a, b, down := twoSimsDown(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := notifytest.NewClock(now)
	poster := notifytest.NewPoster(nil)
	records := func(target string) loop.Records { c, _, _ := s.Client(target); return c }
	deps := loop.Deps{Lister: s.Lister(), Records: records, Poster: poster, Clock: clock}
	dir := t.TempDir()
	store := notifytest.OpenStore(t, dir)
	cfg := alert.Config{Channel: "C2"}
	al := alert.New(cfg, deps, store)
	if err := al.Poll(ctx); err != nil { // the failures already there are known
		t.Fatal(err)
	}
	// A living alert of sim-b, not yet followed by its thread, whose
	// retry no watch follows: both read sim-b at each poll.
	pool := b.Pools()[0]
	if err := store.PutAlert(ctx, pooltask.Alert{Channel: "C2", TS: "1700000000.000100", Posted: now, RetriedAt: now,
		RetryTaskID: "bbbbbbbb-0000-4000-8000-0000000000r1",
		Task:        pooltask.Task{ID: "bbbbbbbb-0000-4000-8000-000000000009", Target: "sim-b", PoolID: pool.ID, PoolName: pool.Name, Status: pooltask.StatusFailed, Start: now.Add(-time.Hour), FailedNum: 1}}); err != nil {
		t.Fatal(err)
	}
	const (
		a1 = "aaaaaaaa-0000-4000-8000-000000000001"
		a2 = "aaaaaaaa-0000-4000-8000-000000000002"
		b1 = "bbbbbbbb-0000-4000-8000-000000000001"
	)
	down.Store(true)
	failTask(a, a1, now.Add(-2*time.Minute))
	failTask(b, b1, now.Add(-2*time.Minute))
	partial := func(err error) {
		t.Helper()
		var te *loop.TargetError
		if !errors.As(err, &te) || te.Target != "sim-b" || !loop.Partial(err) {
			t.Fatalf("poll during sim-b's outage: %v, want a partial failure of sim-b", err)
		}
		if why := loop.PublicError(err); !strings.Contains(why, "target sim-b: ") || !strings.Contains(why, "500 APIGW.0201") {
			t.Errorf("health says %q, want sim-b and the API's answer", why)
		}
	}
	partial(al.Poll(ctx))
	if got := alerted(t, poster, a1, b1); got[a1] != 1 || got[b1] != 0 {
		t.Fatalf("alerts during sim-b's outage: %v, want sim-a's failure once", got)
	}

	// A restart during the outage: sim-a's alert is remembered.
	clock.Advance(time.Minute)
	failTask(a, a2, now.Add(-time.Minute))
	store = notifytest.OpenStore(t, dir)
	al = alert.New(cfg, deps, store)
	partial(al.Poll(ctx))
	if got := alerted(t, poster, a1, a2, b1); got[a1] != 1 || got[a2] != 1 || got[b1] != 0 {
		t.Fatalf("alerts after a restart during sim-b's outage: %v, want each of sim-a's once", got)
	}

	down.Store(false)
	clock.Advance(time.Minute)
	if err := al.Poll(ctx); err != nil {
		t.Fatalf("poll once sim-b answers: %v", err)
	}
	clock.Advance(time.Minute)
	if err := al.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := alerted(t, poster, a1, a2, b1); got[a1] != 1 || got[a2] != 1 || got[b1] != 1 {
		t.Fatalf("alerts after sim-b came back: %v, want each failure once", got)
	}
	for target, want := range map[string]string{"sim-a": a2, "sim-b": b1} {
		known, ok, err := store.AlertKnown(ctx, "C2||"+target)
		if _, has := known[want]; err != nil || !ok || !has {
			t.Errorf("the store's alerted tasks of %s: %v (%v, %v), want %s among them", target, len(known), ok, err, want)
		}
	}
}

// TestAlertsTakeOverOneKey: the alerted tasks saved under the route's one
// key (before each target had its own) are taken over by each target:
// nothing already alerted is alerted again, and a new failure is.
func TestAlertsTakeOverOneKey(t *testing.T) {
	s, a, b := twoSims(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	poster := notifytest.NewPoster(nil)
	deps := loop.Deps{Lister: s.Lister(), Poster: poster, Clock: notifytest.NewClock(now)}
	store := notifytest.OpenStore(t, t.TempDir())
	known := map[string]time.Time{}
	for _, sm := range []*sim.Sim{a, b} {
		for _, tk := range sm.Tasks() {
			if tk.Status == pooltask.StatusFailed {
				known[tk.ID] = tk.Start
			}
		}
	}
	if err := store.AddAlertKnown(ctx, "C2|", known, now.Add(-alert.DefaultHorizon), alert.DefaultMax); err != nil {
		t.Fatal(err)
	}
	const b1 = "bbbbbbbb-0000-4000-8000-000000000001"
	failTask(b, b1, now.Add(-time.Minute))
	if err := alert.New(alert.Config{Channel: "C2"}, deps, store).Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if posts := poster.Posts(); len(posts) != 1 || !strings.Contains(posts[0].Text+notifytest.BlocksJSON(t, posts[0].Blocks), b1) {
		t.Fatalf("%d posts, want the new failure's alone", len(posts))
	}
}

// TestDigestWhileATargetIsDown: a window whose sim-b tasks cannot be read
// is tried again for Config.Partial after its end, then posted with
// sim-a's tasks and a line naming sim-b and why; the loop's health names
// sim-b until it answers again (asked at the loop's next try, before the
// next window). That next window says that sim-b answers again and which
// hours are in no digest; no window is posted twice.
func TestDigestWhileATargetIsDown(t *testing.T) {
	s, a, _, down := twoSimsDown(t)
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	clock := notifytest.NewClock(day.Add(12*time.Hour + 30*time.Minute))
	poster := notifytest.NewPoster(clock)
	reg := metrics.NewSet()
	health := loop.NewHealth(reg)
	d := digest.New(digest.Config{Channel: "C1", Every: time.Hour}, loop.Deps{Lister: s.Lister(), Poster: poster, Clock: clock, Health: health},
		notifytest.OpenStore(t, t.TempDir()))
	notifytest.Run(t, d.Run)
	clock.BlockUntil(t, 1) // started: the first window is 12:00–13:00

	failTask(a, "aaaaaaaa-0000-4000-8000-000000000001", day.Add(12*time.Hour+40*time.Minute))
	down.Store(true)
	clock.Set(day.Add(13 * time.Hour))
	clock.BlockUntil(t, 1)
	if n := len(poster.Calls()); n != 0 {
		t.Fatalf("%d posts within the wait for sim-b, want none", n)
	}
	targetFailing := func(want float64) {
		t.Helper()
		var b strings.Builder
		reg.WritePrometheus(&b)
		line := `pooltasks_loop_target_failing{loop="digests",target="sim-b"} `
		if want == 0 && !strings.Contains(b.String(), line) {
			return
		}
		if !strings.Contains(b.String(), line+map[float64]string{0: "0", 1: "1"}[want]) {
			t.Errorf("metrics lack %s%v:\n%s", line, want, b.String())
		}
	}
	if why := health.Degraded(); !strings.Contains(why, "digests: failing since") || !strings.Contains(why, "target sim-b: ") || health.Err() != nil {
		t.Errorf("health while waiting for sim-b: degraded %q, failing %v", why, health.Err())
	}
	targetFailing(1)
	if next, _ := clock.Next(); next.After(day.Add(13*time.Hour + digest.DefaultPartial)) {
		t.Errorf("tries again at %v, after the wait's end", next)
	}

	clock.Set(day.Add(13*time.Hour + digest.DefaultPartial))
	posts := poster.WaitCalls(t, 1)
	body := posts[0].Text + notifytest.BlocksJSON(t, posts[0].Blocks)
	for _, want := range []string{"Target *sim-b* could not be read", "500 APIGW.0201", "sim-a:"} {
		if !strings.Contains(body, want) {
			t.Errorf("the partial digest lacks %q:\n%s", want, body)
		}
	}
	clock.BlockUntil(t, 1)
	if why := health.Degraded(); !strings.Contains(why, "target sim-b: ") {
		t.Errorf("health after the partial digest: %q, want sim-b still named", why)
	}

	down.Store(false)
	clock.FireNext() // the next try, before the next window: sim-b answers
	clock.BlockUntil(t, 1)
	if why := health.Degraded(); why != "" || len(poster.Calls()) != 1 {
		t.Errorf("after sim-b answers again: degraded %q, %d posts; want none and one", why, len(poster.Calls()))
	}
	clock.Set(day.Add(14 * time.Hour))
	posts = poster.WaitCalls(t, 2)
	clock.BlockUntil(t, 1)
	body = posts[1].Text + notifytest.BlocksJSON(t, posts[1].Blocks)
	for _, want := range []string{"Target *sim-b* answers again", "digest target=sim-b since=2026-12-03T12:00:00Z until=2026-12-03T13:00:00Z"} {
		if !strings.Contains(body, want) {
			t.Errorf("the digest after sim-b came back lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "could not be read (") {
		t.Errorf("the digest after sim-b came back still says it could not be read:\n%s", body)
	}
	if why := health.Degraded(); why != "" || health.Err() != nil {
		t.Errorf("health once sim-b answers: %q, %v", why, health.Err())
	}
	targetFailing(0)
	if got := digestWindows(posts); len(got) != 2 || got[0] == got[1] {
		t.Errorf("windows posted %q, want 12:00–13:00 and 13:00–14:00 once each", got)
	}
	if n := len(poster.Calls()); n != 2 {
		t.Errorf("%d posts, want 2", n)
	}
}

// digestWindows are the windows of digest posts (their header).
func digestWindows(posts []notifytest.Post) []string {
	var out []string
	for _, p := range posts {
		out = append(out, p.Text)
	}
	return out
}

// TestAlertsTargetDownAtStart: a target that does not answer at the
// alerts' first poll has its failures since then alerted once it answers,
// and the failures that were there before, not.
func TestAlertsTargetDownAtStart(t *testing.T) {
	s, _, b, down := twoSimsDown(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := notifytest.NewClock(now)
	poster := notifytest.NewPoster(nil)
	al := alert.New(alert.Config{Channel: "C2"}, loop.Deps{Lister: s.Lister(), Poster: poster, Clock: clock}, notifytest.OpenStore(t, t.TempDir()))
	down.Store(true)
	if err := al.Poll(ctx); !loop.Partial(err) {
		t.Fatalf("first poll with sim-b down: %v, want a partial failure", err)
	}
	const b1 = "bbbbbbbb-0000-4000-8000-000000000001"
	clock.Advance(2 * time.Minute)
	failTask(b, b1, now.Add(time.Minute))
	if err := al.Poll(ctx); !loop.Partial(err) {
		t.Fatalf("poll with sim-b down: %v, want a partial failure", err)
	}
	down.Store(false)
	clock.Advance(time.Minute)
	for range 2 {
		if err := al.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if posts := poster.Posts(); len(posts) != 1 || alerted(t, poster, b1)[b1] != 1 {
		t.Errorf("%d posts (%v), want one: sim-b's failure since the start, not those before", len(posts), alerted(t, poster, b1))
	}
}
