package sim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
)

// timeFormat is the API's "yyyy-MM-ddTHH:mm:ssZ".
const timeFormat = "2006-01-02T15:04:05Z"

type scriptJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type taskJSON struct {
	ID              string       `json:"id"`
	DesktopPoolID   string       `json:"desktop_pool_id"`
	DesktopPoolName string       `json:"desktop_pool_name"`
	Scripts         []scriptJSON `json:"scripts"`
	CommandContent  string       `json:"command_content,omitempty"`
	CommandType     string       `json:"command_type,omitempty"`
	StartTime       string       `json:"start_time"`
	EndTime         *string      `json:"end_time,omitempty"`
	Status          string       `json:"status"`
	SuccessNum      int          `json:"success_num"`
	FailedNum       int          `json:"failed_num"`
	SkipNum         int          `json:"skip_num"`
}

type taskListJSON struct {
	ScriptExecutionTasks []taskJSON `json:"script_execution_tasks"`
	TotalCount           int        `json:"total_count"`
}

type recordJSON struct {
	ID           string  `json:"id"`
	ScriptID     string  `json:"script_id,omitempty"`
	ScriptName   string  `json:"script_name,omitempty"`
	ScriptTaskID string  `json:"script_task_id"`
	ResourceID   string  `json:"resource_id"`
	ResourceName string  `json:"resource_name"`
	ResourceType string  `json:"resource_type"`
	StartTime    string  `json:"start_time,omitempty"`
	EndTime      string  `json:"end_time,omitempty"`
	Status       string  `json:"status"`
	ExecuteOrder int     `json:"execute_order"`
	ResultCode   string  `json:"result_code,omitempty"`
	Reason       string  `json:"reason,omitempty"`
	Output       *string `json:"output,omitempty"`
}

type recordListJSON struct {
	Count         int          `json:"count"`
	ScriptRecords []recordJSON `json:"script_records"`
}

type poolJSON struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	Description  string `json:"description,omitempty"`
	CreatedTime  string `json:"created_time,omitempty"`
	ChargingMode string `json:"charging_mode,omitempty"`
	DesktopCount int    `json:"desktop_count"`
	DesktopUsed  int    `json:"desktop_used"`
	Status       string `json:"status"`
}

type poolListJSON struct {
	TotalCount   int        `json:"total_count"`
	DesktopPools []poolJSON `json:"desktop_pools"`
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func toTaskJSON(t pooltask.Task) taskJSON {
	j := taskJSON{
		ID:              t.ID,
		DesktopPoolID:   t.PoolID,
		DesktopPoolName: t.PoolName,
		Scripts:         []scriptJSON{},
		CommandContent:  t.CommandContent,
		CommandType:     t.CommandType,
		StartTime:       formatTime(t.Start),
		Status:          string(t.Status),
		SuccessNum:      t.SuccessNum,
		FailedNum:       t.FailedNum,
		SkipNum:         t.SkipNum,
	}
	for _, s := range t.Scripts {
		j.Scripts = append(j.Scripts, scriptJSON{ID: s.ID, Name: s.Name})
	}
	switch {
	case !t.End.IsZero():
		e := formatTime(t.End)
		j.EndTime = &e
	case t.Status == pooltask.StatusInit:
		// The API has been seen both leaving end_time out and sending it
		// empty; clients must take both.
		e := ""
		j.EndTime = &e
	}
	return j
}

func toRecordJSON(r pooltask.Record, withOutput bool) recordJSON {
	j := recordJSON{
		ID:           r.ID,
		ScriptID:     r.ScriptID,
		ScriptName:   r.ScriptName,
		ScriptTaskID: r.TaskID,
		ResourceID:   r.DesktopID,
		ResourceName: r.DesktopName,
		ResourceType: r.ResourceType,
		StartTime:    formatTime(r.Start),
		EndTime:      formatTime(r.End),
		Status:       r.Status,
		ResultCode:   r.ResultCode,
		Reason:       r.Reason,
	}
	if withOutput {
		o := r.Output
		j.Output = &o
	}
	return j
}

// intParam reads an integer parameter within [min, max]; ok is false after
// it has answered 400.
func intParam(w http.ResponseWriter, q url.Values, name string, def, min, max int) (int, bool) {
	s := q.Get(name)
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		if max == maxInt {
			writeBadParam(w, "%s must be an integer of at least %d, got %q", name, min, s)
		} else {
			writeBadParam(w, "%s must be an integer from %d to %d, got %q", name, min, max, s)
		}
		return 0, false
	}
	return n, true
}

const maxInt = int(^uint(0) >> 1)

// timeParam reads a yyyy-MM-ddTHH:mm:ssZ parameter; ok is false after it
// has answered 400.
func timeParam(w http.ResponseWriter, q url.Values, name string) (time.Time, bool) {
	s := q.Get(name)
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		writeBadParam(w, "%s must look like 2021-10-01T12:00:00Z, got %q", name, s)
		return time.Time{}, false
	}
	return t, true
}

// page cuts items[offset:offset+limit] with bounds.
func page[T any](items []T, offset, limit int) []T {
	if offset >= len(items) {
		return items[:0]
	}
	end := len(items)
	if limit < end-offset {
		end = offset + limit
	}
	return items[offset:end]
}

// listTasks serves GET /v2/{project_id}/desktop-pools/script-execution-tasks/detail.
func (s *Sim) listTasks(w http.ResponseWriter, r *http.Request, now time.Time) {
	q := r.URL.Query()
	offset, ok := intParam(w, q, "offset", 0, 0, maxInt)
	if !ok {
		return
	}
	limit, ok := intParam(w, q, "limit", 10, 0, 100)
	if !ok {
		return
	}
	status := pooltask.StatusFilter(q.Get("status"))
	switch status {
	case "", pooltask.FilterSuccess, pooltask.FilterFailed, pooltask.FilterRunning, pooltask.FilterWaiting:
	default:
		writeBadParam(w, "status must be one of SUCCESS, FAILED, RUNNING, WAITING, got %q", string(status))
		return
	}
	taskType := pooltask.TaskType(q.Get("task_type"))
	switch taskType {
	case "", pooltask.TaskTypeScript, pooltask.TaskTypeCommand:
	default:
		writeBadParam(w, "task_type must be SCRIPT or COMMAND, got %q", string(taskType))
		return
	}
	start, ok := timeParam(w, q, "execute_time_start")
	if !ok {
		return
	}
	end, ok := timeParam(w, q, "execute_time_end")
	if !ok {
		return
	}
	poolID, scriptID := q.Get("desktop_pool_id"), q.Get("script_id")
	scriptName := strings.ToLower(q.Get("script_name"))
	var taskIDs map[string]bool
	if ids := q["task_id"]; len(ids) > 0 {
		taskIDs = make(map[string]bool, len(ids))
		for _, id := range ids {
			taskIDs[id] = true
		}
	}

	var matched []pooltask.Task
	s.mu.RLock()
	for _, st := range s.order {
		t := st.base
		if poolID != "" && t.PoolID != poolID {
			continue
		}
		if taskIDs != nil && !taskIDs[t.ID] {
			continue
		}
		if !start.IsZero() && t.Start.Before(start) {
			continue
		}
		if !end.IsZero() && t.Start.After(end) {
			continue
		}
		isCommand := len(t.Scripts) == 0
		if taskType == pooltask.TaskTypeScript && isCommand || taskType == pooltask.TaskTypeCommand && !isCommand {
			continue
		}
		if scriptID != "" || scriptName != "" {
			found := false
			for _, sc := range t.Scripts {
				if (scriptID == "" || sc.ID == scriptID) && (scriptName == "" || strings.Contains(strings.ToLower(sc.Name), scriptName)) {
					found = true
					break
				}
			}
			if !found {
				continue
			}
		}
		v := st.view(now)
		if !status.Matches(v.Status) {
			continue
		}
		matched = append(matched, v)
	}
	s.mu.RUnlock()

	out := taskListJSON{ScriptExecutionTasks: []taskJSON{}, TotalCount: len(matched)}
	for _, t := range page(matched, offset, limit) {
		out.ScriptExecutionTasks = append(out.ScriptExecutionTasks, toTaskJSON(t))
	}
	writeJSON(w, http.StatusOK, out)
}

// listRecords serves GET /v2/{project_id}/script-execution-records.
func (s *Sim) listRecords(w http.ResponseWriter, r *http.Request, now time.Time) {
	q := r.URL.Query()
	offset, ok := intParam(w, q, "offset", 0, 0, maxInt)
	if !ok {
		return
	}
	limit, ok := intParam(w, q, "limit", 10, 1, 100)
	if !ok {
		return
	}
	taskID, status := q.Get("script_task_id"), q.Get("status")
	var resources map[string]bool
	if ids := q["resource_id"]; len(ids) > 0 {
		resources = make(map[string]bool)
		for _, id := range ids {
			resources[id] = true
		}
	}
	var matched []pooltask.Record
	s.mu.RLock()
	tasks := s.order
	if taskID != "" {
		tasks = nil
		if t := s.tasks[taskID]; t != nil {
			tasks = []*simTask{t}
		}
	}
	for _, t := range tasks {
		for _, rec := range t.recs {
			v, visible := rec.view(now, t.fixed, false)
			if !visible || status != "" && v.Status != status || resources != nil && !resources[v.DesktopID] {
				continue
			}
			matched = append(matched, v)
		}
	}
	s.mu.RUnlock()

	out := recordListJSON{ScriptRecords: []recordJSON{}, Count: len(matched)}
	for _, rec := range page(matched, offset, limit) {
		out.ScriptRecords = append(out.ScriptRecords, toRecordJSON(rec, false))
	}
	writeJSON(w, http.StatusOK, out)
}

// showRecord serves GET /v2/{project_id}/script-execution-records/{record_id}.
func (s *Sim) showRecord(w http.ResponseWriter, id string, now time.Time) {
	s.mu.RLock()
	rec := s.records[id]
	var v pooltask.Record
	visible := false
	if rec != nil {
		v, visible = rec.view(now, rec.task.fixed, true)
	}
	s.mu.RUnlock()
	if !visible {
		writeError(w, http.StatusBadRequest, "WKS.0001", "Invalid parameter: the script execution record does not exist",
			"record "+id+" does not exist")
		return
	}
	writeJSON(w, http.StatusOK, toRecordJSON(v, true))
}

// listPools serves GET /v2/{project_id}/desktop-pools.
func (s *Sim) listPools(w http.ResponseWriter, r *http.Request, now time.Time) {
	q := r.URL.Query()
	offset, ok := intParam(w, q, "offset", 0, 0, maxInt)
	if !ok {
		return
	}
	limit, ok := intParam(w, q, "limit", 10, 0, 1000)
	if !ok {
		return
	}
	name := strings.ToLower(q.Get("name"))
	var matched []poolJSON
	s.mu.RLock()
	for i, p := range s.pools {
		if name != "" && !strings.Contains(strings.ToLower(p.Name), name) {
			continue
		}
		matched = append(matched, poolJSON{
			ID:           p.ID,
			Name:         p.Name,
			Type:         p.Type,
			Status:       p.Status,
			DesktopCount: p.DesktopCount,
			DesktopUsed:  p.DesktopCount * 3 / 4,
			ChargingMode: "1",
			CreatedTime:  s.start.AddDate(0, -3, -i).Format("2006-01-02T15:04:05.000Z"),
		})
	}
	s.mu.RUnlock()
	out := poolListJSON{DesktopPools: []poolJSON{}, TotalCount: len(matched)}
	out.DesktopPools = append(out.DesktopPools, page(matched, offset, limit)...)
	writeJSON(w, http.StatusOK, out)
}
