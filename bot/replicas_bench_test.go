package bot_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot/notify/state/redistest"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// BenchmarkReplicas600 runs three replicas of `pooltasks serve` (built as
// the Dockerfile builds it) sharing one redis-server (POOLTASKS_REDIS_URL),
// one fake Slack and one simulator answering after 100 ms, and sends 600
// slash commands at once (the mix of BenchmarkBurst200, from 150 users),
// spread over the replicas' connections as Slack spreads envelopes. It
// reports the end-to-end and ack latency, the Workspace API requests (the
// replicas do not share an answer cache) and each replica's peak RSS.
func BenchmarkReplicas600(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	sl := slacktest.New(b, slacktest.Options{})
	sm := sim.New(sim.Options{Seed: 1, Latency: envDuration(b, "BENCH_API_LATENCY", 100*time.Millisecond)})
	api := httptest.NewServer(sm)
	b.Cleanup(api.Close)
	bin := os.Getenv("BENCH_BOT_BIN")
	if bin == "" {
		bin = buildBot(b)
	}
	const replicas, n = 3, 600
	var pids []string
	for i := range replicas {
		cmd := exec.Command(bin, "serve")
		cmd.Env = []string{
			"SLACK_APP_TOKEN=" + slacktest.AppToken, "SLACK_BOT_TOKEN=" + slacktest.BotToken, "SLACK_API_URL=" + sl.APIURL(),
			"WORKSPACE_ENDPOINT=" + api.URL, "WORKSPACE_REGION=sim-local-1", "WORKSPACE_PROJECT_ID=" + sim.DemoProjectID,
			"HUAWEICLOUD_SDK_AK=" + sim.DemoAK, "HUAWEICLOUD_SDK_SK=" + sim.DemoSK,
			"WORKSPACE_RATE_LIMIT=50", "WORKSPACE_CACHE_TTL=10s", "POOLTASKS_USER_RATE=0",
			"POOLTASKS_REDIS_URL=" + srv.URL(), "POOLTASKS_STATE_DIR=" + b.TempDir(), "POOLTASKS_HTTP_ADDR=" + freeAddr(b),
		}
		logs, err := os.Create(filepath.Join(b.TempDir(), "bot.log"))
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
			logs.Close()
		})
		if err := sl.WaitConnections(i+1, wait); err != nil {
			out, _ := os.ReadFile(logs.Name())
			b.Fatalf("%v; replica %d wrote:\n%s", err, i+1, out)
		}
		pids = append(pids, fmt.Sprint(cmd.Process.Pid))
	}
	pools := sm.Pools()[:3]
	var acks, e2e []time.Duration
	calls0 := sm.Requests()
	p := &botProcess{slack: sl, sim: sm}
	b.ResetTimer()
	for b.Loop() {
		sent := make(map[string]time.Time, n)
		ids := make([]string, 0, n)
		for i := range n {
			url := sl.ResponseURL()
			sent[url] = time.Now()
			id, _ := sl.SlashCommand(slacktest.SlashCommand{Text: benchCommand(i, pools),
				UserID: fmt.Sprintf("U%d", i%150), ChannelID: "C1", ResponseURL: url, Connection: 1 + i%replicas})
			ids = append(ids, id)
		}
		got, err := sl.WaitMessages(n, func(m slacktest.Message) bool {
			_, ok := sent[m.ResponseURL]
			return ok
		}, 2*time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range got {
			e2e = append(e2e, m.At.Sub(sent[m.ResponseURL]))
			delete(sent, m.ResponseURL)
		}
		acks = append(acks, p.ackLatencies(b, ids)...)
	}
	b.StopTimer()
	b.ReportMetric(ms(pct(e2e, 50)), "e2e-p50-ms")
	b.ReportMetric(ms(pct(e2e, 99)), "e2e-p99-ms")
	b.ReportMetric(ms(pct(acks, 50)), "ack-p50-ms")
	b.ReportMetric(ms(pct(acks, 99)), "ack-p99-ms")
	b.ReportMetric(float64(sm.Requests()-calls0)/float64(b.N), "api-requests/burst")
	for i, pid := range pids {
		if kb := procStatus(pid, "VmHWM"); kb > 0 {
			b.ReportMetric(float64(kb)/1024, fmt.Sprintf("peak-RSS-MB-replica%d", i+1))
		}
	}
}
