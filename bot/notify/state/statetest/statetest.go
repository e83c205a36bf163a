// Package statetest holds the checks every state store (the file store,
// Redis) must pass for the state the living alerts and the mutes keep, so
// both are held to the same behaviour.
package statetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
)

// Store is the state of living alerts and mutes, as bot/notify/alert and
// the bot use it.
type Store interface {
	PutAlert(ctx context.Context, a pooltask.Alert) error
	Alert(ctx context.Context, channel, ts string) (pooltask.Alert, bool, error)
	Alerts(ctx context.Context, channel string) ([]pooltask.Alert, error)
	UpdateAlert(ctx context.Context, channel, ts string, change func(*pooltask.Alert) bool) (pooltask.Alert, error)
	Mutes(ctx context.Context, now time.Time) ([]pooltask.Mute, error)
	PutMute(ctx context.Context, m pooltask.Mute) (pooltask.Mute, error)
	EndMute(ctx context.Context, poolID, by string, now time.Time) (pooltask.Mute, bool, error)
	MutedFailures(ctx context.Context, channel, muteID string) (state.MutedTasks, bool, error)
	AddMutedFailures(ctx context.Context, channel, muteID string, taskIDs []string) error
	SetMuteTelling(ctx context.Context, channel, muteID string, at time.Time) error
	SetMuteTold(ctx context.Context, channel, muteID string) error
}

// AlertsAndMutes checks a store through two handles on the same state (two
// replicas; the same store twice for the file store), then through restart,
// a handle opened afresh: living alerts are found by channel and ts, of
// eight concurrent acknowledgements exactly one wins, a retry taken from
// the alert and how it ended are kept beside the acknowledgement, as is
// the intent of its thread reply, muting a pool that is
// muted extends that mute, what a mute kept back, whether its summary is
// about to be posted (the first intent stays) and whether it was told are
// kept, and all of it survives the restart.
func AlertsAndMutes(t *testing.T, a, b Store, restart func() Store) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for i, ts := range []string{"1.2", "1.1"} {
		if err := a.PutAlert(ctx, pooltask.Alert{Channel: "C1", TS: ts, Task: pooltask.Task{ID: "t" + ts}, Posted: at.Add(time.Duration(-i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.PutAlert(ctx, pooltask.Alert{Channel: "C2", TS: "1.1", Task: pooltask.Task{ID: "other"}, Posted: at}); err != nil {
		t.Fatal(err)
	}
	if as, err := b.Alerts(ctx, "C1"); err != nil || len(as) != 2 || as[0].TS != "1.1" || as[1].TS != "1.2" {
		t.Errorf("alerts of C1: %+v, %v; want 1.1 then 1.2", as, err)
	}
	var wg sync.WaitGroup
	won := make(chan string, 8)
	for i := range 8 {
		s := []Store{a, b}[i%2]
		u := fmt.Sprintf("U%d", i)
		wg.Go(func() {
			got, err := s.UpdateAlert(ctx, "C1", "1.1", func(x *pooltask.Alert) bool {
				if x.AckedBy != "" {
					return false
				}
				x.AckedBy, x.AckedAt = u, at
				return true
			})
			if err != nil {
				t.Errorf("acknowledging: %v", err)
			}
			if got.AckedBy == u {
				won <- u
			}
		})
	}
	wg.Wait()
	close(won)
	var winners []string
	for u := range won {
		winners = append(winners, u)
	}
	if len(winners) != 1 {
		t.Fatalf("acknowledged by %v, want exactly one", winners)
	}
	if _, err := a.UpdateAlert(ctx, "C1", "1.1", func(x *pooltask.Alert) bool {
		x.RetriedBy, x.RetriedAt, x.RetryTaskID = "U9", at.Add(time.Minute), "t-new"
		x.RetryEnded = &pooltask.RetryEnd{Status: pooltask.StatusFailed, SuccessNum: 9, FailedNum: 3, End: at.Add(5 * time.Minute), StoppedBy: "U8", Shown: true}
		x.Enriching = at.Add(time.Second)
		return true
	}); err != nil {
		t.Fatalf("retrying: %v", err)
	}
	if _, err := b.UpdateAlert(ctx, "C1", "9.9", func(*pooltask.Alert) bool { return true }); !errors.Is(err, state.ErrNoAlert) {
		t.Errorf("changing an unknown alert: %v, want state.ErrNoAlert", err)
	}

	m, err := a.PutMute(ctx, pooltask.Mute{PoolID: "p1", By: "U1", Start: at, Until: at.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if m2, err := b.PutMute(ctx, pooltask.Mute{PoolID: "p1", By: "U2", Reason: "longer", Start: at.Add(10 * time.Minute), Until: at.Add(4 * time.Hour)}); err != nil || m2.ID() != m.ID() {
		t.Fatalf("muting a muted pool: %+v, %v; want the same mute extended", m2, err)
	}
	if _, err := a.PutMute(ctx, pooltask.Mute{PoolID: "p2", By: "U1", Start: at, Until: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := a.AddMutedFailures(ctx, "C1", m.ID(), []string{"t2", "t3"}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddMutedFailures(ctx, "C1", m.ID(), []string{"t2"}); err != nil {
		t.Fatal(err)
	}
	if got, seen, err := b.MutedFailures(ctx, "C2", m.ID()); len(got.Tasks) != 0 || got.Told || seen || err != nil {
		t.Errorf("muted failures of another channel: %+v %v %v", got, seen, err)
	}
	// The summary about to be posted: the first intent stays.
	for i, s := range []Store{a, b} {
		if err := s.SetMuteTelling(ctx, "C1", m.ID(), at.Add(time.Hour+time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}

	r := restart()
	if got, ok, err := r.Alert(ctx, "C1", "1.1"); err != nil || !ok || got.AckedBy != winners[0] || got.Task.ID != "t1.1" ||
		got.RetriedBy != "U9" || !got.RetriedAt.Equal(at.Add(time.Minute)) || got.RetryTaskID != "t-new" || !got.Enriching.Equal(at.Add(time.Second)) ||
		got.RetryEnded == nil || *got.RetryEnded != (pooltask.RetryEnd{Status: pooltask.StatusFailed, SuccessNum: 9, FailedNum: 3, End: at.Add(5 * time.Minute), StoppedBy: "U8", Shown: true}) {
		t.Errorf("alert after a restart: %+v, %v, %v", got, ok, err)
	}
	if _, ok, err := r.Alert(ctx, "C1", "7.7"); ok || err != nil {
		t.Errorf("an alert never posted: %v, %v", ok, err)
	}
	ms, err := r.Mutes(ctx, at.Add(2*time.Hour))
	if err != nil || len(ms) != 2 || ms[0].PoolID != "p1" || !ms[0].Active(at.Add(2*time.Hour)) || ms[0].Reason != "longer" || ms[1].Active(at.Add(2*time.Hour)) {
		t.Errorf("mutes after a restart: %+v, %v; want p1 in force (extended), p2 over", ms, err)
	}
	if got, seen, err := r.MutedFailures(ctx, "C1", m.ID()); len(got.Tasks) != 2 || got.Told || !got.Telling.Equal(at.Add(time.Hour)) || !seen || err != nil {
		t.Errorf("muted failures: %+v %v %v; want t2 and t3, being told since %v, not told", got, seen, err, at.Add(time.Hour))
	}
	ended, ok, err := r.EndMute(ctx, "p1", "U3", at.Add(3*time.Hour))
	if !ok || err != nil || ended.Active(at.Add(3*time.Hour)) || ended.EndedBy != "U3" || !ended.End().Equal(at.Add(3*time.Hour)) {
		t.Errorf("unmute: %+v %v %v", ended, ok, err)
	}
	if _, ok, err := r.EndMute(ctx, "p1", "U3", at.Add(3*time.Hour)); ok || err != nil {
		t.Errorf("a second unmute found a mute: %v", err)
	}
	if err := r.SetMuteTold(ctx, "C1", m.ID()); err != nil {
		t.Fatal(err)
	}
	if got, seen, err := r.MutedFailures(ctx, "C1", m.ID()); len(got.Tasks) != 0 || !got.Told || !seen || err != nil {
		t.Errorf("after the summary: %+v %v %v; want told, nothing kept", got, seen, err)
	}
	// Long after, ended mutes are forgotten.
	if ms, err := r.Mutes(ctx, at.Add(state.MuteRetention+4*time.Hour)); err != nil || len(ms) != 0 {
		t.Errorf("mutes long after they ended: %+v, %v", ms, err)
	}
}
