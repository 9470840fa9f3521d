package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/scimhandlers/limit"
)

// readiness keeps the daemon's view of Helix Core: connected yet, and
// whether the last check succeeded. /readyz reads it and starts no p4
// command, so a flood of probes costs a load balancer's check nothing and
// cannot take the p4 pool from the IdPs; the checks run here, one at a
// time, at most once per interval, and not at all while the requests' own
// p4 commands succeed.
//
// Until the first connection (trust, info, login) succeeds it retries with
// a growing delay, so a daemon started before Helix Core (a host booting
// both) waits for it instead of exiting into systemd's restart limit.
type readiness struct {
	a        *app
	log      *slog.Logger
	interval time.Duration
	onReady  func(bool) // a metric hook

	ok     atomic.Bool
	reason atomic.Pointer[string] // why not ready, for the 503 body
}

func newReadiness(a *app, log *slog.Logger, interval time.Duration, onReady func(bool)) *readiness {
	r := &readiness{a: a, log: log, interval: interval, onReady: onReady}
	r.set(false, "not connected to Helix Core yet")
	return r
}

func (r *readiness) set(ok bool, reason string) {
	r.ok.Store(ok)
	r.reason.Store(&reason)
	if r.onReady != nil {
		r.onReady(ok)
	}
}

// connectDelay is the retry schedule before the first connection: quick
// at first (Helix Core starting alongside), then every interval.
func connectDelay(attempt int, interval time.Duration) time.Duration {
	d := 250 * time.Millisecond << min(attempt, 8)
	return min(d, interval)
}

// connect makes one attempt at the first connection, bounded by timeout;
// once it succeeds it calls connected with the server's info (the caller
// builds the SCIM handler then) and reports true. An error from connected
// is a configuration error, returned as is.
func (r *readiness) connect(ctx context.Context, timeout time.Duration, connected func(p4.Info) error) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	info, err := r.a.connect(cctx)
	cancel()
	if err != nil {
		r.set(false, "Helix Core unreachable or login failed")
		if ctx.Err() == nil {
			r.log.Warn("not ready: connecting to Helix Core", "err", err, "fix", fixFor(err))
		}
		return false, nil
	}
	if err := connected(info); err != nil {
		return false, err
	}
	r.set(true, "")
	return true, nil
}

// run retries the first connection until it succeeds (unless it already
// did), and then checks the login every interval, until ctx ends.
func (r *readiness) run(ctx context.Context, isConnected bool, connected func(p4.Info) error) error {
	for attempt := 0; !isConnected; attempt++ {
		if !sleep(ctx, connectDelay(attempt, r.interval)) {
			return nil
		}
		var err error
		if isConnected, err = r.connect(ctx, 2*r.a.p4.CommandTimeout, connected); err != nil {
			return err
		}
	}
	for sleep(ctx, r.interval) {
		// Under traffic the requests' own commands show that Helix Core
		// answers and the login holds: no check needed, no p4 command spent.
		if time.Since(time.Unix(0, r.a.lastOK.Load())) < r.interval {
			if !r.ok.Load() {
				r.log.Info("ready again: Helix Core answers")
			}
			r.set(true, "")
			continue
		}
		r.check(ctx)
	}
	return nil
}

// check is one readiness check: the ticket's status, and a new login if it
// expired (renewed here rather than on the next provisioning request).
func (r *readiness) check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*r.a.p4.CommandTimeout)
	defer cancel()
	_, err := r.a.client.TicketStatus(ctx)
	if err != nil && r.a.p4.Password != "" {
		if err = r.a.client.Login(ctx); err == nil {
			_, err = r.a.client.TicketStatus(ctx)
		}
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return // shutting down
	}
	if err != nil {
		if r.ok.Load() {
			r.log.Warn("not ready", "err", err, "fix", fixFor(err))
		}
		r.set(false, "Helix Core unreachable or login failed")
		return
	}
	if !r.ok.Load() {
		r.log.Info("ready again: Helix Core answers")
	}
	r.set(true, "")
}

// ServeHTTP answers /readyz from the last check.
func (r *readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if r.ok.Load() {
		_, _ = io.WriteString(w, "ready\n")
		return
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(max(r.interval/time.Second, 1))))
	http.Error(w, *r.reason.Load()+"\n", http.StatusServiceUnavailable)
}

// notConnected answers SCIM requests until the first connection: a 503
// with Retry-After, which IdPs retry, in the SCIM error form.
func (r *readiness) notConnected(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Retry-After", strconv.Itoa(int(max(r.interval/time.Second, 1))))
	limit.WriteError(w, http.StatusServiceUnavailable, "Helix Core is not reachable yet; retry later.")
}

// sleep waits d, or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
