package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/doctor"
	"github.com/pooltasks/pooltasks/workspace"
)

func init() { register(newDoctorCmd) }

// errChecksFailed ends doctor with exit status 1 after the report is printed.
var errChecksFailed = errors.New("doctor: at least one check failed (see FAIL above)")

func newDoctorCmd(a *app) *cobra.Command {
	var useSim bool
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check the configuration, the cloud credentials and the Slack app",
		Long: "Doctor checks the configuration, makes one signed call to the Workspace " +
			"API, and checks the Slack tokens and scopes, then says what to fix. " +
			"Secrets are never printed.\n\n" +
			"Exit status 1 when a check fails.",
		Example: "  pooltasks doctor\n" +
			"  pooltasks doctor --sim",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runDoctor(c.Context(), a, useSim, timeout) },
	}
	c.Flags().BoolVar(&useSim, "sim", false, "check against the built-in simulator with its demo credentials; Slack is skipped when no token is set")
	timeout = 15 * time.Second
	c.Flags().Var((*config.Duration)(&timeout), "timeout", "bound on each network check")
	return c
}

func runDoctor(ctx context.Context, a *app, useSim bool, timeout time.Duration) error {
	cfg, stdout := a.cfg, a.stdout
	// The targets as far as they parse: doctor reports the problems.
	parsed, _ := cfg.Validate(0)
	list, _, stop, err := workspaceTargets(ctx, cfg, parsed.Targets, useSim)
	defer stop()
	if err != nil {
		return err
	}
	opts := doctorOptions(cfg, list, parsed.Targets, func(nc namedConfig) (doctor.TaskLister, error) {
		c, err := workspace.New(nc.wc)
		if err != nil {
			return nil, err
		}
		return c, nil
	})
	opts.Sim, opts.Timeout = useSim, timeout
	report := doctor.Run(ctx, opts)
	if useSim {
		fmt.Fprintln(stdout, "pooltasks doctor (--sim: the Workspace API is the built-in simulator)")
	} else {
		fmt.Fprintln(stdout, "pooltasks doctor")
	}
	fmt.Fprintln(stdout)
	// Wrapped for a terminal; Slack gets the report's long lines.
	var buf bytes.Buffer
	if err := report.WriteText(&buf); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(stdout, wrap(strings.TrimRight(buf.String(), "\n"), helpWidth)); err != nil {
		return err
	}
	if report.Failed() {
		return errChecksFailed
	}
	return nil
}

// doctorOptions are what doctor checks: cfg with the Workspace settings of
// its one target, or each of several targets with its client (client
// builds it, or says why it cannot).
func doctorOptions(cfg config.Config, list []namedConfig, ts config.Targets, client func(namedConfig) (doctor.TaskLister, error)) doctor.Options {
	switch len(list) {
	case 0: // the targets file says why
		return doctor.Options{Config: cfg, WorkspaceErr: errors.New("no target could be read")}
	case 1:
		opts := doctor.Options{Config: withWorkspace(cfg, list[0].wc)}
		if wc := list[0].wc; wc.Region == "" && wc.Endpoint == "" {
			opts.WorkspaceErr = errors.New("neither WORKSPACE_REGION nor WORKSPACE_ENDPOINT is set")
		} else {
			opts.Workspace, opts.WorkspaceErr = client(list[0])
		}
		return opts
	}
	opts := doctor.Options{Config: cfg}
	for _, nc := range list {
		t := doctor.Target{Name: nc.name, Config: withWorkspace(cfg, nc.wc)}
		if ct, ok := ts.Lookup(nc.name); ok {
			t.Credentials = ct.Credentials
		}
		t.Workspace, t.WorkspaceErr = client(nc)
		opts.Targets = append(opts.Targets, t)
	}
	return opts
}
