package workspace

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	wks "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/workspace/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/workspace/v2/model"
	"github.com/pooltasks/pooltasks/pooltask"
)

// The operation names of the actions passed to the Observer.
const (
	OpRetry   = "RetryScriptExecution"
	OpStop    = "StopScriptExecution"
	OpExecute = "ExecuteDesktopPoolScript"
)

var (
	retryDef   = wks.GenReqDefForRetryScriptExecution()
	stopDef    = wks.GenReqDefForStopScriptExecution()
	executeDef = wks.GenReqDefForExecuteDesktopPoolScript()
)

// Retry runs a task again on its failed desktops, or one record's script on
// its desktop (POST /v2/{project_id}/script-executions/retry), and returns
// the new task's id. See post for what is retried: a request that may have
// reached the API is not, and fails with *pooltask.OutcomeUnknownError.
func (c *Client) Retry(ctx context.Context, sel pooltask.Selection) (string, error) {
	body, err := selection(sel)
	if err != nil {
		return "", fmt.Errorf("retrying: %w", err)
	}
	req := &model.RetryScriptExecutionRequest{Body: &model.RetryScriptExecutionReq{TaskId: body.TaskId, RecordId: body.RecordId}}
	id, err := post(ctx, c, pooltask.ActionRetry, OpRetry, func(hdr map[string]string) (string, error) {
		resp, err := c.invoke(req, retryDef, new(model.RetryScriptExecutionResponse), hdr)
		if err != nil {
			return "", err
		}
		return str(resp.(*model.RetryScriptExecutionResponse).TaskId), nil
	})
	if err != nil {
		return "", callError(ctx, "retrying "+sel.String(), err)
	}
	if id == "" {
		return "", fmt.Errorf("retrying %s: the API answered without a task id", sel)
	}
	return id, nil
}

// Stop ends a task that is INIT or RUNNING, or one record's run
// (POST /v2/{project_id}/script-executions/stop).
func (c *Client) Stop(ctx context.Context, sel pooltask.Selection) error {
	body, err := selection(sel)
	if err != nil {
		return fmt.Errorf("stopping: %w", err)
	}
	req := &model.StopScriptExecutionRequest{Body: &model.StopScriptExecutionReq{TaskId: body.TaskId, RecordId: body.RecordId}}
	_, err = post(ctx, c, pooltask.ActionStop, OpStop, func(hdr map[string]string) (struct{}, error) {
		_, err := c.invoke(req, stopDef, new(model.StopScriptExecutionResponse), hdr)
		return struct{}{}, err
	})
	if err != nil {
		return callError(ctx, "stopping "+sel.String(), err)
	}
	return nil
}

// Execute starts a run of scripts or a command on desktops of a pool, in
// stages when opts.GrayCount is set
// (POST /v2/{project_id}/desktop-pools/{pool_id}/script-executions), and
// returns the new task's id.
func (c *Client) Execute(ctx context.Context, opts pooltask.RunOptions) (string, error) {
	req, err := executeRequest(opts)
	if err != nil {
		return "", fmt.Errorf("running on pool %s: %w", opts.PoolID, err)
	}
	id, err := post(ctx, c, pooltask.ActionRerun, OpExecute, func(hdr map[string]string) (string, error) {
		resp, err := c.invoke(req, executeDef, new(model.ExecuteDesktopPoolScriptResponse), hdr)
		if err != nil {
			return "", err
		}
		return str(resp.(*model.ExecuteDesktopPoolScriptResponse).TaskId), nil
	})
	if err != nil {
		return "", callError(ctx, "running on pool "+opts.PoolID, err)
	}
	if id == "" {
		return "", fmt.Errorf("running on pool %s: the API answered without a task id", opts.PoolID)
	}
	return id, nil
}

// selection is the body of a retry or a stop.
func selection(sel pooltask.Selection) (model.RetryScriptExecutionReq, error) {
	switch {
	case sel.TaskID != "" && sel.RecordID != "":
		return model.RetryScriptExecutionReq{}, errors.New("a task id or a record id, not both")
	case sel.TaskID != "":
		return model.RetryScriptExecutionReq{TaskId: optString(sel.TaskID)}, nil
	case sel.RecordID != "":
		return model.RetryScriptExecutionReq{RecordId: optString(sel.RecordID)}, nil
	}
	return model.RetryScriptExecutionReq{}, errors.New("a task id or a record id is required")
}

func executeRequest(o pooltask.RunOptions) (*model.ExecuteDesktopPoolScriptRequest, error) {
	if o.PoolID == "" {
		return nil, errors.New("a pool id is required")
	}
	if len(o.DesktopIDs) == 0 {
		return nil, errors.New("no desktops given")
	}
	b := &model.ExecuteDesktopPoolScriptsReq{}
	switch {
	case len(o.ScriptIDs) > 0:
		ids := append([]string(nil), o.ScriptIDs...)
		b.ScriptIds = &ids
	case o.CommandContent != "":
		types := model.GetExecuteDesktopPoolScriptsReqCommandTypeEnum()
		var t model.ExecuteDesktopPoolScriptsReqCommandType
		switch o.CommandType {
		case "POWERSHELL":
			t = types.POWERSHELL
		case "BAT":
			t = types.BAT
		case "SHELL":
			t = types.SHELL
		default:
			return nil, fmt.Errorf("unknown command type %q", o.CommandType)
		}
		b.CommandContent, b.CommandType = optString(o.CommandContent), &t
	default:
		return nil, errors.New("no scripts and no command to run")
	}
	desks := append([]string(nil), o.DesktopIDs...)
	b.DesktopIds = &desks
	if o.GrayCount > 0 {
		b.GrayCount = optInt(o.GrayCount)
		b.GrayFailThreshold = optInt(o.GrayFailThreshold)
	}
	b.ExecutionTimeout = optInt(o.TimeoutMinutes)
	return &model.ExecuteDesktopPoolScriptRequest{PoolId: o.PoolID, Body: b}, nil
}

// post makes an action's call, which the API has no idempotency key for: a
// request sent twice acts twice. So it is sent again only when the API
// surely did not act on it: the gateway throttled it (429) or the
// connection was refused. Any other failure that is not a 4xx answer (a
// timeout, a reset connection, the caller's ctx ending mid-request, a 5xx)
// may have acted, and is a *pooltask.OutcomeUnknownError.
func post[T any](ctx context.Context, c *Client, action pooltask.Action, op string, call func(map[string]string) (T, error)) (T, error) {
	var zero T
	start := time.Now()
	for n := 1; ; n++ {
		if err := c.wait(ctx); err != nil {
			return zero, err // nothing was sent
		}
		v, err := attempt(ctx, c, op, call)
		if err == nil {
			return v, nil
		}
		if !notSent(err) {
			if ae, ok := errors.AsType[*pooltask.APIError](err); ok && ae.Status < 500 {
				return zero, err
			}
			return zero, &pooltask.OutcomeUnknownError{Action: action, Err: err}
		}
		if n >= c.cfg.MaxAttempts {
			return zero, err
		}
		if err := c.pause(ctx, n, start, err); err != nil {
			return zero, err
		}
	}
}

// notSent reports whether a failed action request surely did nothing.
func notSent(err error) bool {
	return IsThrottled(err) || errors.Is(err, syscall.ECONNREFUSED)
}
