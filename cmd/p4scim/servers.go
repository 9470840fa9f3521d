package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/config"
	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/routing"
	"github.com/p4scim/p4scim/scimhandlers/auth"
	"github.com/p4scim/p4scim/scimhandlers/metrics"
)

// helixServer is one Helix Core server of the configuration: its p4
// client, its metrics, and once it has answered, its bridge.
type helixServer struct {
	name    string
	domains []string
	cfg     config.Config // the server's settings (config.Server)
	p4      p4.Config
	log     *slog.Logger // names the server when there are several
	client  *p4.Client
	dev     *devHelix
	metrics *metrics.Server
	// lastOK is when a p4 command that needs the login last succeeded
	// (UnixNano): proof enough of readiness that the check can skip.
	lastOK atomic.Int64
	ready  *readiness
	svc    atomic.Pointer[bridge.Service] // nil until the first connection
}

// wireServer builds a server's p4 client (starting the emulator in dev
// mode).
func wireServer(srv config.Server, several bool, log *slog.Logger, m *metrics.Metrics) (*helixServer, error) {
	h := &helixServer{name: srv.Name, domains: srv.Domains, cfg: srv.Config, p4: srv.Config.P4Config(), log: log, metrics: m.Server(srv.Name)}
	if several {
		h.log = log.With("server", srv.Name)
		h.p4.Name = srv.Name // the audit line's p4 commands name their server
	}
	if srv.Config.Dev {
		dev, err := startDevHelix("p4scim", "Dev-"+randomHex(12))
		if err != nil {
			return nil, err
		}
		h.dev = dev
		h.p4.Bin, h.p4.Port = dev.bin, dev.port
		h.p4.User, h.p4.Password = dev.user, dev.password
		h.p4.Tickets = dev.dir + "/tickets"
		h.p4.Trust = dev.dir + "/trust"
		h.p4.TrustFingerprint, h.p4.TrustAny = "", false
	}
	pc := h.p4
	pc.Observer = func(ev p4.CommandEvent) {
		h.metrics.P4Command(ev.Command, ev.Outcome, ev.Duration)
		if ev.Outcome == "ok" && ev.Command != "info" && ev.Command != "trust" { // those two need no login
			h.lastOK.Store(time.Now().UnixNano())
		}
	}
	client, err := p4.New(pc)
	if err != nil {
		h.close()
		return nil, fmt.Errorf("server %s: %w", srv.Name, err)
	}
	h.client = client
	return h, nil
}

func (h *helixServer) close() {
	if h.client != nil {
		h.client.Close()
	}
	if h.dev != nil {
		h.dev.Close()
	}
}

// connect trusts, logs in and reads the server's case handling.
func (h *helixServer) connect(ctx context.Context) (p4.Info, error) {
	if err := h.client.Trust(ctx); err != nil {
		return p4.Info{}, fmt.Errorf("trusting %s: %w%s", h.p4.Port, err, trustHint(err))
	}
	info, err := h.client.Info(ctx)
	if err != nil {
		return p4.Info{}, fmt.Errorf("reaching Helix Core at %s: %w%s", h.p4.Port, err, trustHint(err))
	}
	if h.p4.Password != "" {
		if err := h.client.Login(ctx); err != nil {
			return info, fmt.Errorf("logging in as %s: %w", h.p4.User, err)
		}
	}
	return info, nil
}

// bridgeConfig is the server's provisioning policy, with what only the
// server's answer tells.
func (h *helixServer) bridgeConfig(info p4.Info) bridge.Config {
	bcfg := h.cfg.BridgeConfig()
	bcfg.P4User = h.p4.User
	bcfg.CaseSensitive = info.CaseHandling != "insensitive"
	bcfg.Logger = h.log
	return bcfg
}

// newService builds the server's bridge (dry run: reads reach Helix
// Core, writes are only logged).
func (h *helixServer) newService(info p4.Info, dryRun bool) (*bridge.Service, error) {
	bcfg := h.bridgeConfig(info)
	bcfg.OnChange = func(resource, action string, n int) {
		if n > 0 {
			h.metrics.Provisioned(resource, action, n)
		}
	}
	var helix bridge.Helix = h.client
	if dryRun {
		helix = p4.NewDryRun(h.client, h.log)
	}
	return bridge.New(helix, bcfg)
}

// servers is the daemon's set of Helix Core servers and the routes of its
// domains.
type servers struct {
	list   []*helixServer
	byName map[string]*helixServer
	routes []config.Route
	cfg    config.Config
	log    *slog.Logger
}

func wireServers(cfg config.Config, log *slog.Logger, m *metrics.Metrics) (*servers, error) {
	s := &servers{byName: map[string]*helixServer{}, routes: cfg.Routes(), cfg: cfg, log: log}
	for _, srv := range cfg.Servers {
		h, err := wireServer(srv, len(cfg.Servers) > 1, log, m)
		if err != nil {
			s.close()
			return nil, err
		}
		s.list = append(s.list, h)
		s.byName[h.name] = h
	}
	return s, nil
}

func (s *servers) close() {
	for _, h := range s.list {
		h.close()
	}
}

// provisioner is what the SCIM handler serves from the bridges built so
// far: in the single-server form the bridge itself (nil until it is
// built); in the [provisioning] form a router over every domain whose
// servers have all answered. It reads only what the servers hold; the
// caller serialises builds so that the last one sees every bridge.
func (s *servers) provisioner() bridge.Provisioner {
	if !s.cfg.Provisioning {
		if svc := s.list[0].svc.Load(); svc != nil {
			return svc
		}
		return nil
	}
	domains := map[string]bridge.Provisioner{}
	for _, r := range s.routes {
		var list []routing.Server
		for _, name := range r.Servers {
			if svc := s.byName[name].svc.Load(); svc != nil {
				list = append(list, routing.Server{Name: name, Provisioner: svc})
			}
		}
		if len(list) < len(r.Servers) {
			continue
		}
		p, err := routing.NewDomain(r.Domain, s.log, list...)
		if err != nil {
			continue // cannot happen: every route has a server
		}
		domains[r.Domain] = p
	}
	return routing.New(func(ctx context.Context) string { return s.cfg.DomainOf(auth.TokenName(ctx)) }, domains)
}

// describe names the servers and domains for the start-up log.
func (s *servers) describe() string {
	var parts []string
	for _, r := range s.routes {
		parts = append(parts, r.Domain+"→"+strings.Join(r.Servers, ","))
	}
	return strings.Join(parts, "; ")
}
