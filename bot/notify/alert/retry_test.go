package alert

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
)

// retried is one route to CALERT that alerted a failed task (5 of 10
// desktops), retried from its root as the bot does (the alert records who
// retried it and the new task), which is running now.
type retried struct {
	a     *Alerter
	store *state.Store
	clock *notifytest.Clock
	l     *notifytest.Lister
	rec   *notifytest.Poster
	root  string        // the alert's root
	retry pooltask.Task // the task the retry started
}

func retrySetup(t *testing.T, dir string) retried {
	t.Helper()
	clock := notifytest.NewClock(day0.Add(12 * time.Hour))
	r := retried{clock: clock, rec: notifytest.NewPoster(clock), l: notifytest.NewLister()}
	r.a, r.store = livingSetup(t, dir, clock, r.l, r.rec)
	failed := notifytest.Task("ffffffff-0000-0000-0000-000000000001", "finance-win11", pooltask.StatusFailed, clock.Now().Add(-10*time.Minute), 5, "install-agent")
	r.l.Put(failed)
	r.l.PutRecords(notifytest.FailedRecords(failed, 5)...)
	r.poll(t, 1)
	posts := r.rec.Posts()
	if len(posts) != 2 {
		t.Fatalf("%d posts, want the root and its thread", len(posts))
	}
	r.root = posts[0].TS
	r.retry = notifytest.Task("ffffffff-0000-0000-0000-000000000002", "finance-win11", pooltask.StatusRunning, clock.Now(), 0, "install-agent")
	r.retry.SuccessNum = 0
	r.l.Put(r.retry)
	if _, err := r.store.UpdateAlert(context.Background(), "CALERT", r.root, func(x *pooltask.Alert) bool {
		x.RetriedBy, x.RetriedAt, x.RetryTaskID = "U0ALICE", clock.Now(), r.retry.ID
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

// poll polls n times, a minute apart.
func (r retried) poll(t *testing.T, n int) {
	t.Helper()
	for range n {
		r.clock.Advance(time.Minute)
		if err := r.a.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// end makes the retry end with status and failed of its 5 desktops.
func (r *retried) end(status pooltask.TaskStatus, failed int) {
	r.retry.Status, r.retry.FailedNum, r.retry.SuccessNum, r.retry.End = status, failed, 5-failed, r.clock.Now()
	r.l.Put(r.retry)
}

// byID counts the list calls that read tasks by id: the alerter's reads of
// a retry no watch follows.
func byID(l *notifytest.Lister) int {
	n := 0
	for _, c := range l.Calls() {
		if len(c.TaskIDs) > 0 {
			n++
		}
	}
	return n
}

// TestRetryEndToldByItsWatch: while a saved watch follows the retry in the
// alert's thread, the alerter reads nothing of it; the retry failing again
// is not alerted anew; the watch's end edits the root once to say on how
// many desktops it failed again, and a resumed watch that ends again (a
// crash before the watch was forgotten) edits nothing more.
func TestRetryEndToldByItsWatch(t *testing.T) {
	f := retrySetup(t, t.TempDir())
	store, rec, l, root, retry := f.store, f.rec, f.l, f.root, f.retry
	w := state.Watch{ID: "w1", TaskID: retry.ID, Channel: "CALERT", ThreadTS: root, MessageTS: "1700000000.999999", Started: f.clock.Now()}
	if err := store.PutWatch(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	f.poll(t, 1)
	f.end(pooltask.StatusFailed, 2)
	retry = f.retry
	f.poll(t, 1)
	if n := len(rec.Calls()); n != 2 || byID(l) != 0 {
		t.Fatalf("%d calls and %d reads of the retry while its watch follows it; want the root and thread alone, no read", n, byID(l))
	}

	r := Retries{Store: store, Poster: rec}
	for range 2 {
		if err := r.WatchEnded(context.Background(), w, retry); err != nil {
			t.Fatal(err)
		}
	}
	calls := rec.Calls()
	if len(calls) != 3 || !calls[2].Update || calls[2].TS != root {
		t.Fatalf("calls %+v, want one edit of the root", calls)
	}
	if js := notifytest.BlocksJSON(t, calls[2].Blocks); !strings.Contains(js, "Retried by <@U0ALICE>") ||
		!strings.Contains(js, "failed again on 2 of 5 desktops") || strings.Contains(js, "Recovered") {
		t.Errorf("root after the retry failed again: %s", js)
	}
	al, _, _ := store.Alert(context.Background(), "CALERT", root)
	if e := al.RetryEnded; e == nil || !e.Shown || e.Status != pooltask.StatusFailed || e.FailedNum != 2 {
		t.Errorf("retry's end as saved: %+v", e)
	}
	// A watch in another thread, or of another task, changes nothing.
	for _, other := range []state.Watch{{TaskID: retry.ID, Channel: "CALERT", ThreadTS: "1.1"}, {TaskID: "x", Channel: "CALERT", ThreadTS: root}} {
		if err := r.WatchEnded(context.Background(), other, pooltask.Task{ID: other.TaskID, Status: pooltask.StatusFinish}); err != nil {
			t.Error(err)
		}
	}
	if err := store.DeleteWatch(context.Background(), "w1"); err != nil {
		t.Fatal(err)
	}
	f.poll(t, 1)
	if n := len(rec.Calls()); n != 3 || byID(l) != 0 {
		t.Errorf("%d calls, %d reads of the retry after it was told; want 3 and none", n, byID(l))
	}
}

// TestRetryEndToldWithoutWatch: a retry no saved watch follows (stopped,
// timed out) is read by id at each poll until it ended; a clean end edits
// the root once, saying how many desktops succeeded, and is the alert's
// recovery; nothing is read or edited after.
func TestRetryEndToldWithoutWatch(t *testing.T) {
	f := retrySetup(t, t.TempDir())
	f.poll(t, 1)
	if n, reads := len(f.rec.Calls()), byID(f.l); n != 2 || reads != 1 {
		t.Fatalf("%d calls, %d reads of the running retry; want no edit and one read", n, reads)
	}
	f.end(pooltask.StatusFinish, 0)
	f.poll(t, 3)
	calls := f.rec.Calls()
	if len(calls) != 3 || !calls[2].Update || calls[2].TS != f.root || byID(f.l) != 2 {
		t.Fatalf("calls %+v and %d reads, want one edit of the root and two reads", calls, byID(f.l))
	}
	js := notifytest.BlocksJSON(t, calls[2].Blocks)
	if !strings.Contains(js, "finished: 5 of 5 desktops succeeded") || !strings.Contains(js, "Recovered by that retry") ||
		!strings.Contains(js, "show "+f.retry.ID) {
		t.Errorf("root after a clean retry: %s", js)
	}
}

// TestRetryEndRecordedButNotShown: a crash between recording the retry's
// end and editing the root (here the edit fails, then the process
// restarts) edits the root at the first poll after, once.
func TestRetryEndRecordedButNotShown(t *testing.T) {
	dir := t.TempDir()
	f := retrySetup(t, dir)
	f.end(pooltask.StatusFailed, 1)
	f.rec.Fail = func(p notifytest.Post) error {
		if p.Update {
			return errors.New("chat.update: the process was killed")
		}
		return nil
	}
	if err := (Retries{Store: f.store, Poster: f.rec}).WatchEnded(context.Background(), state.Watch{TaskID: f.retry.ID, Channel: "CALERT", ThreadTS: f.root}, f.retry); err == nil {
		t.Fatal("no error from a failed edit")
	}

	after := notifytest.NewPoster(f.clock)
	f.a = New(Config{Channel: "CALERT", Every: time.Minute}, loop.Deps{Lister: f.l, Records: func(string) loop.Records { return f.l }, Poster: after, Clock: f.clock}, notifytest.OpenStore(t, dir))
	f.poll(t, 2)
	calls := after.Calls()
	if len(calls) != 1 || !calls[0].Update || calls[0].TS != f.root || !strings.Contains(notifytest.BlocksJSON(t, calls[0].Blocks), "failed again on 1 of 5 desktops") {
		t.Fatalf("calls after the restart %+v, want one edit of the root telling the retry's end", calls)
	}
	if slices.ContainsFunc(f.l.Calls(), func(o pooltask.ListOptions) bool { return len(o.TaskIDs) > 0 }) {
		t.Error("the retry was read again though its end was recorded")
	}
}
