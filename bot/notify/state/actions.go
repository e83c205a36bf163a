package state

import (
	"context"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
)

// ActionIntent is an action on tasks (a retry, a stop, a run in stages) as
// recorded before its request is sent, and its outcome once known. The API
// takes no idempotency key, so the intent is what keeps a second attempt
// (a double click, a redelivered envelope, a second approver, a restart)
// from sending the request again.
type ActionIntent struct {
	Key    string `json:"key"`    // what makes two attempts the same action (see actions.Key)
	Action string `json:"action"` // retry, stop or rerun
	// Target names the task's target when there are several; "" (as in
	// every intent recorded before targets existed) is the one target.
	Target   string `json:"target,omitempty"`
	TaskID   string `json:"task_id,omitempty"`
	RecordID string `json:"record_id,omitempty"`
	PoolID   string `json:"pool_id,omitempty"`
	Desktops int    `json:"desktops,omitempty"` // how many desktops it acts on, as shown to the actor
	// Run is what a rerun runs, where and in which stages (kept with an
	// approval request until it is approved).
	Run      *pooltask.RunOptions `json:"run,omitempty"`
	Actor    string               `json:"actor"` // Slack user id
	Approver string               `json:"approver,omitempty"`
	Started  time.Time            `json:"started"`
	// Outcome is "" until the request has been answered (or while it was
	// interrupted by a crash: then it stays unknown), "done" when the API
	// acted, "unknown" when the request may have reached the API without
	// an answer.
	Outcome   string    `json:"outcome,omitempty"`
	NewTaskID string    `json:"new_task_id,omitempty"` // a retry's or a run's task
	Ended     time.Time `json:"ended,omitzero"`
	// Expires is when the intent is forgotten and the action may be taken
	// again.
	Expires time.Time `json:"expires"`
}

// Approval is a request for a second operator's approval of an action.
type Approval struct {
	ID        string       `json:"id"`
	Intent    ActionIntent `json:"intent"` // the action asked for; Actor is the requester
	Channel   string       `json:"channel"`
	MessageTS string       `json:"message_ts,omitempty"` // the request message, updated when decided or expired
	Expires   time.Time    `json:"expires"`
	// Decision is "" while open, then "approved", "denied" or "expired";
	// DecidedBy is who approved or denied.
	Decision  string    `json:"decision,omitempty"`
	DecidedBy string    `json:"decided_by,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

// keepDecided is how long a decided or expired approval is remembered, so
// that a late click is told what happened.
const keepDecided = 24 * time.Hour

// BeginAction records in as the intent of in.Key unless one is recorded
// and has not expired: then it returns that one and false. It is the
// "first one wins" of actions.
func (s *Store) BeginAction(_ context.Context, in ActionIntent) (ActionIntent, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if prev, ok := s.st.Actions[in.Key]; ok && now.Before(prev.Expires) {
		return prev, false, nil
	}
	s.pruneLocked(now)
	s.st.Actions[in.Key] = in
	if err := s.saveLocked(); err != nil {
		delete(s.st.Actions, in.Key)
		return ActionIntent{}, false, err
	}
	return in, true, nil
}

// EndAction records the outcome of an intent begun with BeginAction.
func (s *Store) EndAction(_ context.Context, in ActionIntent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Actions[in.Key] = in
	return s.saveLocked()
}

// ForgetAction removes an intent whose request surely did nothing (the
// API refused it), so that the action may be taken again.
func (s *Store) ForgetAction(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.Actions[key]; !ok {
		return nil
	}
	delete(s.st.Actions, key)
	return s.saveLocked()
}

// PutApproval saves an approval request (a new one, or its message's ts).
func (s *Store) PutApproval(_ context.Context, a Approval) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(time.Now())
	s.st.Approvals[a.ID] = a
	return s.saveLocked()
}

// GetApproval returns an approval request.
func (s *Store) GetApproval(_ context.Context, id string) (Approval, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.Approvals[id]
	return a, ok, nil
}

// DecideApproval records the first decision on an open approval: it
// returns the approval and true, or, when it was decided before, the
// approval as decided and false.
func (s *Store) DecideApproval(_ context.Context, id, decision, by string, at time.Time) (Approval, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.Approvals[id]
	if !ok {
		return Approval{}, false, nil
	}
	if a.Decision != "" {
		return a, false, nil
	}
	a.Decision, a.DecidedBy, a.DecidedAt = decision, by, at.UTC()
	s.st.Approvals[id] = a
	if err := s.saveLocked(); err != nil {
		a.Decision, a.DecidedBy, a.DecidedAt = "", "", time.Time{}
		s.st.Approvals[id] = a
		return Approval{}, false, err
	}
	return a, true, nil
}

// pruneLocked forgets expired intents and approvals decided or expired
// long ago; s.mu is held.
func (s *Store) pruneLocked(now time.Time) {
	for k, in := range s.st.Actions {
		if !now.Before(in.Expires) {
			delete(s.st.Actions, k)
		}
	}
	for id, a := range s.st.Approvals {
		if now.Sub(a.Expires) > keepDecided {
			delete(s.st.Approvals, id)
		}
	}
}
