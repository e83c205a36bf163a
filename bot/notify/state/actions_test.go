package state

import (
	"context"
	"testing"
	"time"
)

// TestActionsSurviveReopen: intents and approvals are on disk at once; the
// first decision on an approval wins; an expired intent lets the action be
// taken again.
func TestActionsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := ActionIntent{Key: "retry:task:t1", Action: "retry", TaskID: "t1", Actor: "U1", Started: time.Now(), Expires: time.Now().Add(time.Hour)}
	if _, first, err := s.BeginAction(ctx, in); err != nil || !first {
		t.Fatalf("BeginAction: %v %v", first, err)
	}
	a := Approval{ID: "a1", Intent: in, Channel: "C1", Expires: time.Now().Add(time.Minute)}
	if err := s.PutApproval(ctx, a); err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if prev, first, err := s.BeginAction(ctx, in); err != nil || first || prev.Actor != "U1" {
		t.Fatalf("BeginAction after reopening: %+v %v %v, want the first intent", prev, first, err)
	}
	if got, ok, err := s.DecideApproval(ctx, "a1", "approved", "U2", time.Now()); err != nil || !ok || got.DecidedBy != "U2" {
		t.Fatalf("first decision: %+v %v %v", got, ok, err)
	}
	if got, ok, _ := s.DecideApproval(ctx, "a1", "denied", "U3", time.Now()); ok || got.Decision != "approved" {
		t.Fatalf("second decision: %+v %v, want the first to stand", got, ok)
	}
	if got, ok, _ := s.GetApproval(ctx, "a1"); !ok || got.Decision != "approved" {
		t.Errorf("GetApproval: %+v %v", got, ok)
	}

	old := ActionIntent{Key: "stop:task:t2", Expires: time.Now().Add(-time.Second)}
	s.st.Actions[old.Key] = old
	if _, first, err := s.BeginAction(ctx, old); err != nil || !first {
		t.Errorf("an expired intent kept the action from being taken: %v %v", first, err)
	}
}
