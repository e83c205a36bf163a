package main

import (
	"cmp"
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

func init() { register(newSimCmd) }

func newSimCmd(a *app) *cobra.Command {
	var addr string
	var opts sim.Options
	c := &cobra.Command{
		Use:   "sim",
		Short: "Serve the built-in Workspace API simulator",
		Long: "Sim serves the built-in simulator of the Workspace API (signature checks, " +
			"every filter, paging, generated pools, tasks and desktop records) and " +
			"prints the environment that points pooltasks at it.",
		Example: "  pooltasks sim --addr 127.0.0.1:8089\n" +
			"  pooltasks sim --seed 7 --rate 5",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runSim(c.Context(), a.stdout, addr, opts) },
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8089", "address to listen on")
	c.Flags().Int64Var(&opts.Seed, "seed", 0, "seed of the generated data")
	c.Flags().Float64Var(&opts.RateLimit, "rate", 0, "server-side requests per second before answering 429 (0: unlimited)")
	return c
}

func runSim(ctx context.Context, stdout io.Writer, addr string, opts sim.Options) error {
	return sim.ListenAndServe(ctx, addr, opts, func(url string) {
		fmt.Fprintf(stdout, "Workspace API simulator listening on %s (Ctrl-C to stop)\n", url)
		fmt.Fprintf(stdout, "Point pooltasks at it with:\n\n")
		for _, kv := range simEnv(url) {
			fmt.Fprintf(stdout, "export %s=%s\n", kv[0], kv[1])
		}
	})
}

// simEnv is the environment that points pooltasks at a simulator. The
// demo SK is public: it only opens the simulator.
func simEnv(url string) [][2]string {
	return [][2]string{
		{"WORKSPACE_ENDPOINT", url},
		{"WORKSPACE_PROJECT_ID", sim.DemoProjectID},
		{"HUAWEICLOUD_SDK_AK", sim.DemoAK},
		{"HUAWEICLOUD_SDK_SK", sim.DemoSK},
	}
}

// startSim serves a simulator on a free loopback port until ctx ends, and
// returns the workspace configuration that reaches it. stop ends it and
// waits; it is never nil, even with an error.
func startSim(ctx context.Context, cfg config.Config, opts sim.Options) (wc workspace.Config, stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- sim.ListenAndServe(ctx, "127.0.0.1:0", opts, func(u string) { urls <- u })
	}()
	select {
	case u := <-urls:
		wc = workspaceConfig(cfg)
		wc.Region, wc.Endpoint, wc.ProjectID = "", u, cmp.Or(opts.ProjectID, sim.DemoProjectID)
		wc.AK, wc.SK, wc.SecurityToken = sim.DemoAK, sim.DemoSK, ""
		return wc, func() { cancel(); <-done }, nil
	case err := <-done:
		cancel()
		// Callers defer stop before they look at err.
		return workspace.Config{}, func() {}, fmt.Errorf("starting the simulator: %w", err)
	}
}
