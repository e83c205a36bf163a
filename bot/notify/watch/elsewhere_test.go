package watch

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/notify/state/redisstore"
	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
	"github.com/pooltasks/pooltasks/pooltask"
)

// lateAct records an act on the watch's message as another replica would,
// while the watch makes its final update (after it, before it is
// forgotten).
type lateAct struct {
	store *redisstore.Store
	act   state.WatchAct
	ok    chan bool
}

func (l lateAct) WatchEnded(ctx context.Context, w state.Watch, _ pooltask.Task) error {
	ok, err := l.store.RequestAct(ctx, w.ID, l.act)
	l.ok <- ok && err == nil
	return nil
}

// TestWatchTakesActsRecordedElsewhere: on Redis, an action taken on a
// watch's message that another replica recorded is in the watch's final
// update, and one recorded while the watch made its final update gets one
// more update before the watch is forgotten; both are forgotten with the
// watch.
func TestWatchTakesActsRecordedElsewhere(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	store, err := redisstore.Open(t.Context(), srv.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	clock := notifytest.NewClock(day0)
	a := notifytest.Task("ffffffff-0000-0000-0000-000000000041", "p", pooltask.StatusRunning, day0, 0, "s")
	b := notifytest.Task("ffffffff-0000-0000-0000-000000000042", "p", pooltask.StatusRunning, day0, 0, "s")
	l := notifytest.NewLister(a, b)
	late := lateAct{store: store, act: state.WatchAct{Action: string(pooltask.ActionStop), Actor: "U8", At: day0, Outcome: "done"}, ok: make(chan bool, 1)}
	for i, tc := range []struct {
		task  pooltask.Task
		actor string
		ended Ender
		calls int // the post, the final update, the reply (and the late act's update)
	}{
		{a, "U7", nil, 3},
		{b, "U8", late, 4},
	} {
		cfg := Config{Every: 15 * time.Second, Rescan: time.Hour, Requests: store, Ended: tc.ended, Actions: []pooltask.Action{pooltask.ActionStop}}
		rec := notifytest.NewPoster(clock)
		w := New(cfg, loop.Deps{Lister: l, Poster: rec, Clock: clock}, store)
		stop := notifytest.Run(t, w.Run)
		id, err := w.Start(ctx, Request{TaskID: tc.task.ID, Channel: "C1", UserID: "U1"})
		if err != nil {
			t.Fatal(err)
		}
		first := rec.WaitCalls(t, 1)[0]
		if tc.ended == nil {
			act := state.WatchAct{Action: string(pooltask.ActionStop), Actor: tc.actor, At: day0, Outcome: "done"}
			if ok, err := store.RequestAct(ctx, id, act); err != nil || !ok {
				t.Fatalf("%d: RequestAct = %v, %v", i, ok, err)
			}
		}
		tc.task.Status, tc.task.FailedNum, tc.task.End = pooltask.StatusFailed, 1, clock.Now()
		l.Put(tc.task)
		clock.BlockUntil(t, 2) // the watch's poll, Run's rescan
		clock.Advance(15 * time.Second)
		if tc.ended != nil && !<-late.ok {
			t.Fatalf("%d: the act was not recorded while the watch was saved", i)
		}
		calls := rec.WaitCalls(t, tc.calls)
		var ups []notifytest.Post
		for _, c := range calls {
			if c.Update && c.TS == first.TS {
				ups = append(ups, c)
			}
		}
		last := notifytest.BlocksJSON(t, ups[len(ups)-1].Blocks)
		if !strings.Contains(last, "Stopped by <@"+tc.actor+">") || !strings.Contains(last, "ended: *FAILED*") {
			t.Errorf("%d: last update %s", i, last)
		}
		if tc.ended == nil && len(ups) != 1 {
			t.Errorf("%d: %d updates, want the final one with the act", i, len(ups))
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			acts, err := store.ActRequests(ctx)
			ws, werr := store.Watches(ctx)
			if err == nil && werr == nil && len(acts) == 0 && len(ws) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d: acts %v (%v) and watches %v (%v) left", i, acts, err, ws, werr)
			}
		}
		stop()
		clock.DropWaiters()
	}
}
