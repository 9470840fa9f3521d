package stacktest

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/routing"
	"github.com/p4scim/p4scim/scimhandlers"
	"github.com/p4scim/p4scim/scimhandlers/auth"
)

// MultiOptions describe a deployment with several servers and domains.
type MultiOptions struct {
	// Servers names the emulated servers, each started with Server's
	// options (a fresh emulator each).
	Servers []string
	Server  Options
	// Domains maps each domain (an IdP, with its own token) to its
	// servers, leader first.
	Domains map[string][]string
	// Logger receives the routing's and the handler's lines.
	Logger *slog.Logger
}

// Multi is p4scim serving several emulated servers and domains: the
// production path from HTTP through routing to each server's bridge.
type Multi struct {
	T        testing.TB
	Backends map[string]*Backend
	Server   *httptest.Server
	URL      string
}

// DomainToken is the bearer token of a domain's IdP in a Multi.
func DomainToken(domain string) string {
	return "token-of-" + domain + "-0123456789abcdefghijklmnopqrstuvwxyz"
}

// StartMulti starts the servers and a handler routing each domain's token
// to its servers.
func StartMulti(t testing.TB, opts MultiOptions) *Multi {
	t.Helper()
	m := &Multi{T: t, Backends: map[string]*Backend{}}
	for _, name := range opts.Servers {
		m.Backends[name] = StartBackend(t, name, opts.Server)
	}
	m.Server = m.Serve(opts)
	m.URL = m.Server.URL + scimhandlers.BasePath
	return m
}

// Serve starts another p4scim replica over the same servers: a handler of
// its own, with bridges of its own (so locks are not shared in memory).
func (m *Multi) Serve(opts MultiOptions) *httptest.Server {
	m.T.Helper()
	own := map[string]*bridge.Service{}
	for name, b := range m.Backends {
		if m.Server == nil {
			own[name] = b.Service
			continue
		}
		cfg := opts.Server.Bridge
		if cfg.P4User == "" {
			cfg.P4User = b.Emu.User
		}
		svc, err := bridge.New(b.Client, cfg)
		if err != nil {
			m.T.Fatalf("bridge: %v", err)
		}
		own[name] = svc
	}
	var tokens []auth.Token
	domains := map[string]bridge.Provisioner{}
	for domain, servers := range opts.Domains {
		tokens = append(tokens, auth.Token{Name: domain, Secret: DomainToken(domain)})
		var list []routing.Server
		for _, s := range servers {
			list = append(list, routing.Server{Name: s, Provisioner: own[s]})
		}
		p, err := routing.NewDomain(domain, opts.Logger, list...)
		if err != nil {
			m.T.Fatalf("domain: %v", err)
		}
		domains[domain] = p
	}
	router := routing.New(auth.TokenName, domains)
	hopts := opts.Server.Handler
	hopts.Logger = opts.Logger
	hopts.Middleware = append([]func(http.Handler) http.Handler{auth.New(tokens, auth.Options{})}, hopts.Middleware...)
	hopts.TokenName = auth.TokenName
	hopts.Domain = auth.TokenName // the token's name is its domain
	h, err := scimhandlers.New(router, hopts)
	if err != nil {
		m.T.Fatalf("handler: %v", err)
	}
	srv := httptest.NewServer(h)
	m.T.Cleanup(srv.Close)
	return srv
}

// Do sends a SCIM request with the domain's token to the first replica.
func (m *Multi) Do(domain, method, path string, body any) Response {
	m.T.Helper()
	return m.DoAt(m.Server, domain, method, path, body)
}

// DoAt sends a SCIM request with the domain's token to a replica.
func (m *Multi) DoAt(srv *httptest.Server, domain, method, path string, body any) Response {
	m.T.Helper()
	return do(m.T, srv.URL+scimhandlers.BasePath+path, method, body, map[string]string{"Authorization": "Bearer " + DomainToken(domain)})
}
