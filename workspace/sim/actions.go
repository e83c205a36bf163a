package sim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
)

// The simulator's actions: POST /v2/{project_id}/script-executions/retry,
// .../script-executions/stop and
// /v2/{project_id}/desktop-pools/{pool_id}/script-executions.
//
// Choices where the API documentation is silent: errors are 400 WKS.0001
// with a message naming the problem (the task does not exist, has not
// ended, has nothing to retry, has already ended); a retry or a run it
// starts is INIT for actionInit, then its desktops run one after another
// actionStep apart, each for actionRun, and one in ten fails (or those
// given to FailDesktops); gray_fail_threshold defaults to 1 when gray_count
// is given.

// The pace of the tasks the simulator's actions start.
const (
	actionInit = 2 * time.Second
	actionStep = 500 * time.Millisecond
	actionRun  = 3 * time.Second
)

// ActionRequest is one action request the simulator accepted (signature
// and project checked), whatever it answered.
type ActionRequest struct {
	Op     string // "retry", "stop" or "execute"
	PoolID string // execute: the pool of the path
	Body   string // as received
}

// desk is a desktop of a generated pool.
type desk struct{ id, name string }

// actionState is what the actions need beyond the tasks; guarded by Sim.mu.
type actionState struct {
	desks     map[string][]desk // pool id → its desktops
	scripts   []pooltask.Script
	failing   map[string]bool // desktops that fail in the tasks actions start
	requests  []ActionRequest
	injected  *injectedError
	hangAfter chan struct{} // non-nil: answer nothing until closed, after acting
}

func (a *actionState) init(g *generator) {
	a.desks = make(map[string][]desk)
	for i := range poolDefs {
		for d, id := range g.deskIDs[i] {
			a.desks[g.poolIDs[i]] = append(a.desks[g.poolIDs[i]], desk{id: id, name: g.deskName(i, d)})
		}
	}
	a.scripts = slices.Clone(g.scripts)
	a.failing = make(map[string]bool)
}

// ActionRequests returns the action requests received so far, oldest first.
func (s *Sim) ActionRequests() []ActionRequest {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.actions.requests)
}

// FailDesktops makes the given desktops fail in every task that a retry or
// a run started from now on executes on them.
func (s *Sim) FailDesktops(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.actions.failing[id] = true
	}
}

// InjectActionError makes the simulator answer every action request with
// status and an error body carrying code and msg, without acting; status 0
// clears it. Queries are not affected.
func (s *Sim) InjectActionError(status int, code, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		s.actions.injected = nil
		return
	}
	s.actions.injected = &injectedError{status: status, code: code, msg: msg}
}

// HangActions makes action requests act and then answer nothing until their
// context ends (on), as when the answer is lost after the API has done what
// was asked; off releases them (they then answer).
func (s *Sim) HangActions(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case on && s.actions.hangAfter == nil:
		s.actions.hangAfter = make(chan struct{})
	case !on && s.actions.hangAfter != nil:
		close(s.actions.hangAfter)
		s.actions.hangAfter = nil
	}
}

type retryBody struct {
	TaskID   *string `json:"task_id"`
	RecordID *string `json:"record_id"`
}

type executeBody struct {
	ScriptIDs         []string `json:"script_ids"`
	GrayCount         *int     `json:"gray_count"`
	GrayDesktopIDs    []string `json:"gray_desktop_ids"`
	DesktopIDs        []string `json:"desktop_ids"`
	GrayFailThreshold *int     `json:"gray_fail_threshold"`
	CommandContent    *string  `json:"command_content"`
	CommandType       *string  `json:"command_type"`
	ExecutionTimeout  *int     `json:"execution_timeout"`
}

type taskIDJSON struct {
	TaskID string `json:"task_id"`
}

// serveAction serves the POST endpoints; rest is the path after the
// project id.
func (s *Sim) serveAction(w http.ResponseWriter, r *http.Request, rest []string, body []byte) {
	var op, poolID string
	switch {
	case len(rest) == 2 && rest[0] == "script-executions" && (rest[1] == "retry" || rest[1] == "stop"):
		op = rest[1]
	case len(rest) == 3 && rest[0] == "desktop-pools" && rest[1] != "" && rest[2] == "script-executions":
		op, poolID = "execute", rest[1]
	default:
		writeNotFound(w)
		return
	}
	s.mu.Lock()
	s.actions.requests = append(s.actions.requests, ActionRequest{Op: op, PoolID: poolID, Body: string(body)})
	inj, hang := s.actions.injected, s.actions.hangAfter
	s.mu.Unlock()
	if inj != nil {
		writeError(w, inj.status, inj.code, inj.msg, inj.msg)
		return
	}
	now := s.now()
	var status int
	var answer any
	switch op {
	case "retry":
		status, answer = s.retry(body, now)
	case "stop":
		status, answer = s.stop(body, now)
	default:
		status, answer = s.execute(poolID, body, now)
	}
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	writeJSON(w, status, answer)
}

func badParam(format string, args ...any) (int, any) {
	msg := "Invalid parameter: " + fmt.Sprintf(format, args...)
	return http.StatusBadRequest, errorBody{ErrorCode: "WKS.0001", ErrorMsg: msg, ErrorDetail: msg}
}

// decodeStrict decodes a JSON body, refusing unknown fields as the API's
// schema validation does.
func decodeStrict(body []byte, v any) error {
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// target reads a retry or stop body: exactly one of task_id and record_id.
func (s *Sim) target(body []byte) (taskID, recordID string, status int, answer any) {
	var b retryBody
	if err := decodeStrict(body, &b); err != nil {
		status, answer = badParam("the body must be {\"task_id\": …} or {\"record_id\": …}: %v", err)
		return
	}
	switch {
	case b.TaskID != nil && b.RecordID != nil:
		status, answer = badParam("give task_id or record_id, not both")
	case b.TaskID != nil && *b.TaskID != "":
		taskID = *b.TaskID
	case b.RecordID != nil && *b.RecordID != "":
		recordID = *b.RecordID
	default:
		status, answer = badParam("task_id or record_id is required")
	}
	return
}

// retry starts a new task on the failed desktops of a task, or on the
// desktop of one failed record.
func (s *Sim) retry(body []byte, now time.Time) (int, any) {
	taskID, recordID, status, answer := s.target(body)
	if status != 0 {
		return status, answer
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var src *simTask
	var failed []*simRecord
	if recordID != "" {
		rec := s.records[recordID]
		if rec == nil {
			return badParam("the script execution record %s does not exist", recordID)
		}
		v, ok := rec.view(now, rec.task.fixed, false)
		if !ok || v.Status != recFailed {
			return badParam("only a failed record can be retried; record %s is %s", recordID, cmp.Or(v.Status, "not started"))
		}
		src, failed = rec.task, []*simRecord{rec}
	} else {
		src = s.tasks[taskID]
		if src == nil {
			return badParam("the script execution task %s does not exist", taskID)
		}
		if v := src.view(now); !v.Status.Ended() {
			return badParam("task %s is %s: only an ended task can be retried", taskID, v.Status)
		}
		for _, r := range src.recs {
			if v, ok := r.view(now, src.fixed, false); ok && v.Status == recFailed {
				failed = append(failed, r)
			}
		}
		if len(failed) == 0 {
			return badParam("task %s has no failed desktops to retry", taskID)
		}
	}
	var desks []desk
	seen := make(map[string]bool)
	for _, r := range failed {
		if !seen[r.rec.DesktopID] {
			seen[r.rec.DesktopID] = true
			desks = append(desks, desk{id: r.rec.DesktopID, name: r.rec.DesktopName})
		}
	}
	t := s.spawn(src.base, desks, now, len(desks), 0)
	return http.StatusOK, taskIDJSON{TaskID: t.base.ID}
}

// stop ends a task that is INIT or RUNNING: its desktops that had not
// finished fail with reason "stopped".
func (s *Sim) stop(body []byte, now time.Time) (int, any) {
	taskID, recordID, status, answer := s.target(body)
	if status != 0 {
		return status, answer
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var t *simTask
	if recordID != "" {
		rec := s.records[recordID]
		if rec == nil {
			return badParam("the script execution record %s does not exist", recordID)
		}
		t = rec.task
	} else if t = s.tasks[taskID]; t == nil {
		return badParam("the script execution task %s does not exist", taskID)
	}
	if v := t.view(now); v.Status.Ended() {
		return badParam("task %s has already ended (%s)", t.base.ID, v.Status)
	}
	stopped := 0
	for _, r := range t.recs {
		if recordID != "" && r.rec.ID != recordID {
			continue
		}
		if t.fixed {
			if r.rec.Status == recSuccess || r.rec.Status == recFailed || r.rec.Status == recSkip {
				continue
			}
		} else if !now.Before(r.rec.End) {
			continue
		}
		if r.rec.Start.After(now) {
			r.rec.Start = now
		}
		r.rec.End, r.rec.Status, r.rec.ResultCode, r.rec.Reason = now, recFailed, "", "stopped"
		r.output, r.rec.Output = nil, "terminated: the task was stopped"
		stopped++
	}
	if t.fixed {
		t.base.FailedNum += stopped
		if recordID == "" {
			t.base.Status, t.base.End = pooltask.StatusFailed, now
		}
	} else {
		if t.initUntil.After(now) {
			t.initUntil = now
		}
		t.doneAt = time.Time{}
		t.seal()
	}
	return http.StatusOK, struct{}{}
}

// execute starts a run of scripts or of a command on desktops of a pool,
// in two stages when gray_count is given.
func (s *Sim) execute(poolID string, body []byte, now time.Time) (int, any) {
	var b executeBody
	if err := decodeStrict(body, &b); err != nil {
		return badParam("the body does not match ExecuteDesktopPoolScriptsReq: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var pool *pooltask.Pool
	for i := range s.pools {
		if s.pools[i].ID == poolID {
			pool = &s.pools[i]
		}
	}
	if pool == nil {
		return badParam("the desktop pool %s does not exist", poolID)
	}
	base := pooltask.Task{PoolID: pool.ID, PoolName: pool.Name}
	switch {
	case len(b.ScriptIDs) > 0 && b.CommandContent != nil:
		return badParam("give script_ids or command_content, not both")
	case len(b.ScriptIDs) > 0:
		// The generated scripts, and those of the tasks put in (PutTask).
		scripts := slices.Clone(s.actions.scripts)
		for _, t := range s.order {
			scripts = append(scripts, t.base.Scripts...)
		}
		for _, id := range b.ScriptIDs {
			i := slices.IndexFunc(scripts, func(sc pooltask.Script) bool { return sc.ID == id })
			if i < 0 {
				return badParam("the script %s does not exist", id)
			}
			base.Scripts = append(base.Scripts, scripts[i])
		}
	case b.CommandContent != nil && *b.CommandContent != "":
		if b.CommandType == nil || !slices.Contains([]string{"POWERSHELL", "BAT", "SHELL"}, *b.CommandType) {
			return badParam("command_type must be POWERSHELL, BAT or SHELL with command_content")
		}
		base.CommandContent, base.CommandType = *b.CommandContent, *b.CommandType
	default:
		return badParam("script_ids or command_content is required")
	}
	if b.ExecutionTimeout != nil && (*b.ExecutionTimeout < 1 || *b.ExecutionTimeout > 1440) {
		return badParam("execution_timeout must be from 1 to 1440 minutes, got %d", *b.ExecutionTimeout)
	}
	known := make(map[string]desk)
	for _, d := range s.actions.desks[poolID] {
		known[d.id] = d
	}
	// Desktops of fixed tasks (PutTask) belong to their task's pool.
	for _, t := range s.order {
		if t.base.PoolID == poolID {
			for _, r := range t.recs {
				if _, ok := known[r.rec.DesktopID]; !ok {
					known[r.rec.DesktopID] = desk{id: r.rec.DesktopID, name: r.rec.DesktopName}
				}
			}
		}
	}
	var desks []desk
	if len(b.DesktopIDs) == 0 {
		desks = s.actions.desks[poolID]
	}
	for _, id := range b.DesktopIDs {
		d, ok := known[id]
		if !ok {
			return badParam("desktop %s is not in pool %s", id, poolID)
		}
		desks = append(desks, d)
	}
	if len(desks) == 0 {
		return badParam("pool %s has no desktops", poolID)
	}
	gray, threshold := len(desks), 0
	if b.GrayCount != nil {
		if *b.GrayCount < 1 || *b.GrayCount > len(desks) {
			return badParam("gray_count must be from 1 to the number of desktops (%d), got %d", len(desks), *b.GrayCount)
		}
		gray, threshold = *b.GrayCount, 1
		if b.GrayFailThreshold != nil {
			if *b.GrayFailThreshold < 1 {
				return badParam("gray_fail_threshold must be at least 1, got %d", *b.GrayFailThreshold)
			}
			threshold = *b.GrayFailThreshold
		}
	} else if len(b.GrayDesktopIDs) > 0 {
		// gray_desktop_ids is the first stage when gray_count is absent.
		first := make(map[string]bool)
		for _, id := range b.GrayDesktopIDs {
			first[id] = true
		}
		slices.SortStableFunc(desks, func(x, y desk) int {
			switch {
			case first[x.id] && !first[y.id]:
				return -1
			case !first[x.id] && first[y.id]:
				return 1
			}
			return 0
		})
		gray, threshold = len(first), 1
		if b.GrayFailThreshold != nil && *b.GrayFailThreshold >= 1 {
			threshold = *b.GrayFailThreshold
		}
	}
	t := s.spawn(base, desks, now, gray, threshold)
	return http.StatusOK, taskIDJSON{TaskID: t.base.ID}
}

// spawn adds a task that runs src's scripts or command on desks from now:
// INIT for actionInit, then the first gray desktops; when threshold > 0
// and that many of them fail, the rest are skipped, else they run after the
// first stage has ended. The caller holds s.mu.
func (s *Sim) spawn(src pooltask.Task, desks []desk, now time.Time, gray, threshold int) *simTask {
	t := &simTask{
		base: pooltask.Task{
			ID: randomUUID(), PoolID: src.PoolID, PoolName: src.PoolName,
			Scripts: slices.Clone(src.Scripts), CommandContent: src.CommandContent, CommandType: src.CommandType,
			Start: now.UTC().Truncate(time.Second),
		},
		initUntil: now.Add(actionInit),
	}
	steps := max(len(src.Scripts), 1)
	at, first := t.initUntil, 0 // when the current stage starts, and its first desktop
	stageEnd, failures := at, 0
	for i, d := range desks {
		if i == gray {
			at, first = stageEnd, gray
			if threshold > 0 && failures >= threshold {
				for _, d := range desks[i:] {
					t.recs = append(t.recs, &simRecord{task: t, rec: pooltask.Record{
						ID: randomUUID(), TaskID: t.base.ID, DesktopID: d.id, DesktopName: d.name, ResourceType: "DESKTOP",
						Start: stageEnd, End: stageEnd, Status: recSkip,
						Reason: fmt.Sprintf("not run: %d failures in the first stage reached gray_fail_threshold %d", failures, threshold),
					}})
				}
				break
			}
		}
		fails := s.actions.failing[d.id] || (len(s.actions.failing) == 0 && oneInTen(t.base.ID+d.id))
		start := at.Add(actionStep * time.Duration(i-first))
		for j := range steps {
			rec := pooltask.Record{
				ID: randomUUID(), TaskID: t.base.ID, DesktopID: d.id, DesktopName: d.name, ResourceType: "DESKTOP",
				Start: start, End: start.Add(actionRun), Status: recSuccess, ResultCode: "0",
			}
			if j < len(src.Scripts) {
				rec.ScriptID, rec.ScriptName = src.Scripts[j].ID, src.Scripts[j].Name
			}
			if fails && j == steps-1 {
				rec.Status, rec.ResultCode, rec.Reason = recFailed, "1", "exit code 1"
				rec.Output = "error: the script exited with code 1 on " + d.name
			} else {
				rec.Output = "done on " + d.name
			}
			t.recs = append(t.recs, &simRecord{rec: rec, task: t})
			start = rec.End
		}
		if fails && i < gray {
			failures++
		}
		if i < gray && start.After(stageEnd) {
			stageEnd = start
		}
	}
	t.seal()
	s.insert(t)
	return t
}

// oneInTen picks one key in ten, the same way every time.
func oneInTen(key string) bool {
	h := fnv.New32a()
	h.Write([]byte(key))
	return h.Sum32()%10 == 0
}
