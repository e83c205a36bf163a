// Package state keeps what notify must remember across restarts (digest
// watermarks, alerted task ids, active watches, whether Slack refuses
// chart blocks) in a directory: one JSON file, written atomically on every
// change. notify consumes it through small interfaces of its own, so that
// another store (shared state for several replicas) can take its place.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Names of the files a Store keeps in its directory.
const (
	stateFile = "state.json"
	prevFile  = "state.prev.json" // the state before the last save
)

// Watch is a watch as saved in the Store, enough to resume it.
type Watch struct {
	ID        string    `json:"id"`
	TaskID    string    `json:"task_id"`
	Channel   string    `json:"channel"`
	ThreadTS  string    `json:"thread_ts,omitempty"` // thread the watch was asked in
	MessageTS string    `json:"message_ts"`          // the message that is updated
	UserID    string    `json:"user_id"`
	Started   time.Time `json:"started"`
}

type state struct {
	Version int `json:"version"`
	// Digests maps a digest schedule's key (notify's DigestConfig) to the
	// end of the last window it posted.
	Digests map[string]time.Time `json:"digests,omitempty"`
	// Alerts maps an alert configuration's key to its memory.
	Alerts  map[string]*alertState `json:"alerts,omitempty"`
	Watches map[string]Watch       `json:"watches,omitempty"`
	// ChartsRefused is set once Slack answered invalid_blocks to a chart.
	ChartsRefused bool `json:"charts_refused,omitempty"`
	// Actions maps an action's key to its intent and outcome (see
	// BeginAction); Approvals maps an approval request's id to it.
	Actions   map[string]ActionIntent `json:"actions,omitempty"`
	Approvals map[string]Approval     `json:"approvals,omitempty"`
}

type alertState struct {
	// Known maps task ids already alerted (or known at the first start) to
	// the task's start time, which bounds how long they are kept.
	Known map[string]time.Time `json:"known"`
}

func newState() *state {
	return &state{Version: 1, Digests: map[string]time.Time{}, Alerts: map[string]*alertState{}, Watches: map[string]Watch{},
		Actions: map[string]ActionIntent{}, Approvals: map[string]Approval{}}
}

// Store keeps notify's state in a directory (POOLTASKS_STATE_DIR). Every
// change is written at once, atomically: a temporary file in the same
// directory, fsync, rename, fsync of the directory. The state before the
// last save is kept beside it, so that a main file found torn or corrupt at
// start (a disk that lied about fsync, a hand edit) falls back to the last
// good state. It is safe for concurrent use.
type Store struct {
	dir string

	mu       sync.Mutex
	st       *state
	lastGood []byte // what is in stateFile, known to parse
	// Recovered says why the main file was not used at open, if it was not.
	recovered string
}

// Open opens (creating it if needed) the state directory dir and loads
// the last good state in it.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening state dir: %w", err)
	}
	s := &Store{dir: dir, st: newState()}
	for _, name := range []string{stateFile, prevFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading state: %w", err)
		}
		st, err := decodeState(b)
		if err != nil {
			s.recovered += fmt.Sprintf("%s is unreadable (%v); ", name, err)
			continue
		}
		s.st, s.lastGood = st, b
		if name == prevFile {
			s.recovered += "using " + prevFile
		}
		break
	}
	return s, nil
}

func decodeState(b []byte) (*state, error) {
	st := newState()
	if err := json.Unmarshal(b, st); err != nil {
		return nil, err
	}
	if st.Version != 1 {
		return nil, fmt.Errorf("unknown state version %d", st.Version)
	}
	if st.Digests == nil {
		st.Digests = map[string]time.Time{}
	}
	if st.Alerts == nil {
		st.Alerts = map[string]*alertState{}
	}
	if st.Watches == nil {
		st.Watches = map[string]Watch{}
	}
	if st.Actions == nil {
		st.Actions = map[string]ActionIntent{}
	}
	if st.Approvals == nil {
		st.Approvals = map[string]Approval{}
	}
	for k, a := range st.Alerts {
		if a == nil || a.Known == nil {
			st.Alerts[k] = &alertState{Known: map[string]time.Time{}}
		}
	}
	return st, nil
}

// Dir returns the state directory.
func (s *Store) Dir() string { return s.dir }

// Recovered describes, for a log line, why the state was not loaded from the
// main file at open; it is empty when it was (or when there was none).
func (s *Store) Recovered() string { return s.recovered }

// saveLocked writes the state; s.mu is held.
func (s *Store) saveLocked() error {
	b, err := json.MarshalIndent(s.st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	if s.lastGood != nil {
		if err := writeAtomic(s.dir, prevFile, s.lastGood); err != nil {
			return err
		}
	}
	if err := writeAtomic(s.dir, stateFile, b); err != nil {
		return err
	}
	s.lastGood = b
	return nil
}

// writeAtomic replaces dir/name by b so that a reader sees either the old or
// the new content, never a mix, even across a crash.
func writeAtomic(dir, name string, b []byte) error {
	f, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename this fails harmlessly
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("saving state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("saving state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: some file systems refuse fsync on directories
		d.Close()
	}
	return nil
}

// DigestWatermark returns the end of the last window posted for key.
func (s *Store) DigestWatermark(key string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.st.Digests[key]
	return t, ok
}

// SetDigestWatermark records that the windows of key up to end were posted.
func (s *Store) SetDigestWatermark(key string, end time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Digests[key] = end.UTC()
	return s.saveLocked()
}

// AlertKnown returns a copy of the known ids of an alert key and whether the
// key has state at all (false on a fresh start).
func (s *Store) AlertKnown(key string) (map[string]time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.Alerts[key]
	if !ok {
		return nil, false
	}
	m := make(map[string]time.Time, len(a.Known))
	for id, t := range a.Known {
		m[id] = t
	}
	return m, true
}

// AddAlertKnown adds ids (task id → task start) to an alert key's memory,
// then drops ids that started before horizon and the oldest beyond max.
func (s *Store) AddAlertKnown(key string, ids map[string]time.Time, horizon time.Time, max int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.Alerts[key]
	if !ok {
		a = &alertState{Known: map[string]time.Time{}}
		s.st.Alerts[key] = a
	}
	for id, t := range ids {
		a.Known[id] = t.UTC()
	}
	for id, t := range a.Known {
		if t.Before(horizon) {
			delete(a.Known, id)
		}
	}
	if max > 0 && len(a.Known) > max {
		ids := make([]string, 0, len(a.Known))
		for id := range a.Known {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return a.Known[ids[i]].Before(a.Known[ids[j]]) })
		for _, id := range ids[:len(ids)-max] {
			delete(a.Known, id)
		}
	}
	return s.saveLocked()
}

// Watches returns the saved watches.
func (s *Store) Watches() []Watch {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := make([]Watch, 0, len(s.st.Watches))
	for _, w := range s.st.Watches {
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Started.Before(ws[j].Started) })
	return ws
}

// PutWatch saves a watch.
func (s *Store) PutWatch(w Watch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Watches[w.ID] = w
	return s.saveLocked()
}

// DeleteWatch forgets a watch.
func (s *Store) DeleteWatch(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.Watches[id]; !ok {
		return nil
	}
	delete(s.st.Watches, id)
	return s.saveLocked()
}

// ChartsRefused reports whether Slack refused a chart block before.
func (s *Store) ChartsRefused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.ChartsRefused
}

// SetChartsRefused remembers that Slack refuses chart blocks here.
func (s *Store) SetChartsRefused() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.ChartsRefused {
		return nil
	}
	s.st.ChartsRefused = true
	return s.saveLocked()
}
