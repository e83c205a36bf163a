package digest

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

var day0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func sampleDigestTasks() []pooltask.Task {
	return []pooltask.Task{
		notifytest.Task("11111111-0000-0000-0000-000000000001", "finance-win11", pooltask.StatusFailed, day0.Add(2*time.Hour), 3, "install-agent"),
		notifytest.Task("11111111-0000-0000-0000-000000000002", "finance-win11", pooltask.StatusFailed, day0.Add(5*time.Hour), 7, "install-agent", "clean-disk"),
		notifytest.Task("11111111-0000-0000-0000-000000000003", "<!channel> pool", pooltask.StatusFailed, day0.Add(20*time.Hour), 1, "<@U123> rotate"),
		notifytest.Task("11111111-0000-0000-0000-000000000004", "dev-linux", pooltask.StatusFailed, day0.Add(23*time.Hour), 2),
		notifytest.Task("11111111-0000-0000-0000-000000000005", "dev-linux", pooltask.StatusFinish, day0.Add(3*time.Hour), 1, "clean-disk"),
		notifytest.Task("11111111-0000-0000-0000-000000000006", "dev-linux", pooltask.StatusRunning, day0.Add(23*time.Hour+30*time.Minute), 0, "clean-disk"),
		// Outside the window on both sides.
		notifytest.Task("11111111-0000-0000-0000-000000000007", "dev-linux", pooltask.StatusFailed, day0.Add(-time.Second), 4, "x"),
		notifytest.Task("11111111-0000-0000-0000-000000000008", "dev-linux", pooltask.StatusFailed, day0.Add(24*time.Hour), 4, "x"),
	}
}

func TestCollectDigestCounts(t *testing.T) {
	l := notifytest.NewLister(sampleDigestTasks()...)
	d, err := collectDigest(context.Background(), scope(l, nil), pooltask.ListOptions{Start: day0, End: day0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if d.Tasks != 6 || d.FailedTasks != 4 || d.FailedDesktops != 3+7+1+2+1 {
		t.Errorf("tasks %d, failed %d, failed desktops %d; want 6, 4, 14", d.Tasks, d.FailedTasks, d.FailedDesktops)
	}
	if d.PerPool[0].PoolName != "finance-win11" || d.PerPool[0].FailedTasks != 2 || d.PerPool[0].FailedDesktops != 10 {
		t.Errorf("top pool = %+v", d.PerPool[0])
	}
	if d.TopScripts[0] != (ScriptCount{Name: "install-agent", FailedTasks: 2}) {
		t.Errorf("top script = %+v", d.TopScripts[0])
	}
	if len(d.Recent) != 4 || d.Recent[0].ID != "11111111-0000-0000-0000-000000000004" {
		t.Errorf("recent = %v", d.Recent)
	}
	sum := 0
	for _, n := range d.Timeline {
		sum += n
	}
	if sum != 4 {
		t.Errorf("timeline %v sums to %d, want 4", d.Timeline, sum)
	}
	for _, c := range l.Calls() {
		if c.Limit != 100 {
			t.Errorf("call with limit %d, want 100", c.Limit)
		}
	}
}

func TestDigestViewAllParsesBack(t *testing.T) {
	d := &Digest{Start: day0, End: day0.Add(24 * time.Hour), Pools: []string{"finance win11"}}
	c, err := commands.Parse(d.ViewAllCommand(), day0.Add(48*time.Hour))
	if err != nil {
		t.Fatalf("parsing %q: %v", d.ViewAllCommand(), err)
	}
	if c.Verb != commands.VerbFailed || !c.Query.Start.Equal(day0) || !c.Query.End.Equal(day0.Add(24*time.Hour)) || c.Query.PoolID != "finance win11" {
		t.Errorf("%q parsed to %+v", d.ViewAllCommand(), c)
	}
}

// TestDigestPagesThroughSimulator reads 250 failed tasks through the real
// client and simulator: three requests of limit=100.
func TestDigestPagesThroughSimulator(t *testing.T) {
	now := day0.Add(25 * time.Hour)
	s := sim.New(sim.Options{Now: func() time.Time { return now }, Empty: true})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	pool := s.Pools()[0]
	for i := range 250 {
		s.PutTask(pooltask.Task{
			ID: fmt.Sprintf("33333333-0000-0000-0000-%012d", i), PoolID: pool.ID, PoolName: pool.Name,
			Scripts: []pooltask.Script{{ID: "s1", Name: "install-agent"}},
			Start:   day0.Add(time.Duration(i) * time.Minute), End: day0.Add(time.Duration(i)*time.Minute + time.Minute),
			Status: pooltask.StatusFailed, FailedNum: 2, SuccessNum: 1,
		})
	}
	client, err := workspace.New(workspace.Config{Endpoint: srv.URL, Region: "sim-local-1", ProjectID: sim.DemoProjectID, AK: sim.DemoAK, SK: sim.DemoSK, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	before := s.Requests()
	d, err := collectDigest(context.Background(), scope(client, nil), pooltask.ListOptions{Start: day0, End: day0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Requests() - before; got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
	if d.Tasks != 250 || d.FailedTasks != 250 || d.FailedDesktops != 500 {
		t.Errorf("tasks %d, failed %d, desktops %d; want 250, 250, 500", d.Tasks, d.FailedTasks, d.FailedDesktops)
	}
	if len(d.PerPool) != 1 || d.PerPool[0].FailedTasks != 250 {
		t.Errorf("per pool %+v", d.PerPool)
	}
}

// digestWindows returns the windows named by the digest posts, in order.
func digestWindows(posts []notifytest.Post) []string {
	var out []string
	for _, p := range posts {
		w, _, _ := strings.Cut(strings.TrimPrefix(p.Text, "Failure digest "), " UTC")
		out = append(out, w+" UTC")
	}
	return out
}

// windowText is how a digest's text names its window.
func windowText(start, end time.Time) string {
	start, end = start.UTC(), end.UTC()
	if start.Format("2006-01-02") == end.Format("2006-01-02") {
		return start.Format("2006-01-02 15:04") + "–" + end.Format("15:04") + " UTC"
	}
	return start.Format("2006-01-02 15:04") + " – " + end.Format("2006-01-02 15:04") + " UTC"
}

func win(start time.Time, days int) string {
	return windowText(start, start.Add(time.Duration(days)*24*time.Hour))
}

func TestDigesterWindowsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	clock := notifytest.NewClock(day0.Add(-30 * time.Minute)) // 08:30, before the 09:00 boundary
	rec := notifytest.NewPoster(clock)
	l := notifytest.NewLister(sampleDigestTasks()...)
	cfg := Config{Channel: "C1", Every: 24 * time.Hour, At: 9 * time.Hour}

	d := New(cfg, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
	stop := notifytest.Run(t, d.Run)
	clock.BlockUntil(t, 1)
	if len(rec.Calls()) != 0 {
		t.Fatal("posted at the first start")
	}
	clock.Set(day0) // 09:00: the window that started at the first start ends
	rec.WaitCalls(t, 1)
	clock.BlockUntil(t, 1)
	clock.Advance(24 * time.Hour)
	rec.WaitCalls(t, 2)
	clock.BlockUntil(t, 1)
	stop()
	clock.DropWaiters()

	// Down for a while, back within the next window: the window that ended
	// meanwhile is posted once, then the schedule goes on.
	clock.Advance(25 * time.Hour)
	d2 := New(cfg, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
	stop2 := notifytest.Run(t, d2.Run)
	rec.WaitCalls(t, 3)
	clock.BlockUntil(t, 1)
	if next, _ := clock.Next(); !next.Equal(day0.Add(72 * time.Hour)) {
		t.Errorf("next wake-up at %v, want %v", next, day0.Add(72*time.Hour))
	}
	stop2()
	clock.DropWaiters()
	// A restart right away posts nothing again.
	d3 := New(cfg, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
	stop3 := notifytest.Run(t, d3.Run)
	clock.BlockUntil(t, 1)
	stop3()

	want := []string{win(day0.Add(-24*time.Hour), 1), win(day0, 1), win(day0.Add(24*time.Hour), 1)}
	got := digestWindows(rec.Posts())
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("windows posted:\n%q\nwant\n%q", got, want)
	}
}

func TestDigesterCatchUp(t *testing.T) {
	for _, tc := range []struct {
		missed int
		want   []string
	}{
		{1, []string{win(day0, 1)}},
		{3, []string{win(day0, 1), win(day0.Add(24*time.Hour), 1), win(day0.Add(48*time.Hour), 1)}},
		{4, []string{win(day0, 4)}},
		{9, []string{win(day0, 9)}},
	} {
		t.Run(fmt.Sprint(tc.missed), func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Channel: "C1", Every: 24 * time.Hour, At: 9 * time.Hour}
			if err := notifytest.OpenStore(t, dir).SetDigestWatermark(t.Context(), cfg.key(), day0); err != nil {
				t.Fatal(err)
			}
			clock := notifytest.NewClock(day0.Add(time.Duration(tc.missed)*24*time.Hour + time.Hour))
			rec := notifytest.NewPoster(clock)
			d := New(cfg, loop.Deps{Lister: notifytest.NamedPools{Lister: notifytest.NewLister(sampleDigestTasks()...)}, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
			notifytest.Run(t, d.Run)
			clock.BlockUntil(t, 1)
			got := digestWindows(rec.Posts())
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("windows posted:\n%q\nwant\n%q", got, tc.want)
			}
			end, _, _ := notifytest.OpenStore(t, dir).DigestWatermark(t.Context(), cfg.key())
			if want := day0.Add(time.Duration(tc.missed) * 24 * time.Hour); !end.Equal(want) {
				t.Errorf("watermark %v, want %v", end, want)
			}
		})
	}
}

func TestDigesterRetriesFailedPostWithoutSkipping(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Channel: "C1", Every: time.Hour}
	if err := notifytest.OpenStore(t, dir).SetDigestWatermark(t.Context(), cfg.key(), day0); err != nil {
		t.Fatal(err)
	}
	clock := notifytest.NewClock(day0.Add(time.Hour + time.Second))
	rec := notifytest.NewPoster(clock)
	fail := true
	rec.Fail = func(notifytest.Post) error {
		if fail {
			fail = false
			return errors.New("slack down")
		}
		return nil
	}
	d := New(cfg, loop.Deps{Lister: notifytest.NewLister(), Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
	notifytest.Run(t, d.Run)
	clock.BlockUntil(t, 1)
	if len(rec.Posts()) != 0 {
		t.Fatal("posted despite the failure")
	}
	clock.Advance(time.Minute)
	rec.WaitCalls(t, 1)
	if got := digestWindows(rec.Posts()); len(got) != 1 || got[0] != windowText(day0, day0.Add(time.Hour)) {
		t.Errorf("posted %q", got)
	}
}

func TestDigesterQuietAndChartFallback(t *testing.T) {
	clock := notifytest.NewClock(day0.Add(48 * time.Hour))
	rec := notifytest.NewPoster(clock)
	quiet := New(Config{Channel: "C1", Quiet: true}, loop.Deps{Lister: notifytest.NewLister(), Poster: rec, Clock: clock}, nil)
	m, err := quiet.Post(context.Background(), "", pooltask.ListOptions{Start: day0, End: day0.Add(24 * time.Hour)})
	if err != nil || len(m.Blocks) != 0 || len(rec.Calls()) != 0 {
		t.Errorf("quiet all clear: %v, %d blocks, %d posts", err, len(m.Blocks), len(rec.Calls()))
	}

	store := notifytest.OpenStore(t, t.TempDir())
	rec.Fail = func(p notifytest.Post) error {
		for _, b := range p.Blocks {
			if b.BlockType() == slack.MBTDataVisualization {
				return slack.SlackErrorResponse{Err: "invalid_blocks"}
			}
		}
		return nil
	}
	d := New(Config{Channel: "C1"}, loop.Deps{Lister: notifytest.NewLister(sampleDigestTasks()...), Poster: rec, Clock: clock}, store)
	if _, err := d.Post(context.Background(), "C2", pooltask.ListOptions{Start: day0, End: day0.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	posts := rec.Posts()
	if len(posts) != 1 || posts[0].Channel != "C2" || !strings.Contains(notifytest.BlocksJSON(t, posts[0].Blocks), "Failures over time") {
		t.Fatalf("posts %+v", posts)
	}
	if refused, _ := store.ChartsRefused(t.Context()); !refused {
		t.Error("the refusal was not remembered")
	}

	// Dry run posts nothing and still renders.
	dg, err := d.Collect(context.Background(), pooltask.ListOptions{Start: day0, End: day0.Add(24 * time.Hour)}, nil)
	if m := dg.Render(true); err != nil || len(m.Blocks) == 0 || len(rec.Posts()) != 1 {
		t.Errorf("dry run: %v, %d blocks, %d posts", err, len(m.Blocks), len(rec.Posts()))
	}
}

func TestWindowEnd(t *testing.T) {
	for _, tc := range []struct {
		now       time.Time
		every, at time.Duration
		want      time.Time
	}{
		{time.Date(2026, 11, 27, 8, 59, 0, 0, time.UTC), 24 * time.Hour, 9 * time.Hour, time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)},
		{time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), 24 * time.Hour, 9 * time.Hour, time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)},
		{time.Date(2026, 11, 27, 9, 31, 0, 0, time.UTC), time.Hour, 0, time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)},
		{time.Date(2026, 11, 27, 9, 31, 0, 0, time.UTC), time.Hour, 15 * time.Minute, time.Date(2026, 11, 27, 9, 15, 0, 0, time.UTC)},
	} {
		if got := WindowEnd(tc.now, tc.every, tc.at); !got.Equal(tc.want) {
			t.Errorf("WindowEnd(%v, %v, %v) = %v, want %v", tc.now, tc.every, tc.at, got, tc.want)
		}
	}
}

// TestDigesterFinishesPostAtShutdown: SIGTERM while a digest is being
// posted lets the post finish and saves the watermark, so the next start
// does not post the window again.
func TestDigesterFinishesPostAtShutdown(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Channel: "C1", Every: time.Hour}
	if err := notifytest.OpenStore(t, dir).SetDigestWatermark(t.Context(), cfg.key(), day0); err != nil {
		t.Fatal(err)
	}
	clock := notifytest.NewClock(day0.Add(time.Hour + time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slackGo := &notifytest.CancelingPoster{Poster: notifytest.NewPoster(clock), During: cancel}
	d := New(cfg, loop.Deps{Lister: notifytest.NewLister(), Poster: slackGo, Clock: clock}, notifytest.OpenStore(t, dir))
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(slackGo.Posts()); n != 1 {
		t.Fatalf("%d posts, want 1", n)
	}
	if end, _, _ := notifytest.OpenStore(t, dir).DigestWatermark(t.Context(), cfg.key()); !end.Equal(day0.Add(time.Hour)) {
		t.Errorf("watermark %v after the shutdown, want %v", end, day0.Add(time.Hour))
	}
}

// TestDigestViewAllOnePoolAtMost: View all lists one pool's (or every
// pool's) failures; a digest of several pools has no such button.
func TestDigestViewAllOnePoolAtMost(t *testing.T) {
	l := notifytest.NewLister(sampleDigestTasks()...)
	for _, c := range []struct {
		pools []string
		want  bool
	}{{nil, true}, {[]string{"pool-finance-win11"}, true}, {[]string{"pool-finance-win11", "pool-dev-ubuntu"}, false}} {
		d, err := collectDigest(context.Background(), scope(l, c.pools), pooltask.ListOptions{Start: day0, End: day0.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if d.AllClear() {
			t.Fatalf("pools %v: all clear; the sample has failures", c.pools)
		}
		js := notifytest.BlocksJSON(t, d.Render(false).Blocks)
		if got := strings.Contains(js, `"action_id":"view_all"`); got != c.want {
			t.Errorf("pools %v: View all button %v, want %v", c.pools, got, c.want)
		}
	}
}

// TestDigesterTakesOverLegacyKey: a watermark saved under the key of before
// pools were sorted is taken over: the missed window is posted, not skipped
// as on a first start.
func TestDigesterTakesOverLegacyKey(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Channel: "C1", Every: 24 * time.Hour, At: 9 * time.Hour, Pools: []string{"pool-b", "pool-a"}}
	if cfg.key() == cfg.legacyKey() {
		t.Fatal("the test needs pools out of order")
	}
	if err := notifytest.OpenStore(t, dir).SetDigestWatermark(t.Context(), cfg.legacyKey(), day0); err != nil {
		t.Fatal(err)
	}
	clock := notifytest.NewClock(day0.Add(24*time.Hour + time.Hour))
	rec := notifytest.NewPoster(clock)
	d := New(cfg, loop.Deps{Lister: notifytest.NamedPools{Lister: notifytest.NewLister(sampleDigestTasks()...)}, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
	notifytest.Run(t, d.Run)
	clock.BlockUntil(t, 1)
	if got := digestWindows(rec.Posts()); strings.Join(got, "|") != win(day0, 1) {
		t.Errorf("windows posted %q, want the missed one %q", got, win(day0, 1))
	}
	if end, ok, _ := notifytest.OpenStore(t, dir).DigestWatermark(t.Context(), cfg.key()); !ok || !end.Equal(day0.Add(24*time.Hour)) {
		t.Errorf("watermark under the new key %v (%v), want %v", end, ok, day0.Add(24*time.Hour))
	}
}

// A task with scripts and a command (the API's task has no type) counts
// for both among the scripts that failed most.
func TestCollectDigestCountsScriptsAndCommand(t *testing.T) {
	task := notifytest.Task("55555555-0000-0000-0000-000000000001", "dev-linux", pooltask.StatusFailed, day0.Add(time.Hour), 1, "clean-disk")
	task.CommandContent, task.CommandType = "df -h", "SHELL"
	d, err := collectDigest(context.Background(), scope(notifytest.NewLister(task), nil), pooltask.ListOptions{Start: day0, End: day0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	want := []ScriptCount{{Name: "SHELL command", FailedTasks: 1}, {Name: "clean-disk", FailedTasks: 1}}
	if fmt.Sprint(d.TopScripts) != fmt.Sprint(want) {
		t.Errorf("top scripts %v, want %v", d.TopScripts, want)
	}
}

// TestChartFallbackAgainstFakeSlack: a workspace that refuses charts
// (invalid_blocks from the real slack-go client) gets the classic digest.
func TestChartFallbackAgainstFakeSlack(t *testing.T) {
	srv := slacktest.New(t, slacktest.Options{RefuseBlockTypes: []string{"data_visualization"}})
	p := loop.NewSlackPoster(slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()), slack.OptionRetry(3)))
	ctx := context.Background()
	d := New(Config{}, loop.Deps{Lister: notifytest.NewLister(sampleDigestTasks()...), Poster: p}, notifytest.OpenStore(t, t.TempDir()))
	if _, err := d.Post(ctx, "C3", pooltask.ListOptions{Start: day0, End: day0.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	m, err := srv.WaitMessage(func(m slacktest.Message) bool { return m.Channel == "C3" }, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range m.BlockTypes() {
		if typ == "data_visualization" {
			t.Error("chart in the fallback digest")
		}
	}
}

// TestStateKeysIgnorePoolOrder: reordering a binding (to change a
// channel's default pool) keeps the digests' saved state.
func TestStateKeysIgnorePoolOrder(t *testing.T) {
	d1, d2 := Config{Channel: "C1", Every: time.Hour, Pools: []string{"p2", "p1"}}, Config{Channel: "C1", Every: time.Hour, Pools: []string{"p1", "p2"}}
	if d1.key() != d2.key() {
		t.Errorf("digest keys %q and %q differ", d1.key(), d2.key())
	}
}

// TestDigestViewAllTarget: with several targets View all carries the
// digest's target: the one of its one pool (TARGET:ID), the one it covers
// whole (even over several pools), or target=all for a digest of all of
// them; with one target it names none.
func TestDigestViewAllTarget(t *testing.T) {
	base := Digest{Start: day0, End: day0.Add(24 * time.Hour)}
	for _, c := range []struct {
		d    func(d *Digest)
		want string
	}{
		{func(*Digest) {}, "failed since=2026-11-26T09:00:00Z until=2026-11-27T09:00:00Z"},
		{func(d *Digest) { d.Pools = []string{"eu:pool-a"} }, "failed target=eu pool=pool-a since=2026-11-26T09:00:00Z until=2026-11-27T09:00:00Z"},
		{func(d *Digest) { d.Pools, d.Target = []string{"eu:pool-a", "eu:pool-b"}, wholeTarget([]string{"eu:*"}) }, "failed target=eu since=2026-11-26T09:00:00Z until=2026-11-27T09:00:00Z"},
		{func(d *Digest) { d.PerPool = []PoolCount{{PoolID: "p", Target: "eu"}} }, "failed target=all since=2026-11-26T09:00:00Z until=2026-11-27T09:00:00Z"},
	} {
		d := base
		c.d(&d)
		if got := d.View(false).ViewAllCommand; got != c.want {
			t.Errorf("pools %v target %q: View all %q, want %q", d.Pools, d.Target, got, c.want)
		}
	}
	if got := wholeTarget([]string{"eu:*", "ap:*"}); got != "" {
		t.Errorf("wholeTarget of two targets: %q", got)
	}
}

// scope is the one scope of l's pools ids (none: every pool).
func scope(l loop.Lister, ids []string) []loop.Scope {
	return []loop.Scope{{Lister: l, Pools: loop.Pools{IDs: ids}}}
}
