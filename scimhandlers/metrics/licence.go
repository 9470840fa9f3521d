package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LicenceFamily holds the licence headroom gauges of every Helix Core
// server, by server. They are refreshed on a schedule by the daemon, not
// per scrape: a refresh costs p4 commands (bridge.Service.Licence), and a
// scrape must cost Helix Core nothing.
type LicenceFamily struct {
	users, limit, remaining, inactive, refreshed *prometheus.GaugeVec
	failures                                     *prometheus.CounterVec
}

// Licence is one server's licence gauges.
type Licence struct {
	users, limit, remaining, inactive, refreshed prometheus.Gauge
	failures                                     prometheus.Counter
}

// NewLicence creates the licence gauges and registers them on reg.
func NewLicence(reg prometheus.Registerer) *LicenceFamily {
	g := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, []string{"server"})
	}
	f := &LicenceFamily{
		users:     g("helix_license_users", "Standard Helix Core users counted against the licence (p4 license -u userCount)."),
		limit:     g("helix_license_user_limit", "Helix Core licence user limit (p4 license -u userLimit); -1 when there is no limit."),
		remaining: g("helix_license_time_remaining_seconds", "Seconds until the Helix Core licence ends; -1 when it has no end."),
		inactive:  g("helix_license_inactive_users", "Users the IdP deactivated that still exist in Helix Core and hold a licence."),
		refreshed: g("helix_license_refresh_timestamp_seconds", "When the licence figures were last read from Helix Core (Unix time)."),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "helix_license_refresh_failures_total",
			Help: "Licence refreshes that failed; the gauges keep their last values."}, []string{"server"}),
	}
	reg.MustRegister(f.users, f.limit, f.remaining, f.inactive, f.refreshed, f.failures)
	return f
}

// Server returns the gauges of the Helix Core server called name.
func (f *LicenceFamily) Server(name string) *Licence {
	return &Licence{
		users: f.users.WithLabelValues(name), limit: f.limit.WithLabelValues(name),
		remaining: f.remaining.WithLabelValues(name), inactive: f.inactive.WithLabelValues(name),
		refreshed: f.refreshed.WithLabelValues(name), failures: f.failures.WithLabelValues(name),
	}
}

// Set records one successful refresh.
func (l *Licence) Set(users, limit int64, remaining time.Duration, inactive int, at time.Time) {
	l.users.Set(float64(users))
	l.limit.Set(float64(limit))
	if remaining < 0 {
		l.remaining.Set(-1)
	} else {
		l.remaining.Set(remaining.Seconds())
	}
	l.inactive.Set(float64(inactive))
	l.refreshed.Set(float64(at.Unix()))
}

// Failed counts a refresh that failed.
func (l *Licence) Failed() { l.failures.Inc() }
