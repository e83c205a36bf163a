package main

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// TestServeRedisState: with POOLTASKS_REDIS_URL, serve keeps its state in
// Redis under POOLTASKS_REDIS_PREFIX (a watch, the alert memory, the
// digest watermark) and writes nothing to POOLTASKS_STATE_DIR.
func TestServeRedisState(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Password: secret(t, "redis-")})
	cfg := defaults(t)
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.StateDir = t.TempDir()
	cfg.RedisURL, cfg.RedisPrefix = srv.URL(), "pt-test:"
	cfg.DigestChannel, cfg.AlertChannel = "CDIGEST", "CALERT"
	s := startServe(t, cfg, slacktest.Options{})

	running := runningTaskID(t, s.sim)
	if m := s.slash(t, "U1", "C2", "watch "+running); !strings.Contains(m.Text, "Watching task") {
		t.Fatalf("watch: %q %s", m.Text, m.Blocks)
	}
	waitRedis(t, srv, func() bool {
		return srv.Do("HLEN", "pt-test:watches") == "1" &&
			len(srv.List("KEYS", "pt-test:alert:*")) == 1 && len(srv.List("KEYS", "pt-test:digest:*")) == 1
	}, "a watch, the alert memory and a digest watermark under the prefix")
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if srv.Do("HLEN", "pt-test:watches") != "1" {
		t.Error("the watch was not kept in Redis at shutdown")
	}
	if entries, _ := os.ReadDir(cfg.StateDir); len(entries) != 0 {
		t.Errorf("the state directory has %d files in Redis mode", len(entries))
	}
	if strings.Contains(s.stderr.String()+s.stdout.String(), srv.Password) {
		t.Error("the Redis password reached the output")
	}
}

// waitRedis polls cond until it holds, failing t after 30 s.
func waitRedis(t *testing.T, srv *redistest.Server, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in Redis after 30 s; keys: %s", what, srv.Do("DBSIZE"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeRedisReplicas is two replicas of serve on one Redis, one fake
// Slack and one simulator: one of them holds the scheduler lease; a watch
// asked of the other is followed by the scheduler (its Stop, pressed on
// the other, ends it); when the scheduler stops, the other takes over
// within one lease and goes on with the running watch, on the same
// message; no alert is posted twice.
func TestServeRedisReplicas(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	cfg := defaults(t)
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.StateDir = t.TempDir()
	cfg.RedisURL, cfg.Lease = srv.URL(), 3*time.Second
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.AlertChannel, cfg.AlertEvery = "CALERT", 10*time.Second
	a := startServe(t, cfg, slacktest.Options{})
	b := startServeOn(t, a.cfg, a.slack, a.sim)
	sl := a.slack

	leader, other := waitLeader(t, a, b)
	tasks := runningTaskIDs(t, a.sim)
	if len(tasks) < 2 {
		t.Fatalf("the simulator runs %d tasks, want 2", len(tasks))
	}
	// A watch asked of the replica that does not schedule.
	watchMsg := func(task string, to *served) slacktest.Message {
		t.Helper()
		_, url := sl.SlashCommand(slacktest.SlashCommand{Text: "watch " + task, UserID: "U1", ChannelID: "C2", Connection: to.conn})
		if m, err := sl.WaitMessage(slacktest.ForResponseURL(url), 30*time.Second); err != nil {
			t.Fatal(err)
		} else if !strings.Contains(m.Text, "Watching task") {
			t.Fatalf("watch: %q %s", m.Text, m.Blocks)
		}
		m, err := sl.WaitMessage(func(m slacktest.Message) bool {
			return m.Method == "chat.postMessage" && m.Channel == "C2" && strings.Contains(m.Text+string(m.Blocks), task)
		}, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	stop := func(m slacktest.Message, to *served) {
		t.Helper()
		b := findButton(t, m, "watch_stop")
		sl.BlockAction(slacktest.BlockAction{UserID: "U1", ChannelID: "C2", ActionID: b.ActionID, Value: b.Value,
			MessageTS: m.TS, Connection: to.conn})
		if _, err := sl.WaitMessage(func(u slacktest.Message) bool {
			return u.Method == "chat.update" && u.TS == m.TS && strings.Contains(string(u.Blocks), "Stopped by")
		}, 30*time.Second); err != nil {
			t.Fatalf("no Stopped update of the watch message %s: %v", m.TS, err)
		}
	}
	first := watchMsg(tasks[0], other)
	stop(first, other)
	waitLog(t, leader, `"msg":"watch ended"`)
	if strings.Contains(other.stderr.String(), `"msg":"watch ended"`) {
		t.Error("the replica that does not schedule ended a watch")
	}

	// The scheduler goes; the other replica takes over and goes on with
	// the running watch.
	second := watchMsg(tasks[1], other)
	waitRedis(t, srv, func() bool { return strings.Contains(leader.stderr.String(), `"msg":"watch resumed"`) }, "watch picked up by the scheduler")
	gone := time.Now()
	if err := leader.stop(); err != nil {
		t.Fatal(err)
	}
	waitLog(t, other, `"msg":"scheduler lease acquired`)
	if took := time.Since(gone); took > cfg.Lease {
		t.Errorf("takeover after %v, more than one lease (%v)", took, cfg.Lease)
	}
	stop(second, other)
	posts := 0
	for _, m := range sl.Messages() {
		if m.Method == "chat.postMessage" && m.Channel == "C2" && strings.Contains(m.Text+string(m.Blocks), tasks[1]) && m.ThreadTS == "" {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("%d watch messages for %s, want the one message followed by both schedulers", posts, tasks[1])
	}
	alerted := map[string]int{}
	for _, m := range sl.Messages() {
		if m.Method == "chat.postMessage" && m.Channel == "CALERT" {
			alerted[m.Text]++
		}
	}
	for text, n := range alerted {
		if n > 1 {
			t.Errorf("alert posted %d times: %q", n, text)
		}
	}
}

// waitLeader waits until exactly one of the replicas holds the scheduler
// lease, and returns it first.
func waitLeader(t *testing.T, a, b *served) (leader, other *served) {
	t.Helper()
	const acquired = `"msg":"scheduler lease acquired`
	deadline := time.Now().Add(30 * time.Second)
	for {
		la, lb := strings.Contains(a.stderr.String(), acquired), strings.Contains(b.stderr.String(), acquired)
		switch {
		case la && lb:
			t.Fatal("both replicas acquired the scheduler lease")
		case la:
			return a, b
		case lb:
			return b, a
		case time.Now().After(deadline):
			t.Fatalf("no replica acquired the scheduler lease:\n%s\n%s", a.stderr.String(), b.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runningTaskIDs are the ids of the simulator's running tasks.
func runningTaskIDs(t *testing.T, sm *sim.Sim) []string {
	t.Helper()
	var ids []string
	for _, tk := range sm.Tasks() {
		if tk.Status == pooltask.StatusRunning {
			ids = append(ids, tk.ID)
		}
	}
	return ids
}

// TestServeRedisDedupeAndDegraded: a slash command that Slack redelivers
// to the other replica is answered once; with Redis down a replica still
// answers queries and /readyz says 200 "degraded", and watches are
// refused with a clear answer.
func TestServeRedisDedupeAndDegraded(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	cfg := defaults(t)
	cfg.AK, cfg.SK = sim.DemoAK, sim.DemoSK
	cfg.StateDir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"
	cfg.RedisURL, cfg.Lease = srv.URL(), 3*time.Second
	a := startServe(t, cfg, slacktest.Options{})
	b := startServeOn(t, a.cfg, a.slack, a.sim)
	sl := a.slack

	id, url := sl.SlashCommand(slacktest.SlashCommand{Text: "failed since=7d", UserID: "U1", ChannelID: "C1", Connection: a.conn})
	if _, err := sl.WaitMessage(slacktest.ForResponseURL(url), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	sl.SlashCommand(slacktest.SlashCommand{Text: "failed since=7d", UserID: "U1", ChannelID: "C1", Connection: b.conn,
		EnvelopeID: id, RetryAttempt: 1, ResponseURL: url})
	waitLog(t, b, `"msg":"envelope already answered by another replica"`)
	answers := 0
	for _, m := range sl.Messages() {
		if m.ResponseURL == url {
			answers++
		}
	}
	if answers != 1 {
		t.Errorf("%d answers to one command delivered to two replicas, want 1", answers)
	}

	srv.Stop()
	addr := regexp.MustCompile(`"msg":"serving Slack".*"http_addr":"([^"]+)"`).FindStringSubmatch(a.stderr.String())
	if addr == nil {
		t.Fatalf("no HTTP address in the log")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr[1] + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.HasPrefix(string(body), "degraded: redis does not answer") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %q with Redis down, want 200 degraded", resp.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m := a.slash(t, "U1", "C1", "failed since=7d"); !strings.Contains(m.Text, "Failed tasks") {
		t.Errorf("a query with Redis down: %q", m.Text)
	}
	if m := a.slash(t, "U1", "C2", "watch "+runningTaskID(t, a.sim)); !strings.Contains(m.Text+string(m.Blocks), "shared state (Redis), which does not answer") {
		t.Errorf("a watch with Redis down: %q %s", m.Text, m.Blocks)
	}
}
