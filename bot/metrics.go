package bot

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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
	m.apiCalls.WithLabelValues(op, strconv.Itoa(status)).Inc()
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

func (m *Metrics) command(verb, outcome string) { m.commands.WithLabelValues(verb, outcome).Inc() }

func (m *Metrics) ack(d time.Duration) { m.ackLatency.Observe(d.Seconds()) }
