package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	end := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	if err := s.SetDigestWatermark(t.Context(), "k", end); err != nil {
		t.Fatal(err)
	}
	if err := s.PutWatch(t.Context(), Watch{ID: "w1", TaskID: "t1", Target: "sim-b", Channel: "C1", MessageTS: "1.2", UserID: "U1", Started: end,
		Act: &WatchAct{Action: "stop", Actor: "U2", At: end, Outcome: "done"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAlertKnown(t.Context(), "a", map[string]time.Time{"t9": end}, end.Add(-time.Hour), 10); err != nil {
		t.Fatal(err)
	}

	s2 := openStore(t, dir)
	if got, ok, _ := s2.DigestWatermark(t.Context(), "k"); !ok || !got.Equal(end) {
		t.Errorf("watermark = %v, %v; want %v", got, ok, end)
	}
	if ws, _ := s2.Watches(t.Context()); len(ws) != 1 || ws[0].TaskID != "t1" || ws[0].Target != "sim-b" || ws[0].MessageTS != "1.2" || ws[0].Act == nil || ws[0].Act.Actor != "U2" || !ws[0].Act.At.Equal(end) {
		t.Errorf("watches = %+v", ws)
	}
	if known, ok, _ := s2.AlertKnown(t.Context(), "a"); !ok || len(known) != 1 {
		t.Errorf("alert known = %v, %v", known, ok)
	}
	if _, ok, _ := s2.AlertKnown(t.Context(), "other"); ok {
		t.Error("an alert key never saved has state")
	}
}

func TestStoreTornWriteKeepsLastGoodState(t *testing.T) {
	good := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		tear  func(t *testing.T, dir string)
		check func(t *testing.T, s *Store)
	}{
		{
			name: "garbage temp file left by a crash",
			tear: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, stateFile+".tmp-123"), `{"version":1,"digests":{"k":"2099-`)
			},
		},
		{
			name: "truncated main file",
			tear: func(t *testing.T, dir string) {
				b, err := os.ReadFile(filepath.Join(dir, stateFile))
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(dir, stateFile), string(b[:len(b)/2]))
			},
		},
		{
			name: "garbage main file",
			tear: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, stateFile), "\x00\x00\x00garbage")
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir)
			if err := s.SetDigestWatermark(t.Context(), "k", good.Add(-24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := s.SetDigestWatermark(t.Context(), "k", good); err != nil {
				t.Fatal(err)
			}
			tc.tear(t, dir)
			s2 := openStore(t, dir)
			got, ok, _ := s2.DigestWatermark(t.Context(), "k")
			if !ok {
				t.Fatal("state lost")
			}
			// A torn main file falls back to the state before the last
			// save; an untouched main file still holds the last one.
			if !got.Equal(good) && !got.Equal(good.Add(-24*time.Hour)) {
				t.Errorf("watermark = %v, want a good state", got)
			}
			if tc.name == "garbage temp file left by a crash" && !got.Equal(good) {
				t.Errorf("watermark = %v, want %v", got, good)
			}
			if tc.name != "garbage temp file left by a crash" && s2.Recovered() == "" {
				t.Error("Recovered() is empty after a torn main file")
			}
			// The store still saves after recovering.
			if err := s2.SetDigestWatermark(t.Context(), "k", good.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got, _, _ := openStore(t, dir).DigestWatermark(t.Context(), "k"); !got.Equal(good.Add(time.Hour)) {
				t.Errorf("after saving again: %v", got)
			}
		})
	}
}

func TestStoreBothFilesCorruptStartsEmpty(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, stateFile), "{")
	writeFile(t, filepath.Join(dir, prevFile), "nope")
	s := openStore(t, dir)
	if _, ok, _ := s.DigestWatermark(t.Context(), "k"); ok {
		t.Error("watermark from corrupt files")
	}
	if s.Recovered() == "" {
		t.Error("Recovered() is empty")
	}
	// Opened without the lock, nothing on disk changes.
	if l := s.Lost(); l == nil || len(l.Kept) != 0 {
		t.Errorf("Lost() = %+v, want a loss with nothing kept aside", l)
	}
	if _, err := os.Stat(filepath.Join(dir, stateFile)); err != nil {
		t.Errorf("the main file was moved by an open without the lock: %v", err)
	}
}

// TestStoreBothFilesCorruptKeptAside: the store that owns the directory
// keeps unreadable files aside, says what it lost once, and saves afresh.
func TestStoreBothFilesCorruptKeptAside(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, stateFile), "{")
	writeFile(t, filepath.Join(dir, prevFile), "nope")
	s := lockedStore(t, dir)
	l := s.Lost()
	if l == nil {
		t.Fatal("Lost() is nil after both files were unreadable")
	}
	if len(l.Kept) != 2 || !strings.Contains(l.Why, "state.json is unreadable") || !strings.Contains(l.Why, "state.prev.json is unreadable") {
		t.Errorf("Lost() = %+v", l)
	}
	for i, want := range []string{"{", "nope"} {
		if !strings.HasPrefix(filepath.Base(l.Kept[i]), []string{stateFile, prevFile}[i]+".corrupt-") {
			t.Errorf("kept as %s", l.Kept[i])
		}
		if b, err := os.ReadFile(l.Kept[i]); err != nil || string(b) != want {
			t.Errorf("%s holds %q, %v; want %q", l.Kept[i], b, err, want)
		}
	}
	if err := s.SetDigestWatermark(t.Context(), "k", time.Now()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if l := lockedStore(t, dir).Lost(); l != nil {
		t.Errorf("the loss is reported again at the next start: %+v", l)
	}
}

func TestStoreRefusesNewerVersion(t *testing.T) {
	for _, file := range []string{stateFile, prevFile} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			if file == prevFile {
				writeFile(t, filepath.Join(dir, stateFile), "torn")
			}
			newer := `{"version": 2, "written_by": "pooltasks v9.1.0", "digests": {"k": "2026-11-27T09:00:00Z"}}`
			writeFile(t, filepath.Join(dir, file), newer)
			_, err := Open(dir, Options{Lock: true, Program: "pooltasks v1.0.0"})
			ne, ok := errors.AsType[*NewerError](err)
			if !ok {
				t.Fatalf("Open = %v, want a *NewerError", err)
			}
			if ne.Version != 2 || ne.WrittenBy != "pooltasks v9.1.0" || ne.File != filepath.Join(dir, file) {
				t.Errorf("error = %+v", ne)
			}
			for _, w := range []string{"pooltasks v9.1.0", "state version 2", "knows version 1", "refusing"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if b, _ := os.ReadFile(filepath.Join(dir, file)); string(b) != newer {
				t.Errorf("the newer file was changed: %s", b)
			}
			// The refused open let go of the lock.
			if _, held, err := Holder(dir); held || err != nil {
				t.Errorf("Holder = %v, %v after a refused open", held, err)
			}
		})
	}
}

func TestStoreSavesWhoWroteIt(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Program: "pooltasks v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetChartsRefused(t.Context()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, stateFile))
	if !strings.Contains(string(b), `"written_by": "pooltasks v1.2.3"`) {
		t.Errorf("state file:\n%s", b)
	}
}

func TestStoreRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{stateFile + ".tmp-1", prevFile + ".tmp-2"} {
		writeFile(t, filepath.Join(dir, n), "half a sta")
	}
	writeFile(t, filepath.Join(dir, "notes.txt"), "mine")
	openStore(t, dir) // without the lock: another process may be saving
	if got, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(got) != 2 {
		t.Fatalf("an open without the lock removed temporary files: %v", got)
	}
	lockedStore(t, dir)
	if got, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(got) != 0 {
		t.Errorf("stale temporary files left: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("a file that is not the store's was removed: %v", err)
	}
}

// TestStoreLockOneWriter: a second store on a locked directory is
// refused, saying who holds it, whether it is opened in this process or
// in another one (flock is per open file description), until the first
// closes.
func TestStoreLockOneWriter(t *testing.T) {
	dir := t.TempDir()
	if _, held, err := Holder(dir); held || err != nil {
		t.Fatalf("Holder of a fresh directory = %v, %v", held, err)
	}
	first := lockedStore(t, dir)
	_, err := Open(dir, Options{Lock: true})
	le, ok := errors.AsType[*LockedError](err)
	if !ok {
		t.Fatalf("second Open = %v, want a *LockedError", err)
	}
	if le.PID != os.Getpid() || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("error = %v (pid %d), want this process's pid %d", err, le.PID, os.Getpid())
	}
	if pid, held, err := Holder(dir); !held || pid != os.Getpid() || err != nil {
		t.Errorf("Holder = %d, %v, %v; want this process", pid, held, err)
	}
	// A store without the lock (a reader) still opens.
	openStore(t, dir)
	first.Close()
	lockedStore(t, dir)
}

// TestStoreDiskFull: a save that fails (the disk is full) leaves the file
// as it was and no temporary file, tells OnSave, and keeps the change in
// memory; the next save once there is room writes everything.
func TestStoreDiskFull(t *testing.T) {
	dir := t.TempDir()
	var saves []error
	s, err := Open(dir, Options{Lock: true, OnSave: func(err error) { saves = append(saves, err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	end := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	if err := s.SetDigestWatermark(t.Context(), "k", end); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, stateFile))
	s.write = func(f *os.File, b []byte) (int, error) {
		n, _ := f.Write(b[:len(b)/2])
		return n, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	err = s.SetDigestWatermark(t.Context(), "k", end.Add(time.Hour))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("save on a full disk = %v, want ENOSPC", err)
	}
	if len(saves) != 2 || saves[0] != nil || !errors.Is(saves[1], syscall.ENOSPC) {
		t.Errorf("OnSave got %v", saves)
	}
	if got, _, _ := s.DigestWatermark(t.Context(), "k"); !got.Equal(end.Add(time.Hour)) {
		t.Errorf("in memory: %v, want the change kept", got)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, stateFile)); string(after) != string(before) {
		t.Errorf("the state file changed on a failed save:\n%s", after)
	}
	if got, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(got) != 0 {
		t.Errorf("temporary files left: %v", got)
	}
	s.write = (*os.File).Write
	if err := s.SetChartsRefused(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := openStore(t, dir)
	if got, _, _ := s2.DigestWatermark(t.Context(), "k"); !got.Equal(end.Add(time.Hour)) || !refused(t, s2) {
		t.Errorf("after room again: watermark %v, charts refused %v", got, refused(t, s2))
	}
}

func TestStoreIntents(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	end := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	in := Intent{Key: "d1", At: end.Add(time.Minute), Start: end, End: end.Add(time.Hour)}
	if err := s.SetDigestIntent(t.Context(), "k", in); err != nil {
		t.Fatal(err)
	}
	a1 := Intent{Key: "a1", At: end, Tasks: map[string]time.Time{"t1": end}}
	a2 := Intent{Key: "a2", At: end, Tasks: map[string]time.Time{"t2": end, "t3": end}}
	old := Intent{Key: "a0", At: end.Add(-48 * time.Hour), Tasks: map[string]time.Time{"t0": end}}
	for _, a := range []Intent{a1, a2, old} {
		if err := s.AddAlertIntent(t.Context(), "ak", a); err != nil {
			t.Fatal(err)
		}
	}
	if _, primed, _ := s.AlertKnown(t.Context(), "ak"); primed {
		t.Error("an alert intent made the key primed")
	}
	s2 := openStore(t, dir) // they survive a restart
	if got, ok, _ := s2.DigestIntent(t.Context(), "k"); !ok || got.Key != "d1" || !got.End.Equal(in.End) {
		t.Errorf("digest intent = %+v, %v", got, ok)
	}
	if got, _ := s2.AlertIntents(t.Context(), "ak"); len(got) != 3 {
		t.Errorf("alert intents = %+v", got)
	}
	// A watermark short of the window keeps its intent; one at its end
	// forgets it.
	if err := s2.SetDigestWatermark(t.Context(), "k", end); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s2.DigestIntent(t.Context(), "k"); !ok {
		t.Error("intent forgotten by a watermark before its window's end")
	}
	if err := s2.SetDigestWatermark(t.Context(), "k", end.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s2.DigestIntent(t.Context(), "k"); ok {
		t.Error("intent kept after its window was saved as posted")
	}
	// An alert intent goes once all its tasks are known, or past horizon.
	if err := s2.AddAlertKnown(t.Context(), "ak", map[string]time.Time{"t1": end, "t2": end}, end.Add(-24*time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	got, _ := s2.AlertIntents(t.Context(), "ak")
	if len(got) != 1 || got[0].Key != "a2" {
		t.Errorf("alert intents = %+v, want a2 alone", got)
	}
}

func TestStoreAlertMemoryBounded(t *testing.T) {
	s := openStore(t, t.TempDir())
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	ids := map[string]time.Time{}
	for i := range 20 {
		ids[string(rune('a'+i))] = now.Add(-time.Duration(i) * time.Hour)
	}
	// Horizon drops those older than 15h; max keeps the 10 newest.
	if err := s.AddAlertKnown(t.Context(), "k", ids, now.Add(-15*time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	known, _, _ := s.AlertKnown(t.Context(), "k")
	if len(known) != 10 {
		t.Fatalf("kept %d ids, want 10", len(known))
	}
	for id, at := range known {
		if at.Before(now.Add(-9 * time.Hour)) {
			t.Errorf("kept old id %s (%v)", id, at)
		}
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func lockedStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{Lock: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func refused(t *testing.T, s *Store) bool {
	t.Helper()
	r, err := s.ChartsRefused(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return r
}
