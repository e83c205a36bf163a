// Package state keeps what notify must remember across restarts (digest
// watermarks, alerted task ids, active watches, whether Slack refuses
// chart blocks) in a directory: one JSON file, written atomically on every
// change. notify consumes it through small interfaces of its own, so that
// another store (shared state for several replicas) can take its place.
package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
)

// Names of the files a Store keeps in its directory.
const (
	stateFile = "state.json"
	prevFile  = "state.prev.json" // the state before the last save
	lockFile  = "lock"            // flocked by the one process that writes the store
)

// version is the layout of the state file this code reads and writes. A
// field added without changing what the others mean keeps it: an older
// version reads the file and ignores the field.
const version = 1

// Watch is a watch as saved in the Store, enough to resume it.
type Watch struct {
	ID        string    `json:"id"`
	TaskID    string    `json:"task_id"`
	Target    string    `json:"target,omitempty"` // the task's target, when there are several
	Channel   string    `json:"channel"`
	ThreadTS  string    `json:"thread_ts,omitempty"` // thread the watch was asked in
	MessageTS string    `json:"message_ts"`          // the message that is updated
	UserID    string    `json:"user_id"`
	Started   time.Time `json:"started"`
	// Act is the action taken on the watch's message (Stop task): every
	// later update of the message keeps its line.
	Act *WatchAct `json:"act,omitempty"`
}

// WatchAct is an action taken on a watch's message, as the message shows
// it ("Stopped by @ana at 10:02").
type WatchAct struct {
	Action    string    `json:"action"` // a pooltask.Action
	Actor     string    `json:"actor"`
	Approver  string    `json:"approver,omitempty"`
	At        time.Time `json:"at"`
	Outcome   string    `json:"outcome"` // "done" or "unknown"
	NewTaskID string    `json:"new_task_id,omitempty"`
	Check     string    `json:"check,omitempty"` // for "unknown": the command that shows what happened
}

// Intent is a post notify is about to make, saved before it is made, so
// that after a crash between the post and the save of its outcome the
// post can be looked for in the channel's history instead of made again.
type Intent struct {
	// Key is what the message carries in its metadata (event_payload.key).
	Key string `json:"key"`
	// At is when the intent was saved: the post, if made, is younger.
	At time.Time `json:"at"`
	// Start and End are the window of a digest.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// Tasks are the tasks an alert names (task id → start).
	Tasks map[string]time.Time `json:"tasks,omitempty"`
	// Missing are the targets (of several) whose tasks a digest could not
	// read: it is posted without them.
	Missing []string `json:"missing,omitempty"`
}

// Document is everything a store keeps: the layout of the file store's
// state.json, and the document `pooltasks state export` writes and
// `pooltasks state import` reads, whichever the store (see Export and
// Import here and in redisstore).
type Document struct {
	Version int `json:"version"`
	// WrittenBy is the pooltasks version that saved the file, for the
	// message of an older version that finds a newer layout.
	WrittenBy string `json:"written_by,omitempty"`
	// Digests maps a digest schedule's key (notify's DigestConfig) to the
	// end of the last window it posted.
	Digests map[string]time.Time `json:"digests,omitempty"`
	// DigestIntents maps a digest schedule's key to the window it is
	// posting, until its watermark reaches the window's end.
	DigestIntents map[string]Intent `json:"digest_intents,omitempty"`
	// Alerts maps an alert configuration's key to its memory.
	Alerts  map[string]*AlertMemory `json:"alerts,omitempty"`
	Watches map[string]Watch        `json:"watches,omitempty"`
	// ChartsRefused is set once Slack answered invalid_blocks to a chart.
	ChartsRefused bool `json:"charts_refused,omitempty"`
	// Actions maps an action's key to its intent and outcome (see
	// BeginAction); Approvals maps an approval request's id to it.
	Actions   map[string]ActionIntent `json:"actions,omitempty"`
	Approvals map[string]Approval     `json:"approvals,omitempty"`
	// Living maps channel/ts to the living alert posted there.
	Living map[string]pooltask.Alert `json:"living,omitempty"`
	// Mutes are the mutes in force and those that ended in the last
	// MuteRetention, oldest first.
	Mutes []pooltask.Mute `json:"mutes,omitempty"`
	// Muted maps channel|mute id to the failures a mute kept from the
	// channel, and whether their summary went out.
	Muted map[string]*MutedTasks `json:"muted,omitempty"`
}

// MutedTasks are the failures a mute kept from a channel, and whether
// their summary went out (Told), or was about to be posted (Telling, saved
// before the post: found without Told, the summary is looked for in the
// channel's history before it is posted again).
type MutedTasks struct {
	Tasks   []string  `json:"tasks,omitempty"`
	Telling time.Time `json:"telling,omitzero"`
	Told    bool      `json:"told,omitempty"`
}

// AlertMemory is what an alert configuration's key remembers.
type AlertMemory struct {
	// Known maps task ids already alerted (or known at the first start) to
	// the task's start time, which bounds how long they are kept.
	Known map[string]time.Time `json:"known"`
	// Intents are the alert posts about to be made, by Intent.Key, until
	// their tasks are known.
	Intents map[string]Intent `json:"intents,omitempty"`
	// Unprimed says the key has intents but no known tasks saved yet:
	// AlertKnown reports no state.
	Unprimed bool `json:"unprimed,omitempty"`
}

func newState() *Document {
	return &Document{Version: version, Digests: map[string]time.Time{}, DigestIntents: map[string]Intent{},
		Alerts: map[string]*AlertMemory{}, Watches: map[string]Watch{}, Actions: map[string]ActionIntent{}, Approvals: map[string]Approval{},
		Living: map[string]pooltask.Alert{}, Muted: map[string]*MutedTasks{}}
}

// Options configure Open.
type Options struct {
	// Lock takes the directory's lock (see LockedError) and removes the
	// temporary files a crash left: the store of a process that writes
	// it (serve). Without it, nothing on disk changes at open.
	Lock bool
	// Program is the version of pooltasks that saves the state
	// (written_by in the file), which an older version names when it
	// refuses the file.
	Program string
	// OnSave, when set, is told the outcome of every save (nil after a
	// success), for health and metrics: a failed save leaves the state in
	// memory, and the next save writes it all.
	OnSave func(error)
}

// Store keeps notify's state in a directory (POOLTASKS_STATE_DIR). Every
// change is written at once, atomically: a temporary file in the same
// directory, fsync, rename, fsync of the directory. The state before the
// last save is kept beside it, so that a main file found torn or corrupt at
// start (a disk that lied about fsync, a hand edit) falls back to the last
// good state. It is safe for concurrent use.
type Store struct {
	dir  string // "" for a store in memory only
	opts Options
	lock *os.File // held while the store is open with Options.Lock
	// write writes a temporary file's content; tests inject a full disk.
	write func(f *os.File, b []byte) (int, error)

	mu       sync.Mutex
	st       *Document
	lastGood []byte // what is in stateFile, known to parse
	// recovered says why the main file was not used at open, if it was not.
	recovered string
	lost      *Loss
}

// Loss is the state Open found but could not read: both files were
// unreadable, so the store started empty.
type Loss struct {
	Dir  string   // the state directory
	Why  string   // why each file was unreadable
	Kept []string // where the unreadable files were kept aside
}

// LockedError is Open refusing a directory whose lock another process
// holds: one process writes a file store, or two schedulers would post
// every window twice and overwrite each other's watches.
type LockedError struct {
	Dir string
	PID int // the holder's process id, as it wrote it; 0 when unknown
}

func (e *LockedError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = fmt.Sprintf("another process (pid %d)", e.PID)
	}
	return fmt.Sprintf("state directory %s is in use by %s", e.Dir, holder)
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// NewerError is Open refusing a state saved by a newer pooltasks, whose
// layout this one does not know: saving over it would lose what it keeps.
type NewerError struct {
	File      string // the file's path
	Version   int    // its layout
	WrittenBy string // the pooltasks version that saved it, when it says
}

func (e *NewerError) Error() string {
	by := e.WrittenBy
	if by == "" {
		by = "a newer pooltasks"
	}
	return fmt.Sprintf("state file %s was written by %s (state version %d; this pooltasks knows version %d): "+
		"refusing to start rather than overwrite it; run that version or newer, or move the directory's files away to start afresh",
		e.File, by, e.Version, version)
}

// Open opens (creating it if needed) the state directory dir and loads
// the last good state in it. When both state files are unreadable, the
// store starts empty and Lost says so (with Options.Lock the files are
// kept aside as state.json.corrupt-<time>). A state saved by a newer
// pooltasks is refused with a *NewerError; with Options.Lock, a directory
// that another process holds is refused with a *LockedError.
func Open(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening state dir: %w", err)
	}
	s := &Store{dir: dir, opts: opts, st: newState(), write: (*os.File).Write}
	if opts.Lock {
		lock, err := lockDir(dir)
		if err != nil {
			return nil, err
		}
		s.lock = lock
		if err := removeTemps(dir); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.load(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Memory returns a store that keeps its state in memory only, for a
// process that may not write the directory another one holds.
func Memory() *Store {
	return &Store{st: newState()}
}

// Close releases the directory's lock, if the store holds it.
func (s *Store) Close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

// load reads the main file, or the previous one when the main file is
// unreadable.
func (s *Store) load() error {
	var why []string
	var found []string
	for _, name := range []string{stateFile, prevFile} {
		path := filepath.Join(s.dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading state: %w", err)
		}
		found = append(found, path)
		st, err := decodeState(b)
		if ne, ok := errors.AsType[*NewerError](err); ok {
			ne.File = path
			return ne
		}
		if err != nil {
			why = append(why, fmt.Sprintf("%s is unreadable (%v)", name, err))
			continue
		}
		s.st, s.lastGood = st, b
		if name == prevFile {
			s.recovered = strings.Join(why, "; ") + "; using " + prevFile
		}
		return nil
	}
	if len(why) == 0 {
		return nil // a fresh start
	}
	s.recovered = strings.Join(why, "; ")
	s.lost = &Loss{Dir: s.dir, Why: s.recovered}
	if !s.opts.Lock {
		return nil
	}
	// Kept aside, so that the next save does not overwrite what someone
	// may want to look at, and the next start does not report it again.
	stamp := time.Now().UTC().Format("20060102T150405Z")
	for _, path := range found {
		aside := path + ".corrupt-" + stamp
		if err := os.Rename(path, aside); err != nil {
			return fmt.Errorf("keeping the unreadable state aside: %w", err)
		}
		s.lost.Kept = append(s.lost.Kept, aside)
	}
	return nil
}

// removeTemps removes the temporary files a save cut short left in dir.
func removeTemps(dir string) error {
	for _, name := range []string{stateFile, prevFile} {
		temps, err := filepath.Glob(filepath.Join(dir, name+".tmp-*"))
		if err != nil {
			return err
		}
		for _, t := range temps {
			if err := os.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing a stale temporary file: %w", err)
			}
		}
	}
	return nil
}

func decodeState(b []byte) (*Document, error) {
	st := newState()
	if err := json.Unmarshal(b, st); err != nil {
		return nil, err
	}
	if st.Version > version {
		return nil, &NewerError{Version: st.Version, WrittenBy: st.WrittenBy}
	}
	if st.Version != version {
		return nil, fmt.Errorf("unknown state version %d", st.Version)
	}
	if st.Digests == nil {
		st.Digests = map[string]time.Time{}
	}
	if st.DigestIntents == nil {
		st.DigestIntents = map[string]Intent{}
	}
	if st.Alerts == nil {
		st.Alerts = map[string]*AlertMemory{}
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
	if st.Living == nil {
		st.Living = map[string]pooltask.Alert{}
	}
	if st.Muted == nil {
		st.Muted = map[string]*MutedTasks{}
	}
	for k, a := range st.Alerts {
		if a == nil || a.Known == nil {
			st.Alerts[k] = &AlertMemory{Known: map[string]time.Time{}}
		}
	}
	return st, nil
}

// Dir returns the state directory ("" for a store in memory).
func (s *Store) Dir() string { return s.dir }

// Recovered describes, for a log line, why the state was not loaded from the
// main file at open; it is empty when it was (or when there was none).
func (s *Store) Recovered() string { return s.recovered }

// Lost describes the state found at open but unreadable, which the store
// started without; nil when nothing was lost.
func (s *Store) Lost() *Loss { return s.lost }

// saveLocked writes the state; s.mu is held. On failure the state stays in
// memory, and the next save writes it.
func (s *Store) saveLocked() error {
	if s.dir == "" {
		return nil
	}
	err := s.writeLocked()
	if s.opts.OnSave != nil {
		s.opts.OnSave(err)
	}
	return err
}

func (s *Store) writeLocked() error {
	s.st.WrittenBy = s.opts.Program
	b, err := json.MarshalIndent(s.st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	if s.lastGood != nil {
		if err := s.writeAtomic(prevFile, s.lastGood); err != nil {
			return err
		}
	}
	if err := s.writeAtomic(stateFile, b); err != nil {
		return err
	}
	s.lastGood = b
	return nil
}

// writeAtomic replaces s.dir/name by b so that a reader sees either the old
// or the new content, never a mix, even across a crash.
func (s *Store) writeAtomic(name string, b []byte) error {
	f, err := os.CreateTemp(s.dir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename this fails harmlessly
	if _, err := s.write(f, b); err != nil {
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
	if err := os.Rename(tmp, filepath.Join(s.dir, name)); err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	if d, err := os.Open(s.dir); err == nil {
		d.Sync() // best effort: some file systems refuse fsync on directories
		d.Close()
	}
	return nil
}

// DigestWatermark returns the end of the last window posted for key.
func (s *Store) DigestWatermark(_ context.Context, key string) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.st.Digests[key]
	return t, ok, nil
}

// SetDigestWatermark records that the windows of key up to end were
// posted, and forgets key's intent if it ends there or before.
func (s *Store) SetDigestWatermark(_ context.Context, key string, end time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Digests[key] = end.UTC()
	if in, ok := s.st.DigestIntents[key]; ok && !in.End.After(end) {
		delete(s.st.DigestIntents, key)
	}
	return s.saveLocked()
}

// DigestIntent returns the window key's schedule is posting, saved by
// SetDigestIntent and not yet covered by its watermark.
func (s *Store) DigestIntent(_ context.Context, key string) (Intent, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.st.DigestIntents[key]
	return in, ok, nil
}

// SetDigestIntent saves that key's schedule is about to post the window of
// in (replacing any intent of key before it).
func (s *Store) SetDigestIntent(_ context.Context, key string, in Intent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.DigestIntents[key] = in
	return s.saveLocked()
}

// AlertKnown returns a copy of the known ids of an alert key and whether the
// key has state at all (false on a fresh start).
func (s *Store) AlertKnown(_ context.Context, key string) (map[string]time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.Alerts[key]
	if !ok || a.Unprimed {
		return nil, false, nil
	}
	m := make(map[string]time.Time, len(a.Known))
	for id, t := range a.Known {
		m[id] = t
	}
	return m, true, nil
}

// AddAlertKnown adds ids (task id → task start) to an alert key's memory,
// then drops ids that started before horizon and the oldest beyond max,
// and forgets the intents whose tasks are all known or which were saved
// before horizon.
func (s *Store) AddAlertKnown(_ context.Context, key string, ids map[string]time.Time, horizon time.Time, max int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.Alerts[key]
	if !ok {
		a = &AlertMemory{Known: map[string]time.Time{}}
		s.st.Alerts[key] = a
	}
	a.Unprimed = false
	for id, t := range ids {
		a.Known[id] = t.UTC()
	}
	for k, in := range a.Intents {
		done := true
		for id := range in.Tasks {
			if _, ok := a.Known[id]; !ok {
				done = false
			}
		}
		if done || in.At.Before(horizon) {
			delete(a.Intents, k)
		}
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

// AlertIntents returns the alert posts of key about to be made, saved by
// AddAlertIntent, whose tasks are not all known yet.
func (s *Store) AlertIntents(_ context.Context, key string) ([]Intent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.Alerts[key]
	if !ok {
		return nil, nil
	}
	out := make([]Intent, 0, len(a.Intents))
	for _, in := range a.Intents {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// AddAlertIntent saves that an alert post of key is about to be made
// (replacing an intent with the same Key).
func (s *Store) AddAlertIntent(_ context.Context, key string, in Intent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.st.Alerts[key]
	if !ok {
		a = &AlertMemory{Known: map[string]time.Time{}, Unprimed: true}
		s.st.Alerts[key] = a
	}
	if a.Intents == nil {
		a.Intents = map[string]Intent{}
	}
	a.Intents[in.Key] = in
	return s.saveLocked()
}

// Watches returns the saved watches.
func (s *Store) Watches(context.Context) ([]Watch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := make([]Watch, 0, len(s.st.Watches))
	for _, w := range s.st.Watches {
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Started.Before(ws[j].Started) })
	return ws, nil
}

// PutWatch saves a watch.
func (s *Store) PutWatch(_ context.Context, w Watch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Watches[w.ID] = w
	return s.saveLocked()
}

// DeleteWatch forgets a watch.
func (s *Store) DeleteWatch(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.Watches[id]; !ok {
		return nil
	}
	delete(s.st.Watches, id)
	return s.saveLocked()
}

// ChartsRefused reports whether Slack refused a chart block before.
func (s *Store) ChartsRefused(context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.ChartsRefused, nil
}

// SetChartsRefused remembers that Slack refuses chart blocks here.
func (s *Store) SetChartsRefused(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.ChartsRefused {
		return nil
	}
	s.st.ChartsRefused = true
	return s.saveLocked()
}
