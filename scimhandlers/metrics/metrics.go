// Package metrics owns p4scim's Prometheus metrics: their names, labels and
// the HTTP middleware that records requests. Other packages report through
// the small methods here (or hooks wired by cmd), so only this package
// knows about Prometheus.
//
// Names follow <namespace>_<what>_<unit>: counters end in _total,
// durations are _seconds histograms, and labels take small fixed sets.
package metrics

import (
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "p4scim"

// Metrics is the set of p4scim's metrics, registered on one registry.
type Metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	inFlight     prometheus.Gauge
	p4Commands   *prometheus.CounterVec
	p4Duration   *prometheus.HistogramVec
	provisioning *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	rateLimited  prometheus.Counter
	buildInfo    *prometheus.GaugeVec
	tokenFile    *prometheus.CounterVec

	admissionWait    prometheus.Histogram
	admissionRefused *prometheus.CounterVec
	admissionQueued  prometheus.Gauge
	authLimited      prometheus.Counter
	probeLimited     prometheus.Counter
	ready            *prometheus.GaugeVec
}

// Build identifies the running build, for p4scim_build_info.
type Build struct {
	Version  string // release version, or "dev"
	Revision string // VCS commit ("" = unknown)
	Date     string // build or commit time, RFC 3339 ("" = unknown)
}

// New creates the metrics and registers them on reg.
func New(reg prometheus.Registerer, build Build) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "http_requests_total",
			Help: "SCIM requests by resource type, method and status code.",
		}, []string{"resource", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "http_request_duration_seconds",
			Help:    "SCIM request latency by resource type and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"resource", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "http_requests_in_flight",
			Help: "SCIM requests being served.",
		}),
		p4Commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "p4_commands_total",
			Help: "p4 commands run, by Helix Core server, command and outcome (ok or the error kind).",
		}, []string{"server", "command", "outcome"}),
		p4Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "p4_command_duration_seconds",
			Help:    "p4 command latency by Helix Core server and command.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30},
		}, []string{"server", "command"}),
		provisioning: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "provisioning_operations_total",
			Help: "Changes made in Helix Core, by server, resource (user, group, member) and action.",
		}, []string{"server", "resource", "action"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "auth_failures_total",
			Help: "Requests refused for authentication, by reason.",
		}, []string{"reason"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "rate_limited_requests_total",
			Help: "Requests answered 429 by the rate limiter.",
		}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "build_info",
			Help: "Always 1; the labels say which build runs (as the Prometheus exporters' build_info).",
		}, []string{"version", "revision", "build_date", "goversion"}),
		tokenFile: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "token_file_reloads_total",
			Help: "Changes of BEARER_TOKEN_FILE acted on, by outcome: reloaded, revoked (removed, unreadable or empty: its tokens refused), rejected (a token failed a check: none added, those no longer listed refused).",
		}, []string{"outcome"}),
		admissionWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "admission_wait_seconds",
			Help:    "Time authenticated requests waited in the admission queue for a slot (0 when one was free).",
			Buckets: []float64{.001, .005, .025, .1, .25, .5, 1, 2.5, 5, 10, 20, 30},
		}),
		admissionRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "admission_refused_total",
			Help: "Authenticated requests answered 429 by the admission queue, by reason (queue_full, wait).",
		}, []string{"reason"}),
		admissionQueued: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "admission_queued_requests",
			Help: "Authenticated requests waiting in the admission queue.",
		}),
		authLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "auth_failures_limited_total",
			Help: "Failed authentications answered 429 because their address spent its failure budget.",
		}),
		probeLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "probes_limited_total",
			Help: "Requests to /healthz, /readyz and /metrics answered 429 because their address spent its probe budget.",
		}),
		ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "ready",
			Help: "1 when the last readiness probe of the Helix Core server succeeded (what /readyz reports for it), else 0.",
		}, []string{"server"}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.p4Commands, m.p4Duration,
		m.provisioning, m.authFailures, m.rateLimited, m.buildInfo, m.tokenFile,
		m.admissionWait, m.admissionRefused, m.admissionQueued, m.authLimited, m.probeLimited, m.ready)
	m.buildInfo.WithLabelValues(build.Version, build.Revision, build.Date, runtime.Version()).Set(1)
	return m
}

// Middleware records every request. The resource label is the SCIM
// endpoint (Users, Groups, ...), never the id, so its values stay few.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		rec := &statusWriter{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(rec, r)
		res := Resource(r.URL.Path)
		method := normaliseMethod(r.Method)
		m.duration.WithLabelValues(res, method).Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(res, method, strconv.Itoa(rec.code())).Inc()
	})
}

// Resource maps a request path to a small fixed set of endpoint names.
func Resource(path string) string {
	rest := strings.TrimPrefix(path, "/scim/v2")
	rest = strings.TrimPrefix(rest, "/")
	first, _, _ := strings.Cut(rest, "/")
	switch first {
	case "Users", "Groups", "ServiceProviderConfig", "Schemas", "ResourceTypes":
		return first
	}
	return "other"
}

func normaliseMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return m
	}
	return "other"
}

// Server holds the metrics of one Helix Core server: every p4 metric
// carries the server's name, so that a dashboard tells one server's
// trouble from another's.
type Server struct {
	p4Commands   *prometheus.CounterVec
	p4Duration   prometheus.ObserverVec
	provisioning *prometheus.CounterVec
	ready        prometheus.Gauge
}

// Server returns the metrics of the Helix Core server called name.
func (m *Metrics) Server(name string) *Server {
	l := prometheus.Labels{"server": name}
	return &Server{
		p4Commands:   m.p4Commands.MustCurryWith(l),
		p4Duration:   m.p4Duration.MustCurryWith(l),
		provisioning: m.provisioning.MustCurryWith(l),
		ready:        m.ready.With(l),
	}
}

// P4Command records one p4 command (the p4 client's Observer hook).
func (s *Server) P4Command(command, outcome string, d time.Duration) {
	s.p4Commands.WithLabelValues(command, outcome).Inc()
	s.p4Duration.WithLabelValues(command).Observe(d.Seconds())
}

// Provisioned counts a change made in Helix Core.
func (s *Server) Provisioned(resource, action string, n int) {
	s.provisioning.WithLabelValues(resource, action).Add(float64(n))
}

// Ready records the outcome of a readiness probe of the server.
func (s *Server) Ready(ok bool) {
	v := 0.0
	if ok {
		v = 1
	}
	s.ready.Set(v)
}

// AuthFailure counts a refused authentication.
func (m *Metrics) AuthFailure(reason string) { m.authFailures.WithLabelValues(reason).Inc() }

// TokenFileReload counts one change of BEARER_TOKEN_FILE acted on.
func (m *Metrics) TokenFileReload(outcome string) { m.tokenFile.WithLabelValues(outcome).Inc() }

// RateLimited counts a 429 of the optional rate caps.
func (m *Metrics) RateLimited() { m.rateLimited.Inc() }

// AdmissionWait records how long an admitted request queued.
func (m *Metrics) AdmissionWait(d time.Duration) { m.admissionWait.Observe(d.Seconds()) }

// AdmissionRefused counts a 429 of the admission queue.
func (m *Metrics) AdmissionRefused(reason string) { m.admissionRefused.WithLabelValues(reason).Inc() }

// AdmissionQueued sets the number of requests waiting for a slot.
func (m *Metrics) AdmissionQueued(n int) { m.admissionQueued.Set(float64(n)) }

// AuthFailureLimited counts a failed authentication answered 429.
func (m *Metrics) AuthFailureLimited() { m.authLimited.Inc() }

// ProbeLimited counts a probe answered 429.
func (m *Metrics) ProbeLimited() { m.probeLimited.Inc() }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
