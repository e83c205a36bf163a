package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pooltasks/pooltasks/bot/notify/state"
)

// stateKeys returns the keys under the prefix that hold what a
// state.Document carries (not the lease, its fence, the dedupe memory,
// Stop presses not taken yet nor the indexes built from the others).
func (s *Store) stateKeys(ctx context.Context) ([]string, error) {
	var keys []string
	iter := s.rdb.Scan(ctx, 0, globEscape(s.prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		name := strings.TrimPrefix(iter.Val(), s.prefix)
		kind, _, _ := strings.Cut(name, ":")
		switch kind {
		case "digest", "digest_intent", "alert", "alert_intents", "watches", "charts_refused",
			"action", "approval", "living", "living_by", "mutes", "muted":
			keys = append(keys, iter.Val())
		}
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("listing state keys: %w", err)
	}
	return keys, nil
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Export returns everything the store keeps, in the file store's layout.
func (s *Store) Export(ctx context.Context) (*state.Document, error) {
	keys, err := s.stateKeys(ctx)
	if err != nil {
		return nil, err
	}
	d := state.NewDocument()
	memory := func(key string) *state.AlertMemory {
		a, ok := d.Alerts[key]
		if !ok {
			a = &state.AlertMemory{Known: map[string]time.Time{}, Unprimed: true}
			d.Alerts[key] = a
		}
		return a
	}
	for _, full := range keys {
		kind, key, _ := strings.Cut(strings.TrimPrefix(full, s.prefix), ":")
		switch kind {
		case "digest":
			t, ok, err := s.DigestWatermark(ctx, key)
			if err != nil {
				return nil, err
			}
			if ok {
				d.Digests[key] = t
			}
		case "digest_intent":
			in, ok, err := s.DigestIntent(ctx, key)
			if err != nil {
				return nil, err
			}
			if ok {
				d.DigestIntents[key] = in
			}
		case "alert":
			known, ok, err := s.AlertKnown(ctx, key)
			if err != nil {
				return nil, err
			}
			if ok {
				a := memory(key)
				a.Known, a.Unprimed = known, false
			}
		case "alert_intents":
			ins, err := s.AlertIntents(ctx, key)
			if err != nil {
				return nil, err
			}
			if len(ins) == 0 {
				continue
			}
			a := memory(key)
			a.Intents = map[string]state.Intent{}
			for _, in := range ins {
				a.Intents[in.Key] = in
			}
		case "watches":
			ws, err := s.Watches(ctx)
			if err != nil {
				return nil, err
			}
			for _, w := range ws {
				d.Watches[w.ID] = w
			}
		case "charts_refused":
			d.ChartsRefused = true
		case "action":
			v, err := s.rdb.Get(ctx, full).Result()
			if errors.Is(err, redis.Nil) {
				continue // expired meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("reading intent %s: %w", key, err)
			}
			var in state.ActionIntent
			if err := json.Unmarshal([]byte(v), &in); err != nil {
				return nil, fmt.Errorf("reading intent %s: %w", key, err)
			}
			d.Actions[in.Key] = in
		case "approval":
			if strings.HasSuffix(key, ":decision") {
				continue // read with its approval
			}
			a, ok, err := s.GetApproval(ctx, key)
			if err != nil {
				return nil, err
			}
			if ok {
				d.Approvals[a.ID] = a
			}
		case "living":
			channel, ts, _ := strings.Cut(key, "/")
			a, ok, err := s.Alert(ctx, channel, ts)
			if err != nil {
				return nil, err
			}
			if ok {
				d.Living[key] = a
			}
		case "mutes":
			if d.Mutes, err = s.mutes(ctx, s.rdb); err != nil {
				return nil, err
			}
		case "muted":
			channel, muteID, _ := strings.Cut(key, "|")
			m, seen, err := s.MutedFailures(ctx, channel, muteID)
			if err != nil {
				return nil, err
			}
			if seen {
				d.Muted[key] = &m
			}
		}
	}
	return d, nil
}

// Import replaces everything the store keeps by d, through the store's
// own writes (with their expiries counted from now).
func (s *Store) Import(ctx context.Context, d *state.Document) error {
	if keys, err := s.stateKeys(ctx); err != nil {
		return err
	} else if len(keys) > 0 {
		if err := s.rdb.Del(ctx, keys...).Err(); err != nil {
			return fmt.Errorf("clearing the state before the import: %w", err)
		}
	}
	for key, t := range d.Digests {
		if err := s.SetDigestWatermark(ctx, key, t); err != nil {
			return err
		}
	}
	for key, in := range d.DigestIntents {
		if err := s.SetDigestIntent(ctx, key, in); err != nil {
			return err
		}
	}
	for key, a := range d.Alerts {
		for _, in := range a.Intents {
			if err := s.AddAlertIntent(ctx, key, in); err != nil {
				return err
			}
		}
		if !a.Unprimed {
			if err := s.AddAlertKnown(ctx, key, a.Known, time.Unix(0, 0), 0); err != nil {
				return err
			}
		}
	}
	for _, w := range d.Watches {
		if err := s.PutWatch(ctx, w); err != nil {
			return err
		}
	}
	if d.ChartsRefused {
		if err := s.SetChartsRefused(ctx); err != nil {
			return err
		}
	}
	for _, in := range d.Actions {
		if err := s.EndAction(ctx, in); err != nil {
			return err
		}
	}
	for _, a := range d.Approvals {
		if err := s.PutApproval(ctx, a); err != nil {
			return err
		}
		if a.Decision != "" {
			if _, _, err := s.DecideApproval(ctx, a.ID, a.Decision, a.DecidedBy, a.DecidedAt); err != nil {
				return err
			}
		}
	}
	for _, a := range d.Living {
		if err := s.PutAlert(ctx, a); err != nil {
			return err
		}
	}
	if len(d.Mutes) > 0 {
		fields := make([]any, 0, 2*len(d.Mutes))
		for _, m := range d.Mutes {
			b, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("encoding mute: %w", err)
			}
			fields = append(fields, m.ID(), b)
		}
		if err := s.rdb.HSet(ctx, s.Key("mutes"), fields...).Err(); err != nil {
			return fmt.Errorf("saving mutes: %w", err)
		}
	}
	for key, m := range d.Muted {
		channel, muteID, _ := strings.Cut(key, "|")
		if m.Told {
			if err := s.SetMuteTold(ctx, channel, muteID); err != nil {
				return err
			}
		}
		if !m.Told || len(m.Tasks) > 0 {
			if err := s.AddMutedFailures(ctx, channel, muteID, m.Tasks); err != nil {
				return err
			}
		}
		if !m.Told && !m.Telling.IsZero() {
			if err := s.SetMuteTelling(ctx, channel, muteID, m.Telling); err != nil {
				return err
			}
		}
	}
	return nil
}
