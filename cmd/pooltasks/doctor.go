package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

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
	c.Flags().DurationVar(&timeout, "timeout", 15*time.Second, "bound on each network check")
	return c
}

func runDoctor(ctx context.Context, a *app, useSim bool, timeout time.Duration) error {
	cfg, stdout := a.cfg, a.stdout
	wc, stop, err := workspaceTarget(ctx, cfg, useSim)
	defer stop()
	if err != nil {
		return err
	}
	cfg = withWorkspace(cfg, wc)
	opts := doctor.Options{Config: cfg, Sim: useSim, Timeout: timeout}
	if wc.Region == "" && wc.Endpoint == "" {
		opts.WorkspaceErr = errors.New("neither WORKSPACE_REGION nor WORKSPACE_ENDPOINT is set")
	} else if client, err := workspace.New(wc); err != nil {
		opts.WorkspaceErr = err
	} else {
		opts.Workspace = client
	}

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
