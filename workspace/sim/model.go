package sim

import (
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
)

// Record statuses the simulator uses (the API does not document them).
const (
	recSuccess = "SUCCESS"
	recFailed  = "FAILED"
	recSkip    = "SKIP"
	recRunning = "RUNNING"
)

// simTask is a task as the simulator keeps it. A fixed task (from PutTask)
// is served as stored. A generated one is a plan: its records have start and
// end times, and its status and counts follow from the records that have
// ended by now.
type simTask struct {
	base      pooltask.Task
	fixed     bool
	initUntil time.Time // generated: INIT before this time
	recs      []*simRecord
	doneAt    time.Time     // generated: when the last record ends
	final     pooltask.Task // generated: the view from doneAt on
}

// simRecord is one record of a task; rec holds its final state. Generated
// records make their output when asked.
type simRecord struct {
	rec    pooltask.Record
	task   *simTask
	output func() string // nil: rec.Output is the output
}

// seal computes the final view of a generated task.
func (t *simTask) seal() {
	for _, r := range t.recs {
		if r.rec.End.After(t.doneAt) {
			t.doneAt = r.rec.End
		}
	}
	if t.initUntil.After(t.doneAt) {
		t.doneAt = t.initUntil
	}
	t.final = t.compute(t.doneAt)
}

// view is the task as it is at now.
func (t *simTask) view(now time.Time) pooltask.Task {
	if t.fixed {
		return t.base
	}
	if !now.Before(t.doneAt) {
		return t.final
	}
	return t.compute(now)
}

// compute derives status, counts and end time from the records. Counts are
// per desktop: a desktop failed when one of its records failed, was skipped
// when all were skipped, and succeeded otherwise.
func (t *simTask) compute(now time.Time) pooltask.Task {
	v := t.base
	v.Scripts = append([]pooltask.Script(nil), t.base.Scripts...)
	v.End = time.Time{}
	v.SuccessNum, v.FailedNum, v.SkipNum = 0, 0, 0
	if now.Before(t.initUntil) {
		v.Status = pooltask.StatusInit
		return v
	}
	type desk struct{ pending, failed, skipped, total int }
	desks := make(map[string]*desk)
	var order []string
	var end time.Time
	pending := false
	for _, r := range t.recs {
		d := desks[r.rec.DesktopID]
		if d == nil {
			d = &desk{}
			desks[r.rec.DesktopID] = d
			order = append(order, r.rec.DesktopID)
		}
		d.total++
		if now.Before(r.rec.End) {
			d.pending++
			pending = true
			continue
		}
		if r.rec.End.After(end) {
			end = r.rec.End
		}
		switch r.rec.Status {
		case recFailed:
			d.failed++
		case recSkip:
			d.skipped++
		}
	}
	for _, id := range order {
		d := desks[id]
		switch {
		case d.pending > 0:
		case d.failed > 0:
			v.FailedNum++
		case d.skipped == d.total:
			v.SkipNum++
		default:
			v.SuccessNum++
		}
	}
	switch {
	case pending:
		v.Status = pooltask.StatusRunning
	case v.FailedNum > 0:
		v.Status, v.End = pooltask.StatusFailed, end
	default:
		v.Status, v.End = pooltask.StatusFinish, end
	}
	return v
}

// view is the record as it is at now, with its output if withOutput; ok is
// false while its desktop has not started it.
func (r *simRecord) view(now time.Time, fixed, withOutput bool) (pooltask.Record, bool) {
	if fixed || !now.Before(r.rec.End) {
		v := r.rec
		if !withOutput {
			v.Output = ""
		} else if r.output != nil {
			v.Output = r.output()
		}
		return v, true
	}
	if now.Before(r.rec.Start) {
		return pooltask.Record{}, false
	}
	v := r.rec
	v.End, v.Status, v.ResultCode, v.Reason, v.Output = time.Time{}, recRunning, "", "", ""
	return v, true
}
