package sim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	wks "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/workspace/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/workspace/v2/model"
	"github.com/pooltasks/pooltasks/pooltask"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

// start serves a simulator on loopback for the test.
func start(t *testing.T, opts Options) (*Sim, *httptest.Server) {
	t.Helper()
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

// sdkClient is the official SDK's client pointed at url.
func sdkClient(t *testing.T, url, sk string) *wks.WorkspaceClient {
	t.Helper()
	hc, err := wks.WorkspaceClientBuilder().
		WithRegion(region.NewRegion("sim", url)).
		WithCredential(basic.NewCredentialsBuilder().WithAk(DemoAK).WithSk(sk).WithProjectId(DemoProjectID).Build()).
		WithHttpConfig(config.DefaultHttpConfig().WithUserAgent("pooltasks-sim-test").WithTimeout(10 * time.Second)).
		SafeBuild()
	if err != nil {
		t.Fatalf("building SDK client: %v", err)
	}
	return wks.NewWorkspaceClient(hc)
}

func ptr[T any](v T) *T { return &v }

func TestSDKSignatureAccepted(t *testing.T) {
	clock := &fakeClock{t: t0}
	s, srv := start(t, Options{Now: clock.Now})
	c := sdkClient(t, srv.URL, DemoSK)

	resp, err := c.ShowDesktopPoolsScriptExecTasks(&model.ShowDesktopPoolsScriptExecTasksRequest{
		Status: ptr("FAILED"), Limit: ptr(int32(5)), TaskId: nil,
	})
	if err != nil {
		t.Fatalf("ShowDesktopPoolsScriptExecTasks: %v", err)
	}
	if got := len(*resp.ScriptExecutionTasks); got != 5 {
		t.Fatalf("got %d tasks, want 5", got)
	}
	if *resp.TotalCount < 10 {
		t.Errorf("total_count %d, want at least 10 failed tasks", *resp.TotalCount)
	}
	for _, task := range *resp.ScriptExecutionTasks {
		if task.Status.Value() != "FAILED" {
			t.Errorf("task %s status %s, want FAILED", *task.Id, task.Status.Value())
		}
		if task.EndTime == nil || *task.EndTime == "" {
			t.Errorf("failed task %s has no end_time", *task.Id)
		}
	}

	// Repeated task_id and a script name with characters that need escaping
	// in the query and in the canonical request.
	tasks := s.Tasks()
	ids := []string{tasks[3].ID, tasks[7].ID}
	resp, err = c.ShowDesktopPoolsScriptExecTasks(&model.ShowDesktopPoolsScriptExecTasksRequest{TaskId: &ids})
	if err != nil {
		t.Fatalf("by task_id: %v", err)
	}
	if *resp.TotalCount != 2 {
		t.Errorf("by task_id: total %d, want 2", *resp.TotalCount)
	}
	resp, err = c.ShowDesktopPoolsScriptExecTasks(&model.ShowDesktopPoolsScriptExecTasksRequest{ScriptName: ptr("<!channel> alert")})
	if err != nil {
		t.Fatalf("by script name: %v", err)
	}
	if *resp.TotalCount == 0 {
		t.Errorf("by script name %q: no tasks", "<!channel> alert")
	}

	pools, err := c.ListDesktopPools(&model.ListDesktopPoolsRequest{Name: ptr("R&D <")})
	if err != nil {
		t.Fatalf("ListDesktopPools: %v", err)
	}
	if *pools.TotalCount != 1 || *(*pools.DesktopPools)[0].Name != "R&D <lab>" {
		t.Errorf("pools named like R&D <: %v", pools)
	}
}

func TestOwnCredentials(t *testing.T) {
	const ak, sk = "OWNTESTAK0000000000A", "own-test-secret-key-0000000000000000000"
	_, srv := start(t, Options{AK: ak, SK: sk})
	hc, err := wks.WorkspaceClientBuilder().
		WithRegion(region.NewRegion("sim", srv.URL)).
		WithCredential(basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithSecurityToken("own-sts-token").WithProjectId(DemoProjectID).Build()).
		WithHttpConfig(config.DefaultHttpConfig().WithUserAgent("pooltasks-sim-test").WithTimeout(10 * time.Second)).
		SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wks.NewWorkspaceClient(hc).ListDesktopPools(&model.ListDesktopPoolsRequest{}); err != nil {
		t.Errorf("own credentials with a security token: %v", err)
	}
	_, err = sdkClient(t, srv.URL, DemoSK).ListDesktopPools(&model.ListDesktopPoolsRequest{})
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) || se.StatusCode != 401 {
		t.Errorf("demo credentials on a simulator with its own: %v, want 401", err)
	}
}

func TestSDKSignatureRejected(t *testing.T) {
	s, srv := start(t, Options{})
	c := sdkClient(t, srv.URL, "wrong-secret-key-000000000000000000000000")
	_, err := c.ShowDesktopPoolsScriptExecTasks(&model.ShowDesktopPoolsScriptExecTasksRequest{})
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) {
		t.Fatalf("got %v (%T), want a ServiceResponseError", err, err)
	}
	if se.StatusCode != 401 || se.ErrorCode != "APIGW.0301" {
		t.Errorf("got %d %s, want 401 APIGW.0301", se.StatusCode, se.ErrorCode)
	}
	if !strings.Contains(se.ErrorMessage, "canonicalRequest") || !strings.Contains(se.ErrorMessage, DemoAK) {
		t.Errorf("message %q should echo the canonical request like the gateway", se.ErrorMessage)
	}
	if se.RequestId == "" {
		t.Error("no request id")
	}
	if s.Requests() != 1 {
		t.Errorf("requests %d, want 1", s.Requests())
	}
}

// rawGet sends an unsigned (or hand-signed) request and decodes the error
// body.
func rawGet(t *testing.T, url string, hdr map[string]string) (int, errorBody) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b errorBody
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("body %q: %v", raw, err)
	}
	return resp.StatusCode, b
}

func TestAuthFailures(t *testing.T) {
	_, srv := start(t, Options{})
	path := srv.URL + "/v2/" + DemoProjectID + "/desktop-pools"
	now := time.Now().UTC()
	tests := []struct {
		name string
		hdr  map[string]string
	}{
		{"no authorization", nil},
		{"other algorithm", map[string]string{"Authorization": "V11-HMAC-SHA256 Access=x, SignedHeaders=x-sdk-date, Signature=00"}},
		{"no date", map[string]string{"Authorization": "SDK-HMAC-SHA256 Access=" + DemoAK + ", SignedHeaders=x-sdk-date, Signature=00"}},
		{"stale date", map[string]string{
			"Authorization": "SDK-HMAC-SHA256 Access=" + DemoAK + ", SignedHeaders=x-sdk-date, Signature=00",
			"X-Sdk-Date":    now.Add(-20 * time.Minute).Format("20060102T150405Z"),
		}},
		{"bad signature", map[string]string{
			"Authorization": "SDK-HMAC-SHA256 Access=" + DemoAK + ", SignedHeaders=x-sdk-date, Signature=00",
			"X-Sdk-Date":    now.Format("20060102T150405Z"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawGet(t, path, tt.hdr)
			if status != 401 || body.ErrorCode != "APIGW.0301" || !strings.HasPrefix(body.ErrorMsg, "Incorrect IAM authentication information") {
				t.Errorf("got %d %+v, want 401 APIGW.0301", status, body)
			}
		})
	}
}

func TestWrongProjectAndUnknownPath(t *testing.T) {
	_, srv := start(t, Options{})
	c := sdkClient(t, srv.URL, DemoSK)
	// The SDK fills project_id from the credential, so use a client whose
	// credential names another project: the signature is valid, the project
	// is not the demo one.
	hc, err := wks.WorkspaceClientBuilder().
		WithRegion(region.NewRegion("sim", srv.URL)).
		WithCredential(basic.NewCredentialsBuilder().WithAk(DemoAK).WithSk(DemoSK).WithProjectId("ffffffffffffffffffffffffffffffff").Build()).
		WithHttpConfig(config.DefaultHttpConfig().WithUserAgent("pooltasks-sim-test")).
		SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	_, err = wks.NewWorkspaceClient(hc).ListDesktopPools(&model.ListDesktopPoolsRequest{})
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) || se.StatusCode != 401 || se.ErrorCode != "APIGW.0301" {
		t.Errorf("other project: got %v, want 401 APIGW.0301", err)
	}
	// An API the simulator does not have, signed correctly.
	_, err = c.ShowDesktopPoolDetail(&model.ShowDesktopPoolDetailRequest{PoolId: "x"})
	if !errors.As(err, &se) || se.StatusCode != 404 || se.ErrorCode != "APIGW.0101" {
		t.Errorf("unknown API: got %v, want 404 APIGW.0101", err)
	}
}

// list calls the task list through the SDK.
func list(t *testing.T, c *wks.WorkspaceClient, req model.ShowDesktopPoolsScriptExecTasksRequest) (*model.ShowDesktopPoolsScriptExecTasksResponse, error) {
	t.Helper()
	return c.ShowDesktopPoolsScriptExecTasks(&req)
}

func TestFilters(t *testing.T) {
	clock := &fakeClock{t: t0}
	s, srv := start(t, Options{Now: clock.Now})
	c := sdkClient(t, srv.URL, DemoSK)
	all := s.Tasks()
	if len(all) < 150 {
		t.Fatalf("only %d generated tasks", len(all))
	}
	pools := s.Pools()
	fin := pools[0]
	var someScript pooltask.Script
	for _, tk := range all {
		if len(tk.Scripts) > 0 {
			someScript = tk.Scripts[0]
			break
		}
	}
	from, to := t0.Add(-48*time.Hour), t0.Add(-24*time.Hour)

	tests := []struct {
		name string
		req  model.ShowDesktopPoolsScriptExecTasksRequest
		keep func(pooltask.Task) bool
	}{
		{"none", model.ShowDesktopPoolsScriptExecTasksRequest{}, func(pooltask.Task) bool { return true }},
		{"pool", model.ShowDesktopPoolsScriptExecTasksRequest{DesktopPoolId: &fin.ID}, func(tk pooltask.Task) bool { return tk.PoolID == fin.ID }},
		{"script id", model.ShowDesktopPoolsScriptExecTasksRequest{ScriptId: &someScript.ID}, func(tk pooltask.Task) bool {
			for _, sc := range tk.Scripts {
				if sc.ID == someScript.ID {
					return true
				}
			}
			return false
		}},
		{"script name", model.ShowDesktopPoolsScriptExecTasksRequest{ScriptName: ptr("ROTATE-cert")}, func(tk pooltask.Task) bool {
			for _, sc := range tk.Scripts {
				if strings.Contains(sc.Name, "rotate-cert") {
					return true
				}
			}
			return false
		}},
		{"SUCCESS is FINISH", model.ShowDesktopPoolsScriptExecTasksRequest{Status: ptr("SUCCESS")}, func(tk pooltask.Task) bool { return tk.Status == pooltask.StatusFinish }},
		{"WAITING is INIT", model.ShowDesktopPoolsScriptExecTasksRequest{Status: ptr("WAITING")}, func(tk pooltask.Task) bool { return tk.Status == pooltask.StatusInit }},
		{"RUNNING", model.ShowDesktopPoolsScriptExecTasksRequest{Status: ptr("RUNNING")}, func(tk pooltask.Task) bool { return tk.Status == pooltask.StatusRunning }},
		{"FAILED", model.ShowDesktopPoolsScriptExecTasksRequest{Status: ptr("FAILED")}, func(tk pooltask.Task) bool { return tk.Status == pooltask.StatusFailed }},
		{"COMMAND", model.ShowDesktopPoolsScriptExecTasksRequest{TaskType: ptr("COMMAND")}, func(tk pooltask.Task) bool { return tk.CommandContent != "" }},
		{"SCRIPT", model.ShowDesktopPoolsScriptExecTasksRequest{TaskType: ptr("SCRIPT")}, func(tk pooltask.Task) bool { return len(tk.Scripts) > 0 }},
		{"time window", model.ShowDesktopPoolsScriptExecTasksRequest{
			ExecuteTimeStart: ptr(from.Format(timeFormat)), ExecuteTimeEnd: ptr(to.Format(timeFormat)),
		}, func(tk pooltask.Task) bool { return !tk.Start.Before(from) && !tk.Start.After(to) }},
		{"task ids", model.ShowDesktopPoolsScriptExecTasksRequest{TaskId: &[]string{all[0].ID, all[10].ID, "nope"}}, func(tk pooltask.Task) bool {
			return tk.ID == all[0].ID || tk.ID == all[10].ID
		}},
		{"pool and failed", model.ShowDesktopPoolsScriptExecTasksRequest{DesktopPoolId: &fin.ID, Status: ptr("FAILED")}, func(tk pooltask.Task) bool {
			return tk.PoolID == fin.ID && tk.Status == pooltask.StatusFailed
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, tk := range all {
				if tt.keep(tk) {
					want = append(want, tk.ID)
				}
			}
			if len(want) == 0 {
				t.Fatal("the filter matches nothing in the data: a weak test")
			}
			req := tt.req
			req.Limit = ptr(int32(100))
			var got []string
			total := -1
			for off := int32(0); ; off += 100 {
				req.Offset = ptr(off)
				resp, err := list(t, c, req)
				if err != nil {
					t.Fatal(err)
				}
				total = int(*resp.TotalCount)
				for _, tk := range *resp.ScriptExecutionTasks {
					got = append(got, *tk.Id)
				}
				if len(*resp.ScriptExecutionTasks) < 100 {
					break
				}
			}
			if total != len(want) {
				t.Errorf("total_count %d, want %d", total, len(want))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBadParameters(t *testing.T) {
	_, srv := start(t, Options{})
	c := sdkClient(t, srv.URL, DemoSK)
	tests := []struct {
		name string
		req  model.ShowDesktopPoolsScriptExecTasksRequest
		want string
	}{
		{"limit 101", model.ShowDesktopPoolsScriptExecTasksRequest{Limit: ptr(int32(101))}, "limit"},
		{"limit -1", model.ShowDesktopPoolsScriptExecTasksRequest{Limit: ptr(int32(-1))}, "limit"},
		{"offset -1", model.ShowDesktopPoolsScriptExecTasksRequest{Offset: ptr(int32(-1))}, "offset"},
		{"status FINISH", model.ShowDesktopPoolsScriptExecTasksRequest{Status: ptr("FINISH")}, "status"},
		{"status lower", model.ShowDesktopPoolsScriptExecTasksRequest{Status: ptr("failed")}, "status"},
		{"task type", model.ShowDesktopPoolsScriptExecTasksRequest{TaskType: ptr("BATCH")}, "task_type"},
		{"start", model.ShowDesktopPoolsScriptExecTasksRequest{ExecuteTimeStart: ptr("2026-11-27")}, "execute_time_start"},
		{"end", model.ShowDesktopPoolsScriptExecTasksRequest{ExecuteTimeEnd: ptr("2026-11-27T09:00:00+01:00")}, "execute_time_end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := list(t, c, tt.req)
			var se *sdkerr.ServiceResponseError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a 400", err)
			}
			if se.StatusCode != 400 || se.ErrorCode != "WKS.0001" || !strings.Contains(se.ErrorMessage, "Invalid parameter: "+tt.want) {
				t.Errorf("got %d %s %q, want 400 WKS.0001 naming %s", se.StatusCode, se.ErrorCode, se.ErrorMessage, tt.want)
			}
		})
	}
	// limit 0 is within range: no tasks, but the count.
	resp, err := list(t, c, model.ShowDesktopPoolsScriptExecTasksRequest{Limit: ptr(int32(0))})
	if err != nil {
		t.Fatal(err)
	}
	if len(*resp.ScriptExecutionTasks) != 0 || *resp.TotalCount != 201 {
		t.Errorf("limit 0: %d tasks, total %d; want 0 and 201", len(*resp.ScriptExecutionTasks), *resp.TotalCount)
	}
}

func TestPagingAndOrder(t *testing.T) {
	_, srv := start(t, Options{Now: (&fakeClock{t: t0}).Now})
	c := sdkClient(t, srv.URL, DemoSK)
	resp, err := list(t, c, model.ShowDesktopPoolsScriptExecTasksRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(*resp.ScriptExecutionTasks) != 10 {
		t.Errorf("default page has %d tasks, want 10", len(*resp.ScriptExecutionTasks))
	}
	var starts []string
	seen := map[string]bool{}
	for off := int32(0); off < 250; off += 30 {
		resp, err := list(t, c, model.ShowDesktopPoolsScriptExecTasksRequest{Offset: ptr(off), Limit: ptr(int32(30))})
		if err != nil {
			t.Fatal(err)
		}
		if *resp.TotalCount != 201 {
			t.Fatalf("total %d, want 201", *resp.TotalCount)
		}
		for _, tk := range *resp.ScriptExecutionTasks {
			if seen[*tk.Id] {
				t.Errorf("task %s on two pages", *tk.Id)
			}
			seen[*tk.Id] = true
			starts = append(starts, *tk.StartTime)
		}
	}
	if len(seen) != 201 {
		t.Errorf("pages held %d tasks, want 201", len(seen))
	}
	for i := 1; i < len(starts); i++ {
		if starts[i] > starts[i-1] {
			t.Fatalf("not newest first at %d: %s after %s", i, starts[i], starts[i-1])
		}
	}
}

func TestRecordsAndOutput(t *testing.T) {
	clock := &fakeClock{t: t0}
	s, srv := start(t, Options{Now: clock.Now})
	c := sdkClient(t, srv.URL, DemoSK)

	// The newest finished failure is the CrowdStrike install on
	// finance-win11 that failed on FIN-W11-0042 (1603) and FIN-W11-0007.
	resp, err := list(t, c, model.ShowDesktopPoolsScriptExecTasksRequest{Status: ptr("FAILED"), Limit: ptr(int32(1))})
	if err != nil {
		t.Fatal(err)
	}
	task := (*resp.ScriptExecutionTasks)[0]
	if *task.DesktopPoolName != "finance-win11" || *task.FailedNum != 2 || *task.SuccessNum != 46 {
		t.Fatalf("newest failed task: %v", task)
	}
	recs, err := c.ListScriptRecords(&model.ListScriptRecordsRequest{ScriptTaskId: task.Id, Status: ptr("FAILED"), Limit: ptr(int32(100))})
	if err != nil {
		t.Fatal(err)
	}
	if *recs.Count != 2 || len(*recs.ScriptRecords) != 2 {
		t.Fatalf("failed records: %v", recs)
	}
	var r42 model.ScriptRecordSimpleInfo
	for _, r := range *recs.ScriptRecords {
		if *r.ResourceName == "FIN-W11-0042" {
			r42 = r
		}
	}
	if r42.Id == nil || *r42.ResultCode != "1603" || *r42.Reason != "exit code 1603" || r42.StartTime == nil || r42.EndTime == nil {
		t.Fatalf("FIN-W11-0042 record: %v", r42)
	}
	if time.Time(*r42.EndTime).Before(time.Time(*r42.StartTime)) || time.Time(*r42.StartTime).Year() != 2026 {
		t.Errorf("record times %v %v", *r42.StartTime, *r42.EndTime)
	}
	detail, err := c.ShowScriptRecordDetail(&model.ShowScriptRecordDetailRequest{RecordId: *r42.Id})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(*detail.Output, "1603") || !strings.Contains(*detail.Output, "\n") {
		t.Errorf("output %q", *detail.Output)
	}

	// All records, paged: 48 desktops, one script each.
	all, err := c.ListScriptRecords(&model.ListScriptRecordsRequest{ScriptTaskId: task.Id, Offset: ptr(int32(40)), Limit: ptr(int32(100))})
	if err != nil {
		t.Fatal(err)
	}
	if *all.Count != 48 || len(*all.ScriptRecords) != 8 {
		t.Errorf("count %d, page %d; want 48 and 8", *all.Count, len(*all.ScriptRecords))
	}
	_, err = c.ListScriptRecords(&model.ListScriptRecordsRequest{ScriptTaskId: task.Id, Limit: ptr(int32(0))})
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) || se.StatusCode != 400 {
		t.Errorf("records limit 0: got %v, want 400", err)
	}
	_, err = c.ShowScriptRecordDetail(&model.ShowScriptRecordDetailRequest{RecordId: "00000000-0000-4000-8000-000000000000"})
	if !errors.As(err, &se) || se.StatusCode != 400 || se.ErrorCode != "WKS.0001" {
		t.Errorf("unknown record: got %v, want 400 WKS.0001", err)
	}

	// Outputs that exercise the renderer: long, and with mentions.
	var long, mention bool
	for _, tk := range s.Tasks() {
		for _, r := range s.Records(tk.ID) {
			if len(r.Output) > 3000 {
				long = true
			}
			if strings.Contains(r.Output, "<!channel>") && strings.Contains(r.Output, "<@U123>") && strings.Contains(r.Output, "*bold*") {
				mention = true
			}
		}
	}
	if !long || !mention {
		t.Errorf("long output %v, output with mentions %v; want both", long, mention)
	}
}

func TestPools(t *testing.T) {
	_, srv := start(t, Options{})
	c := sdkClient(t, srv.URL, DemoSK)
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"all", "", []string{"finance-win11", "dev-ubuntu", "callcenter-pool", "callcenter-pool-emea", "R&D <lab>", "hr-win10-legacy", "kiosk-lobby"}},
		{"prefix shared", "CallCenter", []string{"callcenter-pool", "callcenter-pool-emea"}},
		{"substring", "win1", []string{"finance-win11", "hr-win10-legacy"}},
		{"none", "nope", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &model.ListDesktopPoolsRequest{Limit: ptr(int32(1000))}
			if tt.query != "" {
				req.Name = &tt.query
			}
			resp, err := c.ListDesktopPools(req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range *resp.DesktopPools {
				got = append(got, *p.Name)
				if p.Id == nil || p.DesktopCount == nil || *p.DesktopCount == 0 || p.Status == nil || p.Type == nil {
					t.Errorf("pool %v lacks fields", p)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if int(*resp.TotalCount) != len(tt.want) {
				t.Errorf("total %d, want %d", *resp.TotalCount, len(tt.want))
			}
		})
	}
	_, err := c.ListDesktopPools(&model.ListDesktopPoolsRequest{Limit: ptr(int32(1001))})
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) || se.StatusCode != 400 {
		t.Errorf("limit 1001: got %v, want 400", err)
	}
}

func TestInjectError(t *testing.T) {
	s, srv := start(t, Options{})
	c := sdkClient(t, srv.URL, DemoSK)
	fin, dev := s.Pools()[0], s.Pools()[1]
	s.InjectError(fin.ID, 500, "WKS.0002", "internal error in pool service")

	_, err := list(t, c, model.ShowDesktopPoolsScriptExecTasksRequest{DesktopPoolId: &fin.ID})
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) || se.StatusCode != 500 || se.ErrorCode != "WKS.0002" || se.ErrorMessage != "internal error in pool service" {
		t.Fatalf("injected pool: got %v", err)
	}
	if _, err := list(t, c, model.ShowDesktopPoolsScriptExecTasksRequest{DesktopPoolId: &dev.ID}); err != nil {
		t.Errorf("other pool: %v", err)
	}
	// The records of a task of that pool fail too.
	var finTask string
	for _, tk := range s.Tasks() {
		if tk.PoolID == fin.ID {
			finTask = tk.ID
			break
		}
	}
	if _, err := c.ListScriptRecords(&model.ListScriptRecordsRequest{ScriptTaskId: &finTask}); !errors.As(err, &se) || se.StatusCode != 500 {
		t.Errorf("records of the pool's task: got %v, want 500", err)
	}

	s.InjectError("", 403, "WKS.0003", "no permission")
	if _, err := list(t, c, model.ShowDesktopPoolsScriptExecTasksRequest{DesktopPoolId: &dev.ID}); !errors.As(err, &se) || se.StatusCode != 403 {
		t.Errorf("every request: got %v, want 403", err)
	}
	s.InjectError("", 0, "", "")
	s.InjectError(fin.ID, 0, "", "")
	if _, err := list(t, c, model.ShowDesktopPoolsScriptExecTasksRequest{DesktopPoolId: &fin.ID}); err != nil {
		t.Errorf("after clearing: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	s, srv := start(t, Options{RateLimit: 1, Burst: 3})
	c := sdkClient(t, srv.URL, DemoSK)
	ok, limited := 0, 0
	for range 6 {
		_, err := c.ListDesktopPools(&model.ListDesktopPoolsRequest{})
		var se *sdkerr.ServiceResponseError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &se) && se.StatusCode == 429 && se.ErrorCode == "APIGW.0308" && strings.Contains(se.ErrorMessage, "throttling threshold"):
			limited++
		default:
			t.Fatalf("unexpected %v", err)
		}
	}
	// 6 calls in well under a second at 1/s with burst 3: 3 pass, maybe
	// one more if a second went by.
	if ok < 3 || ok > 4 || limited != 6-ok {
		t.Errorf("ok %d, limited %d", ok, limited)
	}
	if s.Requests() != 6 {
		t.Errorf("requests %d, want 6", s.Requests())
	}
}

func TestHangRespectsDisconnect(t *testing.T) {
	s, srv := start(t, Options{})
	s.Hang(true)
	t.Cleanup(func() { s.Hang(false) })
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/"+DemoProjectID+"/desktop-pools", nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitFor(t, func() bool { return s.Requests() == 1 })
	select {
	case err := <-errc:
		t.Fatalf("request returned while hanging: %v", err)
	default:
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("request still hanging after cancel")
	}
	// The handler itself returns: httptest's Close (in Cleanup) would block
	// otherwise. Hang(false) releases later requests.
	s.Hang(false)
	status, _ := rawGet(t, srv.URL+"/v2/"+DemoProjectID+"/desktop-pools", nil)
	if status != 401 {
		t.Errorf("after Hang(false): %d, want 401 (unsigned)", status)
	}
}

func TestHangReleased(t *testing.T) {
	s, srv := start(t, Options{})
	s.Hang(true)
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/v2/" + DemoProjectID + "/desktop-pools")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	waitFor(t, func() bool { return s.Requests() == 1 })
	s.Hang(false)
	select {
	case status := <-done:
		if status != 401 {
			t.Errorf("status %d, want 401", status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not released")
	}
}

func TestLatency(t *testing.T) {
	s, srv := start(t, Options{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/x", nil)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline error", err)
	}
	s.SetLatency(0)
	if status, _ := rawGet(t, srv.URL+"/v2/x", nil); status != 401 {
		t.Errorf("status %d after SetLatency(0)", status)
	}
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestProgress(t *testing.T) {
	clock := &fakeClock{t: t0}
	s, srv := start(t, Options{Now: clock.Now})
	c := sdkClient(t, srv.URL, DemoSK)
	count := func(status string) int {
		resp, err := list(t, c, model.ShowDesktopPoolsScriptExecTasksRequest{Status: &status, Limit: ptr(int32(0))})
		if err != nil {
			t.Fatal(err)
		}
		return int(*resp.TotalCount)
	}
	if r, w := count("RUNNING"), count("WAITING"); r != 3 || w != 2 {
		t.Fatalf("at start: running %d, waiting %d; want 3 and 2", r, w)
	}
	running := func() pooltask.Task {
		for _, tk := range s.Tasks() {
			if tk.PoolName == "finance-win11" && tk.Start.Equal(t0.Add(-4*time.Minute)) {
				return tk
			}
		}
		t.Fatal("running finance task not found")
		return pooltask.Task{}
	}
	before := running()
	if before.Status != pooltask.StatusRunning || !before.End.IsZero() {
		t.Fatalf("before: %+v", before)
	}
	resp, err := list(t, c, model.ShowDesktopPoolsScriptExecTasksRequest{TaskId: &[]string{before.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if (*resp.ScriptExecutionTasks)[0].EndTime != nil {
		t.Errorf("running task has end_time %q", *(*resp.ScriptExecutionTasks)[0].EndTime)
	}
	done0 := before.SuccessNum + before.FailedNum + before.SkipNum
	clock.Add(3 * time.Minute)
	mid := running()
	done1 := mid.SuccessNum + mid.FailedNum + mid.SkipNum
	if mid.Status != pooltask.StatusRunning || done1 <= done0 {
		t.Errorf("after 3m: %s with %d done, before %d", mid.Status, done1, done0)
	}
	if count("WAITING") != 1 {
		t.Errorf("after 3m one INIT task should have started")
	}
	clock.Add(3 * time.Hour)
	if r, w := count("RUNNING"), count("WAITING"); r != 0 || w != 0 {
		t.Errorf("after 3h: running %d, waiting %d; want none", r, w)
	}
	after := running()
	if !after.Status.Ended() || after.End.IsZero() || after.SuccessNum+after.FailedNum+after.SkipNum != 48 {
		t.Errorf("after 3h: %+v", after)
	}
	if after.Status == pooltask.StatusFailed != (after.FailedNum > 0) {
		t.Errorf("status %s with %d failed", after.Status, after.FailedNum)
	}
}

func TestDeterminism(t *testing.T) {
	a := New(Options{Now: (&fakeClock{t: t0}).Now, Seed: 7})
	b := New(Options{Now: (&fakeClock{t: t0}).Now, Seed: 7})
	other := New(Options{Now: (&fakeClock{t: t0}).Now, Seed: 8})
	ta, tb := a.Tasks(), b.Tasks()
	if diff := cmp.Diff(ta, tb); diff != "" {
		t.Errorf("same seed, different tasks (-a +b):\n%s", diff)
	}
	if diff := cmp.Diff(a.Records(ta[20].ID), b.Records(tb[20].ID)); diff != "" {
		t.Errorf("same seed, different records (-a +b):\n%s", diff)
	}
	if cmp.Equal(ta, other.Tasks()) {
		t.Error("another seed gave the same tasks")
	}
	if diff := cmp.Diff(a.Pools(), other.Pools()); diff != "" {
		t.Errorf("pools depend on the seed:\n%s", diff)
	}
	// Every status appears, ids are lowercase uuids, windows ok.
	seen := map[pooltask.TaskStatus]int{}
	types := map[string]bool{}
	for _, tk := range ta {
		seen[tk.Status]++
		types[tk.CommandType] = true
		if len(tk.ID) != 36 || strings.ToLower(tk.ID) != tk.ID {
			t.Errorf("id %q", tk.ID)
		}
		if tk.Start.After(t0) || tk.Start.Before(t0.Add(-7*24*time.Hour)) {
			t.Errorf("task %s starts at %v", tk.ID, tk.Start)
		}
	}
	for _, st := range []pooltask.TaskStatus{pooltask.StatusFinish, pooltask.StatusFailed, pooltask.StatusRunning, pooltask.StatusInit} {
		if seen[st] == 0 {
			t.Errorf("no task in status %s", st)
		}
	}
	for _, ct := range []string{"POWERSHELL", "BAT", "SHELL"} {
		if !types[ct] {
			t.Errorf("no %s command", ct)
		}
	}
	if seen[pooltask.StatusFinish] < 80 || seen[pooltask.StatusFailed] < 30 {
		t.Errorf("status mix %v", seen)
	}
}

func TestPutTaskEmpty(t *testing.T) {
	s, srv := start(t, Options{Empty: true})
	c := sdkClient(t, srv.URL, DemoSK)
	if len(s.Tasks()) != 0 || len(s.Pools()) != 7 {
		t.Fatalf("empty sim: %d tasks, %d pools", len(s.Tasks()), len(s.Pools()))
	}
	task := pooltask.Task{
		ID: "5b0e7c1e-8f7a-4f3e-9d5c-1a2b3c4d5e6f", PoolID: s.Pools()[0].ID, PoolName: "finance-win11",
		Scripts: []pooltask.Script{{ID: "s1", Name: "rotate-cert"}},
		Start:   t0, End: t0.Add(time.Minute), Status: pooltask.StatusFailed, SuccessNum: 1, FailedNum: 1,
	}
	s.PutTask(task,
		pooltask.Record{DesktopID: "d1", DesktopName: "FIN-W11-0001", Status: "SUCCESS", Start: t0, End: t0.Add(time.Minute)},
		pooltask.Record{DesktopID: "d2", DesktopName: "FIN-W11-0002", Status: "FAILED", ResultCode: "1", Reason: "exit code 1", Output: "boom", Start: t0, End: t0.Add(time.Minute)},
	)
	resp, err := list(t, c, model.ShowDesktopPoolsScriptExecTasksRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := (*resp.ScriptExecutionTasks)[0]
	if *resp.TotalCount != 1 || *got.Id != task.ID || got.Status.Value() != "FAILED" || *got.StartTime != "2026-11-27T09:30:00Z" || *got.EndTime != "2026-11-27T09:31:00Z" {
		t.Errorf("got %v", got)
	}
	recs := s.Records(task.ID)
	if len(recs) != 2 || recs[1].TaskID != task.ID || recs[1].ID == "" {
		t.Fatalf("records %+v", recs)
	}
	d, err := c.ShowScriptRecordDetail(&model.ShowScriptRecordDetailRequest{RecordId: recs[1].ID})
	if err != nil || *d.Output != "boom" {
		t.Errorf("detail %v %v", d, err)
	}
	// Replace.
	task.Status, task.FailedNum, task.SuccessNum = pooltask.StatusFinish, 0, 2
	s.PutTask(task)
	if ts := s.Tasks(); len(ts) != 1 || ts[0].Status != pooltask.StatusFinish || len(s.Records(task.ID)) != 0 {
		t.Errorf("after replace: %+v", ts)
	}
}

func TestListenAndServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- ListenAndServe(ctx, "127.0.0.1:0", Options{}, func(u string) { urls <- u }) }()
	var url string
	select {
	case url = <-urls:
	case err := <-errc:
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("url %q", url)
	}
	if _, err := sdkClient(t, url, DemoSK).ListDesktopPools(&model.ListDesktopPoolsRequest{}); err != nil {
		t.Errorf("ListDesktopPools: %v", err)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("ListenAndServe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenAndServe did not return")
	}
}

// tamper changes the query after the SDK signed the request.
type tamper struct{}

func (tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	q := r.URL.Query()
	q.Set("limit", "100")
	r.URL.RawQuery = q.Encode()
	return http.DefaultTransport.RoundTrip(r)
}

func TestTamperedQueryRejected(t *testing.T) {
	_, srv := start(t, Options{})
	hc, err := wks.WorkspaceClientBuilder().
		WithRegion(region.NewRegion("sim", srv.URL)).
		WithCredential(basic.NewCredentialsBuilder().WithAk(DemoAK).WithSk(DemoSK).WithProjectId(DemoProjectID).Build()).
		WithHttpConfig(config.DefaultHttpConfig().WithUserAgent("pooltasks-sim-test").WithHttpRoundTripper(tamper{})).
		SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	_, err = wks.NewWorkspaceClient(hc).ListDesktopPools(&model.ListDesktopPoolsRequest{Limit: ptr(int32(5))})
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) || se.StatusCode != 401 {
		t.Errorf("tampered query: got %v, want 401", err)
	}
}

// tamperBody changes a request's body after the SDK has signed it.
type tamperBody struct{}

func (tamperBody) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	b, _ := io.ReadAll(r.Body)
	b = []byte(strings.Replace(string(b), "task_id", "record_id", 1))
	r.Body, r.ContentLength = io.NopCloser(strings.NewReader(string(b))), int64(len(b))
	return http.DefaultTransport.RoundTrip(r)
}

// TestActionBodySigned: the body of an action is part of the signature: the
// SDK's own request is accepted, and one changed on the way is refused
// without acting.
func TestActionBodySigned(t *testing.T) {
	s, srv := start(t, Options{Empty: true})
	task := pooltask.Task{ID: "t-1", PoolID: s.Pools()[0].ID, Status: pooltask.StatusFailed, FailedNum: 1}
	s.PutTask(task, pooltask.Record{ID: "r-1", DesktopID: "d-1", Status: recFailed})
	resp, err := sdkClient(t, srv.URL, DemoSK).RetryScriptExecution(&model.RetryScriptExecutionRequest{
		Body: &model.RetryScriptExecutionReq{TaskId: ptr("t-1")}})
	if err != nil || resp.TaskId == nil || *resp.TaskId == "" {
		t.Fatalf("RetryScriptExecution: %v %v", resp, err)
	}

	hc, err := wks.WorkspaceClientBuilder().
		WithRegion(region.NewRegion("sim", srv.URL)).
		WithCredential(basic.NewCredentialsBuilder().WithAk(DemoAK).WithSk(DemoSK).WithProjectId(DemoProjectID).Build()).
		WithHttpConfig(config.DefaultHttpConfig().WithUserAgent("pooltasks-sim-test").WithHttpRoundTripper(tamperBody{})).
		SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	_, err = wks.NewWorkspaceClient(hc).RetryScriptExecution(&model.RetryScriptExecutionRequest{
		Body: &model.RetryScriptExecutionReq{TaskId: ptr("t-1")}})
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) || se.StatusCode != 401 {
		t.Errorf("tampered body: got %v, want 401", err)
	}
	if n := len(s.ActionRequests()); n != 1 {
		t.Errorf("%d action requests acted on, want 1", n)
	}
}
