// Package targets answers from several Workspace targets (a Huawei Cloud
// project in a region, of an account) at once: it knows the client of each
// by name, routes a command to its targets (target=NAME, target=all, or the
// rule for a command that names none), and fans a list out to them
// concurrently, merging the answers newest first with the target of each
// task, and the error of each target that failed beside the others'
// answers.
//
// It declares the Client it needs; *workspace.Client has it.
package targets

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/workspace"
)

// Client is one target's Workspace API.
type Client interface {
	ListTasks(ctx context.Context, opts pooltask.ListOptions) (pooltask.TaskPage, error)
	ListRecords(ctx context.Context, opts pooltask.RecordOptions) (pooltask.RecordPage, error)
	GetRecord(ctx context.Context, recordID string) (pooltask.Record, error)
	ResolvePool(ctx context.Context, value string) pooltask.Resolution
}

// Target is a named client.
type Target struct {
	Name   string
	Client Client
}

// Set is every target of a deployment. It is safe for concurrent use.
type Set struct {
	list []Target
	def  string
}

// DefaultName is the name of the one target of a deployment without a
// targets file.
const DefaultName = "default"

// All is the target= word that asks every target.
const All = "all"

// New returns the set of list (in the order answers and errors name them),
// with def the target of a command that names none ("" asks them all).
func New(list []Target, def string) *Set {
	return &Set{list: slices.Clone(list), def: def}
}

// One is the set of one client, the target "default".
func One(c Client) *Set { return New([]Target{{Name: DefaultName, Client: c}}, "") }

// Names returns the target names in order.
func (s *Set) Names() []string {
	out := make([]string, len(s.list))
	for i, t := range s.list {
		out[i] = t.Name
	}
	return out
}

// Multi reports whether there is more than one target, so that answers
// name the target they come from.
func (s *Set) Multi() bool { return len(s.list) > 1 }

// Client returns the client of a target by name (any case) and the name as
// configured.
func (s *Set) Client(name string) (Client, string, bool) {
	for _, t := range s.list {
		if strings.EqualFold(t.Name, name) {
			return t.Client, t.Name, true
		}
	}
	return nil, "", false
}

// UnknownError is a target= value that names no target.
type UnknownError struct {
	Given   string
	Suggest string   // the nearest name, or ""
	Names   []string // every target
}

// Error says what is known and what may have been meant.
func (e *UnknownError) Error() string {
	s := fmt.Sprintf("there is no target %q", e.Given)
	if e.Suggest != "" {
		return s + " — did you mean target=" + e.Suggest + "?"
	}
	return s + "; the targets are " + strings.Join(e.Names, ", ") + " (or target=all)"
}

// Route returns the targets a command goes to: given (target=NAME, or all
// of them for target=all); with none given, the one target a channel's
// binding names (bound), else the default target, else every target.
// The names are as configured, in the set's order.
func (s *Set) Route(given string, bound []string) ([]string, error) {
	switch {
	case strings.EqualFold(given, All):
		return s.Names(), nil
	case given != "":
		if _, name, ok := s.Client(given); ok {
			return []string{name}, nil
		}
		e := &UnknownError{Given: given, Names: s.Names()}
		e.Suggest, _ = commands.SuggestName(given, e.Names)
		return nil, e
	case len(bound) == 1:
		if _, name, ok := s.Client(bound[0]); ok {
			return []string{name}, nil
		}
	case s.def != "":
		return []string{s.def}, nil
	}
	return s.Names(), nil
}

// Failure is a target that did not answer.
type Failure struct {
	Target string
	Err    error
}

// Error names the target and its error.
func (f *Failure) Error() string { return "target " + f.Target + ": " + f.Err.Error() }

// Unwrap returns the target's error.
func (f *Failure) Unwrap() error { return f.Err }

// Err is the error of a target that failed as an answer gives it: naming
// the target when there are several.
func (s *Set) Err(f Failure) error {
	if s.Multi() {
		return &f
	}
	return f.Err
}

// Query is a list query for one target: pool ids differ between targets,
// so each has its own options.
type Query struct {
	Target  string
	Options pooltask.ListOptions
}

// Merged is a page of the tasks of several targets.
type Merged struct {
	Tasks    []pooltask.Task // newest first, each naming its target
	Total    int             // of the targets that answered
	Failures []Failure       // in the set's order
}

// MaxMergedDepth bounds offset+limit of a merged list: each target is
// asked for that many tasks to find the page.
const MaxMergedDepth = 1000

// DepthError is a merged page too deep to find.
type DepthError struct{ Depth int }

// Error says how to narrow the list down.
func (e *DepthError) Error() string {
	return fmt.Sprintf("a list over several targets goes %d tasks deep at most (this page needs %d); narrow it with since=, pool= or target=",
		MaxMergedDepth, e.Depth)
}

// ListTasks asks every query's target concurrently and merges the answers:
// the page at offset (and limit) of the tasks of every target, newest
// first. Each target is asked for its newest offset+limit tasks, through
// the one pager. A target that fails is a Failure; the others' tasks are
// still merged.
func (s *Set) ListTasks(ctx context.Context, qs []Query, offset, limit int) (Merged, error) {
	type answer struct {
		tasks []pooltask.Task
		total int
		err   error
	}
	if len(qs) == 1 {
		// One target pages on the API itself.
		c, name, ok := s.Client(qs[0].Target)
		if !ok {
			return Merged{}, &UnknownError{Given: qs[0].Target, Names: s.Names()}
		}
		o := qs[0].Options
		o.Offset, o.Limit = offset, limit
		p, err := c.ListTasks(ctx, o)
		if err != nil {
			return Merged{Failures: []Failure{{Target: name, Err: err}}}, nil
		}
		for i := range p.Tasks {
			p.Tasks[i].Target = s.label(name)
		}
		return Merged{Tasks: p.Tasks, Total: p.Total}, nil
	}
	depth := offset + limit
	if depth > MaxMergedDepth {
		return Merged{}, &DepthError{Depth: depth}
	}

	answers := make([]answer, len(qs))
	var g errgroup.Group
	for i, q := range qs {
		c, name, ok := s.Client(q.Target)
		if !ok {
			answers[i].err = &UnknownError{Given: q.Target, Names: s.Names()}
			continue
		}
		g.Go(func() error {
			o := q.Options
			o.Offset, o.Limit = 0, min(depth, workspace.MaxPageSize)
			a := &answers[i]
			first := true
			for t, err := range workspace.Tasks(ctx, pageTotal{c, &a.total, &first}, o) {
				if err != nil {
					a.err = err
					return nil
				}
				t.Target = s.label(name)
				if a.tasks = append(a.tasks, t); len(a.tasks) == depth {
					break
				}
			}
			return nil
		})
	}
	g.Wait()
	var m Merged
	var all []pooltask.Task
	for i, a := range answers {
		if a.err != nil {
			m.Failures = append(m.Failures, Failure{Target: qs[i].Target, Err: a.err})
			continue
		}
		m.Total += a.total
		all = append(all, a.tasks...)
	}
	order := s.Names()
	slices.SortStableFunc(all, func(a, b pooltask.Task) int {
		return cmp.Or(Newer(a, b), cmp.Compare(slices.Index(order, a.Target), slices.Index(order, b.Target)), strings.Compare(a.ID, b.ID))
	})
	if offset < len(all) {
		m.Tasks = all[offset:min(len(all), depth)]
	}
	return m, nil
}

// Newer orders tasks newest first: by start time, later first, a task not
// started yet (zero start) before any.
func Newer(a, b pooltask.Task) int {
	switch {
	case a.Start.IsZero() && b.Start.IsZero():
		return 0
	case a.Start.IsZero():
		return -1
	case b.Start.IsZero():
		return 1
	}
	return b.Start.Compare(a.Start)
}

// label is the Target of a task of the target name: the name when there
// are several targets, else empty (a deployment of one target never names
// it).
func (s *Set) label(name string) string {
	if s.Multi() {
		return name
	}
	return ""
}

// pageTotal keeps the total of the first page a target answers.
type pageTotal struct {
	c     Client
	total *int
	first *bool
}

func (p pageTotal) ListTasks(ctx context.Context, o pooltask.ListOptions) (pooltask.TaskPage, error) {
	page, err := p.c.ListTasks(ctx, o)
	if err == nil && *p.first {
		*p.total, *p.first = page.Total, false
	}
	return page, err
}

// AmbiguousError is a task id found in several targets.
type AmbiguousError struct {
	TaskID  string
	Targets []string
}

// Error names the targets to choose from.
func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("task %s exists in the targets %s; say which with target=", e.TaskID, strings.Join(e.Targets, ", "))
}

// FindTask looks for a task in the targets names, concurrently, by the
// one rule for a task id (workspace.FindTask: the whole id, or its start).
// It returns the task (naming its target) when exactly one target has it.
// Several targets having it is an *AmbiguousError; none having it, the
// *pooltask.TaskIDError of the first target, or when a target could not be
// asked (it might have had it), that target's error (see Err).
func (s *Set) FindTask(ctx context.Context, names []string, value string) (pooltask.Task, error) {
	type hit struct {
		task pooltask.Task
		err  error
	}
	hits := make([]hit, len(names))
	var g errgroup.Group
	for i, n := range names {
		c, name, ok := s.Client(n)
		if !ok {
			hits[i].err = &UnknownError{Given: n, Names: s.Names()}
			continue
		}
		g.Go(func() error {
			t, err := workspace.FindTask(ctx, c, value)
			t.Target = s.label(name)
			hits[i] = hit{task: t, err: err}
			return nil
		})
	}
	g.Wait()
	var found []hit
	var in []string
	var notFound, failed error
	for i, h := range hits {
		var te *pooltask.TaskIDError
		switch {
		case h.err == nil:
			found = append(found, h)
			in = append(in, names[i])
		case errors.As(h.err, &te) && len(te.Matches) > 1:
			return pooltask.Task{}, h.err // a start of several ids in one target
		case errors.As(h.err, &te):
			notFound = cmp.Or(notFound, h.err)
		default:
			failed = cmp.Or(failed, s.Err(Failure{Target: names[i], Err: h.err}))
		}
	}
	switch {
	case len(found) == 1:
		return found[0].task, nil
	case len(found) > 1:
		return pooltask.Task{}, &AmbiguousError{TaskID: value, Targets: in}
	}
	return pooltask.Task{}, cmp.Or(failed, notFound)
}

// Lister is what the background loops (digests, alerts, watches) ask of
// the Workspace API (pooltask.Lister).
type Lister = pooltask.Lister

// Lister returns every target as one Lister for the background loops: the
// client itself when there is one target, else a list of the targets'
// tasks one target after the other (each naming its target), paged across
// them. A pool value "eu:pool-a" resolves in eu alone; one without a
// target resolves in each target that has it, so that a digest of
// "finance" covers the finance pool of every target. A target that fails
// fails the page, naming the target; the loops read each target by itself
// (Names and Target: the loops' Targets) so that one target down does not
// keep the others' failures from them.
func (s *Set) Lister() Lister {
	if !s.Multi() {
		return s.list[0].Client
	}
	return fanLister{s: s}
}

// fanLister is Set.Lister of several targets, or of one of them (only).
type fanLister struct {
	s    *Set
	only string
}

// Names returns the targets in order.
func (l fanLister) Names() []string { return l.s.Names() }

// Target returns the Lister of the target name alone: a pool value
// without a target resolves there (its ids come back as "NAME:id"), and
// its tasks name it.
func (l fanLister) Target(name string) Lister { return fanLister{s: l.s, only: name} }

// in reports whether the target name is one this Lister reads.
func (l fanLister) in(name string) bool { return l.only == "" || strings.EqualFold(l.only, name) }

// everyTarget prefixes a pool value that each target resolves by itself.
const everyTarget = "*:"

// ResolvePool resolves "TARGET:value" in its target (the ids come back
// as "TARGET:id"), and a value without a target in every target: as
// "*:value" when one target or more has exactly one pool of it, and as
// the pools of every target for a glob (Finance*). A value no target has
// is the first target's answer, with its suggestions.
func (l fanLister) ResolvePool(ctx context.Context, value string) pooltask.Resolution {
	prefixed := func(name string, res pooltask.Resolution) pooltask.Resolution {
		if res.ID != "" {
			res.ID = name + ":" + res.ID
		}
		res.Choices = slices.Clone(res.Choices)
		for i, p := range res.Choices {
			res.Choices[i].ID, res.Choices[i].Name = name+":"+p.ID, name+":"+p.Name
		}
		return res
	}
	if target, pool := config.SplitTarget(value); target != "" {
		c, name, ok := l.s.Client(target)
		if !ok || !l.in(name) {
			return pooltask.Resolution{Value: value, Suggestions: nil}
		}
		res := prefixed(name, c.ResolvePool(ctx, pool))
		res.Value = value
		return res
	}
	if l.only != "" {
		res := l.ResolvePool(ctx, l.only+":"+value)
		res.Value = value
		return res
	}
	var first, found pooltask.Resolution
	var glob []pooltask.Pool
	for i, t := range l.s.list {
		res := t.Client.ResolvePool(ctx, value)
		switch {
		case i == 0:
			first = res
		}
		switch {
		case res.LookupErr != nil:
			return res
		case res.Glob:
			if res.ID != "" { // the one pool it matches there
				res.Choices = []pooltask.Pool{{ID: res.ID, Name: res.Name}}
			}
			glob = append(glob, prefixed(t.Name, res).Choices...)
		case len(res.Choices) > 0:
			return prefixed(t.Name, res)
		case res.Found():
			found = res
		}
	}
	switch {
	case first.Glob:
		return pooltask.Resolution{Value: value, Glob: true, Choices: glob}
	case found.Found():
		found.ID, found.Name = everyTarget+value, cmp.Or(found.Name, value)
		return found
	}
	return first
}

// ListTasks lists the tasks of every target (or of the one target of a
// "TARGET:id" pool, or of opts.Target), one target after the other.
func (l fanLister) ListTasks(ctx context.Context, opts pooltask.ListOptions) (pooltask.TaskPage, error) {
	type part struct {
		name string
		c    Client
		opts pooltask.ListOptions
	}
	var parts []part
	for _, t := range l.s.list {
		if (opts.Target != "" && !strings.EqualFold(opts.Target, t.Name)) || !l.in(t.Name) {
			continue
		}
		o := opts
		o.Target = ""
		switch target, id := config.SplitTarget(opts.PoolID); {
		case strings.HasPrefix(opts.PoolID, everyTarget):
			res := t.Client.ResolvePool(ctx, strings.TrimPrefix(opts.PoolID, everyTarget))
			if res.ID == "" || len(res.Choices) > 0 {
				continue
			}
			o.PoolID = res.ID
		case target != "":
			if !strings.EqualFold(target, t.Name) {
				continue
			}
			o.PoolID = id
		}
		parts = append(parts, part{t.Name, t.Client, o})
	}
	limit := cmp.Or(opts.Limit, workspace.MaxPageSize)
	skip := opts.Offset
	var out pooltask.TaskPage
	for _, p := range parts {
		o := p.opts
		o.Offset, o.Limit = skip, max(1, limit-len(out.Tasks))
		page, err := p.c.ListTasks(ctx, o)
		if err != nil && l.only != "" {
			return pooltask.TaskPage{}, err // the caller knows the target
		}
		if err != nil {
			return pooltask.TaskPage{}, &Failure{Target: p.name, Err: err}
		}
		out.Total += page.Total
		skip = max(0, skip-page.Total)
		for _, t := range page.Tasks {
			if len(out.Tasks) < limit {
				t.Target = p.name
				out.Tasks = append(out.Tasks, t)
			}
		}
	}
	return out, nil
}
