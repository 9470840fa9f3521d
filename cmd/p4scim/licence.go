package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/scimhandlers/metrics"
)

// licenceWarnShare is the share of the user limit above which each refresh
// logs a warning (the alert rule fires at the same share).
const licenceWarnShare = 0.9

// watchLicence reads the licence headroom at once and then every `every`,
// until ctx ends, into the gauges. A failed read keeps the last figures
// and is counted; it never stops the daemon.
func watchLicence(ctx context.Context, svc *bridge.Service, g *metrics.Licence, every time.Duration, log *slog.Logger) {
	refreshLicence(ctx, svc, g, log)
	repeat(ctx, every, func() { refreshLicence(ctx, svc, g, log) })
}

// repeat runs fn every interval until ctx ends: the daemon's schedules.
func repeat(ctx context.Context, every time.Duration, fn func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// refreshLicence reads the licence headroom once into the gauges; the
// reclaim sweep calls it too after deleting users, so that the gauges
// follow without waiting for the next LICENSE_REFRESH.
func refreshLicence(ctx context.Context, svc *bridge.Service, g *metrics.Licence, log *slog.Logger) {
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	lic, err := svc.Licence(rctx)
	if err != nil {
		if ctx.Err() == nil {
			g.Failed()
			log.Warn("licence headroom not read", "err", err)
		}
		return
	}
	g.Set(lic.Users, lic.Limit, lic.TimeRemaining, len(lic.InactiveHolding), time.Now())
	if lic.Limit > 0 && float64(lic.Users) >= licenceWarnShare*float64(lic.Limit) {
		log.Warn("Helix Core licence nearly full", "users", lic.Users, "limit", lic.Limit,
			"inactive_holding", len(lic.InactiveHolding))
	}
}
