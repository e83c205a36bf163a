package digest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/pooltask"
)

// TestDigestMarksMutedFailures: a failure while its pool was muted is in
// the digest, marked as not alerted; another pool's is not marked.
func TestDigestMarksMutedFailures(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	muted := notifytest.Task("ffffffff-0000-0000-0000-000000000001", "finance-win11", pooltask.StatusFailed, now.Add(-2*time.Hour), 3, "s")
	loud := notifytest.Task("ffffffff-0000-0000-0000-000000000002", "dev-ubuntu", pooltask.StatusFailed, now.Add(-2*time.Hour), 3, "s")
	store := notifytest.OpenStore(t, t.TempDir())
	if _, err := store.PutMute(context.Background(), pooltask.Mute{PoolID: muted.PoolID, By: "U1", Start: now.Add(-3 * time.Hour), Until: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	clock := notifytest.NewClock(now)
	d := New(Config{}, loop.Deps{Lister: notifytest.NewLister(muted, loud), Clock: clock}, store)
	dg, err := d.Collect(context.Background(), pooltask.ListOptions{Start: now.Add(-24 * time.Hour), End: now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !dg.Muted[muted.ID] || dg.Muted[loud.ID] || dg.FailedTasks != 2 {
		t.Fatalf("muted %v, failed %d; want %s marked, both counted", dg.Muted, dg.FailedTasks, muted.ID)
	}
	js := notifytest.BlocksJSON(t, dg.Render(false).Blocks)
	if strings.Count(js, "failed while its pool was muted") != 1 {
		t.Errorf("digest: %s", js)
	}
}
