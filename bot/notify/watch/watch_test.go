package watch

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
)

var day0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func TestWatchEnds(t *testing.T) {
	for _, final := range []pooltask.TaskStatus{pooltask.StatusFinish, pooltask.StatusFailed} {
		for _, thread := range []string{"", "1699999999.000100"} {
			t.Run(string(final)+"/thread="+thread, func(t *testing.T) {
				clock := notifytest.NewClock(day0)
				rec := notifytest.NewPoster(clock)
				tk := notifytest.Task("eeeeeeee-0000-0000-0000-000000000001", "finance-win11", pooltask.StatusRunning, day0.Add(-time.Minute), 0, "install-agent")
				tk.SuccessNum = 0
				l := notifytest.NewLister(tk)
				store := notifytest.OpenStore(t, t.TempDir())
				w := New(Config{Every: 15 * time.Second}, loop.Deps{Lister: l, Poster: rec, Clock: clock}, store)
				t.Cleanup(w.Close)

				id, err := w.Start(context.Background(), Request{TaskID: tk.ID, Channel: "C1", ThreadTS: thread, UserID: "U42"})
				if err != nil {
					t.Fatal(err)
				}
				first := rec.WaitCalls(t, 1)[0]
				if first.Update || first.ThreadTS != thread {
					t.Fatalf("first call %+v", first)
				}
				if js := notifytest.BlocksJSON(t, first.Blocks); !strings.Contains(js, `"action_id":"watch_stop"`) || !strings.Contains(js, `"value":"`+id+`"`) {
					t.Errorf("no Stop button with the watch id: %s", js)
				}
				if len(notifytest.Saved(t, store)) != 1 {
					t.Error("watch not saved")
				}

				// Progress: two updates while it runs.
				for i := 1; i <= 2; i++ {
					tk.SuccessNum = 3 * i
					l.Put(tk)
					clock.BlockUntil(t, 1)
					clock.Advance(15 * time.Second)
					c := rec.WaitCalls(t, 1+i)[i]
					if !c.Update || c.TS != first.TS || !strings.Contains(notifytest.BlocksJSON(t, c.Blocks), "*"+string(rune('0'+3*i))+"* ok") {
						t.Errorf("update %d: %+v %s", i, c, notifytest.BlocksJSON(t, c.Blocks))
					}
				}

				tk.Status, tk.End, tk.FailedNum = final, clock.Now(), 1
				l.Put(tk)
				clock.BlockUntil(t, 1)
				clock.Advance(15 * time.Second)
				calls := rec.WaitCalls(t, 5)
				w.Close()
				if len(rec.Calls()) != 5 {
					t.Fatalf("%d calls, want 5", len(rec.Calls()))
				}
				last, reply := calls[3], calls[4]
				if !last.Update || last.TS != first.TS || !strings.Contains(notifytest.BlocksJSON(t, last.Blocks), "ended: *"+string(final)+"*") {
					t.Errorf("final update %+v %s", last, notifytest.BlocksJSON(t, last.Blocks))
				}
				if strings.Contains(notifytest.BlocksJSON(t, last.Blocks), "watch_stop") {
					t.Error("final message still has a Stop button")
				}
				wantThread := thread
				if wantThread == "" {
					wantThread = first.TS
				}
				if reply.Update || reply.ThreadTS != wantThread || !strings.Contains(reply.Text, "<@U42>") || !strings.Contains(reply.Text, string(final)) {
					t.Errorf("reply %+v, want a threaded mention in %s", reply, wantThread)
				}
				if n := len(rec.Posts()); n != 2 {
					t.Errorf("%d posts, want the watch message and the reply", n)
				}
				if top := topLevel(rec.Posts()); thread == "" && top != 1 {
					t.Errorf("%d top-level posts, want 1", top)
				}
				if len(notifytest.Saved(t, store)) != 0 || w.Active() != 0 {
					t.Error("ended watch still saved or active")
				}
			})
		}
	}
}

func topLevel(posts []notifytest.Post) int {
	n := 0
	for _, p := range posts {
		if p.ThreadTS == "" {
			n++
		}
	}
	return n
}

func TestWatchStopLimitAndMax(t *testing.T) {
	clock := notifytest.NewClock(day0)
	rec := notifytest.NewPoster(clock)
	a := notifytest.Task("ffffffff-0000-0000-0000-000000000001", "p", pooltask.StatusRunning, day0, 0, "s")
	b := notifytest.Task("ffffffff-0000-0000-0000-000000000002", "p", pooltask.StatusRunning, day0, 0, "s")
	l := notifytest.NewLister(a, b)
	w := New(Config{Every: 15 * time.Second, Max: time.Minute, MaxActive: 1}, loop.Deps{Lister: l, Poster: rec, Clock: clock}, nil)
	t.Cleanup(w.Close)
	ctx := context.Background()

	if _, err := w.Start(ctx, Request{TaskID: "nope", Channel: "C1", UserID: "U1"}); !errors.Is(err, ErrTaskNotFound) {
		t.Errorf("unknown task: %v", err)
	}
	id, err := w.Start(ctx, Request{TaskID: a.ID, Channel: "C1", UserID: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Start(ctx, Request{TaskID: b.ID, Channel: "C1", UserID: "U1"}); !errors.Is(err, ErrTooManyWatches) {
		t.Errorf("second watch: %v, want ErrTooManyWatches", err)
	}
	clock.BlockUntil(t, 1)
	if err := w.Stop(id, "U7"); err != nil {
		t.Fatal(err)
	}
	calls := rec.WaitCalls(t, 2)
	if !calls[1].Update || !strings.Contains(notifytest.BlocksJSON(t, calls[1].Blocks), "Stopped by <@U7>") {
		t.Errorf("stop update %+v %s", calls[1], notifytest.BlocksJSON(t, calls[1].Blocks))
	}
	if err := pollActive(t, w, 0); err != nil {
		t.Fatal(err)
	}
	clock.DropWaiters() // the stopped loop's timer
	if err := w.Stop(id, "U7"); !errors.Is(err, ErrWatchNotFound) {
		t.Errorf("second stop: %v", err)
	}

	// The slot is free again; this one runs out of time after Max.
	if _, err := w.Start(ctx, Request{TaskID: b.ID, Channel: "C1", UserID: "U1"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		clock.BlockUntil(t, 1)
		clock.Advance(15 * time.Second)
	}
	// Nothing changed during the minute: no updates, then the final one
	// and the reply.
	calls = rec.WaitCalls(t, 3+2)
	last, reply := calls[len(calls)-2], calls[len(calls)-1]
	if !strings.Contains(notifytest.BlocksJSON(t, last.Blocks), "time limit") || !strings.Contains(reply.Text, "still RUNNING") {
		t.Errorf("timeout: %+v / %q", notifytest.BlocksJSON(t, last.Blocks), reply.Text)
	}
	if err := pollActive(t, w, 0); err != nil {
		t.Fatal(err)
	}
}

func pollActive(t *testing.T, w *Watches, want int) error {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.Active() != want {
		if time.Now().After(deadline) {
			return errors.New("active watches did not drop")
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

func TestWatchResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	clock := notifytest.NewClock(day0)
	rec := notifytest.NewPoster(clock)
	tk := notifytest.Task("99999999-0000-0000-0000-000000000001", "p", pooltask.StatusInit, day0, 0, "s")
	l := notifytest.NewLister(tk)

	w := New(Config{}, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
	stop := notifytest.Run(t, w.Run)
	if _, err := w.Start(context.Background(), Request{TaskID: tk.ID, Channel: "C1", UserID: "U1"}); err != nil {
		t.Fatal(err)
	}
	first := rec.WaitCalls(t, 1)[0]
	clock.BlockUntil(t, 1)
	stop() // SIGTERM
	clock.DropWaiters()
	if _, err := w.Start(context.Background(), Request{TaskID: tk.ID, Channel: "C1", UserID: "U1"}); !errors.Is(err, ErrWatchesClosed) {
		t.Errorf("start after close: %v", err)
	}

	tk.Status, tk.End = pooltask.StatusFailed, day0.Add(time.Minute)
	l.Put(tk)
	w2 := New(Config{}, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
	notifytest.Run(t, w2.Run)
	clock.BlockUntil(t, 1)
	clock.Advance(15 * time.Second)
	calls := rec.WaitCalls(t, 3)
	if !calls[1].Update || calls[1].TS != first.TS || !strings.Contains(notifytest.BlocksJSON(t, calls[1].Blocks), "FAILED") {
		t.Errorf("resumed final update %+v", calls[1])
	}
	if calls[2].ThreadTS != first.TS || !strings.Contains(calls[2].Text, "<@U1>") {
		t.Errorf("reply %+v", calls[2])
	}
	if topLevel(rec.Posts()) != 1 {
		t.Error("more than one top-level post")
	}
}

// TestWatchStartTwiceHere: a second Start of the task in the same channel
// and thread (a retry after a forwarded start timed out, or someone else)
// starts nothing and gives the running watch; elsewhere it is a new watch.
func TestWatchStartTwiceHere(t *testing.T) {
	clock := notifytest.NewClock(day0)
	rec := notifytest.NewPoster(clock)
	tk := notifytest.Task("abababab-0000-0000-0000-000000000001", "p", pooltask.StatusRunning, day0, 0, "s")
	store := notifytest.OpenStore(t, t.TempDir())
	w := New(Config{}, loop.Deps{Lister: notifytest.NewLister(tk), Poster: rec, Clock: clock}, store)
	t.Cleanup(w.Close)
	ctx := context.Background()

	id, err := w.Start(ctx, Request{TaskID: tk.ID, Channel: "C1", UserID: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	first := rec.WaitCalls(t, 1)[0]
	again, err := w.Start(ctx, Request{TaskID: tk.ID, Channel: "C1", UserID: "U2"})
	var aw *AlreadyWatchingError
	if !errors.Is(err, ErrAlreadyWatching) || !errors.As(err, &aw) || again != id {
		t.Fatalf("second start here: %q, %v; want %q and ErrAlreadyWatching", again, err, id)
	}
	if aw.WatchID != id || aw.Channel != "C1" || aw.ThreadTS != "" || aw.MessageTS != first.TS {
		t.Errorf("already watching %+v, want watch %s message %s", aw, id, first.TS)
	}
	if n := len(rec.Calls()); n != 1 || w.Active() != 1 || len(notifytest.Saved(t, store)) != 1 {
		t.Errorf("after the second start: %d calls, %d active, %d saved; want 1 each", n, w.Active(), len(notifytest.Saved(t, store)))
	}

	// Another thread or channel is another watch.
	for _, req := range []Request{
		{TaskID: tk.ID, Channel: "C1", ThreadTS: "1699999999.000100", UserID: "U1"},
		{TaskID: tk.ID, Channel: "C2", UserID: "U1"},
	} {
		other, err := w.Start(ctx, req)
		if err != nil || other == id {
			t.Errorf("start in %s/%s: %q, %v; want a new watch", req.Channel, req.ThreadTS, other, err)
		}
	}
	if w.Active() != 3 {
		t.Errorf("%d active, want 3", w.Active())
	}

	// Once stopped, the task can be watched here again.
	clock.BlockUntil(t, 3)
	if err := w.Stop(id, "U1"); err != nil {
		t.Fatal(err)
	}
	if err := pollActive(t, w, 2); err != nil {
		t.Fatal(err)
	}
	if next, err := w.Start(ctx, Request{TaskID: tk.ID, Channel: "C1", UserID: "U2"}); err != nil || next == id {
		t.Errorf("start after Stop: %q, %v; want a new watch", next, err)
	}
}

// gate holds ListTasks until released.
type gate struct {
	loop.Lister
	entered chan struct{}
	release chan struct{}
}

func (g gate) ListTasks(ctx context.Context, o pooltask.ListOptions) (pooltask.TaskPage, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.Lister.ListTasks(ctx, o)
}

// TestWatchStartTwiceAtOnce: a Start while the same one is still reading
// the task waits for it and gives its watch; one message is posted.
func TestWatchStartTwiceAtOnce(t *testing.T) {
	clock := notifytest.NewClock(day0)
	rec := notifytest.NewPoster(clock)
	tk := notifytest.Task("abababab-0000-0000-0000-000000000002", "p", pooltask.StatusRunning, day0, 0, "s")
	g := gate{Lister: notifytest.NewLister(tk), entered: make(chan struct{}, 2), release: make(chan struct{})}
	w := New(Config{}, loop.Deps{Lister: g, Poster: rec, Clock: clock}, nil)
	t.Cleanup(w.Close)

	type result struct {
		id  string
		err error
	}
	results := make(chan result, 2)
	start := func(user string) {
		id, err := w.Start(context.Background(), Request{TaskID: tk.ID, Channel: "C1", UserID: user})
		results <- result{id, err}
	}
	go start("U1")
	<-g.entered // the first holds its slot, reading the task
	go start("U2")
	// The second must not read the task: it waits for the first.
	select {
	case <-g.entered:
		t.Fatal("the second start read the task while the first was starting")
	case <-time.After(50 * time.Millisecond):
	}
	close(g.release)
	a, b := <-results, <-results
	if a.err != nil {
		a, b = b, a
	}
	if a.err != nil || !errors.Is(b.err, ErrAlreadyWatching) || a.id != b.id || a.id == "" {
		t.Errorf("starts at once: %+v and %+v; want one watch and ErrAlreadyWatching with its id", a, b)
	}
	if n := len(rec.Posts()); n != 1 || w.Active() != 1 {
		t.Errorf("%d posts, %d active; want 1 each", n, w.Active())
	}
}

// TestWatchEndsWhenTaskGone: a watch whose task the API stops returning
// ends after GoneAfter polls in a row without it, says so and forgets the
// watch; fewer misses, then the task again, do not end it.
func TestWatchEndsWhenTaskGone(t *testing.T) {
	clock := notifytest.NewClock(day0)
	rec := notifytest.NewPoster(clock)
	tk := notifytest.Task("cdcdcdcd-0000-0000-0000-000000000001", "p", pooltask.StatusRunning, day0, 0, "s")
	l := notifytest.NewLister(tk)
	store := notifytest.OpenStore(t, t.TempDir())
	w := New(Config{Every: 15 * time.Second}, loop.Deps{Lister: l, Poster: rec, Clock: clock}, store)
	t.Cleanup(w.Close)
	if _, err := w.Start(context.Background(), Request{TaskID: tk.ID, Channel: "C1", UserID: "U42"}); err != nil {
		t.Fatal(err)
	}
	first := rec.WaitCalls(t, 1)[0]
	poll := func(n int) {
		for range n {
			clock.BlockUntil(t, 1)
			clock.Advance(15 * time.Second)
		}
		clock.BlockUntil(t, 1) // that poll is done
	}

	l.Delete(tk.ID)
	poll(GoneAfter - 1)
	l.Put(tk) // back: the misses start over
	poll(1)
	if n := len(rec.Calls()); n != 1 || w.Active() != 1 || len(notifytest.Saved(t, store)) != 1 {
		t.Fatalf("after %d misses: %d calls, %d active, %d saved; want the watch running", GoneAfter-1, n, w.Active(), len(notifytest.Saved(t, store)))
	}

	l.Delete(tk.ID)
	for range GoneAfter {
		clock.BlockUntil(t, 1)
		clock.Advance(15 * time.Second)
	}
	calls := rec.WaitCalls(t, 3)
	if err := pollActive(t, w, 0); err != nil {
		t.Fatal(err)
	}
	if len(rec.Calls()) != 3 {
		t.Fatalf("%d calls, want the post, the final update and the reply", len(rec.Calls()))
	}
	last, reply := calls[1], calls[2]
	js := notifytest.BlocksJSON(t, last.Blocks)
	if !last.Update || last.TS != first.TS || !strings.Contains(js, "no longer returns it") || !strings.Contains(js, "last seen *RUNNING*") {
		t.Errorf("final update %+v %s", last, js)
	}
	if strings.Contains(js, "watch_stop") || strings.Contains(js, `"action_id":"details`) {
		t.Errorf("final message still has buttons: %s", js)
	}
	if reply.Update || reply.ThreadTS != first.TS || !strings.Contains(reply.Text, "<@U42>") || !strings.Contains(reply.Text, "no longer returns") {
		t.Errorf("reply %+v, want a threaded mention", reply)
	}
	if n := len(notifytest.Saved(t, store)); n != 0 {
		t.Errorf("%d watches saved after the task was gone", n)
	}
}

// holdUpdates holds every UpdateMessage until released.
type holdUpdates struct {
	*notifytest.Poster
	entered chan struct{}
	release chan struct{}
}

func (h holdUpdates) UpdateMessage(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	h.entered <- struct{}{}
	<-h.release
	return h.Poster.UpdateMessage(ctx, channel, ts, text, blocks)
}

// TestWatchStartWhileStopping: a Start of the task here while the watch
// just stopped is still making its final update is a new watch, not that
// one.
func TestWatchStartWhileStopping(t *testing.T) {
	clock := notifytest.NewClock(day0)
	rec := notifytest.NewPoster(clock)
	h := holdUpdates{Poster: rec, entered: make(chan struct{}, 1), release: make(chan struct{})}
	tk := notifytest.Task("abababab-0000-0000-0000-000000000003", "p", pooltask.StatusRunning, day0, 0, "s")
	w := New(Config{}, loop.Deps{Lister: notifytest.NewLister(tk), Poster: h, Clock: clock}, nil)
	t.Cleanup(w.Close)
	released := false
	t.Cleanup(func() {
		if !released {
			close(h.release)
		}
	})
	ctx := context.Background()
	req := Request{TaskID: tk.ID, Channel: "C1", UserID: "U1"}

	id, err := w.Start(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	clock.BlockUntil(t, 1)
	if err := w.Stop(id, "U1"); err != nil {
		t.Fatal(err)
	}
	<-h.entered // the final "stopped" update is under way
	next, err := w.Start(ctx, req)
	if err != nil || next == id {
		t.Errorf("start while the last watch stops: %q, %v; want a new watch", next, err)
	}
	close(h.release)
	released = true
	if err := pollActive(t, w, 1); err != nil {
		t.Fatal(err)
	}
}

// TestWatchStartBeforeResume: a watch command that arrives at start-up,
// before Run has resumed the saved watches, finds the saved watch of the
// task here rather than start a second one.
func TestWatchStartBeforeResume(t *testing.T) {
	dir := t.TempDir()
	clock := notifytest.NewClock(day0)
	rec := notifytest.NewPoster(clock)
	tk := notifytest.Task("abababab-0000-0000-0000-000000000004", "p", pooltask.StatusRunning, day0, 0, "s")
	l := notifytest.NewLister(tk)
	req := Request{TaskID: tk.ID, Channel: "C1", UserID: "U1"}

	w1 := New(Config{}, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
	id, err := w1.Start(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	clock.BlockUntil(t, 1)
	w1.Close() // a restart: the watch stays saved
	clock.DropWaiters()

	w2 := New(Config{}, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
	again, err := w2.Start(context.Background(), req)
	if !errors.Is(err, ErrAlreadyWatching) || again != id {
		t.Fatalf("start before resume: %q, %v; want the saved watch %q", again, err, id)
	}
	notifytest.Run(t, w2.Run)
	if err := pollActive(t, w2, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Posts()); n != 1 {
		t.Errorf("%d watch messages posted, want 1", n)
	}
}

// TestWatchesSaveAgain: a watch started while the store refuses it shows
// the watches failing; Run saves it once the store works again.
func TestWatchesSaveAgain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	store := notifytest.OpenStore(t, dir)
	mend := notifytest.BreakDir(t, dir)
	clock := notifytest.NewClock(day0)
	rec := notifytest.NewPoster(clock)
	tk := notifytest.Task("eeeeeeee-0000-0000-0000-0000000000a1", "p", pooltask.StatusRunning, day0.Add(-time.Minute), 0, "s")
	health := loop.NewHealth(nil)
	w := New(Config{Every: time.Hour}, loop.Deps{Lister: notifytest.NewLister(tk), Poster: rec, Clock: clock, Health: health,
		Backoff: loop.Backoff{Base: time.Second, Max: time.Second}}, store)
	notifytest.Run(t, w.Run)
	if _, err := w.Start(context.Background(), Request{TaskID: tk.ID, Channel: "C1", UserID: "U1"}); err != nil {
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
		time.Sleep(time.Millisecond) // a poll with a deadline: loop.Health has no channel
	}
	if err := health.Err(); err != nil {
		t.Fatalf("after the directory was mended: %v", err)
	}
	if ws := notifytest.Saved(t, notifytest.OpenStore(t, dir)); len(ws) != 1 || ws[0].TaskID != tk.ID {
		t.Errorf("saved watches %+v", ws)
	}
}

// TestWatchKeepsActedLine: an action taken on a running watch's message
// (Stop task) is shown at once and saved with the watch, and every later
// update of the message, a refresh, and after a restart the final one,
// keeps its line and drops the action buttons.
func TestWatchKeepsActedLine(t *testing.T) {
	dir := t.TempDir()
	clock := notifytest.NewClock(day0)
	rec := notifytest.NewPoster(clock)
	tk := notifytest.Task("acacacac-0000-0000-0000-000000000001", "p", pooltask.StatusRunning, day0, 0, "s")
	tk.SuccessNum = 0
	l := notifytest.NewLister(tk)
	cfg := Config{Every: 15 * time.Second, Actions: []pooltask.Action{pooltask.ActionStop, pooltask.ActionRetry}}
	store := notifytest.OpenStore(t, dir)
	w := New(cfg, loop.Deps{Lister: l, Poster: rec, Clock: clock}, store)
	stop := notifytest.Run(t, w.Run)
	if _, err := w.Start(context.Background(), Request{TaskID: tk.ID, Channel: "C1", UserID: "U1"}); err != nil {
		t.Fatal(err)
	}
	first := rec.WaitCalls(t, 1)[0]
	if !strings.Contains(notifytest.BlocksJSON(t, first.Blocks), "act_stop") {
		t.Fatalf("no Stop task on the watch: %s", notifytest.BlocksJSON(t, first.Blocks))
	}
	clock.BlockUntil(t, 1)
	act := state.WatchAct{Action: string(pooltask.ActionStop), Actor: "U7", At: day0.Add(10 * time.Second), Outcome: "done"}
	if w.Acted(context.Background(), "C1", "9.9", act) || w.Acted(context.Background(), "C2", first.TS, act) {
		t.Error("Acted found a watch for another message")
	}
	if !w.Acted(context.Background(), "C1", first.TS, act) {
		t.Fatal("Acted found no watch for its message")
	}
	if saved := notifytest.Saved(t, store); len(saved) != 1 || saved[0].Act == nil || *saved[0].Act != act {
		t.Fatalf("saved = %+v", saved)
	}
	line := "Stopped by <@U7> at <!date^" + strconv.FormatInt(act.At.Unix(), 10) + "^{time}|09:00 UTC>"
	keeps := func(c notifytest.Post) {
		t.Helper()
		js := notifytest.BlocksJSON(t, c.Blocks)
		if !c.Update || c.TS != first.TS || !strings.Contains(js, line) || strings.Contains(js, `"act_`) {
			t.Errorf("update %+v %s", c, js)
		}
	}
	keeps(rec.WaitCalls(t, 2)[1]) // at once
	clock.BlockUntil(t, 1)
	tk.SuccessNum = 3 // progress: a refresh
	l.Put(tk)
	clock.Advance(15 * time.Second)
	refresh := rec.WaitCalls(t, 3)[2]
	keeps(refresh)
	if !strings.Contains(notifytest.BlocksJSON(t, refresh.Blocks), "*3* ok") {
		t.Errorf("refresh %s", notifytest.BlocksJSON(t, refresh.Blocks))
	}
	clock.BlockUntil(t, 1)
	stop()
	clock.DropWaiters()

	// After a restart the resumed watch ends, and its final update keeps the line.
	tk.Status, tk.End, tk.FailedNum = pooltask.StatusFailed, day0.Add(time.Minute), 2
	l.Put(tk)
	w2 := New(cfg, loop.Deps{Lister: l, Poster: rec, Clock: clock}, notifytest.OpenStore(t, dir))
	notifytest.Run(t, w2.Run)
	clock.BlockUntil(t, 1)
	clock.Advance(15 * time.Second)
	calls := rec.WaitCalls(t, 5)
	keeps(calls[3])
	if !strings.Contains(notifytest.BlocksJSON(t, calls[3].Blocks), "ended: *FAILED*") || calls[4].ThreadTS != first.TS {
		t.Errorf("final update %s, then %+v", notifytest.BlocksJSON(t, calls[3].Blocks), calls[4])
	}
}

// ender records the ends a watch tells, and whether the watch was still
// saved when it told them.
type ender struct {
	store *state.Store
	ends  chan endCall
}

type endCall struct {
	w     state.Watch
	last  pooltask.Task
	saved int
}

func (e ender) WatchEnded(ctx context.Context, w state.Watch, last pooltask.Task) error {
	ws, _ := e.store.Watches(ctx)
	e.ends <- endCall{w, last, len(ws)}
	return errors.New("the alert store does not answer") // logged; the watch ends all the same
}

// TestWatchTellsItsEnd: Config.Ended is told of each watch's end while the
// watch is still saved (a crash before it is forgotten tells it again after
// the restart): the task as it ended with the action taken on the message
// (Stop task), or as last seen when someone stopped watching it. Its error
// does not keep the watch.
func TestWatchTellsItsEnd(t *testing.T) {
	clock := notifytest.NewClock(day0)
	rec := notifytest.NewPoster(clock)
	a := notifytest.Task("ffffffff-0000-0000-0000-000000000031", "p", pooltask.StatusRunning, day0, 0, "s")
	b := notifytest.Task("ffffffff-0000-0000-0000-000000000032", "p", pooltask.StatusRunning, day0, 0, "s")
	l := notifytest.NewLister(a, b)
	store := notifytest.OpenStore(t, t.TempDir())
	e := ender{store: store, ends: make(chan endCall, 2)}
	w := New(Config{Every: 15 * time.Second, Ended: e}, loop.Deps{Lister: l, Poster: rec, Clock: clock}, store)
	t.Cleanup(w.Close)
	ctx := context.Background()
	if _, err := w.Start(ctx, Request{TaskID: a.ID, Channel: "C1", ThreadTS: "1700000000.000100"}); err != nil {
		t.Fatal(err)
	}
	first := rec.WaitCalls(t, 1)[0]
	stop := state.WatchAct{Action: string(pooltask.ActionStop), Actor: "U0CAROL", At: clock.Now(), Outcome: "done"}
	if !w.Acted(ctx, "C1", first.TS, stop) {
		t.Fatal("the watch did not take the action")
	}
	a.Status, a.FailedNum, a.End = pooltask.StatusFailed, 4, clock.Now()
	l.Put(a)
	clock.BlockUntil(t, 1)
	clock.Advance(15 * time.Second)
	got := <-e.ends
	if got.w.ThreadTS != "1700000000.000100" || got.w.TaskID != a.ID || got.w.Act == nil || got.w.Act.Actor != "U0CAROL" ||
		got.last.Status != pooltask.StatusFailed || got.last.FailedNum != 4 || got.saved != 1 {
		t.Errorf("end told: %+v", got)
	}

	id, err := w.Start(ctx, Request{TaskID: b.ID, Channel: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Stop(id, "U0DAVE"); err != nil {
		t.Fatal(err)
	}
	if got := <-e.ends; got.last.Status.Ended() || got.w.TaskID != b.ID {
		t.Errorf("end of a watch stopped: %+v", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(notifytest.Saved(t, store)) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("ended watches still saved")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
