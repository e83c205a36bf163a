package bot_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pooltasks/pooltasks/bot"
	"github.com/pooltasks/pooltasks/bot/slacktest"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// BenchmarkBurst200 sends 200 slash commands at once through the fake
// Slack (the real socket-mode client) to a bot answering from the
// simulator with no added latency, and reports the ack latency and the
// end-to-end latency (send → answer received on the response_url) at p50
// and p99, and the process's peak RSS (VmHWM: the fake Slack and the
// simulator run in the same process, so it bounds the bot's own from
// above). The client's outbound rate limit is off: this measures the bot,
// not the token bucket.
func BenchmarkBurst200(b *testing.B) {
	e := start(b, setup{})
	burst(b, e.slack, e.sim.Requests)
	if kb := vmHWM("self"); kb > 0 {
		b.ReportMetric(float64(kb)/1024, "peak-RSS-MB")
	}
}

// BenchmarkBurst200Process is BenchmarkBurst200 with the bot in a process
// of its own (this test binary, run as TestBotProcess), so that peak-RSS-MB
// is the bot's alone and the fake Slack and the simulator do not share its
// garbage collector.
func BenchmarkBurst200Process(b *testing.B) {
	sl := slacktest.New(b, slacktest.Options{})
	sm := sim.New(sim.Options{Seed: 1})
	srv := httptest.NewServer(sm)
	b.Cleanup(srv.Close)
	args := []string{"-test.run=^TestBotProcess$"}
	if p := os.Getenv("BENCH_CPUPROFILE"); p != "" { // profile the bot alone
		args = append(args, "-test.cpuprofile="+p)
	}
	if p := os.Getenv("BENCH_TRACE"); p != "" { // an execution trace of the bot alone
		args = append(args, "-test.trace="+p)
	}
	if p := os.Getenv("BENCH_MEMPROFILE"); p != "" { // the bot's allocations
		args = append(args, "-test.memprofile="+p, "-test.memprofilerate=4096")
	}
	cmd := exec.Command(os.Args[0], args...)
	if cpus := os.Getenv("BENCH_BOT_CPUS"); cpus != "" {
		// Pin the bot to these CPUs (taskset -c syntax); run the benchmark
		// itself under taskset with the others, so the fake Slack and the
		// simulator do not take the bot's CPU, as a remote Slack would not.
		cmd = exec.Command("taskset", append([]string{"-c", cpus, os.Args[0]}, args...)...)
	}
	cmd.Env = append(os.Environ(), "POOLTASKS_BOT_PROCESS=1", "SLACK_API_URL="+sl.APIURL(), "SIM_URL="+srv.URL)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	if err := sl.WaitConnections(1, wait); err != nil {
		b.Fatal(err)
	}
	burst(b, sl, sm.Requests)
	if kb := vmHWM(strconv.Itoa(cmd.Process.Pid)); kb > 0 {
		b.ReportMetric(float64(kb)/1024, "peak-RSS-MB")
	}
}

// TestBotProcess is the bot of BenchmarkBurst200Process; it only runs
// when that benchmark starts it.
func TestBotProcess(t *testing.T) {
	if os.Getenv("POOLTASKS_BOT_PROCESS") != "1" {
		t.Skip("started by BenchmarkBurst200Process")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ws, err := workspace.New(workspace.Config{
		Endpoint: os.Getenv("SIM_URL"), Region: "sim-local-1", ProjectID: sim.DemoProjectID,
		AK: sim.DemoAK, SK: sim.DemoSK, RateLimit: -1, CacheTTL: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	workers, _ := strconv.Atoi(os.Getenv("BENCH_WORKERS")) // 0: the default
	b, err := bot.New(bot.Config{AppToken: slacktest.AppToken, BotToken: slacktest.BotToken,
		APIURL: os.Getenv("SLACK_API_URL"), Workers: workers}, ws)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// burst runs the benchmark loop: 200 commands at once, then every answer.
func burst(b *testing.B, sl *slacktest.Server, requests func() int64) {
	const n = 200
	var acks, e2e []time.Duration
	calls0 := requests()
	b.ResetTimer()
	for b.Loop() {
		sent := make(map[string]time.Time, n)
		ids := make([]string, 0, n)
		for i := range n {
			text := fmt.Sprintf("list since=7d limit=10 page=%d", i%20+1)
			if i%4 == 3 {
				text = "failed since=3d"
			}
			url := sl.ResponseURL()
			sent[url] = time.Now()
			id, _ := sl.SlashCommand(slacktest.SlashCommand{Text: text, UserID: fmt.Sprintf("U%d", i%50),
				ChannelID: "C1", ResponseURL: url})
			ids = append(ids, id)
		}
		got, err := sl.WaitMessages(n, func(m slacktest.Message) bool {
			_, ok := sent[m.ResponseURL]
			return ok
		}, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range got {
			e2e = append(e2e, m.At.Sub(sent[m.ResponseURL]))
			delete(sent, m.ResponseURL) // first answer only
		}
		if _, err := sl.WaitAck(ids[n-1], time.Minute); err != nil {
			b.Fatal(err)
		}
		byID := map[string]time.Duration{}
		for _, a := range sl.Acks() {
			if _, dup := byID[a.EnvelopeID]; !dup {
				byID[a.EnvelopeID] = a.Latency
			}
		}
		for _, id := range ids {
			d, ok := byID[id]
			if !ok {
				b.Fatalf("envelope %s not acked", id)
			}
			acks = append(acks, d)
		}
	}
	b.StopTimer()
	b.ReportMetric(ms(pct(acks, 50)), "ack-p50-ms")
	b.ReportMetric(ms(pct(acks, 99)), "ack-p99-ms")
	b.ReportMetric(ms(pct(e2e, 50)), "e2e-p50-ms")
	b.ReportMetric(ms(pct(e2e, 99)), "e2e-p99-ms")
	b.ReportMetric(float64(requests()-calls0)/float64(b.N*n), "api-calls/cmd")
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// vmHWM reads the peak resident set size in kB from /proc/self/status.
func vmHWM(pid string) int {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb
		}
	}
	return 0
}
