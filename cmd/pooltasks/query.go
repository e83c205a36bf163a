package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace"
)

func init() {
	register(subcommand{name: "query", summary: "run a /pooltasks command (list, failed, show) and print the answer", run: runQuery})
}

// maxShownRecords bounds the failed desktops show fetches.
const maxShownRecords = 500

func runQuery(ctx context.Context, args []string, cfg Config, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	useSim := fs.Bool("sim", false, "start the built-in simulator and query it with the demo credentials")
	output := fs.String("output", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: pooltasks query [--sim] [--output text|json] [VERB] [key=value ...]")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nThe words are those of /pooltasks; `pooltasks query help` lists them.")
	}
	words, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *output != "text" && *output != "json" {
		return usageErrorf("--output must be text or json, got %q", *output)
	}
	now := time.Now()
	cmd, err := commands.Parse(strings.Join(words, " "), now)
	if err != nil {
		return err
	}
	switch cmd.Verb {
	case commands.VerbHelp:
		if cmd.Topic != "" {
			if text, ok := commands.HelpTopic(cmd.Topic); ok {
				fmt.Fprintln(stdout, text)
				return nil
			}
		}
		fmt.Fprintln(stdout, commands.Help())
		return nil
	case commands.VerbList, commands.VerbFailed, commands.VerbShow:
	default:
		return usageErrorf("query answers list, failed and show; %s needs the bot (or its own subcommand)", cmd.Verb)
	}

	client, stop, err := workspaceClient(ctx, cfg, *useSim)
	defer stop()
	if err != nil {
		return err
	}

	q := cmd.Query
	if q.PoolID != "" {
		id, err := client.PoolID(ctx, q.PoolID)
		if pe, ok := errors.AsType[*pooltask.PoolNameError](err); ok {
			return usageErrorf("%s", pe.Error())
		}
		if err != nil {
			return err
		}
		q.PoolID = id
	}
	page, err := client.ListTasks(ctx, q)
	if err != nil {
		return err
	}
	if cmd.Verb == commands.VerbShow {
		if len(page.Tasks) == 0 {
			return usageErrorf("no task with id %s", cmd.TaskID)
		}
		return showTask(ctx, client, page.Tasks[0], *output, stdout, now)
	}
	if *output == "json" {
		return writeJSON(stdout, listJSON{Total: page.Total, Offset: q.Offset, Tasks: tasksJSON(page.Tasks)})
	}
	printTasks(stdout, page.Tasks, now)
	fmt.Fprintln(stdout, summary(cmd, q.Offset, len(page.Tasks), page.Total))
	return nil
}

// summary is the line under the table: "1–10 of 57 tasks: status FAILED".
func summary(cmd commands.Command, offset, n, total int) string {
	what := cmd.Describe()
	if n == 0 {
		return fmt.Sprintf("no tasks (of %d): %s", total, what)
	}
	return fmt.Sprintf("%d–%d of %d tasks: %s", offset+1, offset+n, total, what)
}

func printTasks(w io.Writer, tasks []pooltask.Task, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tPOOL\tSCRIPTS / COMMAND\tSTART (UTC)\tDURATION\tOK/FAILED/SKIP")
	for _, t := range tasks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d/%d/%d\n",
			clean(t.ID), clean(string(t.Status)), clip(clean(t.PoolName), 24), clip(what(t), 40),
			startText(t.Start), duration(t, now), t.SuccessNum, t.FailedNum, t.SkipNum)
	}
	tw.Flush()
}

// what names a task's scripts, or its command type and first line.
func what(t pooltask.Task) string {
	if len(t.Scripts) > 0 {
		names := make([]string, len(t.Scripts))
		for i, s := range t.Scripts {
			names[i] = clean(s.Name)
		}
		return strings.Join(names, ", ")
	}
	line, _, more := strings.Cut(strings.TrimSpace(t.CommandContent), "\n")
	if more {
		line += " …"
	}
	return clean(t.CommandType) + ": " + clean(line)
}

func startText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// duration is the run time of a task, or how long it has been running.
func duration(t pooltask.Task, now time.Time) string {
	if t.Start.IsZero() {
		return "-"
	}
	if t.End.IsZero() {
		if t.Status == pooltask.StatusInit {
			return "waiting"
		}
		return shortDuration(now.Sub(t.Start)) + "…"
	}
	return shortDuration(t.End.Sub(t.Start))
}

func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < 0:
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// clean makes text from the API safe for a terminal and a table: control
// characters (escape sequences, tabs, newlines) become spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// showTask prints one task in full with its failed desktops.
func showTask(ctx context.Context, c *workspace.Client, t pooltask.Task, output string, w io.Writer, now time.Time) error {
	var failed []pooltask.Record
	for offset := 0; offset < maxShownRecords; {
		p, err := c.ListRecords(ctx, pooltask.RecordOptions{TaskID: t.ID, Status: "FAILED", Offset: offset, Limit: workspace.MaxPageSize})
		if err != nil {
			return err
		}
		failed = append(failed, p.Records...)
		offset += len(p.Records)
		if len(p.Records) == 0 || offset >= p.Total {
			break
		}
	}
	if output == "json" {
		return writeJSON(w, showJSON{Task: taskToJSON(t), FailedRecords: recordsJSON(failed)})
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Task", clean(t.ID))
	row("Status", clean(string(t.Status)))
	row("Pool", clean(t.PoolName)+" ("+clean(t.PoolID)+")")
	for _, s := range t.Scripts {
		row("Script", clean(s.Name)+" ("+clean(s.ID)+")")
	}
	if t.CommandContent != "" {
		row("Command type", clean(t.CommandType))
	}
	row("Start (UTC)", startText(t.Start))
	if !t.End.IsZero() {
		row("End (UTC)", startText(t.End))
	}
	row("Duration", duration(t, now))
	row("Desktops", fmt.Sprintf("%d ok, %d failed, %d skipped", t.SuccessNum, t.FailedNum, t.SkipNum))
	tw.Flush()
	if t.CommandContent != "" {
		fmt.Fprintln(w, "\nCommand:")
		for _, line := range strings.Split(strings.TrimRight(t.CommandContent, "\n"), "\n") {
			fmt.Fprintln(w, "  "+clean(line))
		}
	}
	if len(failed) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nFailed desktops (%d):\n", len(failed))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DESKTOP\tSCRIPT\tRESULT\tREASON\tRECORD")
	for _, r := range failed {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", clean(r.DesktopName), clip(clean(r.ScriptName), 30), clean(r.ResultCode), clip(clean(r.Reason), 60), clean(r.ID))
	}
	return tw.Flush()
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
