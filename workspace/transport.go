package workspace

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// callHeader carries the id of a call from our code through the SDK to the
// transport, which swaps it for the call's context. The SDK does not sign
// headers whose name contains "_", and the transport removes it, so it never
// reaches the wire. It is lower case because the signer lower-cases every
// header name, several times, whether it signs it or not.
const callHeader = "x_pooltasks_call"

// canonicalCallHeader is the name under which the header arrives in the
// *http.Request the SDK builds.
var canonicalCallHeader = http.CanonicalHeaderKey(callHeader)

// attemptInfo is what the transport needs to know about one HTTP attempt.
// They are reused: hdr is the extra header map handed to the SDK, which
// copies it.
type attemptInfo struct {
	ctx context.Context
	op  string
	id  string
	hdr map[string]string
}

// callRegistry maps call ids to their attempt, because the SDK takes no
// context and builds the *http.Request itself.
type callRegistry struct {
	next atomic.Uint64
	pool sync.Pool // *attemptInfo

	mu sync.Mutex
	m  map[string]*attemptInfo
}

// register returns the attempt of a new call; its hdr goes to the SDK.
// unregister must be called when the SDK call has returned.
func (r *callRegistry) register(ctx context.Context, op string) *attemptInfo {
	a, _ := r.pool.Get().(*attemptInfo)
	if a == nil {
		a = &attemptInfo{hdr: make(map[string]string, 1)}
	}
	a.ctx, a.op = ctx, op
	a.id = strconv.FormatUint(r.next.Add(1), 36)
	a.hdr[callHeader] = a.id
	r.mu.Lock()
	if r.m == nil {
		r.m = make(map[string]*attemptInfo)
	}
	r.m[a.id] = a
	r.mu.Unlock()
	return a
}

func (r *callRegistry) unregister(a *attemptInfo) {
	r.mu.Lock()
	delete(r.m, a.id)
	r.mu.Unlock()
	a.ctx = nil
	r.pool.Put(a)
}

// lookup returns the context and the operation of a call.
func (r *callRegistry) lookup(id string) (context.Context, string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.m[id]
	if !ok {
		return nil, "", false
	}
	return a.ctx, a.op, true
}

// transport gives each SDK request the context of the call it belongs to, so
// cancellation and the per-attempt timeout close the connection for real,
// and reports every attempt.
type transport struct {
	base    http.RoundTripper
	calls   *callRegistry
	obs     Observer
	timeout time.Duration // for requests that are not ours
	maxBody int64         // every answer body is read up to this many bytes
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ids := req.Header[canonicalCallHeader]
	if len(ids) == 0 {
		// Not one of ours (e.g. the SDK's IAM project lookup).
		return t.foreign(req)
	}
	ctx, op, ok := t.calls.lookup(ids[0])
	if !ok {
		ctx, op = req.Context(), "unknown"
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
	if err != nil {
		return nil, err
	}
	// The SDK reads bodies whole (io.ReadAll): only here can they be
	// bounded.
	if err := checkAnswer(resp, t.maxBody); err != nil {
		return nil, err
	}
	return resp, nil
}

// foreign makes a request the SDK makes on its own, bounded by the timeout
// (body included), which the http.Client no longer applies.
func (t *transport) foreign(req *http.Request) (*http.Response, error) {
	var ctx context.Context
	var cancel context.CancelFunc
	if t.timeout > 0 {
		ctx, cancel = context.WithTimeout(req.Context(), t.timeout)
	} else {
		ctx, cancel = context.WithCancel(req.Context())
	}
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err == nil {
		err = checkAnswer(resp, t.maxBody)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody releases the timeout of a request when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
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
