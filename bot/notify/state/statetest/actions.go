package statetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/act"
	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
)

// ActionStore is the state of actions, as package act and the bot's
// approvals use it.
type ActionStore interface {
	BeginAction(ctx context.Context, in state.ActionIntent) (state.ActionIntent, bool, error)
	EndAction(ctx context.Context, in state.ActionIntent) error
	PutApproval(ctx context.Context, a state.Approval) error
	GetApproval(ctx context.Context, id string) (state.Approval, bool, error)
}

// LegacyKey and LegacyIntent are an intent as pooltasks recorded it before
// targets existed (the JSON of state.ActionIntent then, under its key
// then): a retry of task t-old, with no target.
const (
	LegacyKey    = "retry:task:t-old"
	LegacyIntent = `{"key":"retry:task:t-old","action":"retry","task_id":"t-old","pool_id":"p1","desktops":2,` +
		`"actor":"U0LEGACY","started":"2026-12-03T09:00:00Z","outcome":"done","new_task_id":"t-new",` +
		`"ended":"2026-12-03T09:00:01Z","expires":"2099-01-01T00:00:00Z"}`
)

// Actions checks a store's intents and approvals across targets, through
// two handles on the same state and then a handle opened afresh: the same
// task id in two targets is two actions (of eight concurrent beginnings in
// each, across both handles, exactly one per target wins), an outcome and
// an approval keep their target, and an intent recorded before targets
// existed, which legacy writes as that version did (LegacyKey,
// LegacyIntent), is read after the restart as the one target's: it keeps
// that retry from being taken again.
func Actions(t *testing.T, a, b ActionStore, restart func() ActionStore, legacy func(key, raw string)) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	intent := func(target, actor string) state.ActionIntent {
		r := act.Request{Action: pooltask.ActionRetry, Target: target, TaskID: "t1"}
		return state.ActionIntent{Key: act.Key(r), Action: "retry", Target: target, TaskID: "t1", Actor: actor,
			Started: now, Expires: now.Add(time.Hour)}
	}
	var mu sync.Mutex
	won := map[string][]string{}
	var wg sync.WaitGroup
	for i := range 16 {
		s := []ActionStore{a, b}[i%2]
		target := []string{"eu", "ap"}[i/8]
		actor := fmt.Sprintf("U%d", i)
		wg.Go(func() {
			got, first, err := s.BeginAction(ctx, intent(target, actor))
			if err != nil {
				t.Errorf("BeginAction in %s: %v", target, err)
				return
			}
			if got.Target != target {
				t.Errorf("BeginAction in %s read an intent of %q", target, got.Target)
			}
			if first {
				mu.Lock()
				won[target] = append(won[target], actor)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(won["eu"]) != 1 || len(won["ap"]) != 1 {
		t.Fatalf("winners %v, want exactly one per target", won)
	}
	done := intent("ap", won["ap"][0])
	done.Outcome, done.NewTaskID = "done", "t-ap-2"
	if err := b.EndAction(ctx, done); err != nil {
		t.Fatal(err)
	}
	ap := state.Approval{ID: "ap-eu", Intent: intent("eu", "U1"), Channel: "C1", Expires: now.Add(time.Minute)}
	if err := a.PutApproval(ctx, ap); err != nil {
		t.Fatal(err)
	}
	legacy(LegacyKey, LegacyIntent)

	r := restart()
	if got, first, err := r.BeginAction(ctx, intent("ap", "U9")); first || err != nil || got.NewTaskID != "t-ap-2" || got.Target != "ap" {
		t.Errorf("ap's retry after a restart: %+v %v %v, want its outcome", got, first, err)
	}
	if got, first, err := r.BeginAction(ctx, intent("eu", "U9")); first || err != nil || got.Actor != won["eu"][0] || got.Outcome != "" {
		t.Errorf("eu's retry after a restart: %+v %v %v, want the one begun", got, first, err)
	}
	if got, ok, err := r.GetApproval(ctx, "ap-eu"); !ok || err != nil || got.Intent.Target != "eu" || got.Intent.Key != act.Key(act.Request{Action: pooltask.ActionRetry, Target: "eu", TaskID: "t1"}) {
		t.Errorf("approval after a restart: %+v %v %v, want eu's", got, ok, err)
	}
	old := act.Request{Action: pooltask.ActionRetry, TaskID: "t-old"}
	if act.Key(old) != LegacyKey {
		t.Fatalf("the one target's key is %q, want %q as before targets existed", act.Key(old), LegacyKey)
	}
	in := state.ActionIntent{Key: act.Key(old), Action: "retry", TaskID: "t-old", Actor: "U9", Started: now, Expires: now.Add(time.Hour)}
	if got, first, err := r.BeginAction(ctx, in); first || err != nil || got.Actor != "U0LEGACY" || got.Target != "" || got.NewTaskID != "t-new" {
		t.Errorf("a retry recorded before targets existed: %+v %v %v, want it read as the one target's", got, first, err)
	}
	// In another target, that task id is another task.
	in.Target = "eu"
	in.Key = act.Key(act.Request{Action: pooltask.ActionRetry, Target: "eu", TaskID: "t-old"})
	if _, first, err := r.BeginAction(ctx, in); !first || err != nil {
		t.Errorf("t-old in eu: %v %v, want a new action", first, err)
	}
}
