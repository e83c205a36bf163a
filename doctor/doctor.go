package doctor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pooltasks/pooltasks/config"
	"github.com/pooltasks/pooltasks/pooltask"
	"github.com/pooltasks/pooltasks/redact"
)

// Status is the outcome of one check.
type Status int

// The outcomes, from good to bad.
const (
	OK   Status = iota // nothing to do
	Skip               // not checked, and the detail says why
	Warn               // works, but probably not as intended
	Fail               // will not work until fixed
)

// String returns the label printed in a report; failures stand out in capitals.
func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Skip:
		return "skip"
	case Warn:
		return "warn"
	case Fail:
		return "FAIL"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Check is the result of checking one thing.
type Check struct {
	Name   string // what was checked: a variable name or an area such as "workspace credentials"
	Status Status
	Detail string // what was found; never a secret
	Fix    string // what to do about it; empty when there is nothing to do
}

// Report is the list of checks of one doctor run, in the order they ran.
type Report struct {
	Checks []Check
}

// Failed reports whether any check failed.
func (r Report) Failed() bool {
	for _, c := range r.Checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// Find returns the first check named name, for callers and tests that look for one.
func (r Report) Find(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// WriteText writes the report as aligned text, a "fix:" line under each check that has one,
// and a closing summary line.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	counts := map[Status]int{}
	for _, c := range r.Checks {
		counts[c.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Status, c.Name, oneLine(c.Detail))
		if c.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", oneLine(c.Fix))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d ok, %s, %d failed, %d skipped\n", counts[OK], plural(counts[Warn], "warning"), counts[Fail], counts[Skip])
	return err
}

// plural writes "1 warning", "2 warnings".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// TaskLister is the part of the Workspace client doctor uses: one signed call and the
// project id the client settled on. *workspace.Client implements it.
type TaskLister interface {
	ListTasks(ctx context.Context, opts pooltask.ListOptions) (pooltask.TaskPage, error)
	ProjectID() string
	ResolvePool(ctx context.Context, value string) pooltask.Resolution
}

// Options are what a doctor run looks at.
type Options struct {
	// Config is the configuration as the process read it (with --sim, its Workspace
	// settings are the simulator's).
	Config config.Config
	// Workspace is the client built from Config; nil when building it failed, in which
	// case WorkspaceErr says why.
	Workspace    TaskLister
	WorkspaceErr error
	// Targets, when there are several (POOLTASKS_TARGETS_FILE, --sim), are
	// each checked as Workspace is; Workspace is then unused.
	Targets []Target
	// Sim says the Workspace client talks to the built-in simulator: missing Slack tokens
	// then skip the Slack checks instead of failing them.
	Sim bool
	// StateHeld, in serve's own doctor, is why the process does not use its
	// state directory (another process holds its lock); nil when it does.
	StateHeld error
	// Loops, in serve's own doctor, is the health of its background loops
	// (*loop.Health): which fail, and which work but for a target that
	// does not answer. nil: not checked.
	Loops Loops
	// HTTPClient carries the Slack calls; nil means a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds each network check; default 15s.
	Timeout time.Duration
}

// Loops is what doctor reads of the background loops' health.
type Loops interface {
	Err() error
	Degraded() string
}

// NameLoops is the check of the background loops (serve's own doctor).
const NameLoops = "background loops"

// checkLoops says which background loop fails, or works but for a target
// that does not answer, naming it.
func checkLoops(l Loops) Check {
	if err := l.Err(); err != nil {
		return Check{Name: NameLoops, Status: Fail, Detail: err.Error(), Fix: "see the log for each attempt; the loops try again by themselves"}
	}
	if why := l.Degraded(); why != "" {
		return Check{Name: NameLoops, Status: Warn, Detail: why, Fix: "the other targets' digests and alerts go on; see the target's own checks above"}
	}
	return Check{Name: NameLoops, Status: OK, Detail: "digests, alerts and watches work"}
}

// Target is one of several targets to check: its Workspace settings (in
// Config, as for Options.Config), where its credentials come from, and its
// client.
type Target struct {
	Name         string
	Credentials  string // e.g. "EU_AK/EU_SK", or an agency (config.Target.Credentials)
	Config       config.Config
	Workspace    TaskLister
	WorkspaceErr error
}

// Run performs every check and returns the report. It makes one Workspace API call, a pools
// lookup for each pool name in the configuration, and two Slack calls (auth.test and
// apps.connections.open).
func Run(ctx context.Context, opts Options) Report {
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: opts.Timeout}
	}
	var r Report
	configChecks, bindings := checkConfig(opts.Config, opts.Sim)
	r.Checks = append(r.Checks, configChecks...)
	switch {
	case opts.Config.RedisURL != "":
		r.Checks = append(r.Checks, checkRedis(ctx, opts.Config, opts.Timeout)...)
	case opts.Config.StateDir != "":
		r.Checks = append(r.Checks, checkStateLock(opts.Config, opts.StateHeld))
	}
	if len(opts.Targets) == 0 {
		r.Checks = append(r.Checks, checkWorkspace(ctx, opts, bindings, "")...)
	}
	for _, t := range opts.Targets {
		o := opts
		o.Config, o.Workspace, o.WorkspaceErr = t.Config, t.Workspace, t.WorkspaceErr
		for _, c := range checkWorkspace(ctx, o, bindings, t.Name) {
			c.Name += " (" + t.Name + ")"
			if strings.HasPrefix(c.Name, NameCredentials) && t.Credentials != "" {
				c.Detail = "with " + t.Credentials + ": " + c.Detail
			}
			r.Checks = append(r.Checks, c)
		}
	}
	r.Checks = append(r.Checks, checkSlack(ctx, opts)...)
	if opts.Loops != nil {
		r.Checks = append(r.Checks, checkLoops(opts.Loops))
	}
	// A secret can reach a check's text anyway, say inside an error message from a
	// library: the report goes through the redaction the log lines go through.
	red := redact.New(opts.Config.Secrets()...)
	for i := range r.Checks {
		r.Checks[i].Detail = red.String(r.Checks[i].Detail)
		r.Checks[i].Fix = red.String(r.Checks[i].Fix)
	}
	return r
}
