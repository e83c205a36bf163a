package state

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
)

// How long living alerts and ended mutes are kept: long enough for a
// weekly digest to mark what a mute silenced, and for late clicks.
const (
	AlertRetention = 8 * 24 * time.Hour
	MuteRetention  = 8 * 24 * time.Hour
)

// ErrNoAlert is UpdateAlert's answer for a message that is no living alert
// (an old one, or another app's).
var ErrNoAlert = errors.New("no such alert")

func livingKey(channel, ts string) string { return channel + "/" + ts }

// PutAlert saves a living alert (by channel and ts), and forgets those
// posted more than AlertRetention before it.
func (s *Store) PutAlert(_ context.Context, a pooltask.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, old := range s.st.Living {
		if old.Posted.Before(a.Posted.Add(-AlertRetention)) {
			delete(s.st.Living, k)
		}
	}
	s.st.Living[livingKey(a.Channel, a.TS)] = a
	return s.saveLocked()
}

// Alert returns the living alert posted in channel at ts.
func (s *Store) Alert(_ context.Context, channel, ts string) (pooltask.Alert, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.Living[livingKey(channel, ts)]
	return a, ok, nil
}

// Alerts returns the living alerts of channel, oldest first.
func (s *Store) Alerts(_ context.Context, channel string) ([]pooltask.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []pooltask.Alert
	for _, a := range s.st.Living {
		if a.Channel == channel {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b pooltask.Alert) int { return a.Posted.Compare(b.Posted) })
	return out, nil
}

// UpdateAlert changes the living alert of channel and ts with change, at
// once for every caller (a check in change, such as "not acknowledged
// yet", holds when it saves), and returns it as saved. change returns
// false to leave it as it was.
func (s *Store) UpdateAlert(_ context.Context, channel, ts string, change func(*pooltask.Alert) bool) (pooltask.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.Living[livingKey(channel, ts)]
	if !ok {
		return pooltask.Alert{}, ErrNoAlert
	}
	old := a
	if !change(&a) {
		return old, nil
	}
	s.st.Living[livingKey(channel, ts)] = a
	if err := s.saveLocked(); err != nil {
		s.st.Living[livingKey(channel, ts)] = old
		return old, err
	}
	return a, nil
}

// Mutes returns the mutes in force and those that ended within
// MuteRetention of now, oldest first.
func (s *Store) Mutes(_ context.Context, now time.Time) ([]pooltask.Mute, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []pooltask.Mute
	for _, m := range s.st.Mutes {
		if !m.End().Before(now.Add(-MuteRetention)) {
			out = append(out, m)
		}
	}
	return out, nil
}

// PutMute mutes m's pool: a mute of that pool in force at m.Start is
// changed (its end, who and why; it keeps its start), else m is added.
// It returns the mute as saved.
func (s *Store) PutMute(_ context.Context, m pooltask.Mute) (pooltask.Mute, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := slices.Clone(s.st.Mutes)
	s.st.Mutes = slices.DeleteFunc(s.st.Mutes, func(o pooltask.Mute) bool { return o.End().Before(m.Start.Add(-MuteRetention)) })
	i := slices.IndexFunc(s.st.Mutes, func(o pooltask.Mute) bool { return o.PoolID == m.PoolID && o.Active(m.Start) })
	kept := map[string]bool{}
	for _, o := range s.st.Mutes {
		kept[o.ID()] = true
	}
	for k := range s.st.Muted { // what mutes gone from memory kept back goes with them
		if _, id, _ := strings.Cut(k, "|"); !kept[id] {
			delete(s.st.Muted, k)
		}
	}
	if i >= 0 {
		start := s.st.Mutes[i].Start
		m.Start = start
		s.st.Mutes[i] = m
	} else {
		s.st.Mutes = append(s.st.Mutes, m)
	}
	if err := s.saveLocked(); err != nil {
		s.st.Mutes = prev
		return pooltask.Mute{}, err
	}
	return m, nil
}

// EndMute ends the mute of pool in force at now, saying who ended it; false
// when none was.
func (s *Store) EndMute(_ context.Context, poolID, by string, now time.Time) (pooltask.Mute, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.st.Mutes, func(o pooltask.Mute) bool { return o.PoolID == poolID && o.Active(now) })
	if i < 0 {
		return pooltask.Mute{}, false, nil
	}
	old := s.st.Mutes[i]
	s.st.Mutes[i].Ended, s.st.Mutes[i].EndedBy = now.UTC(), by
	if err := s.saveLocked(); err != nil {
		s.st.Mutes[i] = old
		return pooltask.Mute{}, false, err
	}
	return s.st.Mutes[i], true, nil
}

func mutedKey(channel, muteID string) string { return channel + "|" + muteID }

// MutedFailures returns what a mute kept from channel (the failed tasks,
// whether their summary was posted or about to be), and whether anything
// was recorded.
func (s *Store) MutedFailures(_ context.Context, channel, muteID string) (MutedTasks, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.st.Muted[mutedKey(channel, muteID)]
	if !ok {
		return MutedTasks{}, false, nil
	}
	return MutedTasks{Tasks: slices.Clone(m.Tasks), Telling: m.Telling, Told: m.Told}, true, nil
}

// SetMuteTelling records that the summary of a mute is about to be posted
// in channel, at at, unless that was recorded already (the first time
// stays: the post is younger).
func (s *Store) SetMuteTelling(_ context.Context, channel, muteID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mutedLocked(channel, muteID)
	if !m.Telling.IsZero() {
		return nil
	}
	m.Telling = at.UTC()
	if err := s.saveLocked(); err != nil {
		m.Telling = time.Time{}
		return err
	}
	return nil
}

// mutedLocked returns what a mute kept from channel, recorded empty when
// nothing was; s.mu is held.
func (s *Store) mutedLocked(channel, muteID string) *MutedTasks {
	k := mutedKey(channel, muteID)
	m, ok := s.st.Muted[k]
	if !ok {
		m = &MutedTasks{}
		s.st.Muted[k] = m
	}
	return m
}

// AddMutedFailures records failed tasks a mute kept from channel.
func (s *Store) AddMutedFailures(_ context.Context, channel, muteID string, taskIDs []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mutedLocked(channel, muteID)
	n := len(m.Tasks)
	for _, id := range taskIDs {
		if !slices.Contains(m.Tasks, id) {
			m.Tasks = append(m.Tasks, id)
		}
	}
	if err := s.saveLocked(); err != nil {
		m.Tasks = m.Tasks[:n]
		return err
	}
	return nil
}

// SetMuteTold records that the summary of a mute was posted in channel;
// the failures it names are then forgotten.
func (s *Store) SetMuteTold(_ context.Context, channel, muteID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := mutedKey(channel, muteID)
	old := s.st.Muted[k]
	s.st.Muted[k] = &MutedTasks{Told: true}
	if err := s.saveLocked(); err != nil {
		s.st.Muted[k] = old
		if old == nil {
			delete(s.st.Muted, k)
		}
		return err
	}
	return nil
}
