package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/view"
	"github.com/pooltasks/pooltasks/workspace"
)

func init() {
	register(func(a *app) *cobra.Command { return newActCmd(a, pooltask.ActionRetry) })
	register(func(a *app) *cobra.Command { return newActCmd(a, pooltask.ActionStop) })
}

// actText is what the CLI says of each action.
var actText = map[pooltask.Action]struct{ short, long, example, verb string }{
	pooltask.ActionRetry: {
		short: "Retry the failed desktops of a FAILED task",
		long: "Retry runs a FAILED task again on its failed desktops " +
			"(RetryScriptExecution) and prints the new task's id.",
		example: "  pooltasks retry 24b751d5-8849-431a-9f80-4d7cfeb90cba\n" +
			"  pooltasks retry --yes 24b751d5-8849-431a-9f80-4d7cfeb90cba\n" +
			"  pooltasks retry 24b751d5 --target eu    (or: retry 24b751d5 target=eu)",
		verb: "retry",
	},
	pooltask.ActionStop: {
		short: "Stop a task that is waiting or running",
		long: "Stop ends a task that is INIT or RUNNING (StopScriptExecution); its " +
			"desktops that have not finished fail with reason \"stopped\". It prints the task's id.",
		example: "  pooltasks stop 24b751d5-8849-431a-9f80-4d7cfeb90cba\n" +
			"  pooltasks stop 24b751d5 target=eu",
		verb: "stop",
	},
}

func newActCmd(a *app, action pooltask.Action) *cobra.Command {
	var useSim, yes bool
	var target string
	text := actText[action]
	c := &cobra.Command{
		Use:   text.verb + " TASK_ID [target=NAME]",
		Short: text.short,
		Long: text.long + "\n\n" +
			"It acts only when POOLTASKS_ACTIONS lists " + text.verb + ", as the bot does, so the " +
			"credentials of a read-only deployment are never used to act by accident. It asks " +
			"for confirmation on a terminal unless --yes is given; without a terminal it needs " +
			"--yes. A request that may have reached the API without an answer is never sent " +
			"again: the outcome is then unknown and it says how to check.\n\n" +
			"With several targets (POOLTASKS_TARGETS_FILE), the task is looked for as query show " +
			"looks for it: in the target --target or target= names, else in the default target, " +
			"else in all of them; an id that several targets have is not acted on until one is named.\n\n" +
			"Exit status 0 when done, 1 when the API fails or the outcome is unknown, 2 when " +
			"the command line, the configuration or the task's status is wrong.",
		Example: text.example,
		RunE: func(c *cobra.Command, args []string) error {
			// The one parser of the command language reads the id and
			// target=, as /pooltasks does.
			if len(args) == 0 || len(args) > 2 || strings.Contains(args[0], "=") || len(args) == 2 && !strings.Contains(args[1], "=") {
				return usageErrorf("%s needs one task id (and target=NAME at most besides), got %d arguments", text.verb, len(args))
			}
			cmd, err := commands.Parse(text.verb+" "+strings.Join(args, " "), time.Now())
			if err != nil {
				return err
			}
			t, err := oneTarget(target, cmd.Target)
			if err != nil {
				return err
			}
			return runAct(c.Context(), a, action, cmd.TaskID, t, useSim, yes)
		},
	}
	c.Flags().BoolVar(&useSim, "sim", false, "start the built-in simulator (two targets, sim-a and sim-b) and act on it with the demo credentials")
	c.Flags().StringVar(&target, "target", "", "the target of the task (a name of POOLTASKS_TARGETS_FILE), as target= does")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "act without asking for confirmation")
	return c
}

func runAct(ctx context.Context, a *app, action pooltask.Action, taskID, target string, useSim, yes bool) error {
	var needs config.Need
	if !useSim {
		needs = config.NeedWorkspace
	}
	parsed, problems := a.cfg.Validate(needs)
	if err := problems.Err(); err != nil {
		return err
	}
	if !slices.Contains(parsed.Actions, action) {
		return usageErrorf("%s is not enabled here: POOLTASKS_ACTIONS does not list it (it is %q)", action, strings.Join(a.cfg.Actions, ","))
	}
	if !yes && !a.terminal {
		return usageErrorf("%s asks for confirmation and stdin is not a terminal: nothing was done; add --yes to act without asking", action)
	}
	set, names, stop, err := queryTargets(ctx, a, useSim, target)
	defer stop()
	if err != nil {
		return err
	}
	// The whole id is in the confirmation and the answer; the request goes
	// to the task's target, with its credentials.
	t, c, err := findTargetTask(ctx, set, names, taskID)
	if err != nil {
		return err
	}
	client := c.(*workspace.Client) // newTargets builds them
	desktops, err := actable(action, t)
	if err != nil {
		return err
	}
	pool := view.Clean(t.PoolName)
	if pool == "" {
		pool = t.PoolID
	}
	if t.Target != "" {
		pool = t.Target + ":" + pool
	}
	what := fmt.Sprintf("%s task %s of pool %s (%s)", action, t.ID, pool, desktops)
	if !yes {
		ok, err := confirm(a.stdin, a.stderr, strings.ToUpper(what[:1])+what[1:]+"?")
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(a.stderr, "Nothing was done.")
			return nil
		}
	}
	sel := pooltask.Selection{TaskID: t.ID}
	var newTask string
	switch action {
	case pooltask.ActionRetry:
		newTask, err = client.Retry(ctx, sel)
	case pooltask.ActionStop:
		err = client.Stop(ctx, sel)
	}
	if ue, ok := errors.AsType[*pooltask.OutcomeUnknownError](err); ok {
		check := "pooltasks query list pool=" + t.PoolID + " since=10m"
		if t.Target != "" {
			check += " target=" + t.Target
		}
		return fmt.Errorf("%w\nit was not sent again; check with: %s", ue, check)
	}
	if ae, ok := errors.AsType[*pooltask.APIError](err); ok && ae.Status == 403 {
		return fmt.Errorf("%w\nthe credentials need the IAM action %s", err, action.IAM())
	}
	if err != nil {
		return err
	}
	if newTask != "" {
		fmt.Fprintf(a.stderr, "Done: %s → new task %s\n", what, newTask)
		fmt.Fprintln(a.stdout, newTask)
		return nil
	}
	fmt.Fprintf(a.stderr, "Done: %s\n", what)
	fmt.Fprintln(a.stdout, t.ID)
	return nil
}

// actable says whether action applies to t as it is, and on how many
// desktops, in words.
func actable(action pooltask.Action, t pooltask.Task) (string, error) {
	switch action {
	case pooltask.ActionRetry:
		if t.Status != pooltask.StatusFailed || t.FailedNum == 0 {
			return "", usageErrorf("task %s is %s: only a FAILED task with failed desktops can be retried", t.ID, t.Status)
		}
		return view.Count(t.FailedNum) + " failed desktops", nil
	case pooltask.ActionStop:
		if t.Status != pooltask.StatusInit && t.Status != pooltask.StatusRunning {
			return "", usageErrorf("task %s is %s: only a task that is INIT or RUNNING can be stopped", t.ID, t.Status)
		}
		return view.Count(t.SuccessNum+t.FailedNum+t.SkipNum) + " desktops done so far", nil
	}
	return "", fmt.Errorf("unknown action %s", action)
}

// confirm asks a yes/no question on w and reads the answer from r: only
// y or yes (any case) is yes.
func confirm(r io.Reader, w io.Writer, question string) (bool, error) {
	fmt.Fprintf(w, "%s [y/N] ", question)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(w)
			return false, nil
		}
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// stdinTerminal reports whether stdin is a terminal a person can answer on
// (/dev/null is a character device, not a terminal).
func stdinTerminal() bool { return term.IsTerminal(int(os.Stdin.Fd())) }
