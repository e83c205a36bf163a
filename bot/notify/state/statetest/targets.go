package statetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/state"
)

// TargetStore is the state digests and alerts keep per target of several
// (bot/notify/digest, bot/notify/alert): under the one target's key
// ("C1|" for an alert route) and that key with "|TARGET".
type TargetStore interface {
	AlertKnown(ctx context.Context, key string) (map[string]time.Time, bool, error)
	AddAlertKnown(ctx context.Context, key string, ids map[string]time.Time, horizon time.Time, max int) error
	DigestWatermark(ctx context.Context, key string) (time.Time, bool, error)
	SetDigestWatermark(ctx context.Context, key string, end time.Time) error
	DigestIntent(ctx context.Context, key string) (state.Intent, bool, error)
	SetDigestIntent(ctx context.Context, key string, in state.Intent) error
}

// Targets checks that each target's alerted tasks and digest watermark
// are its own beside the one target's (whose key is the key a deployment
// of one target always had), and that a digest's intent keeps the targets
// it is posted without, across a restart (a handle opened afresh).
func Targets(t *testing.T, s TargetStore, restart func() TargetStore) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	horizon := at.Add(-24 * time.Hour)
	for key, id := range map[string]string{"C1|": "t-one", "C1||sim-a": "t-a", "C1||sim-b": "t-b"} {
		if err := s.AddAlertKnown(ctx, key, map[string]time.Time{id: at}, horizon, 100); err != nil {
			t.Fatal(err)
		}
	}
	for key, end := range map[string]time.Time{"D|1h": at, "D|1h|sim-a": at, "D|1h|sim-b": at.Add(-2 * time.Hour)} {
		if err := s.SetDigestWatermark(ctx, key, end); err != nil {
			t.Fatal(err)
		}
	}
	in := state.Intent{Key: "D|1h|w", At: at, Start: at, End: at.Add(time.Hour), Missing: []string{"sim-b"}}
	if err := s.SetDigestIntent(ctx, "D|1h", in); err != nil {
		t.Fatal(err)
	}
	for _, st := range []TargetStore{s, restart()} {
		for key, id := range map[string]string{"C1|": "t-one", "C1||sim-a": "t-a", "C1||sim-b": "t-b"} {
			known, ok, err := st.AlertKnown(ctx, key)
			if _, has := known[id]; err != nil || !ok || !has || len(known) != 1 {
				t.Errorf("alerted tasks of %q: %v, %v, %v; want %s alone", key, known, ok, err, id)
			}
		}
		for key, want := range map[string]time.Time{"D|1h": at, "D|1h|sim-a": at, "D|1h|sim-b": at.Add(-2 * time.Hour)} {
			if end, ok, err := st.DigestWatermark(ctx, key); err != nil || !ok || !end.Equal(want) {
				t.Errorf("watermark of %q: %v, %v, %v; want %v", key, end, ok, err, want)
			}
		}
		got, ok, err := st.DigestIntent(ctx, "D|1h")
		if err != nil || !ok || got.Key != in.Key || !slices.Equal(got.Missing, in.Missing) {
			t.Errorf("digest intent %+v, %v, %v; want %+v", got, ok, err, in)
		}
	}
}
