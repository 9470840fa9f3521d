package scimhandlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/routing"
)

// BasePath is where the SCIM API is served, as in HAS.
const BasePath = "/scim/v2"

// Options configure the SCIM handler.
type Options struct {
	Logger *slog.Logger
	// Middleware wraps the SCIM API, outermost first: authentication,
	// limits and metrics come from the caller so each can be tested alone.
	Middleware []func(http.Handler) http.Handler
	// MaxResults is the largest page a list returns (default 200).
	MaxResults int
	// DocumentationURI is shown in /ServiceProviderConfig.
	DocumentationURI string
	// TokenName returns the name of the credential that authenticated the
	// request, for the audit log.
	TokenName func(context.Context) string
	// Domain returns the provisioning domain of the request, for the audit
	// log; nil in the single-server form.
	Domain func(context.Context) string
}

// New returns an http.Handler serving the SCIM API under BasePath.
func New(svc bridge.Provisioner, opts Options) (http.Handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// Every line logged with a request's context names its request.
	opts.Logger = slog.New(LogHandler(opts.Logger.Handler()))
	if opts.MaxResults <= 0 {
		opts.MaxResults = 200
	}
	// Entra sends booleans as "True"/"False" (idp-behaviour.md §2.7). The
	// library offers only this process-wide switch; setting it is
	// idempotent, so every handler built here agrees on it.
	schema.SetAllowStringValues(true)

	userSchema := schema.CoreUserSchema()
	enterprise := schema.ExtensionEnterpriseUser()
	groupSchema := schema.CoreGroupSchema()
	users := &usersHandler{svc: svc, log: opts.Logger, schema: userSchema, extensions: []schema.Schema{enterprise}}
	groups := &groupsHandler{svc: svc, log: opts.Logger, schema: groupSchema}

	spc := scim.ServiceProviderConfig{
		DocumentationURI: optionalString(opts.DocumentationURI),
		AuthenticationSchemes: []scim.AuthenticationScheme{{
			Type:             scim.AuthenticationTypeOauthBearerToken,
			Name:             "OAuth Bearer Token",
			Description:      "Authentication with a bearer token configured in p4scim (BEARER_TOKEN).",
			SpecURI:          optional.NewString("https://www.rfc-editor.org/rfc/rfc6750"),
			DocumentationURI: optionalString(opts.DocumentationURI),
			Primary:          true,
		}},
		MaxResults:       opts.MaxResults,
		SupportFiltering: true,
		SupportPatch:     true,
	}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &spc,
		ResourceTypes: []scim.ResourceType{
			{
				ID:               optional.NewString("User"),
				Name:             "User",
				Description:      optional.NewString("Helix Core users"),
				Endpoint:         "/Users",
				Schema:           userSchema,
				SchemaExtensions: []scim.SchemaExtension{{Schema: enterprise}},
				Handler:          users,
			},
			{
				ID:          optional.NewString("Group"),
				Name:        "Group",
				Description: optional.NewString("Helix Core groups"),
				Endpoint:    "/Groups",
				Schema:      groupSchema,
				Handler:     groups,
			},
		},
	}, scim.WithLogger(libLogger{opts.Logger}))
	if err != nil {
		return nil, fmt.Errorf("scim server: %w", err)
	}

	var h http.Handler = http.StripPrefix("/scim", srv)
	h = withFilter(h)
	h = withManagerObject(h)
	h = withExtensionObjects(h)
	h = withListCount(h)
	h = withConditionalGet(h)
	h = withDiscovery(h)
	h = withAttributeParams(h)
	h = withSearch(h, opts.MaxResults)
	h = withBodyChecks(h)
	h = withMediaType(h)
	h = withOverride(h)
	h = withAudit(h, opts.TokenName, opts.Domain)
	for i := len(opts.Middleware) - 1; i >= 0; i-- {
		h = opts.Middleware[i](h)
	}
	h = withRequestLog(h, opts.Logger)

	mux := http.NewServeMux()
	mux.Handle(BasePath+"/", withCanonicalPath(h))
	mux.Handle(BasePath, h)
	return mux, nil
}

// libLogger adapts slog to the library's logger, which only reports
// marshalling and write failures.
type libLogger struct{ log *slog.Logger }

func (l libLogger) Error(args ...any) { l.log.Error("scim library", "detail", fmt.Sprint(args...)) }

type filterKey struct{}

// withFilter takes the filter parameter away from the library, which
// rejects filters on id and externalId and Entra's
// emails[type eq "work"].value form (elimity-scim.md §2 "Filters"); the
// list handlers parse the raw text with package scimfilter instead.
func withFilter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if !q.Has("filter") {
			next.ServeHTTP(w, r)
			return
		}
		raw := strings.TrimSpace(q.Get("filter"))
		q.Del("filter")
		r2 := r.Clone(context.WithValue(r.Context(), filterKey{}, raw))
		r2.URL.RawQuery = q.Encode()
		next.ServeHTTP(w, r2)
	})
}

func rawFilter(ctx context.Context) string {
	s, _ := ctx.Value(filterKey{}).(string)
	return s
}

// withMediaType refuses request bodies that are not JSON. SCIM's own type
// and plain application/json (Okta's SPEC test) are both accepted.
func withMediaType(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			ct := r.Header.Get("Content-Type")
			if ct == "" {
				break
			}
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || (mt != "application/scim+json" && mt != "application/json") {
				WriteError(w, http.StatusUnsupportedMediaType, "",
					"Content-Type must be application/scim+json or application/json.")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// setLocation asks for a Location header on the 201 the library writes.
func setLocation(r *http.Request, endpoint, id string) {
	if o := overrideFrom(r.Context()); o != nil {
		o.location = BasePath + "/" + endpoint + "/" + url.PathEscape(id)
	}
}

type requestIDKey struct{}

// RequestID returns the id the request log gave this request.
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

// withRequestLog gives every request an id (echoed in X-Request-Id) and a
// p4 trace, and logs one line when it ends: how long it took, and how many
// p4 commands it ran in how much of that time, so that a slow request shows
// whether Helix Core or the bridge was slow.
func withRequestLog(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		ctx, trace := p4.WithTrace(context.WithValue(r.Context(), requestIDKey{}, id))
		start := time.Now()
		next.ServeHTTP(rec, r.WithContext(ctx))
		elapsed := time.Since(start)
		n, inP4 := trace.Summary()
		// The request id comes from ctx (LogHandler).
		log.InfoContext(ctx, "request", "method", r.Method, "path", r.URL.Path,
			"status", rec.Status(), "duration_ms", millis(elapsed), "p4_commands", n, "p4_ms", millis(inP4))
	})
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// statusRecorder remembers the status; the library writes 200 implicitly.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Status is the status written, 200 if none was.
func (s *statusRecorder) Status() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

type auditKey struct{}

type auditInfo struct {
	token  func(context.Context) string
	domain func(context.Context) string
	trace  *p4.Trace
	writes *routing.Writes
}

func withAudit(next http.Handler, token, domain func(context.Context) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		trace := p4.TraceFrom(ctx)
		if trace == nil { // no request log around this handler
			ctx, trace = p4.WithTrace(ctx)
		}
		var writes *routing.Writes
		if domain != nil { // several servers: the domains record where a write went
			ctx, writes = routing.WithWrites(ctx)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, auditKey{}, auditInfo{token: token, domain: domain, trace: trace, writes: writes})))
	})
}

// audit writes one line per change, made or refused: who (the token's
// name), what, which resource, the p4 commands it took, and the result;
// with several servers, also the domain and the servers written and
// missed.
func audit(r *http.Request, log *slog.Logger, op, resourceType, id string, err error) {
	ctx := r.Context()
	token, cmds := "", []string(nil)
	var extra []any
	if a, ok := ctx.Value(auditKey{}).(auditInfo); ok {
		if a.token != nil {
			token = a.token(ctx)
		}
		cmds = a.trace.Commands()
		if a.domain != nil {
			extra = append(extra, "domain", a.domain(ctx))
		}
		if done := a.writes.Done(); len(done) > 0 {
			extra = append(extra, "servers", strings.Join(done, ","))
		}
		if missing := a.writes.Missing(); len(missing) > 0 {
			extra = append(extra, "servers_missing", strings.Join(missing, ","))
		}
	}
	result := "ok"
	if err != nil {
		result = string(bridge.ErrorCode(err))
		if msg := bridge.ErrorMessage(err); msg != "Internal error." {
			result += ": " + msg
		}
	}
	// The request id comes from ctx (LogHandler).
	log.InfoContext(ctx, "audit", append([]any{"token", token, "operation", op,
		"resource_type", resourceType, "id", id, "p4", strings.Join(cmds, "; "), "p4_count", len(cmds), "result", result}, extra...)...)
}
