// Package pooltask holds the domain of pooltasks: script execution tasks of
// desktop pools, their per-desktop records, the pools themselves, the list's
// filters and the API's typed errors. It imports no SDK and no Slack type,
// so that the command language, the renderer and the CLI can speak about
// tasks without depending on how they are fetched (workspace does that).
package pooltask

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// TaskStatus is the status of a task as the API reports it. Values the API
// adds later are kept as they are.
type TaskStatus string

// The task statuses documented for ScriptExecutionTask.status.
const (
	StatusFinish  TaskStatus = "FINISH"
	StatusFailed  TaskStatus = "FAILED"
	StatusRunning TaskStatus = "RUNNING"
	StatusInit    TaskStatus = "INIT"
)

// Ended reports whether a task in this status will not change any more.
func (s TaskStatus) Ended() bool { return s == StatusFinish || s == StatusFailed }

// StatusFilter is the vocabulary of the list's status filter, which differs
// from TaskStatus: SUCCESS matches FINISH and WAITING matches INIT.
type StatusFilter string

// The documented values of the status filter.
const (
	FilterSuccess StatusFilter = "SUCCESS"
	FilterFailed  StatusFilter = "FAILED"
	FilterRunning StatusFilter = "RUNNING"
	FilterWaiting StatusFilter = "WAITING"
)

// Matches reports whether a task status is selected by the filter.
func (f StatusFilter) Matches(s TaskStatus) bool {
	switch f {
	case "":
		return true
	case FilterSuccess:
		return s == StatusFinish
	case FilterWaiting:
		return s == StatusInit
	default:
		return string(f) == string(s)
	}
}

// Shown is the status the tasks the filter selects show: FINISH for
// SUCCESS, INIT for WAITING, the filter's own word otherwise. Answers to a
// filtered list name both, so that a reader who asked for WAITING knows
// the INIT rows are what was asked for.
func (f StatusFilter) Shown() TaskStatus {
	switch f {
	case FilterSuccess:
		return StatusFinish
	case FilterWaiting:
		return StatusInit
	}
	return TaskStatus(f)
}

// TaskType is the list's task_type filter.
type TaskType string

// The documented task types.
const (
	TaskTypeScript  TaskType = "SCRIPT"
	TaskTypeCommand TaskType = "COMMAND"
)

// ListOptions are the filters of
// GET /v2/{project_id}/desktop-pools/script-execution-tasks/detail.
// Zero values are not sent.
type ListOptions struct {
	PoolID     string       // desktop_pool_id
	ScriptID   string       // script_id
	ScriptName string       // script_name
	Status     StatusFilter // status
	TaskType   TaskType     // task_type
	Start      time.Time    // execute_time_start, sent as UTC 2006-01-02T15:04:05Z
	End        time.Time    // execute_time_end
	TaskIDs    []string     // task_id, repeated
	Offset     int          // offset, from 0
	Limit      int          // limit 1..100; 0 means the API default (10)
	// Target limits a list of several targets (targets.Set.Lister) to
	// one; not sent to the API.
	Target string
}

// Script is one script of a task.
type Script struct {
	ID   string
	Name string
}

// Task is one script execution task of a desktop pool.
type Task struct {
	ID             string
	PoolID         string
	PoolName       string
	Scripts        []Script
	CommandContent string
	CommandType    string // POWERSHELL, BAT or SHELL
	Start          time.Time
	End            time.Time // zero while the task runs
	Status         TaskStatus
	SuccessNum     int
	FailedNum      int
	SkipNum        int
	// Target names the target (project and region) the task came from,
	// set by the targets package; task ids are unique only per target.
	Target string
}

// TaskPage is one page of tasks and the total number matching the filters.
type TaskPage struct {
	Tasks []Task
	Total int
}

// RecordOptions are the filters of GET /v2/{project_id}/script-execution-records.
type RecordOptions struct {
	TaskID string // script_task_id
	Status string // status of the record, e.g. FAILED
	Offset int
	Limit  int // 1..100; 0 means the API default
}

// Record is what one script did on one desktop within a task.
type Record struct {
	ID           string
	TaskID       string
	ScriptID     string
	ScriptName   string
	DesktopID    string // resource_id
	DesktopName  string // resource_name
	ResourceType string
	Start        time.Time
	End          time.Time
	Status       string
	ResultCode   string
	Reason       string
	Output       string // only filled by GetRecord
	// Target names the target of the record's task, as Task.Target.
	Target string
}

// RecordPage is one page of records and the total count.
type RecordPage struct {
	Records []Record
	Total   int
}

// PoolOptions are the filters of GET /v2/{project_id}/desktop-pools.
type PoolOptions struct {
	Name   string // fuzzy match on the pool name
	Offset int
	Limit  int // 0..1000; 0 means the API default
}

// Pool is a desktop pool.
type Pool struct {
	ID           string
	Name         string
	Type         string
	Status       string
	DesktopCount int
}

// PoolPage is one page of pools and the total count.
type PoolPage struct {
	Pools []Pool
	Total int
}

// APIError is an error answer of the API (HTTP status 400 and above). Use
// errors.As to get it. Message never holds a gateway message that could echo
// the signed request: those are summarised.
type APIError struct {
	Status    int    // HTTP status
	Code      string // error_code, e.g. WKS.0001 or APIGW.0308
	Message   string // error_msg, or a summary for gateway auth errors
	Detail    string // error_detail
	RequestID string // X-Request-Id of the answer
	// RetryAfter is how long the server asked us to wait (Retry-After of a
	// 429 or 503 answer); 0 when it did not say.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("workspace api: %d %s: %s", e.Status, e.Code, e.Message)
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	return s
}

// uuidShape is the shape of the API's ids.
var uuidShape = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsID reports whether s is shaped like the API's ids (a UUID) rather than a
// name.
func IsID(s string) bool { return uuidShape.MatchString(s) }

// PoolNameError says that a pool value names no pool, or several.
type PoolNameError struct {
	Name        string
	Matches     []Pool   // the pools it matches (several); none for an unknown name
	Suggestions []string // for an unknown name, the closest pool names
}

func (e *PoolNameError) Error() string {
	if len(e.Matches) == 0 {
		s := fmt.Sprintf("no desktop pool is named like %q", e.Name)
		if len(e.Suggestions) > 0 {
			s += "; did you mean " + orList(e.Suggestions) + "?"
		}
		return s
	}
	names := make([]string, len(e.Matches))
	for i, p := range e.Matches {
		names[i] = fmt.Sprintf("%s (%s)", p.Name, p.ID) // two pools may share a name: the id tells them apart
	}
	return fmt.Sprintf("pool %q matches %d pools: %s; give the full name or the id", e.Name, len(e.Matches), strings.Join(names, ", "))
}

// orList quotes names and joins them with commas and a final "or".
func orList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// Resolution is what a pool value (pool=, a channel binding entry, a
// configured digest or alert pool) names, by the one pool rule that every
// entry point shares (workspace.PoolResolver): a UUID-shaped value is an
// id; a value equal to a pool's id is that pool; else the pool named
// exactly that (case-insensitive); else the one pool whose name contains
// it.
type Resolution struct {
	Value string // as given
	// ID is the pool's id when the value names exactly one pool, or is
	// UUID-shaped, or could not be looked up (see LookupErr); empty when
	// it names several pools or none.
	ID   string
	Name string // the pool's name, when the pools API told it

	Choices []Pool // several pools match: no ID
	// Glob says the value has a * (Finance*): it names every pool whose
	// name it matches, as Choices (or ID when one), and may match none.
	Glob        bool
	Suggestions []string // no pool matches: the closest pool names (did you mean …?); no ID
	// LookupErr is the pools API's failure: ID is then the value itself,
	// used as an id, and an answer should say so. Callers that must be
	// exact (a channel binding) refuse instead.
	LookupErr error
}

// Found reports whether the value gave one pool id to use.
func (r Resolution) Found() bool { return r.ID != "" }

// Err is a *PoolNameError when the value names several pools or none, and
// nil when it gave an id (LookupErr is not included: the id is usable).
func (r Resolution) Err() error {
	if r.Found() || r.Value == "" {
		return nil
	}
	return &PoolNameError{Name: r.Value, Matches: r.Choices, Suggestions: r.Suggestions}
}

// Note is what an answer should add when the pools API could not be asked
// and the value was used as an id; "" otherwise.
func (r Resolution) Note() string {
	if r.LookupErr == nil {
		return ""
	}
	return fmt.Sprintf("The pools could not be listed, so %q was used as a pool id.", r.Value)
}

// Selection is what a retry or a stop acts on: a whole task (its failed
// desktops for a retry, its unfinished ones for a stop) or the one desktop
// of a record. Exactly one of the two is set.
type Selection struct {
	TaskID   string
	RecordID string
}

// RunOptions start a run on desktops of a pool
// (POST /v2/{project_id}/desktop-pools/{pool_id}/script-executions): the
// scripts of a task, or its command, never text typed in chat.
type RunOptions struct {
	PoolID         string
	ScriptIDs      []string
	CommandContent string // when there are no scripts
	CommandType    string // POWERSHELL, BAT or SHELL, with CommandContent
	DesktopIDs     []string
	// GrayCount desktops run first; when GrayFailThreshold of them fail,
	// the rest are not run. 0 runs all desktops at once.
	GrayCount         int
	GrayFailThreshold int
	TimeoutMinutes    int // execution_timeout; 0 leaves the API's default
}

// OutcomeUnknownError says that an action's request may have reached the
// API but no answer came (a timeout, a connection reset after the request
// was written, a 5xx answer): the action may or may not have happened, and
// it is never sent again on its own.
type OutcomeUnknownError struct {
	Action Action
	Err    error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("%s: the outcome is unknown (the request may have reached the API): %v", e.Action, e.Err)
}

// Unwrap returns the underlying failure.
func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// Action is something pooltasks can do to tasks, as named in
// POOLTASKS_ACTIONS.
type Action string

// The actions.
const (
	ActionRetry Action = "retry" // RetryScriptExecution
	ActionStop  Action = "stop"  // StopScriptExecution
	ActionRerun Action = "rerun" // ExecuteDesktopPoolScript on a task's failed desktops, in stages
)

// Actions lists every action, in the order help and errors name them.
var Actions = []Action{ActionRetry, ActionStop, ActionRerun}

// IAM returns the IAM action a principal needs for a, as an answer to a 403
// names it.
func (a Action) IAM() string {
	switch a {
	case ActionRetry:
		return "workspace:scripts:retry"
	case ActionStop:
		return "workspace:scripts:stop"
	case ActionRerun:
		return "workspace:desktopPools:executeScripts"
	}
	return ""
}

func (s Selection) String() string {
	if s.RecordID != "" {
		return "record " + s.RecordID
	}
	return "task " + s.TaskID
}

// MinTaskPrefix is the shortest start of a task id that names a task: as
// many characters as narrow tables show.
const MinTaskPrefix = 8

// TaskIDError says that a task id, or the start of one, names no task or
// several.
type TaskIDError struct {
	ID      string   // as given
	Matches []string // the ids it starts, when several
	// Searched is how many of the newest tasks were searched for ids
	// starting with ID; 0 when ID was looked up as a whole id only.
	Searched int
}

func (e *TaskIDError) Error() string {
	switch {
	case len(e.Matches) > 1:
		return fmt.Sprintf("task id %s is the start of several task ids (%s); give more of it", e.ID, strings.Join(e.Matches, ", "))
	case e.Searched > 0:
		return fmt.Sprintf("no task id is or starts with %s (among the %d newest tasks); give the whole id", e.ID, e.Searched)
	case !IsID(e.ID) && len(e.ID) < MinTaskPrefix:
		return fmt.Sprintf("no task with id %s; the start of an id needs %d characters at least", e.ID, MinTaskPrefix)
	}
	return "no task with id " + e.ID
}
