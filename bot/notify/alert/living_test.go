package alert

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
)

// livingSetup is one route to CALERT over a lister with records, primed
// with nothing failed.
func livingSetup(t *testing.T, dir string, clock *notifytest.Clock, l *notifytest.Lister, rec *notifytest.Poster) (*Alerter, *state.Store) {
	t.Helper()
	store := notifytest.OpenStore(t, dir)
	a := New(Config{Channel: "CALERT", Every: time.Minute}, loop.Deps{Lister: l, Records: func(string) loop.Records { return l }, Poster: rec, Clock: clock}, store)
	if err := a.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a, store
}

// TestLivingAlertRootThreadAndRecovery: a failure's root shows its top
// reasons, most common first; the thread reply follows in the same poll,
// in the root's thread, with the failed desktops in order and the end of
// the first one's output; a later run of the same scripts on the pool
// that finishes clean edits the root to say so, linking it, once.
func TestLivingAlertRootThreadAndRecovery(t *testing.T) {
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	rec := notifytest.NewPoster(clock)
	l := notifytest.NewLister()
	a, store := livingSetup(t, t.TempDir(), clock, l, rec)

	failed := notifytest.Task("eeeeeeee-0000-0000-0000-000000000001", "finance-win11", pooltask.StatusFailed, now.Add(-10*time.Minute), 5, "install-agent")
	l.Put(failed)
	l.PutRecords(notifytest.FailedRecords(failed, 5)...)
	clock.Advance(time.Minute)
	if err := a.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := rec.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want the root and its thread reply: %+v", len(calls), calls)
	}
	root, thread := calls[0], calls[1]
	rootJS := notifytest.BlocksJSON(t, root.Blocks)
	if i, j := strings.Index(rootJS, "*3 desktops*: agent did not start"), strings.Index(rootJS, "*2 desktops*: disk C: full"); i < 0 || j < i {
		t.Errorf("root without its reasons, most common first: %s", rootJS)
	}
	if thread.ThreadTS != root.TS || thread.Channel != "CALERT" {
		t.Errorf("thread reply in %s/%q, want in the root's thread %s", thread.Channel, thread.ThreadTS, root.TS)
	}
	threadJS := notifytest.BlocksJSON(t, thread.Blocks)
	if i, j := strings.Index(threadJS, "finance-win11-01"), strings.Index(threadJS, "finance-win11-05"); i < 0 || j < i {
		t.Errorf("thread without the desktops in order: %s", threadJS)
	}
	if strings.Count(threadJS, `"action_id":"output"`) != 5 || !strings.Contains(threadJS, "Last 15 lines") ||
		!strings.Contains(threadJS, "step 30") || strings.Contains(threadJS, "step 15\\n") {
		t.Errorf("thread without Output buttons or the last 15 lines: %s", threadJS)
	}
	al, ok, _ := store.Alert(context.Background(), "CALERT", root.TS)
	if !ok || !al.Enriched || al.Task.ID != failed.ID {
		t.Fatalf("living alert %+v, %v", al, ok)
	}

	// Another script on the pool finishing clean is no recovery; the same
	// one is.
	other := notifytest.Task("eeeeeeee-0000-0000-0000-000000000002", "finance-win11", pooltask.StatusFinish, now, 0, "clean-disk")
	fixed := notifytest.Task("eeeeeeee-0000-0000-0000-000000000003", "finance-win11", pooltask.StatusFinish, now.Add(time.Minute), 0, "install-agent")
	l.Put(other)
	clock.Advance(time.Minute)
	if err := a.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Calls()); n != 2 {
		t.Fatalf("%d calls after another script finished, want 2", n)
	}
	l.Put(fixed)
	for range 2 {
		clock.Advance(time.Minute)
		if err := a.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	calls = rec.Calls()
	if len(calls) != 3 || !calls[2].Update || calls[2].TS != root.TS {
		t.Fatalf("calls %+v, want one edit of the root", calls)
	}
	js := notifytest.BlocksJSON(t, calls[2].Blocks)
	if !strings.Contains(js, "Recovered") || !strings.Contains(js, "show "+fixed.ID) || strings.Contains(js, "alert_ack") {
		t.Errorf("recovered root: %s", js)
	}
}

// TestMuteKeepsFailuresBackAndSumsUpAcrossARestart: a failure in a muted
// pool posts nothing (another pool's still alerts); the mute expires while
// pooltasks is down, and the first poll after the restart posts the one
// summary naming it; the muted failure is never alerted one by one.
func TestMuteKeepsFailuresBackAndSumsUpAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	rec := notifytest.NewPoster(clock)
	l := notifytest.NewLister(notifytest.Task("eeeeeeee-0000-0000-0000-000000000010", "dev-ubuntu", pooltask.StatusFinish, now.Add(-time.Hour), 0, "s"))
	a, store := livingSetup(t, dir, clock, l, rec)
	if _, err := store.PutMute(context.Background(), pooltask.Mute{PoolID: "pool-finance-win11", PoolName: "finance-win11", By: "U0ALICE", Reason: "patch window",
		Start: now, Until: now.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	muted := notifytest.Task("eeeeeeee-0000-0000-0000-000000000011", "finance-win11", pooltask.StatusFailed, now.Add(10*time.Minute), 3, "s")
	loud := notifytest.Task("eeeeeeee-0000-0000-0000-000000000012", "dev-ubuntu", pooltask.StatusFailed, now.Add(10*time.Minute), 3, "s")
	l.Put(muted, loud)
	clock.Advance(20 * time.Minute)
	if err := a.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	posts := rec.Posts()
	if len(posts) != 1 || !strings.Contains(posts[0].Text, loud.ID) {
		t.Fatalf("posts %+v, want the alert of %s alone", posts, loud.ID)
	}

	// Down past the mute's end; a new process on the same state.
	clock.Advance(3 * time.Hour)
	after := notifytest.NewPoster(clock)
	a2 := New(Config{Channel: "CALERT", Every: time.Minute}, loop.Deps{Lister: l, Records: func(string) loop.Records { return l }, Poster: after, Clock: clock}, notifytest.OpenStore(t, dir))
	for range 2 {
		if err := a2.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	posts = after.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d posts after the restart, want the one summary: %+v", len(posts), posts)
	}
	js := notifytest.BlocksJSON(t, posts[0].Blocks)
	if !strings.Contains(js, "While muted: 1 failed task in *finance-win11*") || !strings.Contains(js, "show "+muted.ID) ||
		!strings.Contains(js, "patch window") || !strings.Contains(js, "expired") {
		t.Errorf("summary: %s", js)
	}
}

// TestUnmuteSumsUpAtOnce: ending a mute early posts its summary at the
// next poll, saying who ended it, even when nothing failed.
func TestUnmuteSumsUpAtOnce(t *testing.T) {
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	rec := notifytest.NewPoster(clock)
	l := notifytest.NewLister(notifytest.Task("eeeeeeee-0000-0000-0000-000000000020", "finance-win11", pooltask.StatusFinish, now.Add(-time.Hour), 0, "s"))
	a, store := livingSetup(t, t.TempDir(), clock, l, rec)
	if _, err := store.PutMute(context.Background(), pooltask.Mute{PoolID: "pool-finance-win11", By: "U0ALICE", Start: now, Until: now.Add(8 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := a.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := store.EndMute(context.Background(), "pool-finance-win11", "U0BOB", clock.Now()); !ok || err != nil {
		t.Fatalf("unmute: %v, %v", ok, err)
	}
	clock.Advance(time.Minute)
	if err := a.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	posts := rec.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want one summary", len(posts))
	}
	if js := notifytest.BlocksJSON(t, posts[0].Blocks); !strings.Contains(js, "nothing failed") || !strings.Contains(js, "ended by <@U0BOB>") {
		t.Errorf("summary: %s", js)
	}
}
