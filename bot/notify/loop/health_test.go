package loop

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/slack-go/slack"
)

func TestPublicErrorHidesTexts(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&StepError{What: "posting the digest", Err: fmt.Errorf("posting to C1: %w", slack.SlackErrorResponse{Err: "not_in_channel"})}, "posting the digest: Slack answered not_in_channel"},
		{&StepError{What: "saving", Err: &fs.PathError{Op: "open", Path: "/state/x", Err: fs.ErrPermission}}, "saving: open /state/x: permission denied"},
		{errors.New("Authorization: Bearer xoxb-secret"), "see the log for why"},
		{&StepError{What: "posting", Err: errors.New("xapp-1-secret echoed")}, "posting: see the log for why"},
		{context.DeadlineExceeded, "timed out"},
	} {
		if got := PublicError(tc.err); got != tc.want {
			t.Errorf("PublicError(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestBackoffWait(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Minute}
	for failures, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 6: 32 * time.Second, 7: time.Minute, 100: time.Minute} {
		for range 20 {
			if got := b.Wait(failures); got < want/2 || got > want {
				t.Errorf("Wait(%d) = %v, want %v–%v", failures, got, want/2, want)
			}
		}
	}
}

// TestHealthTargets: a loop that works but for a target of several is
// degraded, naming the target (and the gauge of the target); one for which
// no target answered is failing; working again clears both.
func TestHealthTargets(t *testing.T) {
	set := metrics.NewSet()
	h := NewHealth(set)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	eu := &TargetError{Target: "eu", Err: fmt.Errorf("listing: %w", &pooltask.APIError{Status: 500, Code: "APIGW.0201", Message: "secret-ish text", RequestID: "r1"})}
	ap := &TargetError{Target: "ap", Err: context.DeadlineExceeded}
	gauge := func(target string) string {
		var b strings.Builder
		set.WritePrometheus(&b)
		for line := range strings.Lines(b.String()) {
			if v, ok := strings.CutPrefix(line, `pooltasks_loop_target_failing{loop="alerts",target="`+target+`"} `); ok {
				return strings.TrimSpace(v)
			}
		}
		return "none"
	}
	h.Failed(Alerts, now, fmt.Errorf("alerts to C1: %w", errors.Join(eu)))
	want := "alerts: failing since 2026-12-03T12:00:00Z (1 attempts); last error: target eu: the Workspace API answered 500 APIGW.0201 (request id r1)"
	if got := h.Degraded(); got != want || h.Err() != nil {
		t.Errorf("one target down: degraded %q, failing %v; want degraded %q", got, h.Err(), want)
	}
	if gauge("eu") != "1" {
		t.Errorf("eu's gauge %s, want 1", gauge("eu"))
	}
	h.Failed(Alerts, now, joinTargets([]*TargetError{eu, ap}))
	err := h.Err()
	if err == nil || !strings.Contains(err.Error(), "no target answered: target eu: the Workspace API answered 500") ||
		!strings.Contains(err.Error(), "target ap: timed out") || h.Degraded() != "" || strings.Contains(err.Error(), "secret-ish") {
		t.Errorf("every target down: failing %v, degraded %q", err, h.Degraded())
	}
	h.Recovered(Alerts)
	if h.Err() != nil || h.Degraded() != "" || gauge("eu") != "0" || gauge("ap") != "0" {
		t.Errorf("after working again: %v %q, gauges eu %s ap %s", h.Err(), h.Degraded(), gauge("eu"), gauge("ap"))
	}
}
