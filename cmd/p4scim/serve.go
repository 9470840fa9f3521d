package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/p4scim/p4scim/bridge"
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
	cfg      Config
	p4       p4.Config
	log      *slog.Logger
	client   *p4.Client
	dev      *devHelix
	metrics  *metrics.Metrics
	registry *prometheus.Registry
}

// wire builds the p4 client (starting the emulator in dev mode).
func wire(cfg Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, p4: cfg.P4Config(), log: log, registry: prometheus.NewRegistry()}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = metrics.New(a.registry, version)
	if cfg.Dev {
		dev, err := startDevHelix("p4scim", "Dev-"+randomHex(12))
		if err != nil {
			return nil, err
		}
		a.dev = dev
		a.p4.Bin, a.p4.Port = dev.bin, dev.port
		a.p4.User, a.p4.Password = dev.user, dev.password
		a.p4.Tickets = dev.dir + "/tickets"
		a.p4.Trust = dev.dir + "/trust"
		a.p4.TrustFingerprint, a.p4.TrustAny = "", false
	}
	pc := a.p4
	pc.Observer = func(ev p4.CommandEvent) { a.metrics.P4Command(ev.Command, ev.Outcome, ev.Duration) }
	client, err := p4.New(pc)
	if err != nil {
		a.close()
		return nil, err
	}
	a.client = client
	return a, nil
}

func (a *app) close() {
	if a.client != nil {
		a.client.Close()
	}
	if a.dev != nil {
		a.dev.Close()
	}
}

// connect trusts, logs in and reads the server's case handling.
func (a *app) connect(ctx context.Context) (p4.Info, error) {
	if err := a.client.Trust(ctx); err != nil {
		return p4.Info{}, fmt.Errorf("trusting %s: %w%s", a.p4.Port, err, trustHint(err))
	}
	info, err := a.client.Info(ctx)
	if err != nil {
		return p4.Info{}, fmt.Errorf("reaching Helix Core at %s: %w%s", a.p4.Port, err, trustHint(err))
	}
	if a.p4.Password != "" {
		if err := a.client.Login(ctx); err != nil {
			return info, fmt.Errorf("logging in as %s: %w", a.p4.User, err)
		}
	}
	return info, nil
}

// loadConfig reads the configuration, printing the usage for --help.
func loadConfig(args, environ []string, out io.Writer) (Config, error) {
	cfg, err := LoadConfig(args, environ, afero.NewOsFs())
	if errors.Is(err, flag.ErrHelp) {
		WriteConfigUsage(out)
		return cfg, errHelp
	}
	return cfg, err
}

// newLogger is the daemon's logger. Every line logged with a request's
// context (the SCIM handlers', the bridge's, dry run's) carries its
// request_id (scimhandlers.LogHandler).
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(scimhandlers.LogHandler(h))
}

func serve(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	s, err := loadConfig(args, environ, stdout)
	if err != nil {
		return err
	}
	log := newLogger(s, stderr)
	for _, w := range s.Warnings {
		log.Warn("configuration", "warning", w)
	}
	if s.Dev && len(s.Tokens) == 0 {
		s.Tokens = []auth.Token{{Name: "dev", Secret: randomHex(24)}}
	}
	a, err := wire(s, log)
	if err != nil {
		return err
	}
	defer a.close()

	startCtx, cancel := context.WithTimeout(ctx, 2*a.p4.CommandTimeout)
	info, err := a.connect(startCtx)
	cancel()
	if err != nil {
		return err
	}
	bcfg := s.BridgeConfig()
	bcfg.P4User = a.p4.User
	bcfg.CaseSensitive = info.CaseHandling != "insensitive"
	bcfg.Logger = log
	bcfg.OnChange = func(resource, action string, n int) {
		if n > 0 {
			a.metrics.Provisioned(resource, action, n)
		}
	}
	var helix bridge.Helix = a.client
	if s.DryRun {
		// Reads still reach Helix Core; writes are only logged.
		log.Warn("DRY_RUN: nothing will be written to Helix Core; every write is logged as the p4 command it would run")
		helix = p4.NewDryRun(a.client, log)
	}
	svc, err := bridge.New(helix, bcfg)
	if err != nil {
		return err
	}
	afterReclaim := func() {}
	if s.LicenseRefresh > 0 {
		gauges := metrics.NewLicence(a.registry)
		go watchLicence(ctx, svc, gauges, s.LicenseRefresh, log)
		afterReclaim = func() { refreshLicence(ctx, svc, gauges, log) }
	}
	if s.DeactivatePolicy == string(bridge.DeactivateDelete) && !s.DryRun {
		go sweepReclaim(ctx, svc, metrics.NewReclaim(a.registry), s.ReclaimInterval, afterReclaim, log)
	}

	rateLimit := limit.Rate(limit.RateOptions{
		Overall: s.RateLimit, Burst: s.RateBurst, PerClient: s.RateLimitPerClient, ClientBurst: s.RateBurstPerClient,
		ClientKey: limit.ClientIP(s.TrustedProxies), OnLimited: a.metrics.RateLimited,
	})
	var issued auth.Issued
	var tokenEndpoint *auth.TokenEndpoint
	if len(s.OAuthClients) > 0 {
		tokenEndpoint = auth.NewTokenEndpoint(s.OAuthClients, s.OAuthTokenTTL, time.Now)
		issued = tokenEndpoint
	}
	keys := auth.NewKeyring(s.Tokens)
	var refreshTokens func()
	if s.TokenFile != "" {
		refreshTokens = newTokenReloader(s, keys, log).Refresh
	}
	handler, err := scimhandlers.New(svc, scimhandlers.Options{
		Logger:    log,
		TokenName: auth.TokenName,
		Middleware: []func(http.Handler) http.Handler{
			a.metrics.Middleware,
			limit.InFlight(s.MaxInFlight, s.MaxInFlightWait),
			rateLimit,
			auth.NewWithKeyring(keys, auth.Options{OnFailure: a.metrics.AuthFailure, Issued: issued, Refresh: refreshTokens}),
			limit.MaxBody(s.MaxBodyBytes),
		},
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(scimhandlers.BasePath+"/", handler)
	mux.Handle(scimhandlers.BasePath, handler)
	if tokenEndpoint != nil {
		// OAuth 2.0 client credentials (RFC 6749 §4.4): outside the bearer
		// check, but behind the same rate and size limits.
		mux.Handle("/oauth/token", rateLimit(limit.MaxBody(64<<10)(tokenEndpoint)))
	}
	metricsHandler := promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{})
	if s.MetricsAddress == "" {
		mux.Handle("/metrics", metricsHandler)
	} else {
		mm := http.NewServeMux()
		mm.Handle("/metrics", metricsHandler)
		msrv := &http.Server{Addr: s.MetricsAddress, Handler: mm, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := msrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener", "address", s.MetricsAddress, "err", err)
			}
		}()
		defer msrv.Close()
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if _, err := a.client.TicketStatus(ctx); err != nil && a.p4.Password != "" {
			// An expired ticket is renewed here rather than on the next
			// provisioning request.
			err = a.client.Login(ctx)
			if err == nil {
				_, err = a.client.TicketStatus(ctx)
			}
			if err != nil {
				log.Warn("not ready", "err", err)
				http.Error(w, "Helix Core unreachable or login failed\n", http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = io.WriteString(w, "ready\n")
	})

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
	scheme := "http"
	if s.TLSCertFile != "" {
		scheme = "https"
	}
	log.Info("p4scim serving", "version", version, "address", ln.Addr().String(), "p4port", a.p4.Port,
		"p4user", a.p4.User, "server", info.ServerVersion, "case", info.CaseHandling, "tokens", tokenNames(s.Tokens))
	if s.Dev {
		printDevBanner(stdout, scheme+"://"+ln.Addr().String(), s.Tokens[0].Secret)
	}

	errc := make(chan error, 1)
	if s.TLSCertFile != "" {
		certs, err := newCertReloader(s.TLSCertFile, s.TLSKeyFile, log)
		if err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate}
	}
	go func() {
		if s.TLSCertFile != "" {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
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
	s, err := loadConfig(args, environ, out)
	if errors.Is(err, errHelp) {
		return true, err
	}
	line := func(ok bool, what, detail string) {
		mark := "ok  "
		if !ok {
			mark = "FAIL"
		}
		fmt.Fprintf(out, "%s %s", mark, what)
		if detail != "" {
			fmt.Fprintf(out, ": %s", detail)
		}
		fmt.Fprintln(out)
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
	ctx, cancel := context.WithTimeout(ctx, 3*a.p4.CommandTimeout)
	defer cancel()
	// Trust first: on an ssl: port nothing else can run before it.
	if err := a.client.Trust(ctx); err != nil {
		line(false, "Helix Core reachable at "+a.p4.Port, fixFor(err))
		return false, nil
	}
	info, err := a.client.Info(ctx)
	if err != nil {
		line(false, "Helix Core reachable at "+a.p4.Port, fixFor(err))
		return false, nil
	}
	line(true, "Helix Core reachable at "+a.p4.Port, info.ServerVersion)
	if _, err := a.connect(ctx); err != nil {
		line(false, "logged in as "+a.p4.User, fixFor(err))
		return false, nil
	}
	line(true, "logged in as "+a.p4.User, "")
	super, err := a.client.IsSuper(ctx)
	if err != nil || !super {
		line(false, a.p4.User+" has super access", "grant it in p4 protect: the bridge edits users, groups and keys")
		return false, nil
	}
	line(true, a.p4.User+" has super access", "")
	key := s.KeyPrefix + "check." + randomHex(4)
	if err := a.client.SetKey(ctx, key, "1"); err != nil {
		line(false, "keys writable", fixFor(err))
		return false, nil
	}
	_ = a.client.DeleteKey(ctx, key)
	line(true, "keys writable", "")
	return checkLicence(ctx, s, a, line), nil
}

// checkLicence prints the licence headroom; a full licence fails, since
// no new user can then be provisioned.
func checkLicence(ctx context.Context, s Config, a *app, line func(ok bool, what, detail string)) bool {
	bcfg := s.BridgeConfig()
	bcfg.P4User = a.p4.User
	svc, err := bridge.New(a.client, bcfg)
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

// healthcheck is the container's HEALTHCHECK: GET /healthz on the listen port.
func healthcheck(ctx context.Context, environ []string) error {
	addr := ":8080"
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "LISTEN_ADDRESS="); ok && v != "" {
			addr = v
		}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz: %s", resp.Status)
	}
	return nil
}

// fingerprint names a secret in logs without revealing it.
func fingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return fmt.Sprintf("%x", sum[:4])
}
