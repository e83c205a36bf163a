package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/loop"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// TestServeRedisKilledLeader: two serve processes on one Redis, one fake
// Slack and one simulator, posting a digest every two seconds and
// alerting. The scheduler is killed with SIGKILL while windows go out (no
// lease released, no intent settled): the other takes over within one
// lease and a poll, and across the whole run every window from the first
// posted to the last is posted exactly once, and every alert once.
func TestServeRedisKilledLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and waits for leases")
	}
	const lease, every = 3 * time.Second, 2 * time.Second
	f := newFleet(t, lease, "POOLTASKS_DIGEST_CHANNEL=CDIGEST", "POOLTASKS_DIGEST_EVERY="+every.String(),
		"POOLTASKS_ALERT_CHANNEL=CALERT", "POOLTASKS_ALERT_EVERY=1s")
	sl, sm := f.slack, f.sim
	a := startChild(t, f, 1)
	b := startChild(t, f, 2)
	leader := childLeader(t, a, b)
	other := a
	if leader == a {
		other = b
	}
	defer func() {
		if t.Failed() {
			t.Logf("killed scheduler:\n%s\nthe other:\n%s", leader.stderr.String(), other.stderr.String())
		}
	}()
	leader.waitLog(t, `"msg":"alerts started`, 30*time.Second)

	pool := sm.Pools()[0]
	waitAlert(t, sl, putFailed(sm, pool, 1))

	// Two windows posted by the scheduler, then it is killed mid-run.
	if _, err := sl.WaitMessages(2, isDigest, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := leader.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	other.waitLog(t, `"msg":"scheduler lease acquired`, 30*time.Second)
	took := time.Since(killed)
	t.Logf("takeover %v after SIGKILL (lease %v)", took.Round(time.Millisecond), lease)
	// The lease runs out at most one lease after the last renewal; the
	// other replica tries every third of a lease; a second for a loaded
	// machine.
	if limit := lease + lease/3 + time.Second; took > limit {
		t.Errorf("takeover %v after SIGKILL, more than one lease and a poll (%v)", took, limit)
	}

	// The new scheduler goes on: three more windows, a new failure alerted.
	posted := len(digestWindows(t, sl))
	if _, err := sl.WaitMessages(posted+3, isDigest, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	waitAlert(t, sl, putFailed(sm, pool, 2))

	windows := digestWindows(t, sl)
	t.Logf("%d windows posted, %d by the takeover", len(windows), posted)
	seen := map[[2]time.Time]bool{}
	for _, w := range windows {
		if seen[w] {
			t.Errorf("window %v–%v posted twice", w[0], w[1])
		}
		seen[w] = true
	}
	slices.SortFunc(windows, func(x, y [2]time.Time) int { return x[0].Compare(y[0]) })
	for i := 1; i < len(windows); i++ {
		if prev, w := windows[i-1], windows[i]; !w[0].Equal(prev[1]) {
			t.Errorf("windows %v–%v then %v–%v: not contiguous", prev[0], prev[1], w[0], w[1])
		}
	}
	keys := map[string]int{}
	for _, m := range sl.Messages() {
		if m.Method == "chat.postMessage" && m.Channel == "CALERT" {
			if typ, key := record(t, m); typ == loop.AlertRecord {
				keys[key]++
			}
		}
	}
	if len(keys) < 2 {
		t.Errorf("%d alerts with their record, want at least the two failures", len(keys))
	}
	for key, n := range keys {
		if n > 1 {
			t.Errorf("alert %s posted %d times", key, n)
		}
	}
}

// TestServeRedisRestartedEmpty: serve posting a digest every two seconds
// and alerting, on a Redis that restarts empty (no persistence). The
// failures already alerted are not alerted again, a new one is, and the
// digests go on with no window twice.
func TestServeRedisRestartedEmpty(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and waits for leases")
	}
	f := newFleet(t, 3*time.Second, "POOLTASKS_DIGEST_CHANNEL=CDIGEST", "POOLTASKS_DIGEST_EVERY=2s",
		"POOLTASKS_ALERT_CHANNEL=CALERT", "POOLTASKS_ALERT_EVERY=1s")
	sl, sm := f.slack, f.sim
	c := startChild(t, f, 1)
	defer func() {
		if t.Failed() {
			t.Log(c.stderr.String())
		}
	}()
	c.waitLog(t, `"msg":"alerts started`, 30*time.Second)
	pool := sm.Pools()[0]
	first := putFailed(sm, pool, 1)
	waitAlert(t, sl, first)
	if _, err := sl.WaitMessages(2, isDigest, 30*time.Second); err != nil {
		t.Fatal(err)
	}

	f.redis.Stop()
	f.redis.Start()
	before, restarted := len(digestWindows(t, sl)), len(sl.Messages())
	if _, err := sl.WaitMessages(before+2, isDigest, 30*time.Second); err != nil {
		t.Fatalf("no digests after Redis restarted: %v", err)
	}
	second := putFailed(sm, pool, 2)
	waitAlert(t, sl, second)

	// The new failure's alert came after a poll of the failures there: none
	// of them was alerted again.
	for _, m := range sl.Messages()[restarted:] {
		if m.Method == "chat.postMessage" && m.Channel == "CALERT" && m.ThreadTS == "" && !strings.Contains(m.Text, second) {
			t.Errorf("alerted again after Redis restarted empty: %q", m.Text)
		}
	}
	windows := digestWindows(t, sl)
	seen := map[[2]time.Time]bool{}
	for _, w := range windows {
		if seen[w] {
			t.Errorf("window %v–%v posted twice", w[0], w[1])
		}
		seen[w] = true
	}
}

// putFailed puts failed task n of pool in the simulator, and returns its id.
func putFailed(sm *sim.Sim, pool pooltask.Pool, n int) string {
	now := time.Now().UTC().Truncate(time.Second)
	tk := pooltask.Task{ID: fmt.Sprintf("bbbbbbbb-0000-4000-8000-%012d", n), PoolID: pool.ID, PoolName: pool.Name,
		Scripts: []pooltask.Script{{ID: "s-agent", Name: "install-agent"}}, Status: pooltask.StatusFailed,
		Start: now.Add(-2 * time.Minute), End: now.Add(-time.Minute), FailedNum: 1, SuccessNum: 9}
	sm.PutTask(tk, pooltask.Record{DesktopName: "desk-01", DesktopID: fmt.Sprintf("d-%d", n), ScriptName: "install-agent",
		Status: "FAILED", ResultCode: "1", Reason: "disk C: full", Start: tk.Start, End: tk.End})
	return tk.ID
}

// waitAlert waits for the alert root of task in CALERT.
func waitAlert(t *testing.T, sl *slacktest.Server, task string) {
	t.Helper()
	if _, err := sl.WaitMessage(func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && m.Channel == "CALERT" && m.ThreadTS == "" && strings.Contains(m.Text, task)
	}, 30*time.Second); err != nil {
		t.Fatalf("no alert of %s: %v", task, err)
	}
}

// isDigest is a scheduled digest post in CDIGEST.
func isDigest(m slacktest.Message) bool {
	return m.Method == "chat.postMessage" && m.Channel == "CDIGEST" && strings.Contains(string(m.Metadata), loop.DigestRecord)
}

// digestWindows are the [start, end) of the digests posted, in the order
// they were posted, read from their metadata's key (…|start|end).
func digestWindows(t *testing.T, sl *slacktest.Server) [][2]time.Time {
	t.Helper()
	var out [][2]time.Time
	for _, m := range sl.Messages() {
		if !isDigest(m) {
			continue
		}
		_, key := record(t, m)
		f := strings.Split(key, "|")
		if len(f) < 2 {
			t.Fatalf("digest key %q has no window", key)
		}
		start, err1 := time.Parse(time.RFC3339, f[len(f)-2])
		end, err2 := time.Parse(time.RFC3339, f[len(f)-1])
		if err1 != nil || err2 != nil {
			t.Fatalf("digest key %q: %v %v", key, err1, err2)
		}
		out = append(out, [2]time.Time{start, end})
	}
	return out
}

// record is the event type and key of a post's message metadata.
func record(t *testing.T, m slacktest.Message) (typ, key string) {
	t.Helper()
	if len(m.Metadata) == 0 {
		return "", ""
	}
	var md struct {
		EventType    string `json:"event_type"`
		EventPayload struct {
			Key string `json:"key"`
		} `json:"event_payload"`
	}
	if err := json.Unmarshal(m.Metadata, &md); err != nil {
		t.Fatalf("metadata %s: %v", m.Metadata, err)
	}
	return md.EventType, md.EventPayload.Key
}
