package state_test

import (
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
