package state

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	end := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	if err := s.SetDigestWatermark("k", end); err != nil {
		t.Fatal(err)
	}
	if err := s.PutWatch(Watch{ID: "w1", TaskID: "t1", Channel: "C1", MessageTS: "1.2", UserID: "U1", Started: end}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAlertKnown("a", map[string]time.Time{"t9": end}, end.Add(-time.Hour), 10); err != nil {
		t.Fatal(err)
	}

	s2 := openStore(t, dir)
	if got, ok := s2.DigestWatermark("k"); !ok || !got.Equal(end) {
		t.Errorf("watermark = %v, %v; want %v", got, ok, end)
	}
	if ws := s2.Watches(); len(ws) != 1 || ws[0].TaskID != "t1" || ws[0].MessageTS != "1.2" {
		t.Errorf("watches = %+v", ws)
	}
	if known, ok := s2.AlertKnown("a"); !ok || len(known) != 1 {
		t.Errorf("alert known = %v, %v", known, ok)
	}
	if _, ok := s2.AlertKnown("other"); ok {
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
			if err := s.SetDigestWatermark("k", good.Add(-24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := s.SetDigestWatermark("k", good); err != nil {
				t.Fatal(err)
			}
			tc.tear(t, dir)
			s2 := openStore(t, dir)
			got, ok := s2.DigestWatermark("k")
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
			if err := s2.SetDigestWatermark("k", good.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got, _ := openStore(t, dir).DigestWatermark("k"); !got.Equal(good.Add(time.Hour)) {
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
	if _, ok := s.DigestWatermark("k"); ok {
		t.Error("watermark from corrupt files")
	}
	if s.Recovered() == "" {
		t.Error("Recovered() is empty")
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
	if err := s.AddAlertKnown("k", ids, now.Add(-15*time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	known, _ := s.AlertKnown("k")
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
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
