package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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
	"golang.org/x/time/rate"
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
	settings settings
	log      *slog.Logger
	client   *p4.Client
	dev      *devHelix
	metrics  *metrics.Metrics
	registry *prometheus.Registry
}

// wire builds the p4 client (starting the emulator in dev mode).
func wire(s settings, log *slog.Logger) (*app, error) {
	a := &app{settings: s, log: log, registry: prometheus.NewRegistry()}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = metrics.New(a.registry, version)
	if s.Dev {
		dev, err := startDevHelix("p4scim", "Dev-"+randomHex(12))
		if err != nil {
			return nil, err
		}
		a.dev = dev
		a.settings.P4.Bin, a.settings.P4.Port = dev.bin, dev.port
		a.settings.P4.User, a.settings.P4.Password = dev.user, dev.password
		a.settings.P4.Tickets = dev.dir + "/tickets"
		a.settings.P4.Trust = dev.dir + "/trust"
	}
	cfg := a.settings.P4
	cfg.Observer = func(ev p4.CommandEvent) { a.metrics.P4Command(ev.Command, ev.Outcome, ev.Duration) }
	client, err := p4.New(cfg)
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
		return p4.Info{}, fmt.Errorf("trusting %s: %w", a.settings.P4.Port, err)
	}
	info, err := a.client.Info(ctx)
	if err != nil {
		return p4.Info{}, fmt.Errorf("reaching Helix Core at %s: %w", a.settings.P4.Port, err)
	}
	if a.settings.P4.Password != "" {
		if err := a.client.Login(ctx); err != nil {
			return info, fmt.Errorf("logging in as %s: %w", a.settings.P4.User, err)
		}
	}
	return info, nil
}

func serve(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	s, err := loadSettings(args, environ, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: s.LogLevel}))
	if s.Dev && len(s.Tokens) == 0 {
		s.Tokens = []auth.Token{{Name: "dev", Secret: randomHex(24)}}
	}
	a, err := wire(s, log)
	if err != nil {
		return err
	}
	defer a.close()
	s = a.settings

	startCtx, cancel := context.WithTimeout(ctx, 2*s.P4.CommandTimeout)
	info, err := a.connect(startCtx)
	cancel()
	if err != nil {
		return err
	}
	bcfg := s.Bridge
	bcfg.P4User = s.P4.User
	bcfg.CaseSensitive = info.CaseHandling != "insensitive"
	bcfg.Logger = log
	svc, err := bridge.New(a.client, bcfg)
	if err != nil {
		return err
	}

	handler, err := scimhandlers.New(svc, scimhandlers.Options{
		Logger:    log,
		TokenName: auth.TokenName,
		Middleware: []func(http.Handler) http.Handler{
			a.metrics.Middleware,
			limit.InFlight(s.MaxInFlight, 5*time.Second),
			limit.Rate(limit.RateOptions{
				Overall: rate.Limit(s.RateOverall), Burst: int(s.RateOverall) * 2,
				PerClient: rate.Limit(s.RatePerClient), ClientBurst: int(s.RatePerClient) * 2,
				OnLimited: a.metrics.RateLimited,
			}),
			auth.New(s.Tokens, auth.Options{OnFailure: a.metrics.AuthFailure}),
			limit.MaxBody(s.MaxBody),
		},
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(scimhandlers.BasePath+"/", handler)
	mux.Handle(scimhandlers.BasePath, handler)
	mux.Handle("/metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if _, err := a.client.TicketStatus(ctx); err != nil && a.settings.P4.Password != "" {
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
		Addr: s.Listen, Handler: mux,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: s.ReadTimeout,
		WriteTimeout: s.WriteTimeout, IdleTimeout: s.IdleTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDRESS %s: %w", s.Listen, err)
	}
	scheme := "http"
	if s.TLSCert != "" {
		scheme = "https"
	}
	names := make([]string, 0, len(s.Tokens))
	for _, t := range s.Tokens {
		names = append(names, t.Name+"#"+fingerprint(t.Secret))
	}
	log.Info("p4scim serving", "version", version, "address", ln.Addr().String(), "p4port", s.P4.Port,
		"p4user", s.P4.User, "server", info.ServerVersion, "case", info.CaseHandling, "tokens", strings.Join(names, ","))
	if s.Dev {
		printDevBanner(stdout, scheme+"://"+ln.Addr().String(), s.Tokens[0].Secret)
	}

	errc := make(chan error, 1)
	go func() {
		if s.TLSCert != "" {
			errc <- srv.ServeTLS(ln, s.TLSCert, s.TLSKey)
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
	s, err := loadSettings(args, environ, out)
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
	ctx, cancel := context.WithTimeout(ctx, 3*a.settings.P4.CommandTimeout)
	defer cancel()
	info, err := a.client.Info(ctx)
	if err != nil {
		line(false, "Helix Core reachable at "+a.settings.P4.Port, fixFor(err))
		return false, nil
	}
	line(true, "Helix Core reachable at "+a.settings.P4.Port, info.ServerVersion)
	if _, err := a.connect(ctx); err != nil {
		line(false, "logged in as "+a.settings.P4.User, fixFor(err))
		return false, nil
	}
	line(true, "logged in as "+a.settings.P4.User, "")
	super, err := a.client.IsSuper(ctx)
	if err != nil || !super {
		line(false, a.settings.P4.User+" has super access", "grant it in p4 protect: the bridge edits users, groups and keys")
		return false, nil
	}
	line(true, a.settings.P4.User+" has super access", "")
	key := a.settings.Bridge.KeyPrefix + "check." + randomHex(4)
	if err := a.client.SetKey(ctx, key, "1"); err != nil {
		line(false, "keys writable", fixFor(err))
		return false, nil
	}
	_ = a.client.DeleteKey(ctx, key)
	line(true, "keys writable", "")
	return true, nil
}

// fixFor turns a p4 error into the operator's next step.
func fixFor(err error) string {
	switch p4.KindOf(err) {
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

