package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
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
	h        *helixServer
	log      *slog.Logger
	interval time.Duration
	onReady  func(bool) // a metric hook

	ok     atomic.Bool
	reason atomic.Pointer[string] // why not ready, for the 503 body
}

func newReadiness(h *helixServer, interval time.Duration) *readiness {
	r := &readiness{h: h, log: h.log, interval: interval, onReady: h.metrics.Ready}
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
	info, err := r.h.connect(cctx)
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
		if isConnected, err = r.connect(ctx, 2*r.h.p4.CommandTimeout, connected); err != nil {
			return err
		}
	}
	for sleep(ctx, r.interval) {
		// Under traffic the requests' own commands show that Helix Core
		// answers and the login holds: no check needed, no p4 command spent.
		if time.Since(time.Unix(0, r.h.lastOK.Load())) < r.interval {
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
	ctx, cancel := context.WithTimeout(ctx, 2*r.h.p4.CommandTimeout)
	defer cancel()
	_, err := r.h.client.TicketStatus(ctx)
	if err != nil && r.h.p4.Password != "" {
		if err = r.h.client.Login(ctx); err == nil {
			_, err = r.h.client.TicketStatus(ctx)
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

// readyz answers /readyz from the servers' last checks. Ready means every
// server answers. With several servers, a server down makes the answer
// 503 only when no domain can be served at all: the others' IdPs are
// still served, so a load balancer must not take the daemon out of
// service for them. The body names each server that is down and the
// domains it holds up; ?domain=NAME answers for that domain alone.
type readyz struct {
	s        *servers
	interval time.Duration
}

func (z readyz) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	down := map[string]string{} // server -> why
	var lines []string
	for _, h := range z.s.list {
		if !h.ready.ok.Load() {
			down[h.name] = *h.ready.reason.Load()
			if len(z.s.list) > 1 {
				lines = append(lines, "server "+h.name+": "+down[h.name])
			} else {
				lines = append(lines, down[h.name])
			}
		}
	}
	want := req.URL.Query().Get("domain")
	served, known := 0, false
	for _, r := range z.s.routes {
		if want != "" && r.Domain != want {
			continue
		}
		known = true
		var missing []string
		for _, name := range r.Servers {
			if _, ok := down[name]; ok {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			served++
		} else if len(z.s.list) > 1 {
			lines = append(lines, "domain "+r.Domain+": not fully served (needs "+strings.Join(missing, ", ")+")")
		}
	}
	if want != "" && !known {
		http.Error(w, "no such provisioning domain\n", http.StatusNotFound)
		return
	}
	if len(lines) == 0 {
		_, _ = io.WriteString(w, "ready\n")
		return
	}
	body := strings.Join(lines, "\n") + "\n"
	if served > 0 {
		// Some domain (the one asked for) is served in full: ready, with
		// what is not.
		_, _ = io.WriteString(w, "ready, degraded:\n"+body)
		return
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(max(z.interval/time.Second, 1))))
	http.Error(w, body, http.StatusServiceUnavailable)
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
