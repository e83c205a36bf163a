package workspace_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	wks "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/workspace/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/workspace/v2/model"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// startSim serves a simulator on loopback for the test.
func startSim(tb testing.TB, opts sim.Options) (*sim.Sim, string) {
	tb.Helper()
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	tb.Cleanup(srv.Close)
	return s, srv.URL
}

func simClient(tb testing.TB, url string, mod func(*workspace.Config)) *workspace.Client {
	tb.Helper()
	cfg := workspace.Config{
		Region:      "sim-local-1",
		Endpoint:    url,
		ProjectID:   sim.DemoProjectID,
		AK:          sim.DemoAK,
		SK:          sim.DemoSK,
		RateLimit:   -1,
		BackoffBase: 5 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := workspace.New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

func TestSimSignatureAccepted(t *testing.T) {
	s, url := startSim(t, sim.Options{Seed: 1})
	c := simClient(t, url, nil)
	p, err := c.ListTasks(context.Background(), pooltask.ListOptions{Limit: 5})
	if err != nil {
		t.Fatalf("ListTasks with the demo credentials: %v", err)
	}
	if len(p.Tasks) != 5 || p.Total <= 5 {
		t.Errorf("got %d tasks of %d, want 5 of more", len(p.Tasks), p.Total)
	}

	bad := simClient(t, url, func(c *workspace.Config) { c.SK = "not-the-demo-secret" })
	before := s.Requests()
	_, err = bad.ListTasks(context.Background(), pooltask.ListOptions{})
	var ae *pooltask.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Message != workspace.GatewayAuthMessage {
		t.Fatalf("wrong secret: err = %v, want a summarised 401", err)
	}
	if n := s.Requests() - before; n != 1 {
		t.Errorf("a bad signature was sent %d times, want 1", n)
	}
}

func TestSimFilters(t *testing.T) {
	s, url := startSim(t, sim.Options{Seed: 7})
	c := simClient(t, url, nil)
	all := s.Tasks()
	if len(all) < 20 {
		t.Fatalf("simulator has %d tasks, want a realistic number", len(all))
	}
	pool := all[0].PoolID
	mid := all[len(all)/2].Start
	ids := []string{all[1].ID, all[3].ID}

	tests := []struct {
		name  string
		opts  pooltask.ListOptions
		match func(pooltask.Task) bool
	}{
		{"pool", pooltask.ListOptions{PoolID: pool}, func(t pooltask.Task) bool { return t.PoolID == pool }},
		{"success", pooltask.ListOptions{Status: pooltask.FilterSuccess}, func(t pooltask.Task) bool { return t.Status == pooltask.StatusFinish }},
		{"failed", pooltask.ListOptions{Status: pooltask.FilterFailed}, func(t pooltask.Task) bool { return t.Status == pooltask.StatusFailed }},
		{"running", pooltask.ListOptions{Status: pooltask.FilterRunning}, func(t pooltask.Task) bool { return t.Status == pooltask.StatusRunning }},
		{"waiting", pooltask.ListOptions{Status: pooltask.FilterWaiting}, func(t pooltask.Task) bool { return t.Status == pooltask.StatusInit }},
		{"commands", pooltask.ListOptions{TaskType: pooltask.TaskTypeCommand}, func(t pooltask.Task) bool { return t.CommandContent != "" }},
		{"scripts", pooltask.ListOptions{TaskType: pooltask.TaskTypeScript}, func(t pooltask.Task) bool { return len(t.Scripts) > 0 }},
		{"since", pooltask.ListOptions{Start: mid}, func(t pooltask.Task) bool { return !t.Start.Before(mid) }},
		{"until", pooltask.ListOptions{End: mid}, func(t pooltask.Task) bool { return !t.Start.After(mid) }},
		{"task ids", pooltask.ListOptions{TaskIDs: ids}, func(t pooltask.Task) bool { return slices.Contains(ids, t.ID) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, task := range all {
				if tt.match(task) {
					want = append(want, task.ID)
				}
			}
			got, err := workspace.Collect(workspace.Tasks(context.Background(), c, tt.opts), 10000)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs []string
			for _, task := range got {
				if !tt.match(task) {
					t.Errorf("task %s (%s) does not match the filter", task.ID, task.Status)
				}
				gotIDs = append(gotIDs, task.ID)
			}
			slices.Sort(want)
			slices.Sort(gotIDs)
			if !slices.Equal(want, gotIDs) {
				t.Errorf("got %d tasks, want %d", len(gotIDs), len(want))
			}
		})
	}
}

func TestSimPaging(t *testing.T) {
	s, url := startSim(t, sim.Options{Seed: 1, Empty: true})
	pool := s.Pools()[0]
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for i := range 250 {
		s.PutTask(pooltask.Task{
			ID: fmt.Sprintf("task-%03d", i), PoolID: pool.ID, PoolName: pool.Name,
			Scripts: []pooltask.Script{{ID: "s1", Name: "clean"}},
			Start:   start.Add(time.Duration(i) * time.Second), End: start.Add(time.Duration(i)*time.Second + time.Minute),
			Status: pooltask.StatusFailed, FailedNum: 1,
		})
	}
	c := simClient(t, url, nil)
	before := s.Requests()
	p, err := workspace.Collect(workspace.Tasks(context.Background(), c, pooltask.ListOptions{Status: pooltask.FilterFailed}), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 250 {
		t.Errorf("got %d tasks, want 250", len(p))
	}
	if n := s.Requests() - before; n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestSimRecordsAndPools(t *testing.T) {
	s, url := startSim(t, sim.Options{Seed: 3})
	c := simClient(t, url, nil)
	ctx := context.Background()

	var failed pooltask.Task
	for _, task := range s.Tasks() {
		if task.Status == pooltask.StatusFailed && task.FailedNum > 0 {
			failed = task
			break
		}
	}
	if failed.ID == "" {
		t.Fatal("the simulator has no failed task")
	}
	rp, err := c.ListRecords(ctx, pooltask.RecordOptions{TaskID: failed.ID, Status: "FAILED", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(rp.Records) == 0 || rp.Total < len(rp.Records) {
		t.Fatalf("got %d failed records of %d for task %s", len(rp.Records), rp.Total, failed.ID)
	}
	for _, r := range rp.Records {
		if r.TaskID != failed.ID || r.Status != "FAILED" || r.DesktopName == "" {
			t.Errorf("record %+v", r)
		}
	}
	// A desktop that was offline printed nothing; some other one did.
	withOutput := 0
	for _, rec := range rp.Records {
		r, err := c.GetRecord(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != rec.ID || r.DesktopName != rec.DesktopName {
			t.Errorf("GetRecord(%s) = %+v", rec.ID, r)
		}
		if r.Output != "" {
			withOutput++
		}
	}
	if withOutput == 0 {
		t.Errorf("none of the %d failed records of task %s has output", len(rp.Records), failed.ID)
	}

	pp, err := c.ListPools(ctx, pooltask.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := s.Pools()
	if pp.Total != len(want) || len(pp.Pools) == 0 || pp.Pools[0].ID != want[0].ID {
		t.Errorf("pools %+v (total %d), want %d pools starting with %s", pp.Pools, pp.Total, len(want), want[0].ID)
	}
}

func TestSimHangAndInjectedErrors(t *testing.T) {
	s, url := startSim(t, sim.Options{Seed: 1})
	t.Cleanup(func() { s.Hang(false) })
	c := simClient(t, url, nil)
	pool := s.Pools()[0].ID

	s.InjectError(pool, 400, "WKS.0001", "The desktop pool does not exist.")
	_, err := c.ListTasks(context.Background(), pooltask.ListOptions{PoolID: pool})
	var ae *pooltask.APIError
	if !errors.As(err, &ae) || ae.Code != "WKS.0001" || ae.Status != 400 {
		t.Fatalf("injected error: %v", err)
	}
	s.InjectError(pool, 0, "", "")

	s.Hang(true)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.ListTasks(ctx, pooltask.ListOptions{})
	// The simulator hangs until released; the bound is loose for a busy
	// CI machine.
	if err != context.DeadlineExceeded || time.Since(start) > time.Second {
		t.Errorf("hanging simulator: err %v after %v, want context.DeadlineExceeded after about 50ms", err, time.Since(start))
	}
}

func TestSimThrottlingIsRetried(t *testing.T) {
	s, url := startSim(t, sim.Options{Seed: 1, RateLimit: 20, Burst: 1})
	c := simClient(t, url, func(c *workspace.Config) { c.BackoffBase = 2 * time.Millisecond; c.MaxAttempts = 10 })
	for i := range 5 {
		if _, err := c.ListTasks(context.Background(), pooltask.ListOptions{Offset: i}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := s.Requests(); n <= 5 {
		t.Logf("the simulator throttled nothing (%d requests)", n)
	}
}

// BenchmarkListTasks measures a page of 10 tasks through the Client against
// the simulator on loopback (no cache, no rate limit).
func BenchmarkListTasks(b *testing.B) {
	_, url := startSim(b, sim.Options{Seed: 1})
	c := simClient(b, url, nil)
	ctx := context.Background()
	opts := pooltask.ListOptions{Status: pooltask.FilterFailed, Limit: 10}
	b.ReportAllocs()
	for b.Loop() {
		p, err := c.ListTasks(ctx, opts)
		if err != nil || len(p.Tasks) == 0 {
			b.Fatalf("ListTasks: %d tasks, %v", len(p.Tasks), err)
		}
	}
}

// bareSDK builds a plain SDK client for the simulator, as a program without
// pooltasks' client would.
func bareSDK(b *testing.B, url string) *wks.WorkspaceClient {
	cred, err := basic.NewCredentialsBuilder().WithAk(sim.DemoAK).WithSk(sim.DemoSK).WithProjectId(sim.DemoProjectID).SafeBuild()
	if err != nil {
		b.Fatal(err)
	}
	hc, err := wks.WorkspaceClientBuilder().
		WithRegion(region.NewRegion("sim-local-1", url)).
		WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithUserAgent("bench")).
		SafeBuild()
	if err != nil {
		b.Fatal(err)
	}
	return wks.NewWorkspaceClient(hc)
}

// BenchmarkOverhead compares the Client with a bare SDK call on the same
// simulator. The interleaved sub-benchmark alternates both in one loop, so
// drift of the machine hits both equally, and reports their ratio.
func BenchmarkOverhead(b *testing.B) {
	_, url := startSim(b, sim.Options{Seed: 1})
	ctx := context.Background()
	opts := pooltask.ListOptions{Status: pooltask.FilterFailed, Limit: 10}
	status, limit := "FAILED", int32(10)
	sdkCall := func(b *testing.B, sdk *wks.WorkspaceClient) {
		resp, err := sdk.ShowDesktopPoolsScriptExecTasks(&model.ShowDesktopPoolsScriptExecTasksRequest{Status: &status, Limit: &limit})
		if err != nil || resp.ScriptExecutionTasks == nil {
			b.Fatalf("bare sdk: %v", err)
		}
	}
	clientCall := func(b *testing.B, c *workspace.Client) {
		if p, err := c.ListTasks(ctx, opts); err != nil || len(p.Tasks) == 0 {
			b.Fatalf("client: %v", err)
		}
	}

	b.Run("sdk", func(b *testing.B) {
		sdk := bareSDK(b, url)
		b.ReportAllocs()
		for b.Loop() {
			sdkCall(b, sdk)
		}
	})
	b.Run("client", func(b *testing.B) {
		c := simClient(b, url, nil)
		b.ReportAllocs()
		for b.Loop() {
			clientCall(b, c)
		}
	})
	b.Run("interleaved", func(b *testing.B) {
		sdk := bareSDK(b, url)
		c := simClient(b, url, nil)
		var tSDK, tClient []time.Duration
		var cpuSDK, cpuClient time.Duration
		timed := func(f func()) (wall, cpu time.Duration) {
			c0, t0 := processCPU(), time.Now()
			f()
			return time.Since(t0), processCPU() - c0
		}
		for i := 0; b.Loop(); i++ {
			// Alternate which goes first, so neither gains from the order.
			var ws, cs, wc, cc time.Duration
			if i%2 == 0 {
				ws, cs = timed(func() { sdkCall(b, sdk) })
				wc, cc = timed(func() { clientCall(b, c) })
			} else {
				wc, cc = timed(func() { clientCall(b, c) })
				ws, cs = timed(func() { sdkCall(b, sdk) })
			}
			tSDK, tClient = append(tSDK, ws), append(tClient, wc)
			cpuSDK, cpuClient = cpuSDK+cs, cpuClient+cc
		}
		// Medians: other work on the machine adds outliers to both sides,
		// which would dominate a ratio of sums. The CPU time of the process
		// (client, SDK and simulator together) does not count time spent
		// waiting for a core, so it is the steadier figure on a busy machine.
		ms, mc := median(tSDK), median(tClient)
		b.ReportMetric(float64(ms.Nanoseconds()), "sdk-ns/call")
		b.ReportMetric(float64(mc.Nanoseconds()), "client-ns/call")
		b.ReportMetric(float64(mc)/float64(ms), "ratio")
		if cpuSDK > 0 {
			b.ReportMetric(float64(cpuClient)/float64(cpuSDK), "cpu-ratio")
		}
	})
}

// processCPU returns the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkCoalescing sends 50 identical concurrent calls per iteration to a
// simulator answering in 5 ms and reports how many requests reached it.
func BenchmarkCoalescing(b *testing.B) {
	const callers = 50
	s, url := startSim(b, sim.Options{Seed: 1, Latency: 5 * time.Millisecond})
	c := simClient(b, url, nil)
	opts := pooltask.ListOptions{Status: pooltask.FilterFailed, Limit: 10}
	before := s.Requests()
	for b.Loop() {
		var wg sync.WaitGroup
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.ListTasks(context.Background(), opts); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	b.ReportMetric(float64(s.Requests()-before)/float64(b.N), "requests/op")
	b.ReportMetric(callers, "calls/op")
}

// TestPoolResolver: the rule through the simulator, whose kiosk pool has
// an id that is not UUID-shaped; the pool list is fetched once and kept,
// a UUID costs no call, and a pools API that fails falls back to the
// value as an id, uncached.
func TestPoolResolver(t *testing.T) {
	s, url := startSim(t, sim.Options{Seed: 1})
	c := simClient(t, url, nil)
	ctx := context.Background()
	now := time.Now()
	r := workspace.NewPoolResolver(c, time.Minute, func() time.Time { return now })
	pools := s.Pools()

	before := s.Requests()
	if got := r.ResolvePool(ctx, pools[0].ID); got.ID != pools[0].ID || s.Requests() != before {
		t.Errorf("a UUID: %+v after %d requests; want it back with none", got, s.Requests()-before)
	}
	tests := []struct {
		value, wantID string
	}{
		{sim.KioskPoolID, sim.KioskPoolID},
		{"KIOSK-LOBBY", sim.KioskPoolID},
		{"lobby", sim.KioskPoolID},
		{strings.ToUpper(pools[1].Name), pools[1].ID},
	}
	for _, tt := range tests {
		if got := r.ResolvePool(ctx, tt.value); got.ID != tt.wantID || got.LookupErr != nil {
			t.Errorf("%q: %+v, want id %s", tt.value, got, tt.wantID)
		}
	}
	if got := r.ResolvePool(ctx, "kiosk-lobyy"); got.Found() || !slices.Equal(got.Suggestions, []string{"kiosk-lobby"}) {
		t.Errorf("a typo: %+v, want the suggestion kiosk-lobby and no id", got)
	}
	if n := s.Requests() - before; n != 1 {
		t.Errorf("%d requests for the pools, want 1 (the list is kept)", n)
	}

	// The pools API refuses: a fresh resolver uses the value as an id, and
	// asks again next time.
	s.InjectError("", 403, "WKS.0003", "no permission to list pools")
	r = workspace.NewPoolResolver(c, time.Minute, nil)
	got := r.ResolvePool(ctx, "finance")
	var ae *pooltask.APIError
	if got.ID != "finance" || !errors.As(got.LookupErr, &ae) || ae.Status != 403 || got.Note() == "" {
		t.Errorf("pools API down: %+v, want the value as id, the 403 and a note", got)
	}
	before = s.Requests()
	r.ResolvePool(ctx, "finance")
	if s.Requests() == before {
		t.Error("a failed listing was kept")
	}
}
