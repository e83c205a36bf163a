package pooltask

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Alert is one living alert: the root message posted in one channel for
// one failed task, and the story that its edits tell (acknowledged,
// snoozed, recovered). Every replica renders the root from it alone.
type Alert struct {
	Channel string    `json:"channel"`
	TS      string    `json:"ts"` // the root message; its thread holds the details
	Task    Task      `json:"task"`
	Reasons []Reason  `json:"reasons,omitempty"` // the failed desktops grouped by reason, most common first
	Posted  time.Time `json:"posted"`
	// Enriched says the thread reply (failed desktops, output) went out.
	Enriched bool `json:"enriched,omitempty"`
	// Enriching says the thread reply is about to be posted (saved before
	// it is): found without Enriched, the reply is looked for in the
	// root's thread before it is posted again.
	Enriching time.Time `json:"enriching,omitzero"`

	AckedBy string    `json:"acked_by,omitempty"` // the Slack user who is on it
	AckedAt time.Time `json:"acked_at,omitzero"`
	// SnoozedBy muted the task's pool from the alert until SnoozedUntil.
	SnoozedBy    string    `json:"snoozed_by,omitempty"`
	SnoozedUntil time.Time `json:"snoozed_until,omitzero"`
	// RecoveredBy is a later run of the same work on the same pool that
	// finished with no failed desktop.
	RecoveredBy string    `json:"recovered_by,omitempty"`
	RecoveredAt time.Time `json:"recovered_at,omitzero"`
	// RetriedBy retried the task's failed desktops from the alert, at
	// RetriedAt, which started task RetryTaskID.
	RetriedBy   string    `json:"retried_by,omitempty"`
	RetriedAt   time.Time `json:"retried_at,omitzero"`
	RetryTaskID string    `json:"retry_task,omitempty"`
	// RetryEnded is how that task ended, once it did.
	RetryEnded *RetryEnd `json:"retry_ended,omitempty"`
}

// RetryEnd is how the task a retry from an alert started ended: what its
// root says of it.
type RetryEnd struct {
	Status     TaskStatus `json:"status"` // FINISH or FAILED
	SuccessNum int        `json:"success_num"`
	FailedNum  int        `json:"failed_num"`
	SkipNum    int        `json:"skip_num"`
	End        time.Time  `json:"end,omitzero"`
	// StoppedBy stopped the task from its watch (Stop task).
	StoppedBy string `json:"stopped_by,omitempty"`
	// Shown says the root was edited to tell it (saved after the edit).
	Shown bool `json:"shown,omitempty"`
}

// EndOf is how t, which ended, ended.
func EndOf(t Task) *RetryEnd {
	return &RetryEnd{Status: t.Status, SuccessNum: t.SuccessNum, FailedNum: t.FailedNum, SkipNum: t.SkipNum, End: t.End}
}

// Reason is how many failed desktops of a task gave one reason.
type Reason struct {
	Text  string `json:"text"` // the reason, or the result code when there is none
	Count int    `json:"count"`
}

// Reasons groups failed records by reason (their result code when they
// have none), most common first, then by text.
func Reasons(recs []Record) []Reason {
	n := map[string]int{}
	for _, r := range recs {
		k := strings.TrimSpace(r.Reason)
		if k == "" && r.ResultCode != "" {
			k = "result " + r.ResultCode
		}
		if k == "" {
			k = "no reason given"
		}
		n[k]++
	}
	out := make([]Reason, 0, len(n))
	for k, c := range n {
		out = append(out, Reason{Text: k, Count: c})
	}
	slices.SortFunc(out, func(a, b Reason) int {
		return cmp.Or(b.Count-a.Count, strings.Compare(a.Text, b.Text))
	})
	return out
}

// SameWork reports whether two tasks ran the same thing: the same scripts
// (by id, in any order), or the same command.
func SameWork(a, b Task) bool {
	ids := func(t Task) []string {
		var out []string
		for _, s := range t.Scripts {
			out = append(out, s.ID)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(ids(a), ids(b)) && a.CommandContent == b.CommandContent
}

// Recovers reports whether later is a recovery of the failed task t: the
// same work on the same pool, started after it, finished with no failed
// desktop.
func Recovers(later, t Task) bool {
	return later.ID != t.ID && later.PoolID == t.PoolID && later.Status == StatusFinish && later.FailedNum == 0 &&
		later.Start.After(t.Start) && SameWork(later, t)
}

// Mute silences the alerts of one pool until Until, or until someone ends
// it (Ended). Its failures are still counted in digests, marked, and told
// in one summary per alert channel when it ends.
type Mute struct {
	PoolID   string    `json:"pool_id"`
	PoolName string    `json:"pool_name,omitempty"`
	By       string    `json:"by"` // the Slack user who muted
	Reason   string    `json:"reason,omitempty"`
	Start    time.Time `json:"start"`
	Until    time.Time `json:"until"`
	Ended    time.Time `json:"ended,omitzero"` // unmuted before Until
	EndedBy  string    `json:"ended_by,omitempty"`
}

// ID tells mutes of one pool apart: the pool and when the mute began.
func (m Mute) ID() string { return m.PoolID + "@" + m.Start.UTC().Format(time.RFC3339Nano) }

// End is when the mute ends or ended: Until, or Ended when it was ended
// before.
func (m Mute) End() time.Time {
	if !m.Ended.IsZero() && m.Ended.Before(m.Until) {
		return m.Ended
	}
	return m.Until
}

// Active reports whether the mute silences alerts at now.
func (m Mute) Active(now time.Time) bool { return !now.Before(m.Start) && now.Before(m.End()) }

// Covers reports whether a task that started at t started while the mute
// held.
func (m Mute) Covers(t time.Time) bool { return !t.Before(m.Start) && t.Before(m.End()) }

// Label is the pool as a person reads it: its name, else its id.
func (m Mute) Label() string { return cmp.Or(m.PoolName, m.PoolID) }
