package loop

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/slack-go/slack"

	"github.com/pooltasks/pooltasks/pooltask"
)

// Name names a background loop. The set is fixed (Digests, Alerts,
// Watches, and State for the saves of the state store): it labels metrics.
type Name string

// The background loops.
const (
	Digests Name = "digests"
	Alerts  Name = "alerts"
	Watches Name = "watches"
	// State is the state store's saves (a full disk), which every loop
	// makes; a save that fails keeps the state in memory.
	State Name = "state"
)

var names = []Name{Digests, Alerts, Watches, State}

// Health is what the background loops say about themselves: which one is
// failing, since when and why, for /readyz (Err) and for the metrics
// pooltasks_loop_failing{loop} and pooltasks_loop_failures_total{loop}; a
// loop that works for every target of several but some (a partial
// failure, see Partial) is degraded instead (Degraded, /readyz 200), and
// pooltasks_loop_target_failing{loop,target} names each such target.
// A loop that fails keeps trying (see Backoff); Health shows it until it
// succeeds again. A nil *Health records nothing. It is safe for concurrent
// use.
type Health struct {
	failingGauge map[Name]*metrics.Gauge   // pooltasks_loop_failing{loop}
	failures     map[Name]*metrics.Counter // pooltasks_loop_failures_total{loop}
	set          *metrics.Set

	mu      sync.Mutex
	failing map[Name]failure
}

type failure struct {
	since    time.Time
	attempts int
	why      string          // secrets-free: see PublicError
	targets  map[string]bool // the targets that do not answer
	partial  bool            // the others do
}

// NewHealth returns a Health whose metrics are in set (nil keeps them
// nowhere): pooltasks_loop_failing{loop} is 1 while a background loop
// (digests, alerts, watches) fails and retries, and
// pooltasks_loop_failures_total{loop} counts its failed attempts.
func NewHealth(set *metrics.Set) *Health {
	if set == nil {
		set = metrics.NewSet()
	}
	h := &Health{
		failingGauge: map[Name]*metrics.Gauge{},
		failures:     map[Name]*metrics.Counter{},
		failing:      map[Name]failure{},
		set:          set,
	}
	for _, l := range names {
		label := `{loop="` + string(l) + `"}`
		h.failingGauge[l] = set.NewGauge("pooltasks_loop_failing"+label, nil)
		h.failures[l] = set.NewCounter("pooltasks_loop_failures_total" + label)
	}
	return h
}

// Failed records a failed attempt of loop at now.
func (h *Health) Failed(loop Name, now time.Time, err error) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.failing[loop]
	if !ok {
		f.since = now
	}
	f.attempts++
	f.why = PublicError(err)
	down := map[string]bool{}
	for _, te := range targetErrors(err) {
		down[te.Target] = true
		h.targetGauge(loop, te.Target).Set(1)
	}
	for t := range f.targets {
		if !down[t] {
			h.targetGauge(loop, t).Set(0)
		}
	}
	f.targets, f.partial = down, Partial(err)
	h.failing[loop] = f
	h.failingGauge[loop].Set(1)
	h.failures[loop].Inc()
}

// targetGauge is pooltasks_loop_target_failing{loop,target}: 1 while loop
// cannot read the target (a target name is letters, digits and '-').
func (h *Health) targetGauge(loop Name, target string) *metrics.Gauge {
	return h.set.GetOrCreateGauge(`pooltasks_loop_target_failing{loop="`+string(loop)+`",target="`+target+`"}`, nil)
}

// nested reports whether err is or wraps a *TargetError or errors joined.
func nested(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		switch err.(type) {
		case *TargetError, interface{ Unwrap() []error }:
			return true
		}
	}
	return false
}

// targetErrors are the *TargetError in err's tree.
func targetErrors(err error) []*TargetError {
	switch e := err.(type) {
	case nil:
		return nil
	case *TargetError:
		return []*TargetError{e}
	case interface{ Unwrap() []error }:
		var out []*TargetError
		for _, x := range e.Unwrap() {
			out = append(out, targetErrors(x)...)
		}
		return out
	case interface{ Unwrap() error }:
		return targetErrors(e.Unwrap())
	}
	return nil
}

// Recovered records that loop works (again).
func (h *Health) Recovered(loop Name) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.failing[loop]
	if !ok {
		return
	}
	for t := range f.targets {
		h.targetGauge(loop, t).Set(0)
	}
	delete(h.failing, loop)
	h.failingGauge[loop].Set(0)
}

// Err is nil while every loop works (or is only Degraded); else it names
// each failing loop, since when, how many attempts failed and the last
// error, without secrets.
func (h *Health) Err() error {
	if lines := h.lines(false); len(lines) > 0 {
		return errors.New(strings.Join(lines, "\n"))
	}
	return nil
}

// Degraded is "" while no loop has a target of several that does not
// answer; else it names each such loop and its targets, as Err does.
func (h *Health) Degraded() string {
	return strings.Join(h.lines(true), "\n")
}

// lines says each loop failing (partial: only for some targets).
func (h *Health) lines(partial bool) []string {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var lines []string
	for l, f := range h.failing {
		if f.partial == partial {
			lines = append(lines, fmt.Sprintf("%s: failing since %s (%d attempts); last error: %s",
				l, f.since.UTC().Format(time.RFC3339), f.attempts, f.why))
		}
	}
	sort.Strings(lines)
	return lines
}

// StepError is a failed attempt of a loop: What says what failed, in
// notify's own words (no secrets), and Err why.
type StepError struct {
	What string
	Err  error
}

func (e *StepError) Error() string { return e.What + ": " + e.Err.Error() }

// Unwrap returns why the step failed.
func (e *StepError) Unwrap() error { return e.Err }

// PublicError says what failed and why without quoting texts that may hold
// secrets (a Slack answer that echoes a header, an API message that holds
// the canonical request, a URL with a password): only notify's own words
// and the typed parts of the cause.
func PublicError(err error) string {
	switch e := err.(type) {
	case *TargetError:
		return "target " + e.Target + ": " + PublicError(e.Err)
	case interface{ Unwrap() []error }:
		var parts []string
		for _, x := range e.Unwrap() {
			parts = append(parts, PublicError(x))
		}
		return strings.Join(parts, "; ")
	}
	if nested(errors.Unwrap(err)) {
		// Each target, or each error joined, says its own.
		if se, ok := err.(*StepError); ok {
			return se.What + ": " + PublicError(se.Err)
		}
		return PublicError(errors.Unwrap(err))
	}
	var what string
	if se, ok := errors.AsType[*StepError](err); ok {
		what, err = se.What+": ", se.Err
	}
	var pe *fs.PathError
	var se slack.SlackErrorResponse
	var np *NoPoolError
	switch ae, isAPI := errors.AsType[*pooltask.APIError](err); {
	case errors.As(err, &np):
		return what + np.Error()
	case isAPI:
		return fmt.Sprintf("%sthe Workspace API answered %d %s (request id %s)", what, ae.Status, ae.Code, ae.RequestID)
	case errors.As(err, &se):
		return what + "Slack answered " + se.Err
	case errors.As(err, &pe):
		return fmt.Sprintf("%s%s %s: %v", what, pe.Op, pe.Path, pe.Err)
	case errors.Is(err, context.DeadlineExceeded):
		return what + "timed out"
	}
	return what + "see the log for why"
}

// Backoff is how long a loop waits before it tries again after failures in
// a row: Base, doubled at each failure up to Max, of which a random half is
// taken off so that replicas that failed together do not retry together.
type Backoff struct {
	Base, Max time.Duration
}

// DefaultBackoff is the backoff of the loops unless told otherwise.
var DefaultBackoff = Backoff{Base: 5 * time.Second, Max: 5 * time.Minute}

// Wait returns the wait after the failures-th failure in a row.
func (b Backoff) Wait(failures int) time.Duration {
	if b.Base <= 0 || b.Max <= 0 {
		b = DefaultBackoff
	}
	d := b.Max
	if failures < 1 {
		failures = 1
	}
	if shift := failures - 1; shift < 32 && b.Base<<shift > 0 && b.Base<<shift < b.Max {
		d = b.Base << shift
	}
	return d/2 + rand.N(d/2+1)
}

// Run is the retry of the scheduled loops (digests, alerts): it calls step
// until ctx ends, waiting what step returns after a success, and after a
// failure the Backoff of the failures in a row (or less, when step returns
// a shorter wait with its error: an alert poll that did its work for every
// target but one goes on at its own pace), logged (with attrs) and shown
// in Health until a step succeeds again. A failure once ctx ended ends Run
// quietly.
func (d Deps) Run(ctx context.Context, name Name, step func(context.Context) (time.Duration, error), attrs ...any) {
	failures := 0
	for {
		wait, err := step(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			failures++
			if b := d.Backoff.Wait(failures); wait <= 0 || wait > b {
				wait = b
			}
			d.Log.Error("background loop failed; trying again",
				slices.Concat([]any{"loop", name}, attrs, []any{"failures", failures, "retry_in", wait, "err", err})...)
			d.Health.Failed(name, d.Clock.Now(), err)
		default:
			if failures > 0 {
				d.Log.Info("background loop works again", slices.Concat([]any{"loop", name}, attrs)...)
			}
			failures = 0
			d.Health.Recovered(name)
		}
		if !Sleep(ctx, d.Clock, wait) {
			return
		}
	}
}

// Sleep waits d on clock, or until ctx ends (false).
func Sleep(ctx context.Context, clock Clock, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-clock.After(d):
		return true
	}
}
