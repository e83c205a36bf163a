package bot

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pooltasks/pooltasks/commands"
	"github.com/pooltasks/pooltasks/workspace"
)

// Metrics holds the bot's Prometheus registry. It is also the Workspace
// client's Observer (APICall, RateLimitWait, CacheHit, Coalesced), so one
// /metrics shows both sides.
type Metrics struct {
	reg        *prometheus.Registry
	commands   *prometheus.CounterVec
	apiCalls   *prometheus.CounterVec
	apiLatency *prometheus.HistogramVec
	waits      prometheus.Counter
	waitTime   prometheus.Counter
	ackLatency prometheus.Histogram
	cacheHits  *prometheus.CounterVec
	coalesced  *prometheus.CounterVec
	connected  prometheus.Gauge
}

var _ workspace.Observer = (*Metrics)(nil)

// NewMetrics returns metrics on a registry of their own, with the Go and
// process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pooltasks_commands_total", Help: "Commands and clicks handled, by verb and outcome.",
		}, []string{"verb", "outcome"}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pooltasks_workspace_api_calls_total", Help: "Workspace API requests, by operation and HTTP status (0: no answer).",
		}, []string{"op", "status"}),
		apiLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pooltasks_workspace_api_latency_seconds", Help: "Workspace API request latency.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"op"}),
		waits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pooltasks_workspace_rate_limit_waits_total", Help: "Requests that waited for the outbound token bucket.",
		}),
		waitTime: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pooltasks_workspace_rate_limit_wait_seconds_total", Help: "Time spent waiting for the outbound token bucket.",
		}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pooltasks_ack_latency_seconds", Help: "From reading a socket-mode envelope to queueing its ack.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
		}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pooltasks_workspace_cache_hits_total", Help: "Workspace API answers served from the cache, by operation.",
		}, []string{"op"}),
		coalesced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pooltasks_workspace_coalesced_total", Help: "Workspace API calls that shared an identical in-flight call, by operation.",
		}, []string{"op"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pooltasks_socket_connected", Help: "1 while the socket-mode connection is up.",
		}),
	}
	m.reg.MustRegister(m.commands, m.apiCalls, m.apiLatency, m.waits, m.waitTime, m.ackLatency,
		m.cacheHits, m.coalesced, m.connected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the metrics live, for registering more.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// APICall records one Workspace API request.
func (m *Metrics) APICall(op string, status int, d time.Duration) {
	m.apiCalls.WithLabelValues(op, statusLabel(status)).Inc()
	m.apiLatency.WithLabelValues(op).Observe(d.Seconds())
}

// RateLimitWait records a wait for the outbound token bucket.
func (m *Metrics) RateLimitWait(d time.Duration) {
	m.waits.Inc()
	m.waitTime.Add(d.Seconds())
}

// CacheHit records an answer served from the client's cache.
func (m *Metrics) CacheHit(op string) { m.cacheHits.WithLabelValues(op).Inc() }

// Coalesced records a call that shared an identical in-flight call.
func (m *Metrics) Coalesced(op string) { m.coalesced.WithLabelValues(op).Inc() }

func (m *Metrics) command(verb, outcome string) {
	m.commands.WithLabelValues(verbLabel(verb), outcomeLabel(outcome)).Inc()
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

func (m *Metrics) ack(d time.Duration) { m.ackLatency.Observe(d.Seconds()) }
