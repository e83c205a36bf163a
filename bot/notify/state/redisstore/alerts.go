package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/pooltask"
)

// The living alerts and the mutes, beside the keys of the package comment:
//
//	P living:CHANNEL/TS     JSON of pooltask.Alert, expiring after state.AlertRetention
//	P living_by:CHANNEL     sorted set: root ts by posting time (unix ns)
//	P mutes                 hash: mute id → JSON of pooltask.Mute
//	P muted:CHANNEL|MUTE    hash: "" once seen, "t:TASK" per failure kept back, "telling" (RFC 3339)
//	                        once its summary is about to be posted, "told" once it was

// update runs change on the keys in an optimistic transaction (WATCH, the
// reads, MULTI/EXEC of the writes), again when another writer changed them
// meanwhile: every replica sees one order of changes. A fenced store
// watches the lease too, and refuses once it lost it.
func (s *Store) update(ctx context.Context, keys []string, change func(tx *redis.Tx) (func(redis.Pipeliner), error)) error {
	keys = append(keys, s.Key(LeaseKey))
	for range 20 {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			if s.token != "" {
				holder, err := tx.Get(ctx, s.Key(LeaseKey)).Result()
				if err != nil && !errors.Is(err, redis.Nil) {
					return err
				}
				if holder != s.token {
					return ErrFenced
				}
			}
			writes, err := change(tx)
			if err != nil || writes == nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error { writes(p); return nil })
			return err
		}, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return errors.New("too many concurrent changes; try again")
}

func (s *Store) livingKey(channel, ts string) string { return s.Key("living:" + channel + "/" + ts) }

// PutAlert saves a living alert (by channel and ts), kept for
// state.AlertRetention.
func (s *Store) PutAlert(ctx context.Context, a pooltask.Alert) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encoding alert: %w", err)
	}
	by := s.Key("living_by:" + a.Channel)
	err = s.update(ctx, []string{s.livingKey(a.Channel, a.TS), by}, func(*redis.Tx) (func(redis.Pipeliner), error) {
		return func(p redis.Pipeliner) {
			p.Set(ctx, s.livingKey(a.Channel, a.TS), b, state.AlertRetention)
			p.ZAdd(ctx, by, redis.Z{Score: float64(a.Posted.UnixNano()), Member: a.TS})
			p.ZRemRangeByScore(ctx, by, "-inf", "("+strconv.FormatInt(a.Posted.Add(-state.AlertRetention).UnixNano(), 10))
			p.Expire(ctx, by, state.AlertRetention)
		}, nil
	})
	if err != nil {
		return fmt.Errorf("saving alert of task %s: %w", a.Task.ID, err)
	}
	return nil
}

func decodeAlert(v string) (pooltask.Alert, error) {
	var a pooltask.Alert
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		return pooltask.Alert{}, fmt.Errorf("reading alert: %w", err)
	}
	return a, nil
}

// Alert returns the living alert posted in channel at ts.
func (s *Store) Alert(ctx context.Context, channel, ts string) (pooltask.Alert, bool, error) {
	v, err := s.rdb.Get(ctx, s.livingKey(channel, ts)).Result()
	if errors.Is(err, redis.Nil) {
		return pooltask.Alert{}, false, nil
	}
	if err != nil {
		return pooltask.Alert{}, false, fmt.Errorf("reading alert: %w", err)
	}
	a, err := decodeAlert(v)
	return a, err == nil, err
}

// Alerts returns the living alerts of channel, oldest first.
func (s *Store) Alerts(ctx context.Context, channel string) ([]pooltask.Alert, error) {
	tss, err := s.rdb.ZRange(ctx, s.Key("living_by:"+channel), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("reading alerts: %w", err)
	}
	if len(tss) == 0 {
		return nil, nil
	}
	keys := make([]string, len(tss))
	for i, ts := range tss {
		keys[i] = s.livingKey(channel, ts)
	}
	vs, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("reading alerts: %w", err)
	}
	var out []pooltask.Alert
	for _, v := range vs {
		if v, ok := v.(string); ok { // expired ones are nil
			a, err := decodeAlert(v)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// UpdateAlert changes the living alert of channel and ts with change,
// atomically across replicas, and returns it as saved. change returns
// false to leave it as it was; it may run more than once.
func (s *Store) UpdateAlert(ctx context.Context, channel, ts string, change func(*pooltask.Alert) bool) (pooltask.Alert, error) {
	key := s.livingKey(channel, ts)
	var saved pooltask.Alert
	err := s.update(ctx, []string{key}, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		v, err := tx.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return nil, state.ErrNoAlert
		}
		if err != nil {
			return nil, err
		}
		if saved, err = decodeAlert(v); err != nil {
			return nil, err
		}
		if !change(&saved) {
			return nil, nil
		}
		b, err := json.Marshal(saved)
		if err != nil {
			return nil, err
		}
		return func(p redis.Pipeliner) { p.Set(ctx, key, b, redis.KeepTTL) }, nil
	})
	if err != nil {
		return pooltask.Alert{}, fmt.Errorf("changing alert: %w", err)
	}
	return saved, nil
}

// mutes reads every mute kept.
func (s *Store) mutes(ctx context.Context, c redis.Cmdable) ([]pooltask.Mute, error) {
	h, err := c.HGetAll(ctx, s.Key("mutes")).Result()
	if err != nil {
		return nil, fmt.Errorf("reading mutes: %w", err)
	}
	out := make([]pooltask.Mute, 0, len(h))
	for id, v := range h {
		var m pooltask.Mute
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return nil, fmt.Errorf("reading mute %s: %w", id, err)
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b pooltask.Mute) int {
		return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.PoolID, b.PoolID))
	})
	return out, nil
}

// Mutes returns the mutes in force and those that ended within
// state.MuteRetention of now, oldest first.
func (s *Store) Mutes(ctx context.Context, now time.Time) ([]pooltask.Mute, error) {
	all, err := s.mutes(ctx, s.rdb)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(m pooltask.Mute) bool { return m.End().Before(now.Add(-state.MuteRetention)) }), nil
}

// PutMute mutes m's pool: a mute of that pool in force at m.Start is
// changed (its end, who and why; it keeps its start), else m is added.
// Mutes that ended more than state.MuteRetention ago are forgotten.
func (s *Store) PutMute(ctx context.Context, m pooltask.Mute) (pooltask.Mute, error) {
	key := s.Key("mutes")
	err := s.update(ctx, []string{key}, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		all, err := s.mutes(ctx, tx)
		if err != nil {
			return nil, err
		}
		var old []string
		for _, o := range all {
			switch {
			case o.End().Before(m.Start.Add(-state.MuteRetention)):
				old = append(old, o.ID())
			case o.PoolID == m.PoolID && o.Active(m.Start):
				m.Start = o.Start
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		return func(p redis.Pipeliner) {
			if len(old) > 0 {
				p.HDel(ctx, key, old...)
			}
			p.HSet(ctx, key, m.ID(), b)
		}, nil
	})
	if err != nil {
		return pooltask.Mute{}, fmt.Errorf("saving mute of %s: %w", m.PoolID, err)
	}
	return m, nil
}

// EndMute ends the mute of pool in force at now, saying who ended it; false
// when none was.
func (s *Store) EndMute(ctx context.Context, poolID, by string, now time.Time) (pooltask.Mute, bool, error) {
	key := s.Key("mutes")
	var ended pooltask.Mute
	found := false
	err := s.update(ctx, []string{key}, func(tx *redis.Tx) (func(redis.Pipeliner), error) {
		all, err := s.mutes(ctx, tx)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(all, func(o pooltask.Mute) bool { return o.PoolID == poolID && o.Active(now) })
		if found = i >= 0; !found {
			return nil, nil
		}
		ended = all[i]
		ended.Ended, ended.EndedBy = now.UTC(), by
		b, err := json.Marshal(ended)
		if err != nil {
			return nil, err
		}
		return func(p redis.Pipeliner) { p.HSet(ctx, key, ended.ID(), b) }, nil
	})
	if err != nil {
		return pooltask.Mute{}, false, fmt.Errorf("ending mute of %s: %w", poolID, err)
	}
	return ended, found, nil
}

func (s *Store) mutedKey(channel, muteID string) string {
	return s.Key("muted:" + channel + "|" + muteID)
}

// MutedFailures returns what a mute kept from channel (the failed tasks by
// id, whether their summary was posted or about to be), and whether
// anything was recorded.
func (s *Store) MutedFailures(ctx context.Context, channel, muteID string) (state.MutedTasks, bool, error) {
	h, err := s.rdb.HGetAll(ctx, s.mutedKey(channel, muteID)).Result()
	if err != nil {
		return state.MutedTasks{}, false, fmt.Errorf("reading muted failures: %w", err)
	}
	var m state.MutedTasks
	for f := range h {
		if id, ok := strings.CutPrefix(f, "t:"); ok {
			m.Tasks = append(m.Tasks, id)
		}
	}
	slices.Sort(m.Tasks)
	_, m.Told = h["told"]
	if v, ok := h["telling"]; ok {
		if m.Telling, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return state.MutedTasks{}, false, fmt.Errorf("reading muted failures: %w", err)
		}
	}
	return m, len(h) > 0, nil
}

// tellingScript marks KEYS[2] seen, sets its "telling" to ARGV[3] unless
// it is set (HSETNX: the first intent stays), and keeps it ARGV[2] ms.
var tellingScript = redis.NewScript(fence + `redis.call('HSET', KEYS[2], '', '1')
redis.call('HSETNX', KEYS[2], 'telling', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[2]) return 1`)

// SetMuteTelling records that the summary of a mute is about to be posted
// in channel, at at, unless that was recorded already.
func (s *Store) SetMuteTelling(ctx context.Context, channel, muteID string, at time.Time) error {
	if _, err := s.run(ctx, tellingScript, []string{s.mutedKey(channel, muteID)},
		strconv.FormatInt(state.MuteRetention.Milliseconds(), 10), at.UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("saving that a mute's summary is about to be posted: %w", err)
	}
	return nil
}

// addMutedScript marks KEYS[2] seen, adds the task ids ARGV[3..] and keeps
// it ARGV[2] ms.
var addMutedScript = redis.NewScript(fence + `redis.call('HSET', KEYS[2], '', '1')
for i = 3, #ARGV do redis.call('HSET', KEYS[2], 't:' .. ARGV[i], '1') end
redis.call('PEXPIRE', KEYS[2], ARGV[2]) return 1`)

// AddMutedFailures records failed tasks a mute kept from channel.
func (s *Store) AddMutedFailures(ctx context.Context, channel, muteID string, taskIDs []string) error {
	args := []any{strconv.FormatInt(state.MuteRetention.Milliseconds(), 10)}
	for _, id := range taskIDs {
		args = append(args, id)
	}
	if _, err := s.run(ctx, addMutedScript, []string{s.mutedKey(channel, muteID)}, args...); err != nil {
		return fmt.Errorf("saving muted failures: %w", err)
	}
	return nil
}

// toldScript replaces KEYS[2] by "told" and keeps it ARGV[2] ms.
var toldScript = redis.NewScript(fence + `redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], '', '1', 'told', '1')
redis.call('PEXPIRE', KEYS[2], ARGV[2]) return 1`)

// SetMuteTold records that the summary of a mute was posted in channel;
// the failures it names are then forgotten.
func (s *Store) SetMuteTold(ctx context.Context, channel, muteID string) error {
	if _, err := s.run(ctx, toldScript, []string{s.mutedKey(channel, muteID)}, strconv.FormatInt(state.MuteRetention.Milliseconds(), 10)); err != nil {
		return fmt.Errorf("saving that a mute was summed up: %w", err)
	}
	return nil
}
