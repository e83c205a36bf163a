package redisstore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
	"github.com/pooltasks/pooltasks/bot/notify/state/statetest"
)

// TestActionsAcrossReplicas: of many replicas beginning the same action at
// once, one wins and the others read its intent; an outcome and a
// forgotten intent are seen by all; the first decision on an approval
// wins; an intent expires with Redis's own clock.
func TestActionsAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := t.Context()
	a, b := open(t, srv.URL(), ""), open(t, srv.URL(), "")
	now := time.Now().UTC().Truncate(time.Millisecond)
	in := state.ActionIntent{Key: "retry:task:t1", Action: "retry", TaskID: "t1", Actor: "U1", Started: now, Expires: now.Add(time.Hour)}

	var mu sync.Mutex
	wins := 0
	var wg sync.WaitGroup
	for i := range 10 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			mine := in
			mine.Actor = "U" + string(rune('A'+i))
			got, first, err := s.BeginAction(ctx, mine)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if first {
				wins++
			} else if got.Key != in.Key || got.Actor == "" {
				t.Errorf("loser read %+v", got)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d replicas began the action, want 1", wins)
	}
	done := in
	done.Outcome, done.NewTaskID = "done", "t2"
	if err := a.EndAction(ctx, done); err != nil {
		t.Fatal(err)
	}
	if got, first, err := b.BeginAction(ctx, in); err != nil || first || got.NewTaskID != "t2" {
		t.Errorf("after the outcome: %+v %v %v", got, first, err)
	}
	if err := b.ForgetAction(ctx, in.Key); err != nil {
		t.Fatal(err)
	}
	if _, first, err := a.BeginAction(ctx, in); err != nil || !first {
		t.Errorf("after forgetting: %v %v", first, err)
	}
	short := in
	short.Key, short.Expires = "stop:task:t3", time.Now().Add(50*time.Millisecond)
	if _, first, _ := a.BeginAction(ctx, short); !first {
		t.Fatal("short intent not begun")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, first, _ := b.BeginAction(ctx, short); first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the intent did not expire")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline: Redis expires it
	}

	ap := state.Approval{ID: "ap-1", Intent: in, Channel: "C1", MessageTS: "1.2", Expires: now.Add(time.Minute)}
	if err := a.PutApproval(ctx, ap); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := b.GetApproval(ctx, "ap-1"); err != nil || !ok || got.MessageTS != "1.2" || got.Decision != "" {
		t.Fatalf("GetApproval: %+v %v %v", got, ok, err)
	}
	if got, first, err := b.DecideApproval(ctx, "ap-1", "approved", "U2", now); err != nil || !first || got.DecidedBy != "U2" {
		t.Fatalf("first decision: %+v %v %v", got, first, err)
	}
	if got, first, _ := a.DecideApproval(ctx, "ap-1", "denied", "U3", now); first || got.Decision != "approved" || got.DecidedBy != "U2" {
		t.Errorf("second decision: %+v %v", got, first)
	}
	if got, _, _ := a.GetApproval(ctx, "ap-1"); got.Decision != "approved" {
		t.Errorf("GetApproval after the decision: %+v", got)
	}
	if _, ok, err := a.GetApproval(ctx, "nope"); ok || err != nil {
		t.Errorf("unknown approval: %v %v", ok, err)
	}
}

// TestRedisActionsPerTarget: Redis keeps actions per target (the target in
// the key: SET NX holds per target), and reads an intent recorded before
// targets existed.
func TestRedisActionsPerTarget(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	a, b := open(t, srv.URL(), ""), open(t, srv.URL(), "")
	statetest.Actions(t, a, b, func() statetest.ActionStore { return open(t, srv.URL(), "") }, func(key, raw string) {
		srv.Do("SET", a.Key("action:"+key), raw)
	})
	for _, k := range []string{"action:retry@eu:task:t1", "action:retry@ap:task:t1", "action:retry:task:t-old"} {
		if got := srv.Do("EXISTS", a.Key(k)); got != "1" {
			t.Errorf("EXISTS %s = %v, want 1", a.Key(k), got)
		}
	}
}
