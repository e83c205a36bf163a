package loop

import (
	"context"
	"errors"
	"strings"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
)

// Targets is a Lister of several targets (targets.Set.Lister). The loops
// read each target through its own Lister, so that one target that does
// not answer keeps none of the others' tasks from a digest or an alert.
type Targets interface {
	Lister
	// Names returns the targets in order.
	Names() []string
	// Target returns the Lister of one of Names alone: a pool value
	// without a target resolves in it (as "NAME:id"), its tasks name it.
	Target(name string) Lister
}

// TargetError is a target of several whose tasks a loop could not read:
// the loop did its work for the others. Health names the target.
type TargetError struct {
	Target string
	Err    error
}

func (e *TargetError) Error() string { return "target " + e.Target + ": " + e.Err.Error() }

// Unwrap returns the target's error.
func (e *TargetError) Unwrap() error { return e.Err }

// Partial reports whether err is only targets that failed (each a
// *TargetError, wrapped or joined): the step did its work for the others.
// No target answering is a *StepError, not partial.
func Partial(err error) bool {
	switch e := err.(type) {
	case *TargetError:
		return true
	case *StepError:
		return false
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			if !Partial(x) {
				return false
			}
		}
		return len(e.Unwrap()) > 0
	case interface{ Unwrap() error }:
		return Partial(e.Unwrap())
	}
	return false
}

// Scope is what a digest or an alert poll reads in one target: its
// Lister and the pools the configured values name there.
type Scope struct {
	Target string // "" for the one target of a Lister that is not Targets
	Lister Lister
	Pools  Pools
}

// Resolved is what the configured pool values name in each target.
type Resolved struct {
	Scopes []Scope // the targets that answered and that the values concern, in order
	// Labels are how to show the pools found (each label once), and
	// Problems the values that name no single pool in any target that
	// answered, and why.
	Labels, Problems []string
	Down             []*TargetError // the targets whose pools could not be read
}

// ResolveTargets resolves values (none: every pool) in each target of l
// by itself (see ResolvePools, which it is for a Lister of one target).
// A value TARGET:pool concerns its target alone; a target that no value
// concerns is not read. A value is a problem only when no target that
// answered resolves it. It fails as ResolvePools does when no target
// answered, or when every value is a problem.
func ResolveTargets(ctx context.Context, l Lister, values []string) (Resolved, error) {
	ts, ok := l.(Targets)
	if !ok {
		p, err := ResolvePools(ctx, l, values)
		if err != nil {
			return Resolved{}, err
		}
		return Resolved{Scopes: []Scope{{Lister: l, Pools: p}}, Labels: p.Labels, Problems: p.Problems}, nil
	}
	var out Resolved
	problems := map[string]string{} // value → its problem in the first target that has none of it
	found := map[string]bool{}
	for _, name := range ts.Names() {
		sc := Scope{Target: name, Lister: ts.Target(name)}
		var vals []string
		for _, v := range values {
			if t, _ := config.SplitTarget(v); t == "" || strings.EqualFold(t, name) {
				vals = append(vals, v)
			}
		}
		if len(values) > 0 && len(vals) == 0 {
			continue
		}
		down := false
		for _, v := range vals {
			p, err := ResolvePools(ctx, sc.Lister, []string{v})
			var none *NoPoolError
			switch {
			case errors.As(err, &none):
				if _, seen := problems[v]; !seen {
					problems[v] = strings.Join(none.Problems, "; ")
				}
			case err != nil:
				out.Down = append(out.Down, &TargetError{Target: name, Err: err})
				down = true
			default:
				found[v] = true
				sc.Pools.IDs = append(sc.Pools.IDs, p.IDs...)
				sc.Pools.Labels = append(sc.Pools.Labels, p.Labels...)
			}
			if down {
				break
			}
		}
		if !down && (len(values) == 0 || len(sc.Pools.IDs) > 0) {
			out.Scopes = append(out.Scopes, sc)
		}
	}
	seen := map[string]bool{}
	for _, sc := range out.Scopes {
		for _, label := range sc.Pools.Labels {
			if !seen[label] {
				seen[label] = true
				out.Labels = append(out.Labels, label)
			}
		}
	}
	for _, v := range values {
		if p, ok := problems[v]; ok && !found[v] {
			out.Problems = append(out.Problems, p)
		}
	}
	switch {
	case len(out.Scopes) == 0 && len(out.Down) > 0:
		return Resolved{}, joinTargets(out.Down)
	case len(values) > 0 && len(out.Scopes) == 0:
		return Resolved{}, &NoPoolError{Problems: out.Problems}
	}
	return out, nil
}

// ListTargets collects the tasks matching base in the pools of each scope
// (ListPools, at most max per pass), each naming its target when there
// are several. A target whose tasks cannot be read is in down; with one
// target, or when no target answered, ListTargets fails.
func ListTargets(ctx context.Context, scopes []Scope, base pooltask.ListOptions, max int) (tasks []pooltask.Task, truncated bool, down []*TargetError, err error) {
	for _, sc := range scopes {
		got, cut, err := ListPools(ctx, sc.Lister, base, sc.Pools.IDs, max)
		if err != nil && sc.Target == "" {
			return nil, false, nil, err
		}
		if err != nil {
			down = append(down, &TargetError{Target: sc.Target, Err: err})
			continue
		}
		tasks, truncated = append(tasks, got...), truncated || cut
	}
	if len(scopes) > 0 && len(down) == len(scopes) {
		return nil, false, down, joinTargets(down)
	}
	return tasks, truncated, down, nil
}

// joinTargets is the error of a step for which no target answered, each
// named.
func joinTargets(down []*TargetError) error {
	errs := make([]error, len(down))
	for i, e := range down {
		errs[i] = e
	}
	return &StepError{What: "no target answered", Err: errors.Join(errs...)}
}
