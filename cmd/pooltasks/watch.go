package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/pooltasks/pooltasks/bot/notify/watch"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/trunc"
	"github.com/pooltasks/pooltasks/view"
	"github.com/pooltasks/pooltasks/workspace"
)

func init() { register(newWatchCmd) }

// watchOptions are the flags of watch.
type watchOptions struct {
	sim    bool
	every  time.Duration
	output outputFlag
}

// maxWatchFailures is how many reads in a row may fail before watch gives
// up (the watch in Slack keeps trying; a terminal has someone to retry).
const maxWatchFailures = 5

func newWatchCmd(a *app) *cobra.Command {
	o := watchOptions{every: 5 * time.Second}
	c := &cobra.Command{
		Use:   "watch TASK_ID",
		Short: "Follow a task in the terminal until it ends",
		Long: "Watch follows one task, as /pooltasks watch does in Slack: it prints a " +
			"line when the task's status or counts change, and ends when the task " +
			"does. The id may be its first 8 characters or more, as tables show it.\n\n" +
			"Exit status 0 when the task finished, 1 when it failed, when the API " +
			"no longer returns it or keeps failing, or at Ctrl-C; 2 for a task id " +
			"that names no task. -o json prints each change as one JSON line.",
		Example: "  pooltasks watch 24b751d5\n" +
			"  pooltasks watch --sim --every 1s c791a7b3-8f0e-4f4b-a1d2-3e4f5a6b7c8d",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("watch takes one TASK_ID, got %d words", len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error { return runWatch(c.Context(), a, args[0], o) },
	}
	c.Flags().BoolVar(&o.sim, "sim", false, "watch a task of the built-in simulator")
	c.Flags().Var((*config.Duration)(&o.every), "every", "how often to read the task")
	addOutputFlag(c, &o.output)
	return c
}

// errTaskFailed ends watch with exit status 1 once the task failed.
var errTaskFailed = errors.New("failed")

func runWatch(ctx context.Context, a *app, id string, o watchOptions) error {
	if o.every <= 0 {
		return usageErrorf("--every must be positive, got %v", o.every)
	}
	set, names, stop, err := queryTargets(ctx, a, o.sim, "")
	defer stop()
	if err != nil {
		return err
	}
	task, client, err := findTargetTask(ctx, set, names, id)
	if err != nil {
		return err
	}
	if !o.output.json {
		head := fmt.Sprintf("Task %s · %s · %s", view.Clean(task.ID), view.Clean(view.PoolLabel(task)), view.WorkOf(task).Summary(40))
		fmt.Fprintln(a.stdout, trunc.Cut(head, termWidth))
	}
	if err := watchLine(a.stdout, task, o.output.json); err != nil {
		return err
	}
	missing, failed := 0, 0
	timer := time.NewTimer(o.every)
	defer timer.Stop()
	for !task.Status.Ended() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped watching task %s; it is still %s", task.ID, view.StatusPhrase(task.Status))
		case <-timer.C:
			timer.Reset(o.every)
		}
		t, err := workspace.FindTask(ctx, client, task.ID)
		var te *pooltask.TaskIDError
		switch {
		case ctx.Err() != nil:
			continue
		case errors.As(err, &te):
			if missing++; missing >= watch.GoneAfter {
				return fmt.Errorf("stopped watching task %s: the API no longer returns it (last seen %s)", task.ID, task.Status)
			}
		case err != nil:
			if failed++; failed >= maxWatchFailures {
				return fmt.Errorf("stopped watching task %s after %d failed reads: %w", task.ID, failed, err)
			}
			fmt.Fprintf(a.stderr, "pooltasks: reading task %s: %v; trying again\n", task.ID, err)
		default:
			missing, failed = 0, 0
			if watch.Progressed(task, t) {
				if err := watchLine(a.stdout, t, o.output.json); err != nil {
					return err
				}
			}
			task = t
		}
	}
	if task.Status == pooltask.StatusFailed {
		return fmt.Errorf("task %s %w on %d desktops", task.ID, errTaskFailed, task.FailedNum)
	}
	return nil
}

// watchLine writes one change of a watched task: the time, its status and
// counts, how long it has taken; or the task as one JSON line.
func watchLine(w io.Writer, t pooltask.Task, asJSON bool) error {
	now := time.Now()
	if asJSON {
		return writeJSONLine(w, taskToJSON(t))
	}
	v := view.TaskOf(t, now)
	_, err := fmt.Fprintf(w, "%s  %-7s  %d ok, %d failed, %d skipped  %s\n", now.UTC().Format("15:04:05"),
		view.Clean(v.StatusWord), t.SuccessNum, t.FailedNum, t.SkipNum, v.Timing)
	return err
}
