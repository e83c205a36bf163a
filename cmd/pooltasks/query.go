package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/trunc"
	"github.com/pooltasks/pooltasks/view"
	"github.com/pooltasks/pooltasks/workspace"
)

func init() { register(newQueryCmd) }

// maxShownRecords bounds the failed desktops show fetches.
const maxShownRecords = 500

func newQueryCmd(a *app) *cobra.Command {
	var useSim bool
	var output outputFlag
	c := &cobra.Command{
		Use:   "query [VERB] [key=value ...]",
		Short: "Ask what /pooltasks answers (list, failed, show) and print it",
		Long: "Query takes the words of /pooltasks in Slack and prints the answer: " +
			"list (the default verb) and failed print a table of tasks, show TASK_ID " +
			"one task in full with its failed desktops. `pooltasks query help` lists " +
			"every verb and key, `pooltasks query help KEY` explains one.\n\n" +
			"Times are UTC. Exit status 1 when the API fails, 2 when the words are wrong.",
		Example: "  pooltasks query --sim failed\n" +
			"  pooltasks query failed pool=finance-win11 since=2h\n" +
			"  pooltasks query status=running type=COMMAND limit=50 -o json\n" +
			"  pooltasks query show 24b751d5-8849-431a-9f80-4d7cfeb90cba\n" +
			"  pooltasks query help since",
		RunE: func(c *cobra.Command, words []string) error {
			return runQuery(c.Context(), a, words, useSim, output.json)
		},
	}
	c.Flags().BoolVar(&useSim, "sim", false, "start the built-in simulator and query it with the demo credentials")
	addOutputFlag(c, &output)
	return c
}

func runQuery(ctx context.Context, a *app, words []string, useSim, asJSON bool) error {
	cfg, stdout, stderr := a.cfg, a.stdout, a.stderr
	now := time.Now()
	cmd, err := commands.Parse(strings.Join(words, " "), now)
	if err != nil {
		return err
	}
	switch cmd.Verb {
	case commands.VerbHelp:
		if cmd.Topic != "" {
			if text, ok := commands.HelpTopic(cmd.Topic); ok {
				fmt.Fprintln(stdout, wrap(text, helpWidth))
				return nil
			}
		}
		fmt.Fprintln(stdout, wrap(commands.Help(), helpWidth))
		return nil
	case commands.VerbList, commands.VerbFailed, commands.VerbShow:
	default:
		return usageErrorf("query answers list, failed and show; %s needs the bot (or its own subcommand)", cmd.Verb)
	}

	var needs config.Need
	if !useSim {
		needs = config.NeedWorkspace
	}
	if _, _, err := prepare(cfg, needs, stderr); err != nil {
		return err
	}
	client, stop, err := workspaceClient(ctx, cfg, useSim)
	defer stop()
	if err != nil {
		return err
	}

	q := cmd.Query
	if q.PoolID != "" {
		// The one pool rule, as in Slack: a name naming several pools or
		// none is a usage error (with the choices or the closest names);
		// a pools API that fails leaves the value to be used as an id.
		res := client.ResolvePool(ctx, q.PoolID)
		if err := res.Err(); err != nil {
			return usageErrorf("%s", err.Error())
		}
		if note := res.Note(); note != "" {
			fmt.Fprintln(stderr, note)
		}
		q.PoolID = res.ID
	}
	page, err := client.ListTasks(ctx, q)
	if err != nil {
		return err
	}
	if cmd.Verb == commands.VerbShow {
		if len(page.Tasks) == 0 {
			return usageErrorf("no task with id %s", cmd.TaskID)
		}
		return showTask(ctx, client, page.Tasks[0], asJSON, stdout, now)
	}
	if asJSON {
		return writeJSON(stdout, listJSON{Total: page.Total, Offset: q.Offset, Tasks: tasksJSON(page.Tasks)})
	}
	printTasks(stdout, page.Tasks, now)
	fmt.Fprintln(stdout, summary(cmd, q.Offset, len(page.Tasks), page.Total))
	return nil
}

// summary is the line under the table: "1–10 of 57: status FAILED".
func summary(cmd commands.Command, offset, n, total int) string {
	return view.Range(offset, n, total) + ": " + cmd.Describe()
}

// printTasks writes a page of tasks as a table.
func printTasks(w io.Writer, tasks []pooltask.Task, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tPOOL\tSCRIPTS / COMMAND\tSTART (UTC)\tDURATION\tOK/FAILED/SKIP")
	for _, t := range tasks {
		v := view.TaskOf(t, now)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d/%d/%d\n",
			view.Clean(t.ID), view.Clean(v.StatusWord), trunc.Cut(view.Clean(v.Pool), 24), cmp.Or(v.Work.Summary(40), "—"),
			timeText(t.Start), v.Timing, t.SuccessNum, t.FailedNum, t.SkipNum)
	}
	tw.Flush()
}

// timeText is t in UTC to the minute, or "—" for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// showTask prints one task in full with its failed desktops.
func showTask(ctx context.Context, c *workspace.Client, t pooltask.Task, asJSON bool, w io.Writer, now time.Time) error {
	var failed []pooltask.Record
	for r, err := range workspace.Records(ctx, c, pooltask.RecordOptions{TaskID: t.ID, Status: "FAILED"}) {
		if err != nil {
			return err
		}
		if failed = append(failed, r); len(failed) == maxShownRecords {
			break
		}
	}
	if asJSON {
		return writeJSON(w, showJSON{Task: taskToJSON(t), FailedRecords: recordsJSON(failed)})
	}
	printTask(w, view.TaskOf(t, now), failed)
	return nil
}

// printTask writes a task in full as the API returned it: its fields, its
// scripts with their ids and its command (a task may have both), then its
// failed desktops.
func printTask(w io.Writer, v view.Task, failed []pooltask.Record) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Task", view.Clean(v.ID))
	row("Status", view.Clean(v.StatusWord))
	pool := view.Clean(v.Pool)
	if v.PoolName != "" && v.PoolID != "" {
		pool += " (" + view.Clean(v.PoolID) + ")"
	}
	row("Pool", pool)
	row("Type", view.Clean(v.Work.Kind()))
	for _, s := range v.Work.Scripts {
		row("Script", view.Clean(view.ScriptName(s))+" ("+view.Clean(s.ID)+")")
	}
	row("Start (UTC)", timeText(v.Start))
	if !v.End.IsZero() {
		row("End (UTC)", timeText(v.End))
	}
	row("Duration", v.Timing.String())
	row("Desktops", fmt.Sprintf("%d ok, %d failed, %d skipped", v.SuccessNum, v.FailedNum, v.SkipNum))
	tw.Flush()
	if v.Work.HasCommand() {
		// Whole: a terminal has room, and what ran is what a reader is after.
		typ := ""
		if v.CommandType != "" {
			typ = " (" + view.Clean(v.CommandType) + ")"
		}
		fmt.Fprintf(w, "\nCommand%s:\n", typ)
		for _, line := range strings.Split(strings.TrimRight(v.Work.Command, "\r\n"), "\n") {
			fmt.Fprintln(w, "  "+view.Clean(strings.TrimSuffix(line, "\r")))
		}
	}
	if len(failed) == 0 {
		return
	}
	fmt.Fprintf(w, "\nFailed desktops (%d):\n", len(failed))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DESKTOP\tSCRIPT\tRESULT\tREASON\tRECORD")
	for _, r := range failed {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", view.Clean(r.DesktopName), trunc.Cut(view.Clean(r.ScriptName), 30), view.Clean(r.ResultCode), trunc.Cut(view.Clean(r.Reason), 60), view.Clean(r.ID))
	}
	tw.Flush()
}

// The JSON shapes of query's output: snake_case like the API, times in RFC
// 3339 UTC, end omitted while a task runs.
type (
	listJSON struct {
		Total  int        `json:"total"`
		Offset int        `json:"offset"`
		Tasks  []taskJSON `json:"tasks"`
	}
	scriptJSON struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	taskJSON struct {
		ID             string       `json:"id"`
		Status         string       `json:"status"`
		PoolID         string       `json:"pool_id"`
		PoolName       string       `json:"pool_name"`
		Scripts        []scriptJSON `json:"scripts,omitempty"`
		CommandType    string       `json:"command_type,omitempty"`
		CommandContent string       `json:"command_content,omitempty"`
		Start          *time.Time   `json:"start,omitempty"`
		End            *time.Time   `json:"end,omitempty"`
		SuccessNum     int          `json:"success_num"`
		FailedNum      int          `json:"failed_num"`
		SkipNum        int          `json:"skip_num"`
	}
	recordJSON struct {
		ID          string     `json:"id"`
		DesktopID   string     `json:"desktop_id"`
		DesktopName string     `json:"desktop_name"`
		ScriptID    string     `json:"script_id,omitempty"`
		ScriptName  string     `json:"script_name,omitempty"`
		Status      string     `json:"status"`
		ResultCode  string     `json:"result_code,omitempty"`
		Reason      string     `json:"reason,omitempty"`
		Start       *time.Time `json:"start,omitempty"`
		End         *time.Time `json:"end,omitempty"`
	}
	showJSON struct {
		Task          taskJSON     `json:"task"`
		FailedRecords []recordJSON `json:"failed_records"`
	}
)

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// taskToJSON is the task as the API returned it: scripts and
// command_content both, when it has both.
func taskToJSON(t pooltask.Task) taskJSON {
	j := taskJSON{
		ID: t.ID, Status: string(t.Status), PoolID: t.PoolID, PoolName: t.PoolName,
		CommandType: t.CommandType, CommandContent: t.CommandContent,
		Start: timePtr(t.Start), End: timePtr(t.End),
		SuccessNum: t.SuccessNum, FailedNum: t.FailedNum, SkipNum: t.SkipNum,
	}
	for _, s := range t.Scripts {
		j.Scripts = append(j.Scripts, scriptJSON{ID: s.ID, Name: s.Name})
	}
	return j
}

func tasksJSON(ts []pooltask.Task) []taskJSON {
	out := make([]taskJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, taskToJSON(t))
	}
	return out
}

func recordsJSON(rs []pooltask.Record) []recordJSON {
	out := make([]recordJSON, 0, len(rs))
	for _, r := range rs {
		out = append(out, recordJSON{
			ID: r.ID, DesktopID: r.DesktopID, DesktopName: r.DesktopName, ScriptID: r.ScriptID, ScriptName: r.ScriptName,
			Status: r.Status, ResultCode: r.ResultCode, Reason: r.Reason, Start: timePtr(r.Start), End: timePtr(r.End),
		})
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
