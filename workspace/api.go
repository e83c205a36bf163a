package workspace

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/workspace/v2/model"
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
func (c *Client) ListTasks(ctx context.Context, opts ListOptions) (TaskPage, error) {
	req := taskRequest(opts)
	v, err := c.do(ctx, OpListTasks, taskKey(opts), func(hdr map[string]string) (any, error) {
		resp, err := c.sdk.ShowDesktopPoolsScriptExecTasksInvoker(req).AddHeaders(hdr).Invoke()
		if err != nil {
			return nil, err
		}
		return taskPage(resp.(*model.ShowDesktopPoolsScriptExecTasksResponse)), nil
	})
	if err != nil {
		return TaskPage{}, callError(ctx, "listing tasks", err)
	}
	p := v.(TaskPage)
	return TaskPage{Tasks: slices.Clone(p.Tasks), Total: p.Total}, nil
}

// ListAllTasks pages through the tasks matching opts with limit=100, from
// opts.Offset until total_count is reached or maxTasks were collected
// (maxTasks <= 0 means no bound). Total is the API's total_count. A task that
// moves between pages while paging is returned once.
func (c *Client) ListAllTasks(ctx context.Context, opts ListOptions, maxTasks int) (TaskPage, error) {
	var all TaskPage
	seen := make(map[string]bool)
	page := opts
	page.Limit = MaxPageSize
	for {
		p, err := c.ListTasks(ctx, page)
		if err != nil {
			return all, err
		}
		all.Total = p.Total
		for _, t := range p.Tasks {
			if seen[t.ID] && t.ID != "" {
				continue
			}
			seen[t.ID] = true
			all.Tasks = append(all.Tasks, t)
			if maxTasks > 0 && len(all.Tasks) >= maxTasks {
				return all, nil
			}
		}
		page.Offset += len(p.Tasks)
		if len(p.Tasks) == 0 || page.Offset >= p.Total {
			return all, nil
		}
	}
}

// ListRecords returns one page of the per-desktop records of a task
// (GET /v2/{project_id}/script-execution-records).
func (c *Client) ListRecords(ctx context.Context, opts RecordOptions) (RecordPage, error) {
	req := &model.ListScriptRecordsRequest{
		ScriptTaskId: optString(opts.TaskID),
		Status:       optString(opts.Status),
		Offset:       optInt(opts.Offset),
		Limit:        optInt(opts.Limit),
	}
	key := "records?" + strings.Join([]string{opts.TaskID, opts.Status, strconv.Itoa(opts.Offset), strconv.Itoa(opts.Limit)}, "\x00")
	v, err := c.do(ctx, OpListRecords, key, func(hdr map[string]string) (any, error) {
		resp, err := c.sdk.ListScriptRecordsInvoker(req).AddHeaders(hdr).Invoke()
		if err != nil {
			return nil, err
		}
		return recordPage(resp.(*model.ListScriptRecordsResponse)), nil
	})
	if err != nil {
		return RecordPage{}, callError(ctx, "listing records of task "+opts.TaskID, err)
	}
	p := v.(RecordPage)
	return RecordPage{Records: slices.Clone(p.Records), Total: p.Total}, nil
}

// GetRecord returns one record with the output of the script on its desktop
// (GET /v2/{project_id}/script-execution-records/{record_id}).
func (c *Client) GetRecord(ctx context.Context, recordID string) (Record, error) {
	if recordID == "" {
		return Record{}, fmt.Errorf("getting record: empty record id")
	}
	req := &model.ShowScriptRecordDetailRequest{RecordId: recordID}
	v, err := c.do(ctx, OpGetRecord, "record/"+recordID, func(hdr map[string]string) (any, error) {
		resp, err := c.sdk.ShowScriptRecordDetailInvoker(req).AddHeaders(hdr).Invoke()
		if err != nil {
			return nil, err
		}
		return recordDetail(resp.(*model.ShowScriptRecordDetailResponse)), nil
	})
	if err != nil {
		return Record{}, callError(ctx, "getting record "+recordID, err)
	}
	return v.(Record), nil
}

// ListPools returns one page of the desktop pools, filtered by a fuzzy name
// (GET /v2/{project_id}/desktop-pools).
func (c *Client) ListPools(ctx context.Context, opts PoolOptions) (PoolPage, error) {
	req := &model.ListDesktopPoolsRequest{
		Name:   optString(opts.Name),
		Offset: optInt(opts.Offset),
		Limit:  optInt(opts.Limit),
	}
	key := "pools?" + opts.Name + "\x00" + strconv.Itoa(opts.Offset) + "\x00" + strconv.Itoa(opts.Limit)
	v, err := c.do(ctx, OpListPools, key, func(hdr map[string]string) (any, error) {
		resp, err := c.sdk.ListDesktopPoolsInvoker(req).AddHeaders(hdr).Invoke()
		if err != nil {
			return nil, err
		}
		return poolPage(resp.(*model.ListDesktopPoolsResponse)), nil
	})
	if err != nil {
		return PoolPage{}, callError(ctx, "listing pools", err)
	}
	p := v.(PoolPage)
	return PoolPage{Pools: slices.Clone(p.Pools), Total: p.Total}, nil
}

// callError adds context to an error, except the caller's own context
// errors, which are returned as ctx.Err().
func callError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil && err == ctx.Err() {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

func taskRequest(o ListOptions) *model.ShowDesktopPoolsScriptExecTasksRequest {
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
func taskKey(o ListOptions) string {
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

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := wireTime(t)
	return &s
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optInt(n int) *int32 {
	if n <= 0 {
		return nil
	}
	v := int32(min(n, 1<<31-1))
	return &v
}
