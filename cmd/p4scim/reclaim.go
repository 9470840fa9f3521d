package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/config"
	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/scimhandlers/metrics"
)

// reclaim runs `p4scim reclaim`. ok is false when a deletion failed.
func reclaim(ctx context.Context, args, environ []string, stdout, stderr io.Writer) (ok bool, err error) {
	apply := false
	rest := make([]string, 0, len(args))
	for _, a := range args {
		switch a {
		case "--apply", "-apply":
			apply = true
		case "--help", "-help", "-h":
			config.WriteUsage(stdout, "reclaim")
			return true, errHelp
		default:
			rest = append(rest, a)
		}
	}
	s, err := loadConfig("reclaim", rest, environ, stdout)
	if err != nil {
		return false, err
	}
	log := newLogger(s.LogFormat, s.LogLevel, stderr)
	a, err := wire(s, log)
	if err != nil {
		return false, err
	}
	defer a.close()
	ok = true
	for _, h := range a.servers.list {
		if len(a.servers.list) > 1 {
			fmt.Fprintf(stdout, "server %s (%s):\n", h.name, h.p4.Port)
		}
		startCtx, cancel := context.WithTimeout(ctx, 2*h.p4.CommandTimeout)
		info, err := h.connect(startCtx)
		cancel()
		if err != nil {
			return false, fmt.Errorf("server %s: %w", h.name, err)
		}
		var helix bridge.Helix = h.client
		if s.DryRun {
			helix = p4.NewDryRun(h.client, h.log) // --apply then logs the writes it would make
		}
		svc, err := bridge.New(helix, h.bridgeConfig(info))
		if err != nil {
			return false, err
		}
		report, err := svc.Reclaim(ctx, apply)
		if err != nil {
			return false, fmt.Errorf("server %s: %w", h.name, err)
		}
		writeReclaim(stdout, report)
		ok = ok && report.Failed() == 0
	}
	return ok, nil
}

// writeReclaim prints one line per user, then the summary. Only Helix
// Core user names are printed, never the IdP's userName or addresses.
func writeReclaim(w io.Writer, r bridge.ReclaimReport) {
	for _, e := range r.Entries {
		since := e.DeactivatedAt.UTC().Format("2006-01-02")
		var what string
		switch e.Result() {
		case "due":
			what = fmt.Sprintf("deleting it frees %d licence(s)", e.Frees)
		case "deleted":
			what = fmt.Sprintf("deleted, %d licence(s) freed", e.Frees)
		case "opened_files":
			what = "cannot be deleted: it has opened files (p4 opened -u " + e.Name + "; revert them or reassign the workspace)"
		case "protected":
			what = "cannot be deleted: protected (P4USER, PROTECTED_USERS, or a service or operator user)"
		case "failed":
			what = "failed: " + e.Err.Error()
		}
		fmt.Fprintf(w, "%-8s %s (deactivated %s): %s\n", e.Result(), e.Name, since, what)
	}
	fmt.Fprintln(w, r.Summary())
}

// sweepReclaim is the daemon's scheduled reclaim under
// DEACTIVATE_POLICY=delete: a pass every `every` (the first one interval
// after start, so that a process restarting in a loop does not sweep on
// each start), until ctx ends, each run by whichever replica holds the sweep lease
// (bridge.Service.Sweep). Passes are logged and counted; a failed one
// never stops the daemon, and the next pass finishes what it left. After a
// pass that deleted users, deleted runs (the licence gauges' refresh).
func sweepReclaim(ctx context.Context, svc *bridge.Service, m *metrics.Reclaim, every time.Duration, deleted func(), log *slog.Logger) {
	pass := func() {
		report, ran, err := svc.Sweep(ctx, every)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				m.Failed()
				log.Warn("reclaim: pass failed", "err", err)
			}
			return
		case !ran:
			m.Skipped()
			log.Debug("reclaim: another replica holds the lease")
			return
		}
		results := map[string]int{}
		notDeleted := 0
		for _, e := range report.Entries {
			results[e.Result()]++
			if e.Result() == "deleted" {
				log.Info("reclaim: deactivated user deleted", "user", e.Name, "licences_freed", e.Frees)
				continue
			}
			notDeleted++
			log.Warn("reclaim: deactivated user not deleted", "user", e.Name, "result", e.Result(), "err", e.Err)
		}
		m.Done(results, notDeleted, time.Now())
		log.Info(report.Summary())
		if results["deleted"] > 0 {
			deleted()
		}
	}
	repeat(ctx, every, pass)
}
