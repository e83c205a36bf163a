package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/targets"
	"github.com/pooltasks/pooltasks/trunc"
	"github.com/pooltasks/pooltasks/view"
	"github.com/pooltasks/pooltasks/workspace"
)

func init() { register(newQueryCmd) }

// maxShownRecords bounds the failed desktops show fetches.
const maxShownRecords = 500

// queryOptions are the flags of query.
type queryOptions struct {
	sim      bool
	target   string
	output   outputFlag
	wide     bool
	outputOf string
}

func newQueryCmd(a *app) *cobra.Command {
	var o queryOptions
	c := &cobra.Command{
		Use:   "query [VERB] [key=value ...]",
		Short: "Ask what /pooltasks answers (list, failed, show) and print it",
		Long: "Query takes the words of /pooltasks in Slack and prints the answer: " +
			"list (the default verb) and failed print a table of tasks, show TASK_ID " +
			"one task in full with its failed desktops. `pooltasks query help` lists " +
			"every verb and key, `pooltasks query help KEY` explains one.\n\n" +
			"Two more, for the terminal: `query pools` lists the desktop pools (name, " +
			"id, desktops), and `query output RECORD_ID` prints what a script printed " +
			"on one desktop (the RECORD column of show); so does " +
			"`query show TASK_ID --output-of DESKTOP`.\n\n" +
			"A task id may be given by its first 8 characters or more, as tables show " +
			"it. Times are UTC; until=yesterday means the end of yesterday, and the " +
			"line under the table shows the window as absolute times. Tables fit 80 " +
			"columns (--wide shows every cell whole). Exit status 1 when the API " +
			"fails, 2 when the words are wrong.",
		Example: "  pooltasks query --sim failed\n" +
			"  pooltasks query failed pool=finance-win11 since=2h\n" +
			"  pooltasks query status=running type=COMMAND limit=50 -o json\n" +
			"  pooltasks query show 24b751d5\n" +
			"  pooltasks query show 24b751d5 --output-of FIN-W11-0042\n" +
			"  pooltasks query pools\n" +
			"  pooltasks query --sim --target sim-b failed    (or: failed target=sim-b)\n" +
			"  pooltasks query help since",
		RunE: func(c *cobra.Command, words []string) error {
			return runQuery(c.Context(), a, words, o)
		},
		ValidArgsFunction: completeQuery,
	}
	c.Flags().BoolVar(&o.sim, "sim", false, "start the built-in simulator (two targets, sim-a and sim-b) and query it with the demo credentials")
	c.Flags().StringVar(&o.target, "target", "", "the target to ask (a name of POOLTASKS_TARGETS_FILE, or all), as target= does")
	addOutputFlag(c, &o.output)
	c.Flags().BoolVar(&o.wide, "wide", false, "show every cell whole, however wide the table")
	c.Flags().StringVar(&o.outputOf, "output-of", "", "with show: print what the script printed on this desktop (name or id)")
	return c
}

// completeQuery completes the words of query: the verbs (and the
// terminal's pools and output), the keys with their =, and the values of
// status=, type=, since= and until=.
func completeQuery(_ *cobra.Command, words []string, prefix string) ([]string, cobra.ShellCompDirective) {
	comps := commands.Complete(words, prefix)
	if len(words) == 0 {
		for _, v := range []string{"pools", "output"} {
			if strings.HasPrefix(v, strings.ToLower(prefix)) {
				comps = append(comps, v)
			}
		}
	}
	directive := cobra.ShellCompDirectiveNoFileComp
	if len(comps) > 0 && !slices.ContainsFunc(comps, func(c string) bool { return !strings.HasSuffix(c, "=") }) {
		directive |= cobra.ShellCompDirectiveNoSpace // a key's value follows its =
	}
	return comps, directive
}

// queryTargets builds the targets query's flags ask for, once the
// configuration was checked, and returns them with the names target (a
// --target or target= value; "" for the default) routes to. stop is never
// nil.
func queryTargets(ctx context.Context, a *app, useSim bool, target string) (*targets.Set, []string, func(), error) {
	var needs config.Need
	if !useSim {
		needs = config.NeedWorkspace
	}
	_, parsed, err := prepare(a.cfg, needs, a.stderr)
	if err != nil {
		return nil, nil, func() {}, err
	}
	list, def, stop, err := workspaceTargets(ctx, a.cfg, parsed.Targets, useSim)
	if err != nil {
		return nil, nil, stop, err
	}
	set, err := newTargets(list, def, nil)
	if err != nil {
		return nil, nil, stop, err
	}
	names, err := set.Route(target, nil)
	if err != nil {
		return nil, nil, stop, usageErrorf("%v", err)
	}
	return set, names, stop, nil
}

// queryClient is the client of the one target query's flags ask for
// (pools and output ask one). stop is never nil.
func queryClient(ctx context.Context, a *app, useSim bool, target string) (*workspace.Client, func(), error) {
	set, names, stop, err := queryTargets(ctx, a, useSim, target)
	if err != nil {
		return nil, stop, err
	}
	if len(names) > 1 {
		return nil, stop, usageErrorf("this asks one target: give --target with one of %s", strings.Join(names, ", "))
	}
	c, _, _ := set.Client(names[0])
	return c.(*workspace.Client), stop, nil // newTargets builds them
}

// oneTarget is the target of a --target flag and a target= word: either,
// or both when they agree.
func oneTarget(flag, word string) (string, error) {
	if flag != "" && word != "" && !strings.EqualFold(flag, word) {
		return "", usageErrorf("--target %s and target=%s disagree; give one", flag, word)
	}
	return cmp.Or(word, flag), nil
}

// findTargetTask is targets.Set.FindTask in the targets names, with an id
// that names no task, or the start of several, or a task of several
// targets, as a usage error. It returns the task's client too.
func findTargetTask(ctx context.Context, set *targets.Set, names []string, id string) (pooltask.Task, targets.Client, error) {
	t, err := set.FindTask(ctx, names, id)
	if _, ok := errors.AsType[*pooltask.TaskIDError](err); ok {
		return t, nil, usageErrorf("%v", err)
	}
	if _, ok := errors.AsType[*targets.AmbiguousError](err); ok {
		return t, nil, usageErrorf("%v", err)
	}
	if err != nil {
		return t, nil, err
	}
	c, _, _ := set.Client(cmp.Or(t.Target, names[0]))
	return t, c, nil
}

func runQuery(ctx context.Context, a *app, words []string, o queryOptions) error {
	stdout, stderr := a.stdout, a.stderr
	asJSON := o.output.json
	if len(words) > 0 {
		// The terminal's own verbs, which Slack answers with buttons.
		switch strings.ToLower(words[0]) {
		case "pools":
			return runPools(ctx, a, words[1:], o)
		case "output":
			return runOutput(ctx, a, words[1:], o)
		}
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
				fmt.Fprintln(stdout, wrap(text, helpWidth))
				return nil
			}
		}
		fmt.Fprintln(stdout, wrap(commands.Help(), helpWidth))
		return nil
	case commands.VerbList, commands.VerbFailed, commands.VerbShow:
	case commands.VerbWatch:
		return usageErrorf("in a terminal, watch is a subcommand of its own: pooltasks watch %s", cmd.TaskID)
	default:
		return usageErrorf("query answers list, failed and show; %s needs the bot (or its own subcommand)", cmd.Verb)
	}
	if o.outputOf != "" && cmd.Verb != commands.VerbShow {
		return usageErrorf("--output-of goes with show: pooltasks query show TASK_ID --output-of DESKTOP")
	}

	if cmd.Target, err = oneTarget(o.target, cmd.Target); err != nil {
		return err
	}
	set, names, stop, err := queryTargets(ctx, a, o.sim, cmd.Target)
	defer stop()
	if err != nil {
		return err
	}
	if cmd.Verb == commands.VerbShow {
		task, client, err := findTargetTask(ctx, set, names, cmd.TaskID)
		if err != nil {
			return err
		}
		if o.outputOf != "" {
			return printOutputOf(ctx, client, task, o.outputOf, asJSON, stdout)
		}
		return showTask(ctx, client, task, o, stdout, now)
	}

	// The one pool rule, as in Slack, in each target: a name naming
	// several pools or none is a usage error (with the choices or the
	// closest names) unless another target has it; a pools API that fails
	// leaves the value to be used as an id.
	var qs []targets.Query
	var poolErr error
	for _, n := range names {
		q := cmd.Query
		client, _, _ := set.Client(n)
		// task= may hold the start of ids, each target's own.
		ids, err := workspace.FindTaskIDs(ctx, client, q.TaskIDs)
		if te, ok := errors.AsType[*pooltask.TaskIDError](err); ok {
			poolErr = cmp.Or(poolErr, error(usageErrorf("task=%v", te)))
			continue
		} else if err != nil {
			return err
		}
		q.TaskIDs = ids
		if q.PoolID != "" {
			res := client.ResolvePool(ctx, q.PoolID)
			if err := res.Err(); err != nil {
				if set.Multi() {
					err = fmt.Errorf("target %s: %w", n, err)
				}
				poolErr = cmp.Or(poolErr, err)
				continue
			}
			if note := res.Note(); note != "" {
				fmt.Fprintln(stderr, note)
			}
			q.PoolID = res.ID
		}
		qs = append(qs, targets.Query{Target: n, Options: q})
	}
	if len(qs) == 0 {
		if _, ok := errors.AsType[*usageError](poolErr); ok {
			return poolErr
		}
		return usageErrorf("%s", poolErr.Error())
	}
	page, err := set.ListTasks(ctx, qs, cmd.Query.Offset, cmd.Query.Limit)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if len(page.Failures) == len(qs) {
		return set.Err(page.Failures[0])
	}
	for _, f := range page.Failures {
		fmt.Fprintf(stderr, "pooltasks: target %s did not answer: %v (the list shows the other targets)\n", f.Target, f.Err)
	}
	q := cmd.Query
	if asJSON {
		return writeJSON(stdout, listJSON{Total: page.Total, Offset: q.Offset, Tasks: tasksJSON(page.Tasks)})
	}
	printTasks(stdout, page.Tasks, now, o.wide)
	fmt.Fprintln(stdout, summary(cmd, q.Offset, len(page.Tasks), page.Total))
	return nil
}

// findTask is workspace.FindTask, with an id that names no task, or the
// start of several, as a usage error.
func findTask(ctx context.Context, l workspace.TaskLister, id string) (pooltask.Task, error) {
	t, err := workspace.FindTask(ctx, l, id)
	if te, ok := errors.AsType[*pooltask.TaskIDError](err); ok {
		return t, usageErrorf("%v", te)
	}
	return t, err
}

// summary is the line under the table: "1–10 of 57: status FAILED".
func summary(cmd commands.Command, offset, n, total int) string {
	return view.Range(offset, n, total) + ": " + cmd.Describe()
}

// printTasks writes a page of tasks as a table. Unless wide, ids show
// their first pooltask.MinTaskPrefix characters, which every command
// takes for the whole id.
func printTasks(w io.Writer, tasks []pooltask.Task, now time.Time, wide bool) {
	// Only the pool and the work are cut: the rest is short, and needed whole.
	tb := table{wide: wide, keep: map[int]bool{0: true, 1: true, 4: true, 5: true, 6: true}}
	start := "START (UTC)"
	if !wide {
		start = "START UTC"
	}
	tb.row("ID", "STATUS", "POOL", "SCRIPTS / COMMAND", start, "DURATION", "OK/FAIL/SKIP")
	for _, t := range tasks {
		v := view.TaskOf(t, now)
		id, started, took := view.Clean(t.ID), timeText(t.Start), v.Timing.String()
		if !wide {
			// STATUS says whether it still runs.
			id = shortID(id)
			if !t.Start.IsZero() {
				started = t.Start.UTC().Format("01-02 15:04")
			}
			if v.Timing.Known {
				took = view.Duration(v.Timing.Duration)
			}
		}
		tb.row(id, view.Clean(v.StatusWord), view.Clean(v.Pool), cmp.Or(v.Work.Summary(40), "—"),
			started, took, fmt.Sprintf("%d/%d/%d", t.SuccessNum, t.FailedNum, t.SkipNum))
	}
	tb.write(w)
}

// shortID is the start of a task id that tables show.
func shortID(id string) string {
	if len(id) > pooltask.MinTaskPrefix && pooltask.IsID(id) {
		return id[:pooltask.MinTaskPrefix]
	}
	return id
}

// timeText is t in UTC to the minute, or "—" for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// showTask prints one task in full with its failed desktops.
func showTask(ctx context.Context, c targets.Client, t pooltask.Task, o queryOptions, w io.Writer, now time.Time) error {
	var failed []pooltask.Record
	for r, err := range workspace.Records(ctx, c, pooltask.RecordOptions{TaskID: t.ID, Status: "FAILED"}) {
		if err != nil {
			return err
		}
		if failed = append(failed, r); len(failed) == maxShownRecords {
			break
		}
	}
	if o.output.json {
		return writeJSON(w, showJSON{Task: taskToJSON(t), FailedRecords: recordsJSON(failed)})
	}
	printTask(w, view.TaskOf(t, now), failed, o.wide)
	return nil
}

// printTask writes a task in full as the API returned it: its fields, its
// scripts with their ids and its command (a task may have both), then its
// failed desktops.
func printTask(w io.Writer, v view.Task, failed []pooltask.Record, wide bool) {
	tb := table{wide: wide, keep: map[int]bool{0: true}}
	row := func(k, v string) { tb.row(k, v) }
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
	tb.write(w)
	if v.Work.HasCommand() {
		// Line by line, each cut to the terminal unless wide (-o json and
		// --wide have it whole).
		typ := ""
		if v.CommandType != "" {
			typ = " (" + view.Clean(v.CommandType) + ")"
		}
		fmt.Fprintf(w, "\nCommand%s:\n", typ)
		for _, line := range strings.Split(strings.TrimRight(v.Work.Command, "\r\n"), "\n") {
			line = view.Clean(strings.TrimSuffix(line, "\r"))
			if !wide {
				line = trunc.Cut(line, termWidth-2)
			}
			fmt.Fprintln(w, "  "+line)
		}
	}
	if len(failed) == 0 {
		return
	}
	fmt.Fprintf(w, "\nFailed desktops (%d):\n", len(failed))
	// The desktop and the record id are kept whole: they go into
	// --output-of and `query output`. The script is left out when the
	// records name one, or none: it is above.
	scripts := map[string]bool{}
	for _, r := range failed {
		scripts[r.ScriptName] = true
	}
	withScript := wide || len(scripts) > 1
	tb = table{wide: wide, keep: map[int]bool{0: true, 4: true}}
	tb.row("DESKTOP", "SCRIPT", "RESULT", "REASON", "RECORD")
	for _, r := range failed {
		tb.row(view.Clean(r.DesktopName), view.Clean(r.ScriptName), view.Clean(r.ResultCode), view.Clean(r.Reason), view.Clean(r.ID))
	}
	if !withScript {
		tb.drop(1)
	}
	tb.write(w)
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
		Target         string       `json:"target,omitempty"`
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
		SuccessNum: t.SuccessNum, FailedNum: t.FailedNum, SkipNum: t.SkipNum, Target: t.Target,
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

// writeJSONLine writes v as one line of JSON Lines.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
