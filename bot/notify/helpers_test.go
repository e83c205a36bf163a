package notify

import (
	"context"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/notifytest"
	"github.com/pooltasks/pooltasks/bot/notify/state"
)

// runBG runs f in a goroutine until the test ends; the returned stop
// cancels it and waits for it to return.
func runBG(t *testing.T, f func(ctx context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("run did not return 10s after its ctx ended")
		}
	}
	t.Cleanup(stop)
	return stop
}

func openStore(t *testing.T, dir string) *state.Store {
	t.Helper()
	s, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var _ Lister = (*notifytest.Lister)(nil)
var _ Poster = (*notifytest.Poster)(nil)
var _ Clock = (*notifytest.Clock)(nil)
