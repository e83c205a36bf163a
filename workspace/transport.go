package workspace

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// callHeader carries the id of a call from our code through the SDK to the
// transport, which swaps it for the call's context. The SDK does not sign
// headers whose name contains "_", and the transport removes it, so it never
// reaches the wire.
const callHeader = "X_Pooltasks_Call"

var canonicalCallHeader = http.CanonicalHeaderKey(callHeader)

// attemptInfo is what the transport needs to know about one HTTP attempt.
type attemptInfo struct {
	ctx context.Context
	op  string
}

// callRegistry maps call ids to their attempt, because the SDK takes no
// context and builds the *http.Request itself.
type callRegistry struct {
	next atomic.Uint64
	m    sync.Map // string -> *attemptInfo
}

func (r *callRegistry) register(a *attemptInfo) string {
	id := strconv.FormatUint(r.next.Add(1), 36)
	r.m.Store(id, a)
	return id
}

func (r *callRegistry) unregister(id string) { r.m.Delete(id) }

func (r *callRegistry) lookup(id string) *attemptInfo {
	v, ok := r.m.Load(id)
	if !ok {
		return nil
	}
	return v.(*attemptInfo)
}

// transport gives each SDK request the context of the call it belongs to, so
// cancellation and the per-attempt timeout close the connection for real,
// and reports every attempt.
type transport struct {
	base  http.RoundTripper
	calls *callRegistry
	obs   Observer
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	id := req.Header.Get(callHeader)
	if id == "" {
		// Not one of ours (e.g. the SDK's IAM project lookup).
		return t.base.RoundTrip(req)
	}
	a := t.calls.lookup(id)
	ctx, op := req.Context(), "unknown"
	if a != nil {
		ctx, op = a.ctx, a.op
	}
	// A shallow copy is enough: the values are only read, and the
	// RoundTripper contract forbids changing req itself.
	out := req.WithContext(ctx)
	out.Header = make(http.Header, len(req.Header))
	for k, v := range req.Header {
		if k != canonicalCallHeader {
			out.Header[k] = v
		}
	}
	if n, ok := ctx.Value(countKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(out)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	t.obs.APICall(op, status, time.Since(start))
	return resp, err
}

type countKey struct{}

// CountCalls returns a context that counts the outbound HTTP attempts made
// on its behalf, and a func reading the count. Answers from the cache and
// callers that shared another caller's call add nothing. The bot uses it
// for the "API calls" of its audit line.
func CountCalls(ctx context.Context) (context.Context, func() int) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, countKey{}, n), func() int { return int(n.Load()) }
}
