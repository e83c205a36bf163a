package workspace

import (
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdktime"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/workspace/v2/model"
	"github.com/pooltasks/pooltasks/pooltask"
)

// The layouts a task time is read with; the API documents the first. A time
// in none of them is left zero rather than failing the whole page.
var timeLayouts = []string{WireTime, time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05"}

func parseTime(p *string) time.Time {
	if p == nil || *p == "" {
		return time.Time{}
	}
	if t, ok := parseWireTime(*p); ok {
		return t
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, *p, time.UTC); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func sdkTime(p *sdktime.SdkTime) time.Time {
	if p == nil {
		return time.Time{}
	}
	t := time.Time(*p)
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func num(p *int32) int {
	if p == nil {
		return 0
	}
	return int(*p)
}

func taskPage(r *model.ShowDesktopPoolsScriptExecTasksResponse) pooltask.TaskPage {
	p := pooltask.TaskPage{Total: num(r.TotalCount)}
	if r.ScriptExecutionTasks == nil {
		return p
	}
	// One backing array for the scripts of the whole page.
	n := 0
	for _, t := range *r.ScriptExecutionTasks {
		if t.Scripts != nil {
			n += len(*t.Scripts)
		}
	}
	scripts := make([]pooltask.Script, 0, n)
	p.Tasks = make([]pooltask.Task, 0, len(*r.ScriptExecutionTasks))
	for _, t := range *r.ScriptExecutionTasks {
		var task pooltask.Task
		task, scripts = convertTask(t, scripts)
		p.Tasks = append(p.Tasks, task)
	}
	return p
}

// convertTask converts a task, appending its scripts to buf.
func convertTask(t model.ScriptExecutionTask, buf []pooltask.Script) (pooltask.Task, []pooltask.Script) {
	out := pooltask.Task{
		ID:             str(t.Id),
		PoolID:         str(t.DesktopPoolId),
		PoolName:       str(t.DesktopPoolName),
		CommandContent: str(t.CommandContent),
		CommandType:    str(t.CommandType),
		Start:          parseTime(t.StartTime),
		End:            parseTime(t.EndTime),
		SuccessNum:     num(t.SuccessNum),
		FailedNum:      num(t.FailedNum),
		SkipNum:        num(t.SkipNum),
	}
	if t.Status != nil {
		// Value() keeps values the SDK's enum does not list.
		out.Status = pooltask.TaskStatus(t.Status.Value())
	}
	if t.Scripts != nil && len(*t.Scripts) > 0 {
		from := len(buf)
		for _, s := range *t.Scripts {
			buf = append(buf, pooltask.Script{ID: str(s.Id), Name: str(s.Name)})
		}
		// A full slice expression: appending to one task's scripts must
		// not overwrite the next task's.
		out.Scripts = buf[from:len(buf):len(buf)]
	}
	return out, buf
}

func recordPage(r *model.ListScriptRecordsResponse) pooltask.RecordPage {
	p := pooltask.RecordPage{Total: num(r.Count)}
	if r.ScriptRecords == nil {
		return p
	}
	p.Records = make([]pooltask.Record, 0, len(*r.ScriptRecords))
	for _, s := range *r.ScriptRecords {
		p.Records = append(p.Records, pooltask.Record{
			ID:           str(s.Id),
			TaskID:       str(s.ScriptTaskId),
			ScriptID:     str(s.ScriptId),
			ScriptName:   str(s.ScriptName),
			DesktopID:    str(s.ResourceId),
			DesktopName:  str(s.ResourceName),
			ResourceType: str(s.ResourceType),
			Start:        sdkTime(s.StartTime),
			End:          sdkTime(s.EndTime),
			Status:       str(s.Status),
			ResultCode:   str(s.ResultCode),
			Reason:       str(s.Reason),
		})
	}
	return p
}

func recordDetail(s *model.ShowScriptRecordDetailResponse) pooltask.Record {
	return pooltask.Record{
		ID:           str(s.Id),
		TaskID:       str(s.ScriptTaskId),
		ScriptID:     str(s.ScriptId),
		ScriptName:   str(s.ScriptName),
		DesktopID:    str(s.ResourceId),
		DesktopName:  str(s.ResourceName),
		ResourceType: str(s.ResourceType),
		Start:        sdkTime(s.StartTime),
		End:          sdkTime(s.EndTime),
		Status:       str(s.Status),
		ResultCode:   str(s.ResultCode),
		Reason:       str(s.Reason),
		Output:       str(s.Output),
	}
}

func poolPage(r *model.ListDesktopPoolsResponse) pooltask.PoolPage {
	p := pooltask.PoolPage{Total: num(r.TotalCount)}
	if r.DesktopPools == nil {
		return p
	}
	p.Pools = make([]pooltask.Pool, 0, len(*r.DesktopPools))
	for _, d := range *r.DesktopPools {
		p.Pools = append(p.Pools, pooltask.Pool{
			ID:           str(d.Id),
			Name:         str(d.Name),
			Type:         str(d.Type),
			Status:       str(d.Status),
			DesktopCount: num(d.DesktopCount),
		})
	}
	return p
}

// parseWireTime reads the documented layout 2006-01-02T15:04:05Z without
// the generality of time.Parse: a page holds two times per task.
func parseWireTime(s string) (time.Time, bool) {
	if len(s) != len(WireTime) || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC), true
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
