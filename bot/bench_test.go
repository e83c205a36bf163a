package bot_test

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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

// BenchmarkBurst200Process is BenchmarkBurst200 with the bot as it ships:
// `pooltasks serve`, built as the Dockerfile builds it, in a process of its
// own that logs its audit lines to a file, so that peak-RSS-MB is the bot's
// alone and the fake Slack and the simulator do not share its CPU budget
// or garbage collector. Its outbound rate limit is off, as in
// BenchmarkBurst200 (this measures the bot, not the token bucket), and so
// is the per-user limit (50 users send 4 commands a burst).
//
// BENCH_RATE_LIMIT sets WORKSPACE_RATE_LIMIT (5, the default, shows what
// the token bucket adds). BENCH_BOT_CPUS pins the bot to those CPUs (taskset -c syntax); run the
// benchmark itself under taskset with the others, so that the fake Slack
// and the simulator, which a real deployment does not carry, do not take
// the bot's CPU. BENCH_BOT_GOMAXPROCS gives the bot that GOMAXPROCS
// (serve's own default is 1). BENCH_BOT=test runs the bot inside this test binary
// (TestBotProcess) instead, which can write BENCH_CPUPROFILE, BENCH_TRACE
// and BENCH_MEMPROFILE of the bot alone.
func BenchmarkBurst200Process(b *testing.B) {
	sl := slacktest.New(b, slacktest.Options{})
	sm := sim.New(sim.Options{Seed: 1})
	srv := httptest.NewServer(sm)
	b.Cleanup(srv.Close)

	var argv, env []string
	if os.Getenv("BENCH_BOT") == "test" {
		argv = []string{os.Args[0], "-test.run=^TestBotProcess$"}
		for _, f := range []struct{ env, flag string }{
			{"BENCH_CPUPROFILE", "-test.cpuprofile="},
			{"BENCH_TRACE", "-test.trace="},
			{"BENCH_MEMPROFILE", "-test.memprofilerate=4096 -test.memprofile="},
		} {
			if p := os.Getenv(f.env); p != "" {
				flags := strings.Fields(f.flag)
				flags[len(flags)-1] += p
				argv = append(argv, flags...)
			}
		}
		env = append(os.Environ(), "POOLTASKS_BOT_PROCESS=1", "SIM_URL="+srv.URL)
	} else {
		argv = []string{buildBot(b), "serve"}
		env = []string{
			"SLACK_APP_TOKEN=" + slacktest.AppToken, "SLACK_BOT_TOKEN=" + slacktest.BotToken,
			"WORKSPACE_ENDPOINT=" + srv.URL, "WORKSPACE_REGION=sim-local-1", "WORKSPACE_PROJECT_ID=" + sim.DemoProjectID,
			"HUAWEICLOUD_SDK_AK=" + sim.DemoAK, "HUAWEICLOUD_SDK_SK=" + sim.DemoSK,
			"WORKSPACE_RATE_LIMIT=" + cmp.Or(os.Getenv("BENCH_RATE_LIMIT"), "-1"), "POOLTASKS_USER_RATE=0",
			"POOLTASKS_SCHEDULER=false", "POOLTASKS_STATE_DIR=" + b.TempDir(), "POOLTASKS_HTTP_ADDR=127.0.0.1:0",
		}
	}
	env = append(env, "SLACK_API_URL="+sl.APIURL())
	// serve runs on one P unless told otherwise; the bot inside the test
	// binary is told the same.
	env = append(env, "GOMAXPROCS="+cmp.Or(os.Getenv("BENCH_BOT_GOMAXPROCS"), "1"))
	if cpus := os.Getenv("BENCH_BOT_CPUS"); cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	logs, err := os.Create(filepath.Join(b.TempDir(), "bot.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logs.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	if err := sl.WaitConnections(1, wait); err != nil {
		out, _ := os.ReadFile(logs.Name())
		b.Fatalf("%v; the bot wrote:\n%s", err, out)
	}
	burst(b, sl, sm.Requests)
	if kb := vmHWM(strconv.Itoa(cmd.Process.Pid)); kb > 0 {
		b.ReportMetric(float64(kb)/1024, "peak-RSS-MB")
	}
}

// buildBot builds cmd/pooltasks as the Dockerfile does and returns its path.
func buildBot(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "pooltasks")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/pooltasks/pooltasks/cmd/pooltasks")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
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
// A burst follows the last answer of the one before, or, with BENCH_PAUSE
// (a duration), that long after it, off the clock: a bot at rest.
func burst(b *testing.B, sl *slacktest.Server, requests func() int64) {
	const n = 200
	var pause time.Duration
	if v := os.Getenv("BENCH_PAUSE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("BENCH_PAUSE: %v", err)
		}
		pause = d
	}
	var acks, e2e []time.Duration
	calls0 := requests()
	b.ResetTimer()
	for b.Loop() {
		if pause > 0 {
			b.StopTimer()
			time.Sleep(pause) // the time between bursts, not a wait for anything
			b.StartTimer()
		}
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
