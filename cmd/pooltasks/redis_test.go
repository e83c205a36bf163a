package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
	"github.com/pooltasks/pooltasks/bot/slacktest"
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
