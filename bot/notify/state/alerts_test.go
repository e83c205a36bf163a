package state_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/pooltasks/pooltasks/bot/notify/state"
	"github.com/pooltasks/pooltasks/bot/notify/state/statetest"
)

// TestFileStoreAlertsAndMutes: the file store keeps living alerts and
// mutes as every store must, across a restart.
func TestFileStoreAlertsAndMutes(t *testing.T) {
	dir := t.TempDir()
	open := func() statetest.Store {
		s, err := state.Open(dir, state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	statetest.AlertsAndMutes(t, s, s, open)
}

// TestFileStoreActions: the file store keeps actions per target, and reads
// a state file written before targets existed.
func TestFileStoreActions(t *testing.T) {
	dir := t.TempDir()
	open := func() statetest.ActionStore {
		s, err := state.Open(dir, state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	statetest.Actions(t, s, s, open, func(key, raw string) {
		// As the version before targets saved it: the state file holds
		// it with what this store saved.
		b, err := os.ReadFile(filepath.Join(dir, "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		var acts map[string]json.RawMessage
		json.Unmarshal(doc["actions"], &acts)
		acts[key] = json.RawMessage(raw)
		doc["actions"], _ = json.Marshal(acts)
		b, _ = json.Marshal(doc)
		if err := os.WriteFile(filepath.Join(dir, "state.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFileStoreTargets: the file store keeps each target's alerted tasks
// and digest watermarks as every store must.
func TestFileStoreTargets(t *testing.T) {
	dir := t.TempDir()
	open := func() statetest.TargetStore {
		s, err := state.Open(dir, state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	statetest.Targets(t, open(), open)
}
