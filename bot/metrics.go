package bot

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/workspace"
)

// Metrics holds the bot's metrics, in a metrics.Set of their own. It is
// also the Workspace client's Observer (APICall, RateLimitWait, CacheHit,
// Coalesced), so one /metrics shows both sides.
//
// The metrics are VictoriaMetrics/metrics, not prometheus/client_golang:
// the latter brings protobuf, whose reflection (an interface call of
// reflect.Type.MethodByName), together with the Huawei SDK's reflect2,
// made the linker keep every exported method of every type, the whole
// Workspace SDK among them: a binary of 22.6 MB instead of 12, and 5.5 MB
// more RSS at rest, 6 MB at a burst's peak (docs/performance.md, "Where the
// peak RSS goes"). The exposition is the same Prometheus text.
type Metrics struct {
	set        *metrics.Set
	waits      *metrics.Counter      // pooltasks_workspace_rate_limit_waits_total
	waitTime   *metrics.FloatCounter // pooltasks_workspace_rate_limit_wait_seconds_total
	ackLatency *metrics.PrometheusHistogram
	connected  *metrics.Gauge
}

var _ workspace.Observer = (*Metrics)(nil)

// The buckets of the latency histograms.
var (
	apiLatencyBuckets = exponentialBuckets(0.005, 2, 12)   // 5 ms to about 10 s
	ackLatencyBuckets = exponentialBuckets(0.00005, 2, 16) // 50 µs to about 1.6 s
)

// exponentialBuckets returns n upper bounds, start and each the one before
// times factor.
func exponentialBuckets(start, factor float64, n int) []float64 {
	b := make([]float64, n)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b
}

// NewMetrics returns metrics on a set of their own. Besides the bot's and
// the Workspace client's, /metrics shows the Go runtime's and the process's
// (go_memstats_*, process_resident_memory_bytes, …).
//
// The series, by name (labels in alphabetical order, each from a fixed set):
//   - pooltasks_commands_total{outcome,verb}: commands and clicks handled.
//   - pooltasks_workspace_api_calls_total{op,status,target}: Workspace API
//     requests, by operation, HTTP status (0: no answer) and target (the
//     label is left out for a client of no target).
//   - pooltasks_workspace_api_latency_seconds{op,target}: their latency.
//   - pooltasks_workspace_rate_limit_waits_total and
//     pooltasks_workspace_rate_limit_wait_seconds_total: requests that
//     waited for the outbound token bucket, and the time they waited.
//   - pooltasks_ack_latency_seconds: from reading a socket-mode envelope
//     to queueing its ack.
//   - pooltasks_workspace_cache_hits_total{op}: answers served from the
//     Workspace client's cache.
//   - pooltasks_workspace_coalesced_total{op}: calls that shared an
//     identical call in flight.
//   - pooltasks_socket_connected: 1 while the socket-mode connection is up.
func NewMetrics() *Metrics {
	metrics.ExposeMetadata(true) // # TYPE lines, so that scrapers know a histogram
	s := metrics.NewSet()
	return &Metrics{
		set:        s,
		waits:      s.NewCounter("pooltasks_workspace_rate_limit_waits_total"),
		waitTime:   s.NewFloatCounter("pooltasks_workspace_rate_limit_wait_seconds_total"),
		ackLatency: s.NewPrometheusHistogramExt("pooltasks_ack_latency_seconds", ackLatencyBuckets),
		connected:  s.NewGauge("pooltasks_socket_connected", nil),
	}
}

// Registry is where the metrics live, for registering more.
func (m *Metrics) Registry() *metrics.Set { return m.set }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.set.WritePrometheus(w)
		metrics.WriteProcessMetrics(w)
	})
}

// APICall records one Workspace API request.
func (m *Metrics) APICall(op string, status int, d time.Duration) { m.apiCall("", op, status, d) }

// apiCall records an API call of a target ("" for a client of no target).
func (m *Metrics) apiCall(target, op string, status int, d time.Duration) {
	op = "op=" + strconv.Quote(op)
	if target != "" {
		target = ",target=" + strconv.Quote(target)
	}
	m.set.GetOrCreateCounter("pooltasks_workspace_api_calls_total{" + op + `,status="` + statusLabel(status) + `"` + target + "}").Inc()
	m.set.GetOrCreatePrometheusHistogramExt("pooltasks_workspace_api_latency_seconds{"+op+target+"}", apiLatencyBuckets).
		Update(d.Seconds())
}

// Target returns the Observer of one target's client: its API calls are
// labelled target="NAME" (pooltasks_workspace_api_calls_total and
// _latency_seconds); the rest is the bot's.
func (m *Metrics) Target(name string) *TargetMetrics { return &TargetMetrics{Metrics: m, target: name} }

// TargetMetrics is the Observer of one target's Workspace client.
type TargetMetrics struct {
	*Metrics
	target string
}

// APICall records an API call of the target.
func (t *TargetMetrics) APICall(op string, status int, d time.Duration) {
	t.apiCall(t.target, op, status, d)
}

// RateLimitWait records a wait for the outbound token bucket.
func (m *Metrics) RateLimitWait(d time.Duration) {
	m.waits.Inc()
	m.waitTime.Add(d.Seconds())
}

// CacheHit records an answer served from the client's cache.
func (m *Metrics) CacheHit(op string) {
	m.set.GetOrCreateCounter("pooltasks_workspace_cache_hits_total{op=" + strconv.Quote(op) + "}").Inc()
}

// Coalesced records a call that shared an identical in-flight call.
func (m *Metrics) Coalesced(op string) {
	m.set.GetOrCreateCounter("pooltasks_workspace_coalesced_total{op=" + strconv.Quote(op) + "}").Inc()
}

func (m *Metrics) command(verb, outcome string) {
	m.set.GetOrCreateCounter(`pooltasks_commands_total{outcome="` + outcomeLabel(outcome) + `",verb="` + verbLabel(verb) + `"}`).Inc()
}

// The labels of every metric take values from fixed sets, whatever comes
// in: a forged click can carry any action id, an API any status, and each
// new value would be a series kept for the life of the process. Values
// outside a set are counted as "other".

// verbLabel is a verb of the command language, a button's action, or
// "unknown" (not parsed yet).
func verbLabel(v string) string {
	if _, ok := verbs[commands.Verb(v)]; ok || knownAction(v) || v == "unknown" {
		return v
	}
	return "other"
}

// outcomeLabel is an outcome of the audit line.
func outcomeLabel(o string) string {
	if outcomes[o] {
		return o
	}
	if strings.HasPrefix(o, "api_") {
		return "api_other"
	}
	return "other"
}

// outcomes are the audit outcomes other than a condition's (see
// conditions), which are added at init.
var outcomes = map[string]bool{
	"ok": true, "ignored": true, "panic": true, "busy": true, "dropped": true, "error": true, "timeout": true,
	"api_400": true, "api_401": true, "api_403": true, "api_404": true, "api_429": true,
	"api_500": true, "api_502": true, "api_503": true, "api_504": true,
}

func init() {
	for _, c := range conditions {
		outcomes[c.outcome] = true
	}
}

// statusLabel is an HTTP status the Workspace API answers with, 0 for none.
func statusLabel(status int) string {
	switch status {
	case 0, 200, 400, 401, 403, 404, 408, 409, 429, 500, 502, 503, 504:
		return strconv.Itoa(status)
	}
	return "other"
}

func (m *Metrics) ack(d time.Duration) { m.ackLatency.Update(d.Seconds()) }
