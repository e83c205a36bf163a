package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pooltasks/pooltasks/pooltask"
)

const (
	testAK      = "AKTESTEXAMPLE0000001"
	testSK      = "SKsecretDoNotLeak0123456789"
	testProject = "0123456789abcdef0123456789abcdef"
)

// wire records what reaches a test server.
type wire struct {
	mu    sync.Mutex
	reqs  []*http.Request
	times []time.Time
}

func (w *wire) add(r *http.Request) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reqs = append(w.reqs, r.Clone(context.Background()))
	w.times = append(w.times, time.Now())
	return len(w.reqs)
}

func (w *wire) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.reqs)
}

func (w *wire) last() *http.Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.reqs) == 0 {
		return nil
	}
	return w.reqs[len(w.reqs)-1]
}

// newServer starts a server whose handler gets the 1-based number of the
// request it answers.
func newServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) (*httptest.Server, *wire) {
	t.Helper()
	rec := &wire{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r, rec.add(r))
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

func newClient(t testing.TB, endpoint string, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		Region:      "test-region-1",
		Endpoint:    endpoint,
		ProjectID:   testProject,
		AK:          testAK,
		SK:          testSK,
		RateLimit:   -1,
		Timeout:     5 * time.Second,
		BackoffBase: 5 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg, detail string) {
	writeJSON(w, status, map[string]string{"error_code": code, "error_msg": msg, "error_detail": detail})
}

var emptyTasks = map[string]any{"script_execution_tasks": []any{}, "total_count": 0}

func okTasks(w http.ResponseWriter, _ *http.Request, _ int) { writeJSON(w, 200, emptyTasks) }

// countingObserver counts the events it receives.
type countingObserver struct {
	mu        sync.Mutex
	statuses  []int
	waits     int
	hits      atomic.Int64
	coalesced atomic.Int64
}

func (o *countingObserver) APICall(op string, status int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.statuses = append(o.statuses, status)
}
func (o *countingObserver) RateLimitWait(time.Duration) { o.mu.Lock(); o.waits++; o.mu.Unlock() }
func (o *countingObserver) CacheHit(string)             { o.hits.Add(1) }
func (o *countingObserver) Coalesced(string)            { o.coalesced.Add(1) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling, bounded by the deadline
	}
}

func TestFiltersReachTheWire(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.FixedZone("CET", 3600))
	end := time.Date(2026, 11, 27, 9, 30, 15, 0, time.UTC)
	tests := []struct {
		name string
		opts pooltask.ListOptions
		want url.Values
	}{
		{"none", pooltask.ListOptions{}, url.Values{}},
		{"pool", pooltask.ListOptions{PoolID: "pool-1"}, url.Values{"desktop_pool_id": {"pool-1"}}},
		{"script id", pooltask.ListOptions{ScriptID: "s-1"}, url.Values{"script_id": {"s-1"}}},
		{"script name", pooltask.ListOptions{ScriptName: "clean disk & <logs>"}, url.Values{"script_name": {"clean disk & <logs>"}}},
		{"status", pooltask.ListOptions{Status: pooltask.FilterWaiting}, url.Values{"status": {"WAITING"}}},
		{"task type", pooltask.ListOptions{TaskType: pooltask.TaskTypeCommand}, url.Values{"task_type": {"COMMAND"}}},
		{"start in UTC", pooltask.ListOptions{Start: start}, url.Values{"execute_time_start": {"2026-11-26T13:00:00Z"}}},
		{"end", pooltask.ListOptions{End: end}, url.Values{"execute_time_end": {"2026-11-27T09:30:15Z"}}},
		{"task ids repeated", pooltask.ListOptions{TaskIDs: []string{"a", "b", "c"}}, url.Values{"task_id": {"a", "b", "c"}}},
		{"offset and limit", pooltask.ListOptions{Offset: 20, Limit: 100}, url.Values{"offset": {"20"}, "limit": {"100"}}},
		{"all", pooltask.ListOptions{PoolID: "p", ScriptID: "s", ScriptName: "n", Status: pooltask.FilterFailed, TaskType: pooltask.TaskTypeScript,
			Start: start, End: end, TaskIDs: []string{"t1"}, Offset: 1, Limit: 5},
			url.Values{"desktop_pool_id": {"p"}, "script_id": {"s"}, "script_name": {"n"}, "status": {"FAILED"},
				"task_type": {"SCRIPT"}, "execute_time_start": {"2026-11-26T13:00:00Z"}, "execute_time_end": {"2026-11-27T09:30:15Z"},
				"task_id": {"t1"}, "offset": {"1"}, "limit": {"5"}}},
	}
	srv, rec := newServer(t, okTasks)
	c := newClient(t, srv.URL, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.ListTasks(context.Background(), tt.opts); err != nil {
				t.Fatalf("ListTasks: %v", err)
			}
			r := rec.last()
			if got, want := r.URL.Path, "/v2/"+testProject+"/desktop-pools/script-execution-tasks/detail"; got != want {
				t.Errorf("path %q, want %q", got, want)
			}
			q := r.URL.Query()
			for k, v := range q {
				// The SDK sorts multi-valued parameters; compare as sets.
				q[k] = sortedCopy(v)
			}
			if diff := cmp.Diff(tt.want, q); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
}

func sortedCopy(v []string) []string {
	out := append([]string(nil), v...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestRequestIsSignedAndClean(t *testing.T) {
	srv, rec := newServer(t, okTasks)
	c := newClient(t, srv.URL, nil)
	if _, err := c.ListTasks(context.Background(), pooltask.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	r := rec.last()
	if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, "SDK-HMAC-SHA256 Access="+testAK+", SignedHeaders=") {
		t.Errorf("Authorization = %q, want an SDK-HMAC-SHA256 signature with the AK", a)
	}
	if strings.Contains(fmt.Sprint(r.Header), testSK) {
		t.Error("the secret key reached the wire")
	}
	if got := r.Header.Get("X-Project-Id"); got != testProject {
		t.Errorf("X-Project-Id = %q", got)
	}
	if got := r.Header.Get("X-Sdk-Date"); len(got) != len("20060102T150405Z") {
		t.Errorf("X-Sdk-Date = %q", got)
	}
	if ua := r.Header.Get("User-Agent"); !strings.Contains(ua, "pooltasks") {
		t.Errorf("User-Agent = %q, want it to name pooltasks", ua)
	}
	for k := range r.Header {
		if strings.Contains(k, "_") {
			t.Errorf("internal header %q reached the wire", k)
		}
	}
	if got := c.ProjectID(); got != testProject {
		t.Errorf("ProjectID() = %q", got)
	}
}

func TestListTasksDecodes(t *testing.T) {
	body := `{"total_count": 57, "script_execution_tasks": [
	  {"id": "t1", "desktop_pool_id": "p1", "desktop_pool_name": "finance", "scripts": [{"id": "s1", "name": "clean"}, {"id": "s2", "name": "<!channel>"}],
	   "start_time": "2026-11-27T08:00:00Z", "end_time": "2026-11-27T08:05:30Z", "status": "FAILED", "success_num": 8, "failed_num": 2, "skip_num": 1},
	  {"id": "t2", "desktop_pool_id": "p2", "command_content": "Get-Service", "command_type": "POWERSHELL",
	   "start_time": "2026-11-27T09:00:00Z", "status": "PAUSED"}
	]}`
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	})
	c := newClient(t, srv.URL, nil)
	got, err := c.ListTasks(context.Background(), pooltask.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := pooltask.TaskPage{Total: 57, Tasks: []pooltask.Task{
		{ID: "t1", PoolID: "p1", PoolName: "finance", Scripts: []pooltask.Script{{ID: "s1", Name: "clean"}, {ID: "s2", Name: "<!channel>"}},
			Start: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 27, 8, 5, 30, 0, time.UTC),
			Status: pooltask.StatusFailed, SuccessNum: 8, FailedNum: 2, SkipNum: 1},
		{ID: "t2", PoolID: "p2", CommandContent: "Get-Service", CommandType: "POWERSHELL",
			Start: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), Status: "PAUSED"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("page (-want +got):\n%s", diff)
	}
}

// pagingServer serves n tasks honouring offset and limit.
func pagingServer(n int) func(w http.ResponseWriter, r *http.Request, _ int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		q := r.URL.Query()
		off, _ := strconv.Atoi(q.Get("offset"))
		lim, err := strconv.Atoi(q.Get("limit"))
		if err != nil {
			lim = 10
		}
		var tasks []map[string]any
		for i := off; i < n && i < off+lim; i++ {
			tasks = append(tasks, map[string]any{"id": fmt.Sprintf("task-%03d", i), "status": "FINISH",
				"scripts": []map[string]any{{"id": "s1", "name": "clean-temp-disk"}}})
		}
		writeJSON(w, 200, map[string]any{"script_execution_tasks": tasks, "total_count": n})
	}
}

// Collect takes at most max items of a sequence (max <= 0: all), and its
// first error. It is exported for the external tests.
func Collect[T any](seq iter.Seq2[T, error], max int) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
		if len(out) == max {
			break
		}
	}
	return out, nil
}

func TestTasksPages(t *testing.T) {
	tests := []struct {
		name      string
		offset    int
		max       int
		wantTasks int
		wantCalls int
	}{
		{"all 250 in 3 calls", 0, 1000, 250, 3},
		{"unbounded", 0, 0, 250, 3},
		{"bounded by max", 0, 120, 120, 2},
		{"from an offset", 40, 1000, 210, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := newServer(t, pagingServer(250))
			c := newClient(t, srv.URL, nil)
			got, err := Collect(Tasks(context.Background(), c, pooltask.ListOptions{Status: pooltask.FilterFailed, Offset: tt.offset}), tt.max)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantTasks {
				t.Errorf("got %d tasks, want %d", len(got), tt.wantTasks)
			}
			if n := rec.count(); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
			for i, r := range rec.reqs {
				q := r.URL.Query()
				if q.Get("limit") != "100" || q.Get("status") != "FAILED" {
					t.Errorf("call %d: query %v, want limit=100 and the filters", i, q)
				}
			}
			if len(got) > 0 && got[0].ID != fmt.Sprintf("task-%03d", tt.offset) {
				t.Errorf("first task %s", got[0].ID)
			}
		})
	}
}

func TestThrottledThenOK(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			writeError(w, 429, "APIGW.0308", "The throttling threshold has been reached: policy user over ratelimit", "")
			return
		}
		okTasks(w, r, n)
	})
	obs := &countingObserver{}
	const base = 10 * time.Millisecond
	c := newClient(t, srv.URL, func(c *Config) { c.BackoffBase = base; c.Observer = obs })
	ctx, calls := CountCalls(context.Background())
	if _, err := c.ListTasks(ctx, pooltask.ListOptions{}); err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if n := rec.count(); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	if gap := rec.times[1].Sub(rec.times[0]); gap < 4*base {
		t.Errorf("retried after %v, want a backoff of at least %v", gap, 4*base)
	}
	if got := calls(); got != 2 {
		t.Errorf("CountCalls = %d, want 2", got)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if diff := cmp.Diff([]int{429, 200}, obs.statuses); diff != "" {
		t.Errorf("observed statuses (-want +got):\n%s", diff)
	}
}

func TestServerErrorsRetriedThenGiveUp(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("X-Request-Id", "req-"+strconv.Itoa(n))
		writeError(w, 503, "WKS.0500", "service busy", "")
	})
	c := newClient(t, srv.URL, func(c *Config) { c.MaxAttempts = 3 })
	_, err := c.ListTasks(context.Background(), pooltask.ListOptions{})
	var ae *pooltask.APIError
	if !errors.As(err, &ae) || ae.Status != 503 || ae.RequestID != "req-3" {
		t.Fatalf("err = %v, want the last 503 as *APIError", err)
	}
	if n := rec.count(); n != 3 {
		t.Errorf("%d requests, want 3 (MaxAttempts)", n)
	}
}

func TestMaxRetryTimeBoundsRetries(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "30")
		writeError(w, 429, "APIGW.0308", "throttled", "")
	})
	c := newClient(t, srv.URL, func(c *Config) { c.MaxRetryTime = time.Second })
	start := time.Now()
	_, err := c.ListTasks(context.Background(), pooltask.ListOptions{})
	var ae *pooltask.APIError
	if !errors.As(err, &ae) || ae.RetryAfter != 30*time.Second || !IsThrottled(err) {
		t.Fatalf("err = %v, want a 429 *pooltask.APIError with RetryAfter 30s", err)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("%d requests, want 1: a Retry-After beyond MaxRetryTime ends the call", n)
	}
	// Honouring the Retry-After would take 30s.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v, want an immediate answer", d)
	}
}

func TestClientErrorsAreTriedOnce(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				writeError(w, status, "WKS.0001", "nope", "")
			})
			c := newClient(t, srv.URL, nil)
			_, err := c.ListTasks(context.Background(), pooltask.ListOptions{})
			var ae *pooltask.APIError
			if !errors.As(err, &ae) || ae.Status != status {
				t.Fatalf("err = %v, want *pooltask.APIError %d", err, status)
			}
			if IsRetryable(err) {
				t.Error("IsRetryable = true")
			}
			if n := rec.count(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestGatewayAuthErrorIsSummarised(t *testing.T) {
	echo := "Incorrect IAM authentication information: verify aksk signature fail, Access=" + testAK +
		", canonicalRequest: GET\n/v2/" + testProject + "/desktop-pools/\n\nhost:example\nx-sdk-date:20261127T090000Z"
	for _, code := range []string{"APIGW.0301", "APIG.0301", "APIGW.0303"} {
		t.Run(code, func(t *testing.T) {
			srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("X-Request-Id", "rid-401")
				writeError(w, 401, code, echo, echo)
			})
			c := newClient(t, srv.URL, nil)
			_, err := c.ListTasks(context.Background(), pooltask.ListOptions{})
			var ae *pooltask.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			want := &pooltask.APIError{Status: 401, Code: code, Message: GatewayAuthMessage, RequestID: "rid-401"}
			if diff := cmp.Diff(want, ae); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			for _, leak := range []string{testAK, "canonical", "x-sdk-date"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q echoes %q", err, leak)
				}
			}
			if n := rec.count(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestAPIErrorCarriesDetailAndRequestID(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("X-Request-Id", "0b4e7a7f")
		writeError(w, 400, "WKS.0001", "Invalid parameter", "limit must be between 0 and 100")
	})
	c := newClient(t, srv.URL, nil)
	_, err := c.ListTasks(context.Background(), pooltask.ListOptions{Limit: 101})
	var ae *pooltask.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	want := &pooltask.APIError{Status: 400, Code: "WKS.0001", Message: "Invalid parameter", Detail: "limit must be between 0 and 100", RequestID: "0b4e7a7f"}
	if diff := cmp.Diff(want, ae); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), "0b4e7a7f") || !strings.HasPrefix(err.Error(), "listing tasks: ") {
		t.Errorf("message %q, want context and the request id", err)
	}
}

func TestNonJSONErrorBody(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.WriteHeader(502)
		fmt.Fprint(w, "<html>bad gateway</html>")
	})
	c := newClient(t, srv.URL, func(c *Config) { c.MaxAttempts = 1 })
	_, err := c.ListTasks(context.Background(), pooltask.ListOptions{})
	var ae *pooltask.APIError
	if !errors.As(err, &ae) || ae.Status != 502 || ae.Message != "Bad Gateway" || ae.Detail != "the API answered with text/html, not JSON" {
		t.Fatalf("err = %#v", ae)
	}
}

func TestUndecodableAnswer(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"script_execution_tasks": "oops"}`)
	})
	c := newClient(t, srv.URL, nil)
	_, err := c.ListTasks(context.Background(), pooltask.ListOptions{})
	var nj *NotJSONError
	if !errors.As(err, &nj) || nj.Status != 200 || strings.Contains(err.Error(), "unmarshal") {
		t.Fatalf("err = %v, want a *NotJSONError without the decoder's words", err)
	}
	var ae *pooltask.APIError
	if errors.As(err, &ae) || IsRetryable(err) {
		t.Errorf("err = %v: want neither an pooltask.APIError nor retryable", err)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// hangingServer answers nothing until the client goes away; it reports
// arrivals and departures.
func hangingServer(t *testing.T) (url string, arrived, left chan struct{}, rec *wire) {
	arrived, left = make(chan struct{}, 100), make(chan struct{}, 100)
	release := make(chan struct{})
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
			left <- struct{}{}
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return srv.URL, arrived, left, rec
}

func recvWithin(t *testing.T, ch chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("no %s within %v", what, d)
	}
}

func TestCancelWhileServerHangs(t *testing.T) {
	u, arrived, left, _ := hangingServer(t)
	c := newClient(t, u, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	go func() {
		_, err := c.ListTasks(ctx, pooltask.ListOptions{})
		done <- result{err, time.Now()}
	}()
	recvWithin(t, arrived, 5*time.Second, "request at the server")
	cancelled := time.Now()
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("ListTasks did not return after cancel")
	}
	// The server never answers, so any return proves the cancellation
	// works; the bound is loose because CI runs every package's tests
	// under -race at once on two cores.
	if d := r.at.Sub(cancelled); d > time.Second {
		t.Errorf("returned %v after cancel, want promptly", d)
	}
	if r.err != context.Canceled {
		t.Errorf("err = %v, want ctx.Err() (context.Canceled)", r.err)
	}
	// The connection is closed too: nothing keeps waiting on the server.
	recvWithin(t, left, 2*time.Second, "request cancelled at the server")
}

func TestDeadlineWhileServerHangs(t *testing.T) {
	u, _, left, _ := hangingServer(t)
	c := newClient(t, u, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ListTasks(ctx, pooltask.ListOptions{})
	// The server never answers; the bound is loose for a busy CI machine.
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned after %v, want about 50ms", d)
	}
	if err != context.DeadlineExceeded {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	recvWithin(t, left, 2*time.Second, "request cancelled at the server")
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	u, _, _, rec := hangingServer(t)
	c := newClient(t, u, func(c *Config) { c.Timeout = 50 * time.Millisecond; c.MaxAttempts = 2 })
	_, err := c.ListTasks(context.Background(), pooltask.ListOptions{})
	if !errors.Is(err, context.DeadlineExceeded) || !IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable timeout", err)
	}
	if n := rec.count(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestConcurrentIdenticalCallsShareOne(t *testing.T) {
	const callers = 50
	obs := &countingObserver{}
	release := make(chan struct{})
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		<-release
		pagingServer(3)(w, r, n)
	})
	c := newClient(t, srv.URL, func(c *Config) { c.Observer = obs })
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	results := make(chan pooltask.TaskPage, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := c.ListTasks(context.Background(), pooltask.ListOptions{PoolID: "p1", Limit: 10})
			errs <- err
			results <- p
		}()
	}
	waitFor(t, "all callers to join", 5*time.Second, func() bool { return obs.coalesced.Load() == callers-1 })
	close(release)
	wg.Wait()
	close(errs)
	close(results)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for p := range results {
		if len(p.Tasks) != 3 {
			t.Fatalf("a caller got %d tasks, want 3", len(p.Tasks))
		}
	}
	if n := rec.count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestWaitersSurviveTheLeaderLeaving(t *testing.T) {
	obs := &countingObserver{}
	release := make(chan struct{})
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-release:
			pagingServer(1)(w, r, n)
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	c := newClient(t, srv.URL, func(c *Config) { c.Observer = obs })
	leader, cancelLeader := context.WithCancel(context.Background())
	leaderDone := make(chan error, 1)
	go func() { _, err := c.ListTasks(leader, pooltask.ListOptions{}); leaderDone <- err }()
	waitFor(t, "the request", 5*time.Second, func() bool { return rec.count() == 1 })
	waiterDone := make(chan error, 1)
	go func() { _, err := c.ListTasks(context.Background(), pooltask.ListOptions{}); waiterDone <- err }()
	waitFor(t, "the waiter to join", 5*time.Second, func() bool { return obs.coalesced.Load() == 1 })

	cancelLeader()
	if err := <-leaderDone; err != context.Canceled {
		t.Errorf("leader: %v, want context.Canceled", err)
	}
	// The waiter makes the call again itself.
	waitFor(t, "the waiter's own request", 5*time.Second, func() bool { return rec.count() == 2 })
	close(release)
	if err := <-waiterDone; err != nil {
		t.Errorf("waiter: %v, want an answer", err)
	}
}

func TestCache(t *testing.T) {
	srv, rec := newServer(t, pagingServer(5))
	obs := &countingObserver{}
	c := newClient(t, srv.URL, func(c *Config) { c.CacheTTL = 10 * time.Second; c.Observer = obs })
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }

	ctx, calls := CountCalls(context.Background())
	p1, err := c.ListTasks(ctx, pooltask.ListOptions{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	p1.Tasks[0].ID = "mutated by a caller"
	p1.Tasks[0].Scripts[0].Name = "mutated by a caller"
	p2, err := c.ListTasks(ctx, pooltask.ListOptions{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if rec.count() != 1 || obs.hits.Load() != 1 || calls() != 1 {
		t.Errorf("requests %d, cache hits %d, counted calls %d; want 1, 1, 1", rec.count(), obs.hits.Load(), calls())
	}
	if p2.Tasks[0].ID != "task-000" || p2.Tasks[0].Scripts[0].Name != "clean-temp-disk" {
		t.Errorf("cached answer changed by a caller: %q, script %q", p2.Tasks[0].ID, p2.Tasks[0].Scripts[0].Name)
	}
	if _, err := c.ListTasks(ctx, pooltask.ListOptions{Limit: 4, Status: pooltask.FilterFailed}); err != nil || rec.count() != 2 {
		t.Errorf("another query: err %v, requests %d, want 2", err, rec.count())
	}
	now = now.Add(11 * time.Second)
	if _, err := c.ListTasks(ctx, pooltask.ListOptions{Limit: 5}); err != nil || rec.count() != 3 {
		t.Errorf("after the TTL: err %v, requests %d, want 3", err, rec.count())
	}
}

// TestCacheForgetsExpired: answers past their TTL are forgotten as new
// ones come, long before the cache is full, so that a steady stream of new
// queries (a relative time moves on every second) does not grow it.
func TestCacheForgetsExpired(t *testing.T) {
	srv, _ := newServer(t, pagingServer(5))
	c := newClient(t, srv.URL, func(c *Config) { c.CacheTTL = 10 * time.Second })
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	for i := range 30 {
		if _, err := c.ListTasks(context.Background(), pooltask.ListOptions{Limit: 5, ScriptName: fmt.Sprint("s", i)}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	c.tasks.mu.Lock()
	defer c.tasks.mu.Unlock()
	if n := len(c.tasks.cache); n > 20 {
		t.Errorf("%d answers cached after 30 queries a second apart, want at most those of the last two TTLs (20 s)", n)
	}
}

func TestNoCacheByDefault(t *testing.T) {
	srv, rec := newServer(t, okTasks)
	c := newClient(t, srv.URL, nil)
	for range 2 {
		if _, err := c.ListTasks(context.Background(), pooltask.ListOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := rec.count(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			writeError(w, 400, "WKS.0001", "bad", "")
			return
		}
		okTasks(w, r, n)
	})
	c := newClient(t, srv.URL, func(c *Config) { c.CacheTTL = time.Minute })
	if _, err := c.ListTasks(context.Background(), pooltask.ListOptions{}); err == nil {
		t.Fatal("first call: want an error")
	}
	if _, err := c.ListTasks(context.Background(), pooltask.ListOptions{}); err != nil {
		t.Fatalf("second call: %v", err)
	}
	if n := rec.count(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestBurstStaysWithinTheTokenBucket(t *testing.T) {
	const (
		calls = 40
		rps   = 50.0
		burst = 5
	)
	srv, rec := newServer(t, okTasks)
	obs := &countingObserver{}
	c := newClient(t, srv.URL, func(c *Config) { c.RateLimit = rps; c.Burst = burst; c.Observer = obs })
	var wg sync.WaitGroup
	// The bucket is full now; no call is admitted before t0.
	t0 := time.Now()
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Distinct offsets: nothing is coalesced.
			if _, err := c.ListTasks(context.Background(), pooltask.ListOptions{Offset: i}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := rec.count(); n != calls {
		t.Fatalf("%d requests, want %d", n, calls)
	}
	times := append([]time.Time(nil), rec.times...)
	for i := range times {
		for j := i + 1; j < len(times); j++ {
			if times[j].Before(times[i]) {
				times[i], times[j] = times[j], times[i]
			}
		}
	}
	// A request reaches the server after the limiter admitted it, so
	// counting arrivals from t0 can only undercount what was admitted.
	for i, at := range times {
		allowed := burst + rps*at.Sub(t0).Seconds()
		if float64(i+1) > allowed {
			t.Errorf("%d requests by %v, want at most %.1f", i+1, at.Sub(t0), allowed)
		}
	}
	if span, min := times[len(times)-1].Sub(t0), time.Duration(float64(calls-burst)/rps*float64(time.Second)); span < min {
		t.Errorf("40 calls took %v, want at least %v", span, min)
	}
	obs.mu.Lock()
	if obs.waits != calls {
		t.Errorf("%d rate limit waits observed, want %d", obs.waits, calls)
	}
	obs.mu.Unlock()
}

// TestConcurrentWaitsStayWithinTheTokenBucket: many callers reserving at
// once must not be admitted early. x/time/rate reads the clock before it
// takes its lock, and a reading older than the last one credits that
// interval again; wait must hand it readings in order.
func TestConcurrentWaitsStayWithinTheTokenBucket(t *testing.T) {
	const (
		rounds  = 3
		callers = 2000
		rps     = 10000.0
		burst   = 1
	)
	// More threads than CPUs: the OS then also preempts callers between
	// reading the clock and locking. The old wait admitted callers early
	// (by 1.5 ms or more) in about 98 rounds out of 100.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(16, runtime.NumCPU())))
	c := newClient(t, "http://127.0.0.1:1", func(c *Config) { c.RateLimit = rps; c.Burst = burst })
	for round := range rounds {
		start := make(chan struct{})
		admitted := make([]time.Time, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if err := c.wait(context.Background()); err != nil {
					t.Error(err)
				}
				admitted[i] = time.Now()
			}()
		}
		// Every earlier wait has returned and none of this round has
		// reserved: the bucket holds at most burst tokens at t0 and gains
		// rps a second. A wait returns after its token's time, on the
		// same monotonic clock, so by any time at most burst +
		// rps*(at-t0) of the round have returned.
		t0 := time.Now()
		close(start)
		wg.Wait()
		slices.SortFunc(admitted, time.Time.Compare)
		worst, worstN, worstAt := 0.0, 0, time.Duration(0)
		for i, at := range admitted {
			if over := float64(i+1) - (burst + rps*at.Sub(t0).Seconds()); over > worst {
				worst, worstN, worstAt = over, i+1, at.Sub(t0)
			}
		}
		if worst > 0 {
			t.Errorf("round %d: %d waits returned by %v, %v too early for the bucket",
				round, worstN, worstAt, time.Duration(worst/rps*float64(time.Second)))
		}
	}
}

func TestRateLimitWaitRespectsContext(t *testing.T) {
	srv, rec := newServer(t, okTasks)
	c := newClient(t, srv.URL, func(c *Config) { c.RateLimit = 0.1; c.Burst = 1 })
	if _, err := c.ListTasks(context.Background(), pooltask.ListOptions{Offset: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ListTasks(ctx, pooltask.ListOptions{Offset: 2})
	// The next token comes in 10s; the bound is loose for a busy CI machine.
	if err != context.DeadlineExceeded || time.Since(start) > time.Second {
		t.Errorf("err %v after %v, want context.DeadlineExceeded promptly", err, time.Since(start))
	}
	if n := rec.count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestRecordsAndPools(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/script-execution-records"):
			writeJSON(w, 200, map[string]any{"count": 12, "script_records": []map[string]any{{
				"id": "r1", "script_id": "s1", "script_name": "clean", "script_task_id": "t1", "resource_id": "d1",
				"resource_name": "desk-01", "resource_type": "DESKTOP", "start_time": "2026-11-27T08:00:00Z",
				"end_time": "2026-11-27T08:01:00Z", "status": "FAILED", "result_code": "1", "reason": "exit 1"}}})
		case strings.HasSuffix(r.URL.Path, "/script-execution-records/r1"):
			writeJSON(w, 200, map[string]any{"id": "r1", "script_task_id": "t1", "resource_name": "desk-01",
				"status": "FAILED", "output": "disk full\n", "start_time": "2026-11-27T08:00:00Z"})
		case strings.HasSuffix(r.URL.Path, "/desktop-pools"):
			writeJSON(w, 200, map[string]any{"total_count": 1, "desktop_pools": []map[string]any{{
				"id": "p1", "name": "finance", "type": "DYNAMIC", "status": "STEADY", "desktop_count": 40}}})
		default:
			http.NotFound(w, r)
		}
	})
	c := newClient(t, srv.URL, nil)
	ctx := context.Background()

	rp, err := c.ListRecords(ctx, pooltask.RecordOptions{TaskID: "t1", Status: "FAILED", Offset: 10, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	wantQ := url.Values{"script_task_id": {"t1"}, "status": {"FAILED"}, "offset": {"10"}, "limit": {"50"}}
	if diff := cmp.Diff(wantQ, rec.last().URL.Query()); diff != "" {
		t.Errorf("records query (-want +got):\n%s", diff)
	}
	at := func(h, m int) time.Time { return time.Date(2026, 11, 27, h, m, 0, 0, time.UTC) }
	wantR := pooltask.RecordPage{Total: 12, Records: []pooltask.Record{{ID: "r1", TaskID: "t1", ScriptID: "s1", ScriptName: "clean",
		DesktopID: "d1", DesktopName: "desk-01", ResourceType: "DESKTOP", Start: at(8, 0), End: at(8, 1),
		Status: "FAILED", ResultCode: "1", Reason: "exit 1"}}}
	if diff := cmp.Diff(wantR, rp); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}

	r, err := c.GetRecord(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (pooltask.Record{ID: "r1", TaskID: "t1", DesktopName: "desk-01", Status: "FAILED", Output: "disk full\n", Start: at(8, 0)}); !cmp.Equal(want, r) {
		t.Errorf("record (-want +got):\n%s", cmp.Diff(want, r))
	}

	pp, err := c.ListPools(ctx, pooltask.PoolOptions{Name: "fin", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(url.Values{"name": {"fin"}, "limit": {"1000"}}, rec.last().URL.Query()); diff != "" {
		t.Errorf("pools query (-want +got):\n%s", diff)
	}
	wantP := pooltask.PoolPage{Total: 1, Pools: []pooltask.Pool{{ID: "p1", Name: "finance", Type: "DYNAMIC", Status: "STEADY", DesktopCount: 40}}}
	if diff := cmp.Diff(wantP, pp); diff != "" {
		t.Errorf("pools (-want +got):\n%s", diff)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"nothing", Config{AK: "a", SK: "b"}, "region or an endpoint"},
		{"endpoint without project", Config{Endpoint: "http://127.0.0.1:1", AK: "a", SK: "b"}, "project id"},
		{"unknown region", Config{Region: "mars-north-1", ProjectID: "p", AK: "a", SK: "b"}, "unknown region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	c, err := New(Config{Region: "ap-southeast-1", ProjectID: "p", AK: "a", SK: "b"})
	if err != nil {
		t.Fatalf("known region: %v", err)
	}
	if c.ProjectID() != "p" {
		t.Errorf("ProjectID = %q", c.ProjectID())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second},
		{now.Add(-5 * time.Second).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	c := &Client{cfg: withDefaults(Config{})}
	throttled := &pooltask.APIError{Status: 429, Code: "APIGW.0308"}
	for range 100 {
		if d := c.backoff(1, throttled); d < 2*time.Second || d > 5*time.Second {
			t.Fatalf("429 backoff %v, want 2–5 s", d)
		}
		if d := c.backoff(3, &pooltask.APIError{Status: 500}); d < time.Second || d > 2*time.Second {
			t.Fatalf("third 5xx backoff %v, want 1–2 s", d)
		}
		if d := c.backoff(40, &pooltask.APIError{Status: 500}); d > 8*time.Second || d <= 0 {
			t.Fatalf("capped backoff %v", d)
		}
	}
	if d := c.backoff(1, &pooltask.APIError{Status: 429, RetryAfter: 7 * time.Second}); d != 7*time.Second {
		t.Errorf("backoff with Retry-After = %v, want 7s", d)
	}
}

func TestIsRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{&pooltask.APIError{Status: 429}, true},
		{&pooltask.APIError{Status: 400, Code: "APIG.0308"}, true},
		{&pooltask.APIError{Status: 500}, true},
		{&pooltask.APIError{Status: 503}, true},
		{&pooltask.APIError{Status: 400}, false},
		{&pooltask.APIError{Status: 401}, false},
		{&pooltask.APIError{Status: 403}, false},
		{&pooltask.APIError{Status: 404}, false},
		{errors.New("something else"), false},
	}
	for _, tt := range tests {
		if got := IsRetryable(tt.err); got != tt.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestPanicInCallBecomesError(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", nil)
	_, _, err := newShared[int]("Boom").do(context.Background(), c, "boom", func(map[string]string) (int, error) {
		panic("sdk bug")
	})
	if err == nil || !strings.Contains(err.Error(), "sdk bug") {
		t.Errorf("err = %v, want the panic as an error", err)
	}
}

func TestTemporaryCredentialsAndTrailingSlash(t *testing.T) {
	srv, rec := newServer(t, okTasks)
	c := newClient(t, srv.URL+"/", func(c *Config) { c.SecurityToken = "temporary-token" })
	if _, err := c.ListTasks(context.Background(), pooltask.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	r := rec.last()
	if got := r.Header.Get("X-Security-Token"); got != "temporary-token" {
		t.Errorf("X-Security-Token = %q", got)
	}
	if !strings.HasPrefix(r.URL.Path, "/v2/") {
		t.Errorf("path %q", r.URL.Path)
	}
}

func TestNetworkErrorsAreRetried(t *testing.T) {
	// A listener closed at once: connections to it are refused.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	obs := &countingObserver{}
	c := newClient(t, url, func(c *Config) { c.MaxAttempts = 3; c.Observer = obs })
	ctx, calls := CountCalls(context.Background())
	_, err := c.ListTasks(ctx, pooltask.ListOptions{})
	if err == nil || !IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable network error", err)
	}
	var ae *pooltask.APIError
	if errors.As(err, &ae) {
		t.Errorf("err = %v, want no APIError", err)
	}
	if got := calls(); got != 3 {
		t.Errorf("CountCalls = %d, want 3", got)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if diff := cmp.Diff([]int{0, 0, 0}, obs.statuses); diff != "" {
		t.Errorf("observed statuses (-want +got):\n%s", diff)
	}
}

// TestAnswerBodies: a successful answer that is not the JSON asked for is
// reported as such, without the decoder's words, and not retried; a body
// larger than the bound fails with *BodyTooLargeError after reading at
// most the bound, whether its length is announced or not.
func TestAnswerBodies(t *testing.T) {
	const limit = 64 << 10
	huge := strings.Repeat("x", 4*limit)
	tests := []struct {
		name  string
		serve func(w http.ResponseWriter)
		check func(t *testing.T, err error)
	}{
		{"an HTML login page", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("X-Request-Id", "req-html")
			fmt.Fprint(w, "<html><body>Sign in to continue</body></html>")
		}, func(t *testing.T, err error) {
			var nj *NotJSONError
			if !errors.As(err, &nj) || nj.ContentType != "text/html" ||
				!strings.Contains(err.Error(), "the API answered with text/html, not JSON; status 200, request id req-html") {
				t.Errorf("err = %v", err)
			}
		}},
		{"a truncated JSON body", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Request-Id", "req-cut")
			fmt.Fprint(w, `{"total_count": 3, "script_execution_tasks": [{"id": "t1", "sta`)
		}, func(t *testing.T, err error) {
			var nj *NotJSONError
			if !errors.As(err, &nj) || !strings.Contains(err.Error(), "status 200, request id req-cut") ||
				strings.Contains(err.Error(), "unexpected end") {
				t.Errorf("err = %v", err)
			}
		}},
		{"a huge body, length announced", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(huge)))
			fmt.Fprint(w, huge)
		}, func(t *testing.T, err error) {
			if _, ok := errors.AsType[*BodyTooLargeError](err); !ok {
				t.Errorf("err = %v, want a *BodyTooLargeError", err)
			}
		}},
		{"a huge body, streamed", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"script_execution_tasks": [`)
			w.(http.Flusher).Flush()
			fmt.Fprint(w, huge)
		}, func(t *testing.T, err error) {
			if _, ok := errors.AsType[*BodyTooLargeError](err); !ok || !strings.Contains(err.Error(), "larger than 65536 bytes") {
				t.Errorf("err = %v, want a *BodyTooLargeError", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) { tt.serve(w) })
			c := newClient(t, srv.URL, func(c *Config) { c.MaxBody = limit })
			_, err := c.ListTasks(context.Background(), pooltask.ListOptions{})
			tt.check(t, err)
			if strings.Contains(fmt.Sprint(err), "http://") {
				t.Errorf("err = %v: quotes the URL", err)
			}
			if n := rec.count(); n != 1 {
				t.Errorf("%d requests, want 1: such an answer is not retried", n)
			}
		})
	}
}

// TestLimitedBodyReadsAtMostTheBound: the bound holds memory down to the
// bound, not to the body: reading a 50 MB body stops after limit+1 bytes.
func TestLimitedBodyReadsAtMostTheBound(t *testing.T) {
	const limit = 1 << 20
	src := &countingReader{left: 50 << 20}
	resp := &http.Response{StatusCode: 200, Header: http.Header{}, ContentLength: -1, Body: io.NopCloser(src)}
	if err := checkAnswer(resp, limit); err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	if _, ok := errors.AsType[*BodyTooLargeError](err); !ok {
		t.Fatalf("err = %v, want a *BodyTooLargeError", err)
	}
	if len(data) != limit || src.read > limit+1 {
		t.Errorf("read %d bytes from the body and kept %d; want at most %d", src.read, len(data), limit+1)
	}
}

// countingReader is a body of left bytes that counts what was read.
type countingReader struct{ left, read int }

func (r *countingReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.left)
	r.left -= n
	r.read += n
	return n, nil
}
