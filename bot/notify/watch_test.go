package notify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/workspace"
)

func TestWatchEnds(t *testing.T) {
	for _, final := range []workspace.TaskStatus{workspace.StatusFinish, workspace.StatusFailed} {
		for _, thread := range []string{"", "1699999999.000100"} {
			t.Run(string(final)+"/thread="+thread, func(t *testing.T) {
				clock := notifytest.NewClock(day0)
				rec := notifytest.NewPoster(clock)
				tk := task("eeeeeeee-0000-0000-0000-000000000001", "finance-win11", workspace.StatusRunning, day0.Add(-time.Minute), 0, "install-agent")
				tk.SuccessNum = 0
				l := notifytest.NewLister(tk)
				store := openStore(t, t.TempDir())
				w := NewWatches(WatchConfig{Every: 15 * time.Second}, l, rec, store, clock, nil)
				t.Cleanup(w.Close)

				id, err := w.Start(context.Background(), WatchRequest{TaskID: tk.ID, Channel: "C1", ThreadTS: thread, UserID: "U42"})
				if err != nil {
					t.Fatal(err)
				}
				first := rec.WaitCalls(t, 1)[0]
				if first.Update || first.ThreadTS != thread {
					t.Fatalf("first call %+v", first)
				}
				if js := blocksJSON(t, first.Blocks); !strings.Contains(js, `"action_id":"watch_stop"`) || !strings.Contains(js, `"value":"`+id+`"`) {
					t.Errorf("no Stop button with the watch id: %s", js)
				}
				if len(store.Watches()) != 1 {
					t.Error("watch not saved")
				}

				// Progress: two updates while it runs.
				for i := 1; i <= 2; i++ {
					tk.SuccessNum = 3 * i
					l.Put(tk)
					clock.BlockUntil(t, 1)
					clock.Advance(15 * time.Second)
					c := rec.WaitCalls(t, 1+i)[i]
					if !c.Update || c.TS != first.TS || !strings.Contains(blocksJSON(t, c.Blocks), "*"+string(rune('0'+3*i))+"* ok") {
						t.Errorf("update %d: %+v %s", i, c, blocksJSON(t, c.Blocks))
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
				if !last.Update || last.TS != first.TS || !strings.Contains(blocksJSON(t, last.Blocks), "ended: *"+string(final)+"*") {
					t.Errorf("final update %+v %s", last, blocksJSON(t, last.Blocks))
				}
				if strings.Contains(blocksJSON(t, last.Blocks), "watch_stop") {
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
				if len(store.Watches()) != 0 || w.Active() != 0 {
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
	a := task("ffffffff-0000-0000-0000-000000000001", "p", workspace.StatusRunning, day0, 0, "s")
	b := task("ffffffff-0000-0000-0000-000000000002", "p", workspace.StatusRunning, day0, 0, "s")
	l := notifytest.NewLister(a, b)
	w := NewWatches(WatchConfig{Every: 15 * time.Second, Max: time.Minute, MaxActive: 1}, l, rec, nil, clock, nil)
	t.Cleanup(w.Close)
	ctx := context.Background()

	if _, err := w.Start(ctx, WatchRequest{TaskID: "nope", Channel: "C1", UserID: "U1"}); !errors.Is(err, ErrTaskNotFound) {
		t.Errorf("unknown task: %v", err)
	}
	id, err := w.Start(ctx, WatchRequest{TaskID: a.ID, Channel: "C1", UserID: "U1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Start(ctx, WatchRequest{TaskID: b.ID, Channel: "C1", UserID: "U1"}); !errors.Is(err, ErrTooManyWatches) {
		t.Errorf("second watch: %v, want ErrTooManyWatches", err)
	}
	clock.BlockUntil(t, 1)
	if err := w.Stop(id, "U7"); err != nil {
		t.Fatal(err)
	}
	calls := rec.WaitCalls(t, 2)
	if !calls[1].Update || !strings.Contains(blocksJSON(t, calls[1].Blocks), "Stopped by <@U7>") {
		t.Errorf("stop update %+v %s", calls[1], blocksJSON(t, calls[1].Blocks))
	}
	if err := pollActive(t, w, 0); err != nil {
		t.Fatal(err)
	}
	clock.DropWaiters() // the stopped loop's timer
	if err := w.Stop(id, "U7"); !errors.Is(err, ErrWatchNotFound) {
		t.Errorf("second stop: %v", err)
	}

	// The slot is free again; this one runs out of time after Max.
	if _, err := w.Start(ctx, WatchRequest{TaskID: b.ID, Channel: "C1", UserID: "U1"}); err != nil {
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
	if !strings.Contains(blocksJSON(t, last.Blocks), "time limit") || !strings.Contains(reply.Text, "still RUNNING") {
		t.Errorf("timeout: %+v / %q", blocksJSON(t, last.Blocks), reply.Text)
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
	tk := task("99999999-0000-0000-0000-000000000001", "p", workspace.StatusInit, day0, 0, "s")
	l := notifytest.NewLister(tk)

	w := NewWatches(WatchConfig{}, l, rec, openStore(t, dir), clock, nil)
	stop := runBG(t, w.Run)
	if _, err := w.Start(context.Background(), WatchRequest{TaskID: tk.ID, Channel: "C1", UserID: "U1"}); err != nil {
		t.Fatal(err)
	}
	first := rec.WaitCalls(t, 1)[0]
	clock.BlockUntil(t, 1)
	stop() // SIGTERM
	clock.DropWaiters()
	if _, err := w.Start(context.Background(), WatchRequest{TaskID: tk.ID, Channel: "C1", UserID: "U1"}); !errors.Is(err, ErrWatchesClosed) {
		t.Errorf("start after close: %v", err)
	}

	tk.Status, tk.End = workspace.StatusFailed, day0.Add(time.Minute)
	l.Put(tk)
	w2 := NewWatches(WatchConfig{}, l, rec, openStore(t, dir), clock, nil)
	runBG(t, w2.Run)
	clock.BlockUntil(t, 1)
	clock.Advance(15 * time.Second)
	calls := rec.WaitCalls(t, 3)
	if !calls[1].Update || calls[1].TS != first.TS || !strings.Contains(blocksJSON(t, calls[1].Blocks), "FAILED") {
		t.Errorf("resumed final update %+v", calls[1])
	}
	if calls[2].ThreadTS != first.TS || !strings.Contains(calls[2].Text, "<@U1>") {
		t.Errorf("reply %+v", calls[2])
	}
	if topLevel(rec.Posts()) != 1 {
		t.Error("more than one top-level post")
	}
}
