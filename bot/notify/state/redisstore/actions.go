package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/redis/go-redis/v9"
)

// Keys of actions (see package act), under the prefix:
//
//	P action:KEY               JSON of state.ActionIntent, expiring with it
//	P approval:ID              JSON of state.Approval as asked
//	P approval:ID:decision     JSON of the first decision on it (SET NX)
//
// An approval and its decision expire a day after the approval does, so
// that a late click is told what happened.

// keepDecided is how long an approval is kept after it expires.
const keepDecided = 24 * time.Hour

// beginScript sets KEYS[2] to ARGV[2] unless it exists, expiring at ARGV[3]
// (unix ms), and returns {1} or {0, the value there}.
var beginScript = redis.NewScript(fence + `if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PXAT', ARGV[3]) then return {1} end
return {0, redis.call('GET', KEYS[2])}`)

// BeginAction records in as the intent of in.Key unless one is recorded:
// then it returns that one and false (SET NX: first one wins across
// replicas).
func (s *Store) BeginAction(ctx context.Context, in state.ActionIntent) (state.ActionIntent, bool, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return state.ActionIntent{}, false, fmt.Errorf("encoding intent: %w", err)
	}
	v, err := s.run(ctx, beginScript, []string{s.Key("action:" + in.Key)}, string(b), in.Expires.UnixMilli())
	if err != nil {
		return state.ActionIntent{}, false, fmt.Errorf("recording intent %s: %w", in.Key, err)
	}
	r, _ := v.([]any)
	if len(r) > 0 && r[0] == int64(1) {
		return in, true, nil
	}
	var prev state.ActionIntent
	if len(r) < 2 {
		return prev, false, fmt.Errorf("recording intent %s: unexpected answer %v", in.Key, v)
	}
	raw, _ := r[1].(string)
	if err := json.Unmarshal([]byte(raw), &prev); err != nil {
		return prev, false, fmt.Errorf("reading intent %s: %w", in.Key, err)
	}
	return prev, false, nil
}

// setUntilScript sets KEYS[2] to ARGV[2], expiring at ARGV[3] (unix ms).
var setUntilScript = redis.NewScript(fence + `redis.call('SET', KEYS[2], ARGV[2], 'PXAT', ARGV[3]) return 1`)

// EndAction records the outcome of an intent.
func (s *Store) EndAction(ctx context.Context, in state.ActionIntent) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encoding intent: %w", err)
	}
	if _, err := s.run(ctx, setUntilScript, []string{s.Key("action:" + in.Key)}, string(b), in.Expires.UnixMilli()); err != nil {
		return fmt.Errorf("recording the outcome of %s: %w", in.Key, err)
	}
	return nil
}

var delScript = redis.NewScript(fence + `redis.call('DEL', KEYS[2]) return 1`)

// ForgetAction removes an intent whose request surely did nothing.
func (s *Store) ForgetAction(ctx context.Context, key string) error {
	if _, err := s.run(ctx, delScript, []string{s.Key("action:" + key)}); err != nil {
		return fmt.Errorf("forgetting intent %s: %w", key, err)
	}
	return nil
}

// PutApproval saves an approval request.
func (s *Store) PutApproval(ctx context.Context, a state.Approval) error {
	a.Decision, a.DecidedBy, a.DecidedAt = "", "", time.Time{} // kept under its own key
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encoding approval: %w", err)
	}
	if _, err := s.run(ctx, setUntilScript, []string{s.Key("approval:" + a.ID)}, string(b), a.Expires.Add(keepDecided).UnixMilli()); err != nil {
		return fmt.Errorf("saving approval %s: %w", a.ID, err)
	}
	return nil
}

type decision struct {
	Decision string    `json:"decision"`
	By       string    `json:"by,omitempty"`
	At       time.Time `json:"at"`
}

// GetApproval returns an approval request with its decision, if any.
func (s *Store) GetApproval(ctx context.Context, id string) (state.Approval, bool, error) {
	vs, err := s.rdb.MGet(ctx, s.Key("approval:"+id), s.Key("approval:"+id+":decision")).Result()
	if err != nil {
		return state.Approval{}, false, fmt.Errorf("reading approval %s: %w", id, err)
	}
	raw, ok := vs[0].(string)
	if !ok {
		return state.Approval{}, false, nil
	}
	var a state.Approval
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return a, false, fmt.Errorf("reading approval %s: %w", id, err)
	}
	if d, ok := vs[1].(string); ok {
		var dec decision
		if err := json.Unmarshal([]byte(d), &dec); err != nil {
			return a, false, fmt.Errorf("reading the decision on approval %s: %w", id, err)
		}
		a.Decision, a.DecidedBy, a.DecidedAt = dec.Decision, dec.By, dec.At
	}
	return a, true, nil
}

// DecideApproval records the first decision on an approval (SET NX): it
// returns the approval and true, or, when it was decided before, the
// approval as decided and false.
func (s *Store) DecideApproval(ctx context.Context, id, d, by string, at time.Time) (state.Approval, bool, error) {
	a, ok, err := s.GetApproval(ctx, id)
	if err != nil || !ok {
		return state.Approval{}, false, err
	}
	b, err := json.Marshal(decision{Decision: d, By: by, At: at.UTC()})
	if err != nil {
		return a, false, fmt.Errorf("encoding decision: %w", err)
	}
	v, err := s.run(ctx, beginScript, []string{s.Key("approval:" + id + ":decision")}, string(b), a.Expires.Add(keepDecided).UnixMilli())
	if err != nil {
		return a, false, fmt.Errorf("recording the decision on approval %s: %w", id, err)
	}
	r, _ := v.([]any)
	if len(r) > 0 && r[0] == int64(1) {
		a.Decision, a.DecidedBy, a.DecidedAt = d, by, at.UTC()
		return a, true, nil
	}
	if len(r) < 2 {
		return a, false, errors.New("recording the decision: unexpected answer")
	}
	var dec decision
	raw, _ := r[1].(string)
	if err := json.Unmarshal([]byte(raw), &dec); err != nil {
		return a, false, fmt.Errorf("reading the decision on approval %s: %w", id, err)
	}
	a.Decision, a.DecidedBy, a.DecidedAt = dec.Decision, dec.By, dec.At
	return a, false, nil
}
