package alert

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
)

// lossyStore is the file store refusing, once each, to save that a thread
// reply went out and that a mute's summary did: what a crash between the
// post and that save leaves.
type lossyStore struct {
	*state.Store
	mu                  sync.Mutex
	lostReply, lostMute bool
}

func (s *lossyStore) UpdateAlert(ctx context.Context, channel, ts string, change func(*pooltask.Alert) bool) (pooltask.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if al, ok, _ := s.Alert(ctx, channel, ts); ok && !s.lostReply {
		if after := al; change(&after) && after.Enriched && !al.Enriched {
			s.lostReply = true
			return al, errors.New("killed before the save")
		}
	}
	return s.Store.UpdateAlert(ctx, channel, ts, change)
}

func (s *lossyStore) SetMuteTold(ctx context.Context, channel, muteID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lostMute {
		s.lostMute = true
		return errors.New("killed before the save")
	}
	return s.Store.SetMuteTold(ctx, channel, muteID)
}

// TestThreadReplyAndMuteSummaryOnce: the thread reply of an alert and the
// summary of a mute that ended are each saved as about to be posted before
// they are, and carry their key in their metadata; when the save after the
// post fails (a crash there), the next polls (a new process on the same
// state) find them in the root's thread and in the channel, and post
// neither again: one reply, one summary.
func TestThreadReplyAndMuteSummaryOnce(t *testing.T) {
	dir := t.TempDir()
	now := day0.Add(12 * time.Hour)
	clock := notifytest.NewClock(now)
	slack := notifytest.NewPoster(clock) // what Slack has, across the restart
	l := notifytest.NewLister(notifytest.Task("eeeeeeee-0000-0000-0000-000000000030", "finance-win11", pooltask.StatusFinish, now.Add(-time.Hour), 0, "s"))
	store := &lossyStore{Store: notifytest.OpenStore(t, dir)}
	deps := loop.Deps{Lister: l, Records: func(string) loop.Records { return l }, Poster: slack, Clock: clock}
	a := New(Config{Channel: "CALERT", Every: time.Minute}, deps, store)
	if err := a.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PutMute(context.Background(), pooltask.Mute{PoolID: "pool-finance-win11", PoolName: "finance-win11", By: "U0ALICE", Start: now, Until: now.Add(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	failed := notifytest.Task("eeeeeeee-0000-0000-0000-000000000031", "dev-ubuntu", pooltask.StatusFailed, now.Add(40*time.Minute), 3, "s")
	l.Put(failed)
	l.PutRecords(notifytest.FailedRecords(failed, 3)...)
	clock.Advance(time.Hour)
	var errs []error
	for range 3 {
		errs = append(errs, a.Poll(context.Background()))
		clock.Advance(time.Minute)
	}
	if errs[0] == nil || errs[1] == nil {
		t.Fatalf("polls %v: want the lost saves said", errs)
	}
	after := New(Config{Channel: "CALERT", Every: time.Minute}, deps, notifytest.OpenStore(t, dir))
	for range 2 {
		if err := after.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}

	var roots, replies, summaries int
	for _, p := range slack.Posts() {
		switch {
		case p.ThreadTS == "" && strings.Contains(p.Text, failed.ID):
			roots++
		case p.ThreadTS != "" && p.Record == (loop.Record{Type: loop.AlertRecord, Key: "thread:" + failed.ID, Thread: p.ThreadTS}):
			replies++
		case strings.Contains(p.Text, "are back on") && p.Record.Key != "":
			summaries++
		default:
			t.Errorf("unexpected post %+v", p)
		}
	}
	if roots != 1 || replies != 1 || summaries != 1 || slack.HistoryReads() != 2 {
		t.Errorf("%d roots, %d thread replies, %d summaries after %d history reads; want one of each after 2", roots, replies, summaries, slack.HistoryReads())
	}
	al, err := notifytest.OpenStore(t, dir).Alerts(context.Background(), "CALERT")
	if err != nil || len(al) != 1 || !al[0].Enriched {
		t.Errorf("living alerts %+v, %v: want the one, its reply known", al, err)
	}
}
