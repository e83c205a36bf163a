package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/state/redisstore"
	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
	"github.com/pooltasks/pooltasks/bot/notify/state/statetest"
	"github.com/pooltasks/pooltasks/pooltask"
)

// TestRedisAlertsAndMutes: Redis keeps living alerts and mutes as every
// store must, shared by two replicas (two connections racing to
// acknowledge), and for a third that starts later.
func TestRedisAlertsAndMutes(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a, b := open(t, srv.URL(), ""), open(t, srv.URL(), "")
	statetest.AlertsAndMutes(t, a, b, func() statetest.Store { return open(t, srv.URL(), "") })
}

// TestRedisAlertWritesFenced: the scheduler's writes of living alerts and
// of what mutes kept back are refused once it lost the lease.
func TestRedisAlertWritesFenced(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s := open(t, srv.URL(), "")
	ctx := context.Background()
	srv.Do("SET", s.Key(redisstore.LeaseKey), "7")
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	if err := s.Fenced("7").PutAlert(ctx, pooltask.Alert{Channel: "C1", TS: "1.1", Posted: at}); err != nil {
		t.Fatal(err)
	}
	old := s.Fenced("6")
	for name, write := range map[string]func() error{
		"put alert": func() error { return old.PutAlert(ctx, pooltask.Alert{Channel: "C1", TS: "1.2", Posted: at}) },
		"update alert": func() error {
			_, err := old.UpdateAlert(ctx, "C1", "1.1", func(a *pooltask.Alert) bool { a.Enriched = true; return true })
			return err
		},
		"muted failures": func() error { return old.AddMutedFailures(ctx, "C1", "m", []string{"t"}) },
		"told":           func() error { return old.SetMuteTold(ctx, "C1", "m") },
	} {
		if err := write(); !errors.Is(err, redisstore.ErrFenced) {
			t.Errorf("%s with a lost token: %v, want ErrFenced", name, err)
		}
	}
	if a, _, _ := s.Alert(ctx, "C1", "1.1"); a.Enriched {
		t.Error("a fenced change landed")
	}
	if _, ok, _ := s.Alert(ctx, "C1", "1.2"); ok {
		t.Error("a fenced alert landed")
	}
}

// TestRedisTargets: Redis keeps each target's alerted tasks and digest
// watermarks as every store must, for a replica that starts later too.
func TestRedisTargets(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	statetest.Targets(t, open(t, srv.URL(), ""), func() statetest.TargetStore { return open(t, srv.URL(), "") })
}
