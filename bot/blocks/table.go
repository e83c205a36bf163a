package blocks

import (
	"strconv"
	"time"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/trunc"
	"github.com/pooltasks/pooltasks/view"
	"github.com/slack-go/slack"
)

// tablePageSize is how many rows the client shows per page of a data_table.
const tablePageSize = 20

var tableHeader = []string{"Task ID", "Status", "Pool", "Scripts / command", "Started (UTC)", "Duration", "OK", "Failed", "Skip", "Details"}

// taskTable renders tasks (at most 100) as one data_table block: numbers
// and times are raw_number cells so they sort numerically, text is
// raw_text (plain, never parsed for mentions) and each row ends with a
// Details button. Slack allows 10,000 characters across all cells, so the
// free-text columns (id, pool, scripts) share what the fixed ones leave.
func taskTable(tasks []pooltask.Task, caption string, now time.Time) *slack.DataTableBlock {
	if len(tasks) > maxTableRows {
		tasks = tasks[:maxTableRows]
	}
	type row struct {
		id, status, pool, what  string
		idLen, poolLen, whatLen int
		start, dur              *slack.DataTableRawNumberCell
	}
	rows := make([]row, len(tasks))
	fixed := 0
	for _, h := range tableHeader {
		fixed += trunc.Len(h)
	}
	for i, t := range tasks {
		r := row{
			id:     plain(flat(t.ID, 1000), 1000, "—"),
			status: statusIcon(t.Status) + " " + trunc.Cut(view.StatusWord(t.Status), statusMax),
			pool:   plain(flat(view.PoolLabel(t), 1000), 1000, "—"),
			what:   plain(view.WorkOf(t).Summary(1000), 1000, "—"),
		}
		r.idLen, r.poolLen, r.whatLen = trunc.Len(r.id), trunc.Len(r.pool), trunc.Len(r.what)
		r.start = slack.NewDataTableRawNumberCell(0).WithText("—")
		r.dur = slack.NewDataTableRawNumberCell(0).WithText("—")
		if !t.Start.IsZero() {
			r.start = slack.NewDataTableRawNumberCell(float64(t.Start.Unix())).WithText(t.Start.UTC().Format("Jan 02 15:04"))
		}
		if tm := view.TimingOf(t, now); tm.Known {
			prefix := ""
			if tm.Running {
				prefix = "⏳ "
			}
			r.dur = slack.NewDataTableRawNumberCell(float64(tm.Duration / time.Second)).WithText(prefix + view.Duration(tm.Duration))
		}
		fixed += trunc.Len(r.status) + trunc.Len(r.start.Text) + trunc.Len(r.dur.Text) +
			len(strconv.Itoa(t.SuccessNum)) + len(strconv.Itoa(t.FailedNum)) + len(strconv.Itoa(t.SkipNum)) +
			trunc.Len("Details")
		rows[i] = r
	}

	// Shrink the largest of the free-text caps until everything fits.
	caps := [3]int{64, 40, 80} // id, pool, what
	width := func() int {
		n := fixed
		for _, r := range rows {
			n += min(r.idLen, caps[0]) + min(r.poolLen, caps[1]) + min(r.whatLen, caps[2])
		}
		return n
	}
	for width() > maxTableChars-100 {
		big := 0
		for i := range caps {
			if caps[i] > caps[big] {
				big = i
			}
		}
		if caps[big] <= 2 {
			break
		}
		caps[big] -= max(1, caps[big]/10)
	}

	tb := slack.NewDataTableBlock(plain(caption, maxHeader, "Tasks")).WithPageSize(min(tablePageSize, len(rows)))
	var head []slack.DataTableCell
	for _, h := range tableHeader {
		head = append(head, slack.NewDataTableRawTextCell(h))
	}
	tb.AddRow(head...)
	for i, r := range rows {
		t := tasks[i]
		cells := []slack.DataTableCell{
			slack.NewDataTableRawTextCell(trunc.Cut(r.id, caps[0])),
			slack.NewDataTableRawTextCell(r.status),
			slack.NewDataTableRawTextCell(trunc.Cut(r.pool, caps[1])),
			slack.NewDataTableRawTextCell(trunc.Cut(r.what, caps[2])),
			r.start,
			r.dur,
			slack.NewDataTableRawNumberCell(float64(t.SuccessNum)),
			slack.NewDataTableRawNumberCell(float64(t.FailedNum)),
			slack.NewDataTableRawNumberCell(float64(t.SkipNum)),
		}
		if btn := Button(ActionDetails+"#"+strconv.Itoa(i+1), "Details", showValue(t)); btn != nil {
			cells = append(cells, slack.NewDataTableActionCell(btn))
		} else {
			cells = append(cells, slack.NewDataTableRawTextCell("—"))
		}
		tb.AddRow(cells...)
	}
	return tb
}
