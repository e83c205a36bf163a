package workspace

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/def"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/exchange"
	wks "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/workspace/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/workspace/v2/model"
	"github.com/pooltasks/pooltasks/pooltask"
)

// WireTime is the layout of times on the wire, always in UTC.
const WireTime = "2006-01-02T15:04:05Z"

// The operation names passed to the Observer.
const (
	OpListTasks   = "ListTasks"
	OpListRecords = "ListRecords"
	OpGetRecord   = "GetRecord"
	OpListPools   = "ListPools"
)

// MaxPageSize is the largest limit the task and record lists accept.
const MaxPageSize = 100

// ListTasks returns one page of the script execution tasks matching opts
// (GET /v2/{project_id}/desktop-pools/script-execution-tasks/detail).
// With the cache on, queries alike but for their page or times are
// answered from one fetch (see listTasksAlike).
func (c *Client) ListTasks(ctx context.Context, opts pooltask.ListOptions) (pooltask.TaskPage, error) {
	if p, ok, err := c.listTasksAlike(ctx, opts); ok {
		return p, err
	}
	p, shared, err := c.listTasks(ctx, opts, taskKey(opts))
	if err != nil {
		return pooltask.TaskPage{}, err
	}
	if shared {
		p.Tasks = cloneTasks(p.Tasks)
	}
	return p, nil
}

// listTasks makes the query as it is; shared is do's.
func (c *Client) listTasks(ctx context.Context, opts pooltask.ListOptions, key string) (p pooltask.TaskPage, shared bool, err error) {
	req := taskRequest(opts)
	p, shared, err = c.tasks.do(ctx, c, key, func(hdr map[string]string) (pooltask.TaskPage, error) {
		resp, err := c.invoke(req, tasksDef, new(model.ShowDesktopPoolsScriptExecTasksResponse), hdr)
		if err != nil {
			return pooltask.TaskPage{}, err
		}
		return taskPage(resp.(*model.ShowDesktopPoolsScriptExecTasksResponse)), nil
	})
	if err != nil {
		return pooltask.TaskPage{}, false, callError(ctx, "listing tasks", err)
	}
	return p, shared, nil
}

// cloneTasks copies tasks and their scripts, so a caller that edits an
// answer (escaping a script name in place, say) does not change what the
// cache and the other callers of a shared call see. The scripts of all tasks
// share one new backing array, as in taskPage.
func cloneTasks(tasks []pooltask.Task) []pooltask.Task {
	if tasks == nil {
		return nil
	}
	n := 0
	for _, t := range tasks {
		n += len(t.Scripts)
	}
	out := slices.Clone(tasks)
	scripts := make([]pooltask.Script, 0, n)
	for i := range out {
		if len(out[i].Scripts) == 0 {
			continue
		}
		from := len(scripts)
		scripts = append(scripts, out[i].Scripts...)
		out[i].Scripts = scripts[from:len(scripts):len(scripts)]
	}
	return out
}

// ListRecords returns one page of the per-desktop records of a task
// (GET /v2/{project_id}/script-execution-records).
func (c *Client) ListRecords(ctx context.Context, opts pooltask.RecordOptions) (pooltask.RecordPage, error) {
	req := &model.ListScriptRecordsRequest{
		ScriptTaskId: optString(opts.TaskID),
		Status:       optString(opts.Status),
		Offset:       optInt(opts.Offset),
		Limit:        optInt(opts.Limit),
	}
	key := "records?" + strings.Join([]string{opts.TaskID, opts.Status, strconv.Itoa(opts.Offset), strconv.Itoa(opts.Limit)}, "\x00")
	p, shared, err := c.records.do(ctx, c, key, func(hdr map[string]string) (pooltask.RecordPage, error) {
		resp, err := c.invoke(req, recordsDef, new(model.ListScriptRecordsResponse), hdr)
		if err != nil {
			return pooltask.RecordPage{}, err
		}
		return recordPage(resp.(*model.ListScriptRecordsResponse)), nil
	})
	if err != nil {
		return pooltask.RecordPage{}, callError(ctx, "listing records of task "+opts.TaskID, err)
	}
	if shared {
		p.Records = slices.Clone(p.Records)
	}
	return p, nil
}

// GetRecord returns one record with the output of the script on its desktop
// (GET /v2/{project_id}/script-execution-records/{record_id}).
func (c *Client) GetRecord(ctx context.Context, recordID string) (pooltask.Record, error) {
	if recordID == "" {
		return pooltask.Record{}, fmt.Errorf("getting record: empty record id")
	}
	req := &model.ShowScriptRecordDetailRequest{RecordId: recordID}
	r, _, err := c.record.do(ctx, c, recordID, func(hdr map[string]string) (pooltask.Record, error) {
		resp, err := c.invoke(req, recordDef, new(model.ShowScriptRecordDetailResponse), hdr)
		if err != nil {
			return pooltask.Record{}, err
		}
		return recordDetail(resp.(*model.ShowScriptRecordDetailResponse)), nil
	})
	if err != nil {
		return pooltask.Record{}, callError(ctx, "getting record "+recordID, err)
	}
	return r, nil
}

// ListPools returns one page of the desktop pools, filtered by a fuzzy name
// (GET /v2/{project_id}/desktop-pools).
func (c *Client) ListPools(ctx context.Context, opts pooltask.PoolOptions) (pooltask.PoolPage, error) {
	req := &model.ListDesktopPoolsRequest{
		Name:   optString(opts.Name),
		Offset: optInt(opts.Offset),
		Limit:  optInt(opts.Limit),
	}
	key := "pools?" + opts.Name + "\x00" + strconv.Itoa(opts.Offset) + "\x00" + strconv.Itoa(opts.Limit)
	p, shared, err := c.pools.do(ctx, c, key, func(hdr map[string]string) (pooltask.PoolPage, error) {
		resp, err := c.invoke(req, poolsDef, new(model.ListDesktopPoolsResponse), hdr)
		if err != nil {
			return pooltask.PoolPage{}, err
		}
		return poolPage(resp.(*model.ListDesktopPoolsResponse)), nil
	})
	if err != nil {
		return pooltask.PoolPage{}, callError(ctx, "listing pools", err)
	}
	if shared {
		p.Pools = slices.Clone(p.Pools)
	}
	return p, nil
}

// The request definitions of the SDK, built once: the SDK builds one for
// every call (a few dozen allocations) but only reads it, except for
// Response, which every call gets afresh from invoke.
var (
	tasksDef   = wks.GenReqDefForShowDesktopPoolsScriptExecTasks()
	recordsDef = wks.GenReqDefForListScriptRecords()
	recordDef  = wks.GenReqDefForShowScriptRecordDetail()
	poolsDef   = wks.GenReqDefForListDesktopPools()
)

// exchanges holds the SDK's per-call bookkeeping, which the SDK fills in and
// forgets when the call returns.
var exchanges = sync.Pool{New: func() any {
	return &exchange.SdkExchange{ApiReference: &exchange.ApiReference{}, Attributes: make(map[string]any)}
}}

// invoke makes one SDK call with extra headers, as the SDK's invokers do,
// without building an invoker, a copy of the headers and a request
// definition for every call. resp is the SDK's answer on success.
func (c *Client) invoke(req any, shared *def.HttpRequestDef, resp any, hdr map[string]string) (any, error) {
	reqDef := *shared
	reqDef.Response = resp
	exch := exchanges.Get().(*exchange.SdkExchange)
	*exch.ApiReference = exchange.ApiReference{Method: reqDef.Method, Path: reqDef.Path}
	clear(exch.Attributes)
	defer exchanges.Put(exch)
	return c.sdk.HcClient.SyncInvokeWithExtraHeaders(req, &reqDef, exch, hdr)
}

// callError adds context to an error, except the caller's own context
// errors, which are returned as ctx.Err().
func callError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil && err == ctx.Err() {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

func taskRequest(o pooltask.ListOptions) *model.ShowDesktopPoolsScriptExecTasksRequest {
	req := &model.ShowDesktopPoolsScriptExecTasksRequest{
		DesktopPoolId:    optString(o.PoolID),
		ScriptId:         optString(o.ScriptID),
		ScriptName:       optString(o.ScriptName),
		Status:           optString(string(o.Status)),
		TaskType:         optString(string(o.TaskType)),
		Offset:           optInt(o.Offset),
		Limit:            optInt(o.Limit),
		ExecuteTimeStart: optTime(o.Start),
		ExecuteTimeEnd:   optTime(o.End),
	}
	if len(o.TaskIDs) > 0 {
		ids := slices.Clone(o.TaskIDs)
		req.TaskId = &ids
	}
	return req
}

// taskKey identifies a task query for coalescing and the cache.
func taskKey(o pooltask.ListOptions) string {
	var b strings.Builder
	b.Grow(64)
	b.WriteString("tasks?")
	for _, s := range []string{o.PoolID, o.ScriptID, o.ScriptName, string(o.Status), string(o.TaskType),
		wireTime(o.Start), wireTime(o.End), strconv.Itoa(o.Offset), strconv.Itoa(o.Limit)} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	for _, id := range o.TaskIDs {
		b.WriteString(id)
		b.WriteByte(1)
	}
	return b.String()
}

func wireTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(WireTime)
}

// The opt helpers allocate only for values that are set: taking the address
// of the parameter would move it to the heap on every call.

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	p := new(string)
	*p = wireTime(t)
	return p
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	p := new(string)
	*p = s
	return p
}

func optInt(n int) *int32 {
	if n <= 0 {
		return nil
	}
	p := new(int32)
	*p = int32(min(n, 1<<31-1))
	return p
}
