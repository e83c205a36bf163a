package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/targets"
	"github.com/pooltasks/pooltasks/view"
	"github.com/pooltasks/pooltasks/workspace"
)

// runPools is `pooltasks query pools [NAME]`: the desktop pools, or those
// whose name contains NAME (the API's fuzzy name filter).
func runPools(ctx context.Context, a *app, words []string, o queryOptions) error {
	if len(words) > 1 {
		return usageErrorf("pools takes at most one NAME to look for, got %q", strings.Join(words, " "))
	}
	client, stop, err := queryClient(ctx, a, o.sim, o.target)
	defer stop()
	if err != nil {
		return err
	}
	var opts pooltask.PoolOptions
	if len(words) == 1 {
		opts.Name = words[0]
	}
	var pools []pooltask.Pool
	for p, err := range workspace.Pools(ctx, client, opts) {
		if err != nil {
			return err
		}
		pools = append(pools, p)
	}
	if o.output.json {
		type poolJSON struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			Type     string `json:"type,omitempty"`
			Status   string `json:"status,omitempty"`
			Desktops int    `json:"desktops"`
		}
		out := make([]poolJSON, 0, len(pools))
		for _, p := range pools {
			out = append(out, poolJSON{ID: p.ID, Name: p.Name, Type: p.Type, Status: p.Status, Desktops: p.DesktopCount})
		}
		return writeJSON(a.stdout, out)
	}
	tb := table{wide: o.wide, keep: map[int]bool{1: true}}
	tb.row("NAME", "ID", "DESKTOPS", "STATUS")
	for _, p := range pools {
		tb.row(view.Clean(p.Name), view.Clean(p.ID), strconv.Itoa(p.DesktopCount), view.Clean(p.Status))
	}
	if err := tb.write(a.stdout); err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s pools; pool= takes the name or the id\n", view.Count(len(pools)))
	return err
}

// runOutput is `pooltasks query output RECORD_ID`: what the script printed
// on one desktop.
func runOutput(ctx context.Context, a *app, words []string, o queryOptions) error {
	if len(words) != 1 {
		return usageErrorf("output takes one RECORD_ID (the RECORD column of `pooltasks query show TASK_ID`)")
	}
	client, stop, err := queryClient(ctx, a, o.sim, o.target)
	defer stop()
	if err != nil {
		return err
	}
	rec, err := client.GetRecord(ctx, words[0])
	if ae, ok := errors.AsType[*pooltask.APIError](err); ok && ae.Status == 404 {
		return usageErrorf("no record with id %s: %v", words[0], err)
	}
	if err != nil {
		return err
	}
	return printOutput(a.stdout, []pooltask.Record{rec}, o.output.json)
}

// printOutputOf prints what task t's scripts printed on one desktop, named
// by its name (any case) or id: one record per script.
func printOutputOf(ctx context.Context, c targets.Client, t pooltask.Task, desktop string, asJSON bool, w io.Writer) error {
	var recs []pooltask.Record
	var names []string
	for r, err := range workspace.Records(ctx, c, pooltask.RecordOptions{TaskID: t.ID}) {
		if err != nil {
			return err
		}
		if r.DesktopID == desktop || strings.EqualFold(r.DesktopName, desktop) {
			full, err := c.GetRecord(ctx, r.ID)
			if err != nil {
				return err
			}
			recs = append(recs, full)
		} else if len(names) < 5 {
			names = append(names, r.DesktopName)
		}
	}
	if len(recs) == 0 {
		msg := fmt.Sprintf("task %s ran on no desktop named %q", t.ID, desktop)
		if len(names) > 0 {
			msg += "; it ran on " + strings.Join(names, ", ") + ", …"
		}
		return usageErrorf("%s", msg)
	}
	return printOutput(w, recs, asJSON)
}

// printOutput writes records with their output: a line that says where and
// what ran, then the output as the script printed it.
func printOutput(w io.Writer, recs []pooltask.Record, asJSON bool) error {
	if asJSON {
		type outputJSON struct {
			recordJSON
			Output string `json:"output"`
		}
		out := make([]outputJSON, 0, len(recs))
		for i, r := range recordsJSON(recs) {
			out = append(out, outputJSON{recordJSON: r, Output: recs[i].Output})
		}
		if len(out) == 1 {
			return writeJSON(w, out[0])
		}
		return writeJSON(w, out)
	}
	var b strings.Builder
	for i, r := range recs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "# %s: %s, %s", view.Clean(r.DesktopName), view.Clean(r.ScriptName), view.Clean(r.Status))
		if r.ResultCode != "" {
			fmt.Fprintf(&b, " (%s)", view.Clean(r.ResultCode))
		}
		b.WriteString("\n")
		if strings.TrimSpace(r.Output) == "" {
			b.WriteString("(the script printed nothing)\n")
			continue
		}
		// Escape sequences from a desktop must not drive the terminal.
		for _, line := range strings.Split(strings.TrimRight(r.Output, "\r\n"), "\n") {
			b.WriteString(view.Clean(strings.TrimSuffix(line, "\r")) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
