package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Deps is what the digests, alerts and watches use; cmd builds it once.
type Deps struct {
	Lister  Lister // also resolves the pool values of digests and alerts
	Poster  Poster
	Clock   Clock        // nil: RealClock
	Log     *slog.Logger // nil discards
	Health  *Health      // nil reports nothing
	Backoff Backoff      // zero: DefaultBackoff
}

func (d Deps) withDefaults() Deps {
	if d.Clock == nil {
		d.Clock = RealClock
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Backoff.Base <= 0 || d.Backoff.Max <= 0 {
		d.Backoff = DefaultBackoff
	}
	return d
}

// NoPoolError is why a digest or alert whose every pool value names no
// single pool is not made. Its text holds configured values only.
type NoPoolError struct {
	Problems []string // why each value names no single pool
}

func (e *NoPoolError) Error() string {
	return "none of the pools names exactly one pool: " + strings.Join(e.Problems, "; ")
}

// resolvedPools is what a list of pool values names.
type resolvedPools struct {
	ids, labels []string // the pools found, and how to show them
	problems    []string // values that name no single pool, and why
}

// resolvePools resolves values (none: every pool). A value that names no
// pool or several is a problem, said in the digest or the log, and left
// out; when every value is, or when the pools API fails, it fails: a
// digest or alert of no pool would say all clear, of every pool would show
// more than asked, of a name taken as an id would find nothing.
func resolvePools(ctx context.Context, l Lister, values []string) (resolvedPools, error) {
	var out resolvedPools
	for _, v := range values {
		res := l.ResolvePool(ctx, v)
		switch {
		case res.LookupErr != nil:
			return resolvedPools{}, &StepError{What: fmt.Sprintf("looking up pool %q", v), Err: res.LookupErr}
		case res.Found():
			label := res.Name
			if label == "" {
				label = v
			}
			out.ids, out.labels = append(out.ids, res.ID), append(out.labels, label)
		default:
			out.problems = append(out.problems, res.Err().Error())
		}
	}
	if len(values) > 0 && len(out.ids) == 0 {
		return resolvedPools{}, &NoPoolError{Problems: out.problems}
	}
	return out, nil
}
