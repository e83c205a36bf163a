package main

import (
	"cmp"
	"context"
	"fmt"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/targets"
	"github.com/pooltasks/pooltasks/workspace"
	"github.com/pooltasks/pooltasks/workspace/sim"
)

// namedConfig is the Workspace client configuration of one target.
type namedConfig struct {
	name string
	wc   workspace.Config
}

// The targets of --sim: two simulators with projects, pools and tasks of
// their own (the pools have the same names in both).
var simTargets = []struct {
	name    string
	seed    int64
	project string
}{
	{"sim-a", 0, sim.DemoProjectID},
	{"sim-b", 1, sim.SecondProjectID},
}

// workspaceTargets is every Workspace API a subcommand talks to: the
// targets of POOLTASKS_TARGETS_FILE (or the one target "default" of the
// WORKSPACE_* variables), or with --sim two simulators, sim-a and sim-b.
// It returns them with the default target; stop is never nil.
func workspaceTargets(ctx context.Context, cfg config.Config, ts config.Targets, useSim bool) (list []namedConfig, def string, stop func(), err error) {
	if !useSim {
		for _, t := range ts.List {
			list = append(list, namedConfig{name: t.Name, wc: targetConfig(cfg, t)})
		}
		return list, ts.Default, func() {}, nil
	}
	var stops []func()
	stop = func() {
		for _, s := range stops {
			s()
		}
	}
	for _, st := range simTargets {
		wc, s, err := startSim(ctx, cfg, sim.Options{Seed: st.seed, ProjectID: st.project})
		stops = append(stops, s)
		if err != nil {
			return nil, "", stop, err
		}
		list = append(list, namedConfig{name: st.name, wc: wc})
	}
	return list, "", stop, nil
}

// targetConfig is the Workspace client configuration of a target: its own
// place, credentials and rate, the rest from the environment.
func targetConfig(cfg config.Config, t config.Target) workspace.Config {
	wc := workspaceConfig(cfg)
	wc.Region, wc.Endpoint, wc.ProjectID = t.Region, t.Endpoint, t.ProjectID
	wc.AK, wc.SK, wc.SecurityToken = t.AK, t.SK, t.SecurityToken
	wc.RateLimit = cmp.Or(t.RateLimit, cfg.RateLimit)
	wc.Burst = cmp.Or(t.Burst, cfg.Burst)
	if a := t.Agency; a != nil {
		wc.Agency = &workspace.Agency{URN: a.URN(), SessionName: a.SessionName, Duration: a.Duration, SessionPolicyIDs: a.SessionPolicyIDs}
	}
	return wc
}

// newTargets builds the client of each target, each with its own token
// bucket, cache and pool lookup; observer, when not nil, gives each its
// metrics.
func newTargets(list []namedConfig, def string, observer func(target string) workspace.Observer) (*targets.Set, error) {
	var ts []targets.Target
	for _, nc := range list {
		wc := nc.wc
		if observer != nil {
			wc.Observer = observer(nc.name)
		}
		c, err := workspace.New(wc)
		if err != nil {
			return nil, fmt.Errorf("target %s: connecting to the Workspace API: %w", nc.name, err)
		}
		ts = append(ts, targets.Target{Name: nc.name, Client: c})
	}
	return targets.New(ts, def), nil
}
