package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/config"
	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/scimhandlers"
	"github.com/p4scim/p4scim/scimhandlers/auth"
	"github.com/p4scim/p4scim/scimhandlers/limit"
	"github.com/p4scim/p4scim/scimhandlers/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/afero"
)

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// app is a wired daemon: everything serve and check need.
type app struct {
	cfg      config.Config
	log      *slog.Logger
	metrics  *metrics.Metrics
	registry *prometheus.Registry
	servers  *servers
}

// wire builds the metrics and every server's p4 client (starting the
// emulator in dev mode).
func wire(cfg config.Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = metrics.New(a.registry, buildVersion())
	srvs, err := wireServers(cfg, log, a.metrics)
	if err != nil {
		return nil, err
	}
	a.servers = srvs
	return a, nil
}

func (a *app) close() {
	if a.servers != nil {
		a.servers.close()
	}
}

// loadConfig reads the configuration, printing command's usage for --help.
func loadConfig(command string, args, environ []string, out io.Writer) (config.Config, error) {
	cfg, err := config.Load(args, environ, afero.NewOsFs())
	if errors.Is(err, config.ErrHelp) {
		config.WriteUsage(out, command)
		return cfg, errHelp
	}
	return cfg, err
}

// newLogger is the daemon's logger. Every line logged with a request's
// context (the SCIM handlers', the bridge's, dry run's) carries its
// request_id (scimhandlers.LogHandler).
// Its level is a LevelVar, which SIGHUP sets anew (reload.go).
func newLogger(format string, level slog.Leveler, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(scimhandlers.LogHandler(h))
}

func serve(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	// SIGHUP from here on reloads (reload.go); main has made sure that it
	// never kills.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	s, err := loadConfig("serve", args, environ, stdout)
	if errors.Is(err, errHelp) {
		return err
	}
	level := new(slog.LevelVar)
	level.Set(s.LogLevel)
	log := newLogger(s.LogFormat, level, stderr)
	// The warnings come first, also of a configuration that fails: a
	// misspelled name may be why a setting is missing.
	for _, w := range s.Warnings {
		log.Warn("configuration", "warning", w)
	}
	if err != nil {
		return err
	}
	if s.Dev && len(s.Tokens) == 0 {
		s.Tokens = []auth.Token{{Name: "dev", Secret: randomHex(24)}}
	}
	a, err := wire(s, log)
	if err != nil {
		return err
	}
	defer a.close()

	// Scheduled work of each server's bridge, started once it answers: the
	// licence gauges, and the reclaim sweep under DEACTIVATE_POLICY=delete.
	var licenceGauges *metrics.LicenceFamily
	if s.LicenseRefresh > 0 {
		licenceGauges = metrics.NewLicence(a.registry)
	}
	var reclaimMetrics *metrics.ReclaimFamily
	for _, h := range a.servers.list {
		if h.cfg.DeactivatePolicy == string(bridge.DeactivateDelete) && !s.DryRun && reclaimMetrics == nil {
			reclaimMetrics = metrics.NewReclaim(a.registry)
		}
	}
	startSchedules := func(h *helixServer, svc *bridge.Service) {
		afterReclaim := func() {}
		if licenceGauges != nil {
			g := licenceGauges.Server(h.name)
			go watchLicence(ctx, svc, g, s.LicenseRefresh, h.log)
			afterReclaim = func() { refreshLicence(ctx, svc, g, h.log) }
		}
		if reclaimMetrics != nil && h.cfg.DeactivatePolicy == string(bridge.DeactivateDelete) {
			go sweepReclaim(ctx, svc, reclaimMetrics.Server(h.name), s.ReclaimInterval, afterReclaim, h.log)
		}
	}

	rateLimit := limit.Rate(limit.RateOptions{
		Overall: s.RateLimit, Burst: s.RateBurst, PerClient: s.RateLimitPerClient, ClientBurst: s.RateBurstPerClient,
		ClientKey: limit.ClientIP(s.TrustedProxies), OnLimited: a.metrics.RateLimited,
	})
	failures := limit.NewAddressBudget(s.AuthFailureLimit, s.AuthFailureBurst, limit.ClientIP(s.TrustedProxies), a.metrics.AuthFailureLimited)
	// Probes have a budget of their own: a load balancer's checks never
	// share one with an IdP's failures, and a flood of probes is slowed
	// before it takes the CPU the IdPs' requests need.
	probes := limit.NewAddressBudget(s.ProbeLimit, s.ProbeBurst, limit.ClientIP(s.TrustedProxies), a.metrics.ProbeLimited)
	var issued auth.Issued
	var tokenEndpoint *auth.TokenEndpoint
	if len(s.OAuthClients) > 0 {
		tokenEndpoint = auth.NewTokenEndpoint(s.OAuthClients, s.OAuthTokenTTL, time.Now)
		issued = tokenEndpoint
	}
	keys := auth.NewKeyring(s.Tokens)
	var refreshTokens func()
	var tokenFile *tokenReloader
	if s.TokenFile != "" {
		tokenFile = newTokenReloader(s, keys, log, a.metrics.TokenFileReload)
		refreshTokens = tokenFile.Refresh
	}
	// Outermost first. A request that fails authentication costs a hash and
	// spends only its address's failure budget; the body limit answers
	// before a slot is taken; the optional hard caps refuse before
	// queueing; then the request waits for a slot in its token's queue.
	middleware := []func(http.Handler) http.Handler{
		a.metrics.Middleware,
		auth.NewWithKeyring(keys, auth.Options{OnFailure: a.metrics.AuthFailure, Issued: issued, Refresh: refreshTokens,
			LimitFailure: failures.Spend}),
		limit.MaxBody(s.MaxBodyBytes),
		rateLimit,
		limit.Admission(limit.AdmissionOptions{
			Slots: s.MaxInFlight, MaxWait: s.MaxInFlightWait, MaxQueue: s.MaxQueued,
			Key:    func(r *http.Request) string { return auth.TokenName(r.Context()) },
			OnWait: a.metrics.AdmissionWait, OnRefused: a.metrics.AdmissionRefused, OnQueue: a.metrics.AdmissionQueued,
		}),
	}

	// The SCIM API needs each server's case handling, known once it
	// answers. In the single-server form it answers 503 until then
	// (readiness.notConnected); with several servers, a domain is served
	// once all its servers have answered (routing.Router).
	var scim atomic.Pointer[http.Handler]
	var buildMu sync.Mutex
	rebuild := func() error {
		buildMu.Lock()
		defer buildMu.Unlock()
		p := a.servers.provisioner()
		if p == nil {
			return nil
		}
		opts := scimhandlers.Options{Logger: log, TokenName: auth.TokenName, Middleware: middleware}
		if s.Provisioning {
			opts.Domain = func(ctx context.Context) string { return s.DomainOf(auth.TokenName(ctx)) }
		}
		h, err := scimhandlers.New(p, opts)
		if err != nil {
			return err
		}
		scim.Store(&h)
		return nil
	}
	if s.DryRun {
		log.Warn("DRY_RUN: nothing will be written to Helix Core; every write is logged as the p4 command it would run")
	}
	connectedFor := func(h *helixServer) func(p4.Info) error {
		return func(info p4.Info) error {
			svc, err := h.newService(info, s.DryRun)
			if err != nil {
				return err
			}
			h.svc.Store(svc)
			if err := rebuild(); err != nil {
				return err
			}
			startSchedules(h, svc)
			h.log.Info("connected to Helix Core", "p4port", h.p4.Port, "p4user", h.p4.User,
				"server_version", info.ServerVersion, "case", info.CaseHandling)
			return nil
		}
	}
	if err := rebuild(); err != nil { // with several servers: every domain 503 until its servers answer
		return err
	}
	var notConnected *readiness
	for _, h := range a.servers.list {
		h.ready = newReadiness(h, s.ReadyInterval)
		notConnected = h.ready
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := scim.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		notConnected.notConnected(w, r)
	})
	mux := http.NewServeMux()
	mux.Handle(scimhandlers.BasePath+"/", handler)
	mux.Handle(scimhandlers.BasePath, handler)
	if tokenEndpoint != nil {
		// OAuth 2.0 client credentials (RFC 6749 §4.4): outside the bearer
		// check, but behind the same rate and size limits, and a per-address
		// budget of its own (an IdP asks for a token once per OAUTH_TOKEN_TTL;
		// a guesser of client secrets is slowed like one of bearer tokens).
		tokenBudget := limit.NewAddressBudget(s.AuthFailureLimit, s.AuthFailureBurst, limit.ClientIP(s.TrustedProxies), a.metrics.AuthFailureLimited)
		mux.Handle("/oauth/token", tokenBudget.Middleware(rateLimit(limit.MaxBody(64<<10)(tokenEndpoint))))
	}
	metricsHandler := promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{})
	metricsHandler = probes.Middleware(metricsHandler)
	if s.MetricsAddress == "" {
		mux.Handle("/metrics", metricsHandler)
	}
	mux.Handle("/healthz", probes.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })))
	mux.Handle("/readyz", probes.Middleware(readyz{s: a.servers, interval: s.ReadyInterval}))

	// One attempt per server before listening, so that with Helix Core up
	// the API serves from the first request; bounded, so that an
	// unreachable one delays start-up little: /healthz answers and /readyz
	// says why. The servers are tried at once, not one after another.
	isConnected := make([]bool, len(a.servers.list))
	connectErrs := make([]error, len(a.servers.list))
	var wg sync.WaitGroup
	for i, h := range a.servers.list {
		wg.Go(func() {
			isConnected[i], connectErrs[i] = h.ready.connect(ctx, min(2*h.p4.CommandTimeout, 10*time.Second), connectedFor(h))
		})
	}
	wg.Wait()
	if err := errors.Join(connectErrs...); err != nil {
		return err
	}

	srv := &http.Server{
		Addr: s.ListenAddress, Handler: mux,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: s.ReadTimeout,
		WriteTimeout: s.WriteTimeout, IdleTimeout: s.IdleTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", s.ListenAddress)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDRESS %s: %w", s.ListenAddress, err)
	}
	// Senders: the listener, the metrics listener, the readiness loops.
	errc := make(chan error, 2+len(a.servers.list))
	if s.MetricsAddress != "" {
		// Fatal like LISTEN_ADDRESS: a daemon whose metrics nobody can
		// scrape is one whose alerts never fire.
		mln, err := net.Listen("tcp", s.MetricsAddress)
		if err != nil {
			ln.Close()
			return fmt.Errorf("METRICS_ADDRESS %s: %w", s.MetricsAddress, err)
		}
		mm := http.NewServeMux()
		mm.Handle("/metrics", metricsHandler)
		msrv := &http.Server{Handler: mm, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := msrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("METRICS_ADDRESS %s: %w", s.MetricsAddress, err)
			}
		}()
		defer msrv.Close()
	}
	scheme := "http"
	if s.TLSCertFile != "" {
		scheme = "https"
	}
	build := buildVersion()
	log.Info("p4scim serving", "version", build.Version, "commit", build.Revision, "built", build.Date,
		"address", ln.Addr().String(), "metrics_address", s.MetricsAddress, "servers", a.servers.describe(),
		"tokens", tokenNames(s.Tokens))
	if s.Dev {
		printDevBanner(stdout, scheme+"://"+ln.Addr().String(), s.Tokens[0].Secret)
	}

	var certs *certReloader
	if s.TLSCertFile != "" {
		certs, err = newCertReloader(s.TLSCertFile, s.TLSKeyFile, log)
		if err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate}
	}
	readyCtx, stopReady := context.WithCancel(ctx)
	var readyLoops sync.WaitGroup
	defer func() { stopReady(); readyLoops.Wait() }() // before a.close removes the tickets
	for i, h := range a.servers.list {
		readyLoops.Go(func() {
			// A failure to build the API once connected is a configuration
			// error: fatal, as it was at start-up.
			if err := h.ready.run(readyCtx, isConnected[i], connectedFor(h)); err != nil {
				errc <- err
			}
		})
	}
	go func() {
		if s.TLSCertFile != "" {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	reload := &reloader{args: args, environ: environ, running: s, level: level, keys: keys, tokenFile: tokenFile, certs: certs, log: log}
	for done := false; !done; {
		select {
		case err := <-errc:
			_ = srv.Close()
			return err
		case <-hup:
			reload.reload()
		case <-ctx.Done():
			done = true
		}
	}
	log.Info("shutting down", "grace", s.ShutdownGrace.String())
	shutCtx, cancel := context.WithTimeout(context.Background(), s.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func printDevBanner(w io.Writer, base, token string) {
	fmt.Fprintf(w, `
p4scim dev mode: an embedded Helix Core emulator, in memory, gone when p4scim stops.

  SCIM base URL  %s/scim/v2
  Bearer token   %s

Try:
  export TOKEN=%s
  curl -s -H "Authorization: Bearer $TOKEN" %s/scim/v2/Users
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/scim+json' \
    -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com","name":{"givenName":"Ada","familyName":"Lovelace"}}' \
    %s/scim/v2/Users

`, base, token, token, base, base)
}

// check runs one pass/fail line per prerequisite.
func check(ctx context.Context, args, environ []string, out io.Writer) (bool, error) {
	s, err := loadConfig("check", args, environ, out)
	if errors.Is(err, errHelp) {
		return true, err
	}
	line := func(ok bool, what, detail string) {
		mark := "ok  "
		if !ok {
			mark = "FAIL"
		}
		checkLine(out, mark, what, detail)
	}
	// Every warning serve would log at start, first: a misspelled name
	// may be why a setting below is missing.
	for _, w := range s.Warnings {
		checkLine(out, "WARN", "configuration", w)
	}
	if err != nil {
		line(false, "configuration", err.Error())
		return false, nil
	}
	line(true, "configuration", "")
	a, err := wire(s, slog.New(slog.DiscardHandler))
	if err != nil {
		line(false, "p4 client", err.Error())
		return false, nil
	}
	defer a.close()
	ok := true
	for _, h := range a.servers.list {
		prefix := ""
		if len(a.servers.list) > 1 {
			prefix = "server " + h.name + ": "
		}
		serverLine := func(good bool, what, detail string) { line(good, prefix+what, detail) }
		if !checkServer(ctx, h, serverLine, out) {
			ok = false
		}
	}
	return ok, nil
}

// checkServer runs the checks of one Helix Core server.
func checkServer(ctx context.Context, h *helixServer, line func(ok bool, what, detail string), out io.Writer) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*h.p4.CommandTimeout)
	defer cancel()
	// Trust first: on an ssl: port nothing else can run before it.
	if err := h.client.Trust(ctx); err != nil {
		line(false, "Helix Core reachable at "+h.p4.Port, fixFor(err))
		return false
	}
	info, err := h.client.Info(ctx)
	if err != nil {
		line(false, "Helix Core reachable at "+h.p4.Port, fixFor(err))
		return false
	}
	line(true, "Helix Core reachable at "+h.p4.Port, info.ServerVersion)
	if _, err := h.connect(ctx); err != nil {
		line(false, "logged in as "+h.p4.User, fixFor(err))
		return false
	}
	line(true, "logged in as "+h.p4.User, "")
	super, err := h.client.IsSuper(ctx)
	if err != nil || !super {
		line(false, h.p4.User+" has super access", "grant it in p4 protect: the bridge edits users, groups and keys")
		return false
	}
	line(true, h.p4.User+" has super access", "")
	checkExposure(ctx, h.client, h.cfg, out)
	key := h.cfg.KeyPrefix + "check." + randomHex(4)
	if err := h.client.SetKey(ctx, key, "1"); err != nil {
		line(false, "keys writable", fixFor(err))
		return false
	}
	_ = h.client.DeleteKey(ctx, key)
	line(true, "keys writable", "")
	return checkLicence(ctx, h, info, line)
}

// checkLicence prints the licence headroom; a full licence fails, since
// no new user can then be provisioned.
func checkLicence(ctx context.Context, h *helixServer, info p4.Info, line func(ok bool, what, detail string)) bool {
	svc, err := bridge.New(h.client, h.bridgeConfig(info))
	if err != nil {
		line(false, "licence headroom", err.Error())
		return false
	}
	lic, err := svc.Licence(ctx)
	if err != nil {
		line(false, "licence headroom", fixFor(err))
		return false
	}
	detail := lic.String()
	if lic.Free() == 0 {
		detail = "licence full, no user can be provisioned: " + detail
	}
	line(lic.Free() != 0, "licence headroom", detail)
	return lic.Free() != 0
}

// trustFix is the operator's next step when p4 does not trust an ssl:
// server.
const trustFix = "the server's SSL certificate is not trusted; set P4_TRUST_FINGERPRINT to its fingerprint (p4d -Gf on the server), " +
	"add the server to the P4TRUST file (p4 -p P4PORT trust, after checking the fingerprint), or set P4_TRUST_ANY=true to trust blindly"

// trustHint appends trustFix to a start-up error of KindUntrusted.
func trustHint(err error) string {
	if p4.KindOf(err) == p4.KindUntrusted {
		return "; " + trustFix
	}
	return ""
}

// fixFor turns a p4 error into the operator's next step.
func fixFor(err error) string {
	switch p4.KindOf(err) {
	case p4.KindUntrusted:
		return trustFix
	case p4.KindUnavailable:
		return "cannot connect; check P4PORT and that the server is running and reachable from here"
	case p4.KindTimeout:
		return "no answer in time; check the network path to P4PORT or raise P4_COMMAND_TIMEOUT"
	case p4.KindAuthFailed:
		return "credentials refused; check P4USER and P4PASSWD (password or ticket)"
	case p4.KindPermission:
		return "permission refused; P4USER needs super access"
	}
	return err.Error()
}

// fingerprint names a secret in logs without revealing it.
func fingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return fmt.Sprintf("%x", sum[:4])
}
