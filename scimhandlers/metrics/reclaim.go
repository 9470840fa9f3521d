package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ReclaimFamily holds the metrics of the daemon's scheduled reclaim
// (DEACTIVATE_POLICY=delete) of every Helix Core server, by server.
type ReclaimFamily struct {
	runs    *prometheus.CounterVec
	users   *prometheus.CounterVec
	blocked *prometheus.GaugeVec
	last    *prometheus.GaugeVec
}

// Reclaim is one server's reclaim metrics: how its passes went, and what
// became of the deactivated users each pass handled.
type Reclaim struct {
	runs    *prometheus.CounterVec
	users   *prometheus.CounterVec
	blocked prometheus.Gauge
	last    prometheus.Gauge
}

// NewReclaim creates the reclaim metrics and registers them on reg.
func NewReclaim(reg prometheus.Registerer) *ReclaimFamily {
	f := &ReclaimFamily{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "reclaim_runs_total",
			Help: "Scheduled reclaim passes, by server and outcome: done, skipped (another replica holds the lease) or failed."}, []string{"server", "outcome"}),
		users: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "reclaim_users_total",
			Help: "Deactivated users past their grace period a reclaim pass handled, by server and result: deleted, opened_files, protected or failed."}, []string{"server", "result"}),
		blocked: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "reclaim_blocked_users",
			Help: "Deactivated users past their grace period the last reclaim pass could not delete (opened files, protected, errors)."}, []string{"server"}),
		last: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "reclaim_last_run_timestamp_seconds",
			Help: "When this replica last finished a reclaim pass of the server (Unix time)."}, []string{"server"}),
	}
	reg.MustRegister(f.runs, f.users, f.blocked, f.last)
	return f
}

// Server returns the reclaim metrics of the Helix Core server called name.
func (f *ReclaimFamily) Server(name string) *Reclaim {
	l := prometheus.Labels{"server": name}
	r := &Reclaim{runs: f.runs.MustCurryWith(l), users: f.users.MustCurryWith(l), blocked: f.blocked.With(l), last: f.last.With(l)}
	for _, o := range []string{"done", "skipped", "failed"} {
		r.runs.WithLabelValues(o)
	}
	for _, o := range []string{"deleted", "opened_files", "protected", "failed"} {
		r.users.WithLabelValues(o)
	}
	return r
}

// Skipped counts a pass left to the replica holding the lease.
func (r *Reclaim) Skipped() { r.runs.WithLabelValues("skipped").Inc() }

// Failed counts a pass that could not list the users.
func (r *Reclaim) Failed() { r.runs.WithLabelValues("failed").Inc() }

// Done records a finished pass: the count of each result and of the
// users left undeleted.
func (r *Reclaim) Done(results map[string]int, notDeleted int, at time.Time) {
	r.runs.WithLabelValues("done").Inc()
	for result, n := range results {
		r.users.WithLabelValues(result).Add(float64(n))
	}
	r.blocked.Set(float64(notDeleted))
	r.last.Set(float64(at.Unix()))
}
