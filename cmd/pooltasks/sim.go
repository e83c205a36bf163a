package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

func init() { register(newSimCmd) }

func newSimCmd(a *app) *cobra.Command {
	var addr, targetsFile string
	var opts sim.Options
	c := &cobra.Command{
		Use:   "sim",
		Short: "Serve the built-in Workspace API simulator",
		Long: "Sim serves the built-in simulator of the Workspace API (signature checks, " +
			"every filter, paging, generated pools, tasks and desktop records) with the two " +
			"targets of --sim, sim-a and sim-b (projects of their own with pools of the same " +
			"names), writes a targets file for them and prints the environment that points " +
			"pooltasks at it.",
		Example: "  pooltasks sim --addr 127.0.0.1:8089\n" +
			"  pooltasks sim --seed 7 --rate 5 --targets-file sim-targets.yaml",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runSim(c.Context(), a.stdout, addr, cmp.Or(targetsFile, filepath.Join(os.TempDir(), "pooltasks-sim-targets.yaml")), opts)
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8089", "address to listen on")
	c.Flags().StringVar(&targetsFile, "targets-file", "", "where to write the targets file of sim-a and sim-b (default: pooltasks-sim-targets.yaml in the temporary directory)")
	c.Flags().Int64Var(&opts.Seed, "seed", 0, "seed of the generated data")
	c.Flags().Float64Var(&opts.RateLimit, "rate", 0, "server-side requests per second before answering 429, per target (0: unlimited)")
	return c
}

// runSim serves the targets of --sim on one address (sim.Projects: each
// target is a project there), and once it listens writes their targets
// file and prints the environment that uses it.
func runSim(ctx context.Context, stdout io.Writer, addr, targetsFile string, opts sim.Options) error {
	var sims sim.Projects
	for _, st := range simTargets {
		o := opts
		o.Seed, o.ProjectID = opts.Seed+st.seed, st.project
		sims = append(sims, sim.New(o))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var werr error
	err := sim.Serve(ctx, addr, sims, func(url string) {
		if werr = os.WriteFile(targetsFile, simTargetsFile(url), 0o600); werr != nil {
			werr = fmt.Errorf("writing the targets file: %w", werr)
			cancel() // no simulator nobody can point pooltasks at
			return
		}
		fmt.Fprintf(stdout, "Workspace API simulator listening on %s with the targets sim-a and sim-b (Ctrl-C to stop)\n", url)
		fmt.Fprintf(stdout, "Their targets file is %s. Point pooltasks at it with:\n\n", targetsFile)
		for _, kv := range simEnv(targetsFile) {
			fmt.Fprintf(stdout, "export %s=%s\n", kv[0], kv[1])
		}
	})
	return cmp.Or(werr, err)
}

// simTargetsFile is the targets file of the targets of --sim served at
// url.
func simTargetsFile(url string) []byte {
	var b strings.Builder
	b.WriteString("# The targets of `pooltasks sim`: two projects of the built-in simulator.\n" +
		"# Their credentials are the simulator's demo AK/SK, in HUAWEICLOUD_SDK_AK/SK.\n" +
		"targets:\n")
	for _, st := range simTargets {
		fmt.Fprintf(&b, "  - name: %s\n    endpoint: %s\n    project_id: %s\n", st.name, url, st.project)
	}
	return []byte(b.String())
}

// simEnv is the environment that points pooltasks at the simulator's
// targets file. The demo SK is public: it only opens the simulator.
func simEnv(targetsFile string) [][2]string {
	return [][2]string{
		{"POOLTASKS_TARGETS_FILE", targetsFile},
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
