package scimhandlers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/p4scim/p4scim/bridge"
)

// ErrorSchema is the URN of a SCIM error body.
const ErrorSchema = "urn:ietf:params:scim:api:messages:2.0:Error"

// WriteError writes a SCIM error body. Middleware uses it for the errors it
// answers itself (401, 413, 415, 429, 503).
func WriteError(w http.ResponseWriter, status int, scimType, detail string) {
	body := map[string]any{"schemas": []string{ErrorSchema}, "status": strconv.Itoa(status)}
	if scimType != "" {
		body["scimType"] = scimType
	}
	if detail != "" {
		body["detail"] = detail
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/scim+json")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// retryAfterSeconds is what a 503 asks the IdP to wait: long enough for a
// Helix Core restart, short enough for Okta's doubling backoff.
const retryAfterSeconds = 30

// override lets a handler answer with a status the library refuses to
// write (it turns 503 into 500, elimity-scim.md §2 "Errors"), and add
// headers it cannot set (Location). The handler fills it; the wrapped
// ResponseWriter applies it when the library writes the header.
type override struct {
	status     int
	retryAfter int
	body       []byte
	location   string
}

type overrideKey struct{}

func overrideFrom(ctx context.Context) *override {
	o, _ := ctx.Value(overrideKey{}).(*override)
	return o
}

// overrideWriter substitutes the handler's answer for the library's error
// body, and sets Location on 201.
type overrideWriter struct {
	http.ResponseWriter
	o           *override
	swallow     bool
	wroteHeader bool
}

func (w *overrideWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if code >= 400 && w.o.status != 0 {
		w.swallow = true
		if w.o.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(w.o.retryAfter))
		}
		w.Header().Set("Content-Type", "application/scim+json")
		w.ResponseWriter.WriteHeader(w.o.status)
		_, _ = w.ResponseWriter.Write(w.o.body)
		return
	}
	if code == http.StatusCreated && w.o.location != "" {
		w.Header().Set("Location", w.o.location)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *overrideWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *overrideWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func withOverride(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := &override{}
		ctx := context.WithValue(r.Context(), overrideKey{}, o)
		next.ServeHTTP(&overrideWriter{ResponseWriter: w, o: o}, r.WithContext(ctx))
	})
}

// scimError maps an error from the bridge (or the PATCH engine) to the
// value-typed ScimError the library recognises. Details of internal and
// backend errors are logged, never returned.
func scimError(ctx context.Context, log *slog.Logger, err error) error {
	var se scimerrors.ScimError
	if errors.As(err, &se) {
		return se
	}
	msg := bridge.ErrorMessage(err)
	switch bridge.ErrorCode(err) {
	case bridge.EInvalid:
		return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: msg}
	case bridge.EMutability:
		return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeMutability, Detail: msg}
	case bridge.EConflict:
		return scimerrors.ScimError{Status: http.StatusConflict, ScimType: scimerrors.ScimTypeUniqueness, Detail: msg}
	case bridge.ENotFound:
		return scimerrors.ScimError{Status: http.StatusNotFound, Detail: msg}
	case bridge.EPrecondition:
		// No scimType: RFC 7644 §3.12 defines the keywords for 400 only.
		return scimerrors.ScimError{Status: http.StatusPreconditionFailed, Detail: msg}
	case bridge.EForbidden, bridge.EQuota:
		log.WarnContext(ctx, "request refused", "err", err)
		return scimerrors.ScimError{Status: http.StatusForbidden, Detail: msg}
	case bridge.EUnavailable:
		log.WarnContext(ctx, "Helix Core unavailable", "err", err)
		return unavailable(ctx, msg)
	}
	log.ErrorContext(ctx, "internal error", "err", err)
	return scimerrors.ScimError{Status: http.StatusInternalServerError, Detail: "Internal error; the p4scim log has the details."}
}

// unavailable answers 503 with Retry-After through the override. The
// returned error makes the library write an error header, which the
// override then replaces.
func unavailable(ctx context.Context, detail string) error {
	body, _ := json.Marshal(map[string]any{
		"schemas": []string{ErrorSchema}, "status": strconv.Itoa(http.StatusServiceUnavailable), "detail": detail,
	})
	if o := overrideFrom(ctx); o != nil {
		o.status, o.retryAfter, o.body = http.StatusServiceUnavailable, retryAfterSeconds, body
	}
	return scimerrors.ScimError{Status: http.StatusInternalServerError, Detail: detail}
}
