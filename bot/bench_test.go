package bot_test

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
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
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/targets"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// The benchmarks run the bot as it ships, `pooltasks serve` built as the
// Dockerfile builds it, in a process of its own, so that the RSS figures
// are the bot's alone and the fake Slack and the simulator, which a real
// deployment does not carry, share neither its CPU budget nor its garbage
// collector. The simulator answers every request after 100 ms, and the
// bot's outbound limiter allows 50 requests a second.
//
// Knobs (environment):
//   - BENCH_RATE_LIMIT sets WORKSPACE_RATE_LIMIT (50; -1 turns it off).
//   - BENCH_API_LATENCY sets the simulator's latency (100ms).
//   - BENCH_BOT_GOMAXPROCS gives the bot that GOMAXPROCS (the Go default
//     when unset): how one P compares end to end.
//   - BENCH_BOT_BIN runs that pooltasks binary instead of building one,
//     to compare two builds in interleaved runs.
//   - BENCH_BOT_CPUS pins the bot to those CPUs (taskset -c syntax).
//   - BENCH_BOT=test runs the bot inside this test binary (TestBotProcess)
//     instead, which can write BENCH_CPUPROFILE, BENCH_TRACE and
//     BENCH_MEMPROFILE of the bot alone; BENCH_WORKERS sets its workers.
//   - BENCH_PAUSE (a duration, 11s) rests the bot that long between bursts,
//     off the clock: longer than the answer cache's 10 s, every burst meets
//     a cold cache, as the first questions of an incident do.
//   - BENCH_SOAK_EVERY (a duration, 30s) is how often the soak samples.

// BenchmarkBurst200 sends 200 slash commands at once through the fake
// Slack (the real socket-mode client on the bot's side): list and failed
// queries over three pools with varied limits and pages, and one command
// in five help. It reports, per burst, the end-to-end latency (command
// sent → its answer received on the response_url) at p50 and p99, the ack
// latency at p50 and p99, the Workspace API requests made, and the bot's
// peak RSS.
func BenchmarkBurst200(b *testing.B) {
	p := startBotProcess(b)
	pools := p.sim.Pools()[:3]
	pause := envDuration(b, "BENCH_PAUSE", 11*time.Second)
	const n = 200
	var acks, e2e []time.Duration
	calls0 := p.sim.Requests()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if pause > 0 && i > 0 {
			b.StopTimer()
			time.Sleep(pause) // the time between bursts, not a wait for anything
			b.StartTimer()
		}
		sent := make(map[string]time.Time, n)
		ids := make([]string, 0, n)
		for i := range n {
			url := p.slack.ResponseURL()
			sent[url] = time.Now()
			id, _ := p.slack.SlashCommand(slacktest.SlashCommand{Text: benchCommand(i, pools),
				UserID: fmt.Sprintf("U%d", i%50), ChannelID: "C1", ResponseURL: url})
			ids = append(ids, id)
		}
		got, err := p.slack.WaitMessages(n, func(m slacktest.Message) bool {
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
		acks = append(acks, p.ackLatencies(b, ids)...)
	}
	b.StopTimer()
	b.ReportMetric(ms(pct(e2e, 50)), "e2e-p50-ms")
	b.ReportMetric(ms(pct(e2e, 99)), "e2e-p99-ms")
	b.ReportMetric(ms(pct(acks, 50)), "ack-p50-ms")
	b.ReportMetric(ms(pct(acks, 99)), "ack-p99-ms")
	b.ReportMetric(float64(p.sim.Requests()-calls0)/float64(b.N), "api-requests/burst")
	if kb := procStatus(p.pid(), "VmHWM"); kb > 0 {
		b.ReportMetric(float64(kb)/1024, "peak-RSS-MB")
	}
}

// benchCommand is the i-th command of the mix the benchmarks send: one in
// five help, the others list or failed of one of three pools, with limits
// 5 to 25 and pages that stay within the first hundred tasks.
func benchCommand(i int, pools []pooltask.Pool) string {
	if i%5 == 4 {
		return "help"
	}
	limit := []int{5, 10, 20, 25}[i%4]
	page := 1 + (i/4)%2
	pool := pools[i%3].Name
	if i%5 == 3 {
		return fmt.Sprintf("failed pool=%s since=3d limit=%d", pool, limit)
	}
	return fmt.Sprintf("list pool=%s since=7d limit=%d page=%d", pool, limit, page)
}

// BenchmarkSoak sends b.N commands (the mix of BenchmarkBurst200) at 20 a
// second, so -benchtime=18000x runs for 15 minutes, and samples the bot's
// RSS and heap in use every BENCH_SOAK_EVERY (30 s). It reports them at
// the start (after the first sample) and at the end, the end-to-end
// latency, and how much the RSS grew per minute over the second half of
// the run (the least-squares slope of its samples, which a sample taken
// just before or after a collection does not sway much). A run of 10
// minutes or more fails when that growth is above 0.1 MB a minute: the
// memory did not plateau.
func BenchmarkSoak(b *testing.B) {
	const rate = 20 // commands a second
	every := envDuration(b, "BENCH_SOAK_EVERY", 30*time.Second)
	p := startBotProcess(b)
	pools := p.sim.Pools()[:3]

	type sample struct {
		at        time.Duration
		rssKB     int
		heapInUse float64
	}
	var samples []sample
	start := time.Now()
	take := func() {
		heap, err := p.metric("go_memstats_heap_inuse_bytes")
		if err != nil {
			b.Fatal(err)
		}
		s := sample{at: time.Since(start), rssKB: procStatus(p.pid(), "VmRSS"), heapInUse: heap}
		samples = append(samples, s)
		b.Logf("%6.1f min  RSS %6.1f MB  heap in use %6.1f MB", s.at.Minutes(), float64(s.rssKB)/1024, s.heapInUse/(1<<20))
	}

	sent := make(map[string]time.Time, b.N)
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	next := time.Now().Add(every)
	b.ResetTimer()
	for i := range b.N {
		<-tick.C // the pace of the load, not a wait for anything
		url := p.slack.ResponseURL()
		sent[url] = time.Now()
		p.slack.SlashCommand(slacktest.SlashCommand{Text: benchCommand(i, pools),
			UserID: fmt.Sprintf("U%d", i%50), ChannelID: "C1", ResponseURL: url})
		if time.Now().After(next) {
			take()
			next = next.Add(every)
		}
	}
	got, err := p.slack.WaitMessages(b.N, func(m slacktest.Message) bool {
		_, ok := sent[m.ResponseURL]
		return ok
	}, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if len(samples) == 0 || time.Since(start)-samples[len(samples)-1].at >= every/2 {
		take() // the end, unless a sample was just taken
	}
	var e2e []time.Duration
	for _, m := range got {
		e2e = append(e2e, m.At.Sub(sent[m.ResponseURL]))
		delete(sent, m.ResponseURL)
	}
	b.ReportMetric(ms(pct(e2e, 50)), "e2e-p50-ms")
	b.ReportMetric(ms(pct(e2e, 99)), "e2e-p99-ms")
	first, last := samples[0], samples[len(samples)-1]
	rssSlope := func(s []sample) float64 { // MB a minute
		var n, sx, sy, sxx, sxy float64
		for _, p := range s {
			x, y := p.at.Minutes(), float64(p.rssKB)/1024
			n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
		}
		return (n*sxy - sx*sy) / (n*sxx - sx*sx)
	}
	b.ReportMetric(float64(first.rssKB)/1024, "RSS-first-MB")
	b.ReportMetric(float64(last.rssKB)/1024, "RSS-last-MB")
	b.ReportMetric(first.heapInUse/(1<<20), "heap-first-MB")
	b.ReportMetric(last.heapInUse/(1<<20), "heap-last-MB")
	if kb := procStatus(p.pid(), "VmHWM"); kb > 0 {
		b.ReportMetric(float64(kb)/1024, "peak-RSS-MB")
	}
	if half := samples[len(samples)/2:]; len(half) >= 2 {
		growth := rssSlope(half)
		b.ReportMetric(growth, "RSS-growth-MB/min")
		mid := half[0]
		switch {
		case last.at < 10*time.Minute:
			b.Logf("RSS grew %.2f MB/min over the second half; too short a run (%v) to judge a plateau: use -benchtime=18000x",
				growth, last.at.Round(time.Second))
		case growth > 0.1:
			b.Errorf("RSS did not plateau: it grew %.2f MB/min over the second half (%.1f → %.1f MB)",
				growth, float64(mid.rssKB)/1024, float64(last.rssKB)/1024)
		default:
			b.Logf("RSS plateaued: %.2f MB/min over the second half", growth)
		}
	}
}

// botProcess is a bot in a process of its own, connected to a fake Slack,
// answering from a simulator.
type botProcess struct {
	slack    *slacktest.Server
	sim      *sim.Sim
	cmd      *exec.Cmd
	httpAddr string
}

func (p *botProcess) pid() string { return strconv.Itoa(p.cmd.Process.Pid) }

// startBotProcess starts the bot and waits for its connection; it is
// stopped with SIGTERM when the benchmark ends.
func startBotProcess(b *testing.B) *botProcess {
	b.Helper()
	latency := envDuration(b, "BENCH_API_LATENCY", 100*time.Millisecond)
	p := &botProcess{slack: slacktest.New(b, slacktest.Options{}), sim: sim.New(sim.Options{Seed: 1, Latency: latency})}
	srv := httptest.NewServer(p.sim)
	b.Cleanup(srv.Close)
	p.httpAddr = freeAddr(b)

	env := []string{
		"SLACK_APP_TOKEN=" + slacktest.AppToken, "SLACK_BOT_TOKEN=" + slacktest.BotToken, "SLACK_API_URL=" + p.slack.APIURL(),
		"WORKSPACE_ENDPOINT=" + srv.URL, "WORKSPACE_REGION=sim-local-1", "WORKSPACE_PROJECT_ID=" + sim.DemoProjectID,
		"HUAWEICLOUD_SDK_AK=" + sim.DemoAK, "HUAWEICLOUD_SDK_SK=" + sim.DemoSK,
		"WORKSPACE_RATE_LIMIT=" + cmp.Or(os.Getenv("BENCH_RATE_LIMIT"), "50"), "WORKSPACE_CACHE_TTL=10s",
		// 50 users send four commands a burst each.
		"POOLTASKS_USER_RATE=0",
		"POOLTASKS_SCHEDULER=false", "POOLTASKS_STATE_DIR=" + b.TempDir(), "POOLTASKS_HTTP_ADDR=" + p.httpAddr,
	}
	if v := os.Getenv("BENCH_BOT_GOMAXPROCS"); v != "" {
		env = append(env, "GOMAXPROCS="+v)
	}
	var argv []string
	if os.Getenv("BENCH_BOT") == "test" {
		argv = []string{os.Args[0], "-test.run=^TestBotProcess$"}
		for _, f := range []struct{ env, flag string }{
			{"BENCH_CPUPROFILE", "-test.cpuprofile="},
			{"BENCH_TRACE", "-test.trace="},
			{"BENCH_MEMPROFILE", "-test.memprofilerate=4096 -test.memprofile="},
		} {
			if path := os.Getenv(f.env); path != "" {
				flags := strings.Fields(f.flag)
				flags[len(flags)-1] += path
				argv = append(argv, flags...)
			}
		}
		env = append(env, "POOLTASKS_BOT_PROCESS=1", "BENCH_WORKERS="+os.Getenv("BENCH_WORKERS"))
	} else if bin := os.Getenv("BENCH_BOT_BIN"); bin != "" {
		argv = []string{bin, "serve"}
	} else {
		argv = []string{buildBot(b), "serve"}
	}
	if cpus := os.Getenv("BENCH_BOT_CPUS"); cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	logs, err := os.Create(filepath.Join(b.TempDir(), "bot.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { logs.Close() })
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = logs, logs
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
	})
	if err := p.slack.WaitConnections(1, wait); err != nil {
		out, _ := os.ReadFile(logs.Name())
		b.Fatalf("%v; the bot wrote:\n%s", err, out)
	}
	return p
}

// ackLatencies returns the ack latency of each envelope, as the fake Slack
// measured it.
func (p *botProcess) ackLatencies(b *testing.B, ids []string) []time.Duration {
	b.Helper()
	if _, err := p.slack.WaitAck(ids[len(ids)-1], time.Minute); err != nil {
		b.Fatal(err)
	}
	byID := map[string]time.Duration{}
	for _, a := range p.slack.Acks() {
		if _, dup := byID[a.EnvelopeID]; !dup {
			byID[a.EnvelopeID] = a.Latency
		}
	}
	out := make([]time.Duration, 0, len(ids))
	for _, id := range ids {
		d, ok := byID[id]
		if !ok {
			b.Fatalf("envelope %s not acked", id)
		}
		out = append(out, d)
	}
	return out
}

// metric reads one unlabelled value from the bot's /metrics.
func (p *botProcess) metric(name string) (float64, error) {
	resp, err := http.Get("http://" + p.httpAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return 0, fmt.Errorf("/metrics has no %s", name)
}

// envDuration is the duration the environment variable name gives, or def.
func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return d
}

// freeAddr returns a loopback address with a port free at the time.
func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildBot builds cmd/pooltasks as the Dockerfile does and returns its path.
func buildBot(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "pooltasks")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/pooltasks/pooltasks/cmd/pooltasks")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBotProcess is the bot of the benchmarks with BENCH_BOT=test; it only
// runs when they start it.
func TestBotProcess(t *testing.T) {
	if os.Getenv("POOLTASKS_BOT_PROCESS") != "1" {
		t.Skip("started by the benchmarks")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	rateLimit, err := strconv.ParseFloat(os.Getenv("WORKSPACE_RATE_LIMIT"), 64)
	if err != nil {
		t.Fatal(err)
	}
	metrics := bot.NewMetrics()
	ws, err := workspace.New(workspace.Config{
		Endpoint: os.Getenv("WORKSPACE_ENDPOINT"), Region: "sim-local-1", ProjectID: sim.DemoProjectID,
		AK: sim.DemoAK, SK: sim.DemoSK, RateLimit: rateLimit, Burst: 5, CacheTTL: 10 * time.Second, Observer: metrics,
	})
	if err != nil {
		t.Fatal(err)
	}
	workers, _ := strconv.Atoi(os.Getenv("BENCH_WORKERS")) // 0: the default
	b, err := bot.New(bot.Config{AppToken: slacktest.AppToken, BotToken: slacktest.BotToken,
		APIURL: os.Getenv("SLACK_API_URL"), HTTPAddr: os.Getenv("POOLTASKS_HTTP_ADDR"), Metrics: metrics, Workers: workers}, targets.One(ws))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Run(ctx); err != nil {
		t.Fatal(err)
	}
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

// procStatus reads a field in kB (VmRSS, VmHWM) from /proc/PID/status.
func procStatus(pid, field string) int {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb
		}
	}
	return 0
}
