package scimhandlers

import (
	"context"
	"log/slog"
)

// requestIDKeyName is the attribute that ties a log line to its request
// and to the X-Request-Id response header.
const requestIDKeyName = "request_id"

// LogHandler wraps h so that every record logged with a request's context
// (log.InfoContext(ctx, ...), WarnContext, ErrorContext) carries that
// request's request_id, first among the record's own attributes. Records
// without a request id in their context, or that already carry a
// request_id attribute, pass unchanged. Wrapping twice is harmless: an
// already wrapped handler is returned as is.
//
// New applies it to Options.Logger; cmd/p4scim also applies it to the
// logger the bridge uses, so the bridge's warnings name their request too.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{inner: h}
}

type requestIDHandler struct{ inner slog.Handler }

func (h requestIDHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	id := RequestID(ctx)
	if id == "" || hasAttr(r, requestIDKeyName) {
		return h.inner.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(slog.String(requestIDKeyName, id))
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(a)
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{inner: h.inner.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{inner: h.inner.WithGroup(name)}
}

func hasAttr(r slog.Record, key string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == key
		return !found
	})
	return found
}
