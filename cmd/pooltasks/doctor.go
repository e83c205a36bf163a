package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/doctor"
	"github.com/pooltasks/pooltasks/workspace"
)

func init() {
	register(subcommand{name: "doctor", summary: "check the configuration, the cloud credentials and the Slack app, and say what to fix", run: runDoctor})
}

// errChecksFailed ends doctor with exit status 1 after the report is printed.
var errChecksFailed = errors.New("doctor: at least one check failed (see FAIL above)")

func runDoctor(ctx context.Context, args []string, cfg config.Config, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	useSim := fs.Bool("sim", false, "check against the built-in simulator with its demo credentials; Slack is skipped when no token is set")
	timeout := fs.Duration("timeout", 15*time.Second, "bound on each network check")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: pooltasks doctor [--sim] [--timeout 15s]")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nExit status 1 when a check fails. Secrets are never printed.")
	}
	words, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(words) > 0 {
		return usageErrorf("doctor takes no arguments, got %q", words[0])
	}

	wc, stop, err := workspaceTarget(ctx, cfg, *useSim)
	defer stop()
	if err != nil {
		return err
	}
	cfg = withWorkspace(cfg, wc)
	opts := doctor.Options{Config: cfg, Sim: *useSim, Timeout: *timeout}
	if wc.Region == "" && wc.Endpoint == "" {
		opts.WorkspaceErr = errors.New("neither WORKSPACE_REGION nor WORKSPACE_ENDPOINT is set")
	} else if client, err := workspace.New(wc); err != nil {
		opts.WorkspaceErr = err
	} else {
		opts.Workspace = client
	}

	report := doctor.Run(ctx, opts)
	if *useSim {
		fmt.Fprintln(stdout, "pooltasks doctor (--sim: the Workspace API is the built-in simulator)")
	} else {
		fmt.Fprintln(stdout, "pooltasks doctor")
	}
	fmt.Fprintln(stdout)
	if err := report.WriteText(stdout); err != nil {
		return err
	}
	if report.Failed() {
		return errChecksFailed
	}
	return nil
}
