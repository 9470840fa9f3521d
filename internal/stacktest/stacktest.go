// Package stacktest starts the whole p4scim stack for end-to-end tests: an
// HTTP server running the real SCIM handler, the bridge, and the p4 client
// exec'ing the Helix Core emulator as `p4`. A test package using it calls
// p4emutest.Main from its TestMain so that the test binary can serve as the
// `p4` executable.
package stacktest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
	"github.com/p4scim/p4scim/scimhandlers"
	"github.com/p4scim/p4scim/scimhandlers/auth"
)

// Token is the bearer token every stack accepts.
const Token = "test-token-0123456789abcdefghijklmnopqrstuvwxyz"

// Stack is a running p4scim against a fresh emulator.
type Stack struct {
	T       testing.TB
	Emu     *p4emutest.Env
	Client  *p4.Client
	Service *bridge.Service
	Server  *httptest.Server
	// URL is the SCIM base URL, ending in /scim/v2.
	URL string
}

// Options tweak a stack; the zero value is the default deployment.
type Options struct {
	Emulator p4emu.Options
	Bridge   bridge.Config
	// Handler lets a test add middleware.
	Handler scimhandlers.Options
	// CommandTimeout bounds each p4 command (default 10s).
	CommandTimeout time.Duration
	// DryRun, if set, runs the bridge on a dry-run client logging here.
	DryRun *slog.Logger
	// P4Bin, if set, is exec'd as p4 instead of the test binary: a build
	// of cmd/p4emu without -race, for a test that runs thousands of
	// commands.
	P4Bin string
}

// Start starts a stack and stops it when the test ends.
func Start(t testing.TB, opts Options) *Stack {
	t.Helper()
	b := StartBackend(t, "", opts)
	hopts := opts.Handler
	hopts.Middleware = append([]func(http.Handler) http.Handler{
		auth.New([]auth.Token{{Name: "test", Secret: Token}}, auth.Options{}),
	}, hopts.Middleware...)
	hopts.TokenName = auth.TokenName
	h, err := scimhandlers.New(b.Service, hopts)
	if err != nil {
		t.Fatalf("handler: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Stack{T: t, Emu: b.Emu, Client: b.Client, Service: b.Service, Server: srv, URL: srv.URL + scimhandlers.BasePath}
}

// Backend is one emulated Helix Core server and the bridge over it.
type Backend struct {
	Name    string
	Emu     *p4emutest.Env
	Client  *p4.Client
	Service *bridge.Service
}

// StartBackend starts an emulator, logs a p4 client in to it and builds
// a bridge on it, from the emulator, bridge, timeout, dry-run and P4Bin
// options. name labels the client's trace entries ("" for none).
func StartBackend(t testing.TB, name string, opts Options) *Backend {
	t.Helper()
	env := p4emutest.Start(t, opts.Emulator)
	timeout := opts.CommandTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	bin := env.Bin
	if opts.P4Bin != "" {
		bin = opts.P4Bin
	}
	client, err := p4.New(p4.Config{
		Bin:            bin,
		Port:           env.Port,
		User:           env.User,
		Password:       env.Password,
		Tickets:        env.Tickets,
		Trust:          env.Trust,
		CommandTimeout: timeout,
		Name:           name,
	})
	if err != nil {
		t.Fatalf("p4 client: %v", err)
	}
	if err := client.Login(context.Background()); err != nil {
		t.Fatalf("login: %v", err)
	}
	cfg := opts.Bridge
	if cfg.P4User == "" {
		cfg.P4User = env.User
	}
	var helix bridge.Helix = client
	if opts.DryRun != nil {
		helix = p4.NewDryRun(client, opts.DryRun)
	}
	svc, err := bridge.New(helix, cfg)
	if err != nil {
		t.Fatalf("bridge: %v", err)
	}
	return &Backend{Name: name, Emu: env, Client: client, Service: svc}
}

// Response is a decoded SCIM response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// Do sends a SCIM request with the stack's token. body may be nil, a
// string (sent as is) or anything JSON-encodable.
func (s *Stack) Do(method, path string, body any) Response {
	s.T.Helper()
	return s.DoWith(method, path, body, map[string]string{"Authorization": "Bearer " + Token})
}

// DoWith sends a request with exactly the given headers.
func (s *Stack) DoWith(method, path string, body any, headers map[string]string) Response {
	s.T.Helper()
	return do(s.T, s.URL+path, method, body, headers)
}

func do(t testing.TB, url, method string, body any, headers map[string]string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		_ = json.Unmarshal(raw, &out.JSON)
	}
	return out
}

// Must fails the test unless the response has the wanted status.
func (r Response) Must(t testing.TB, status int) Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	return r
}

// Str returns a top-level string attribute.
func (r Response) Str(key string) string {
	s, _ := r.JSON[key].(string)
	return s
}

// Resources returns the Resources of a list response.
func (r Response) Resources() []map[string]any {
	list, _ := r.JSON["Resources"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
