package p4

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Trace collects the p4 commands run on behalf of one request, for the
// audit and request logs. Only the command word and its flags are kept:
// names and key values are in the request already, and nothing secret is
// ever on argv. The time is the commands' wall time, waiting for a free p4
// slot included, so that a request's duration minus it is the bridge's own.
type Trace struct {
	mu   sync.Mutex
	cmds []string
	time time.Duration
}

type traceKey struct{}

// WithTrace returns a context whose p4 commands are recorded in the Trace.
func WithTrace(ctx context.Context) (context.Context, *Trace) {
	t := &Trace{}
	return context.WithValue(ctx, traceKey{}, t), t
}

func traceFrom(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

func (t *Trace) add(server string, args []string, outcome string, d time.Duration) {
	parts := []string{args[0]}
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") && !strings.Contains(a, "=") {
			parts = append(parts, a)
		}
	}
	entry := strings.Join(parts, " ")
	if server != "" {
		entry = server + ": " + entry
	}
	if outcome != "ok" {
		entry += " (" + outcome + ")"
	}
	t.mu.Lock()
	t.cmds = append(t.cmds, entry)
	t.time += d
	t.mu.Unlock()
}

// Commands returns what was recorded, in order.
func (t *Trace) Commands() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.cmds...)
}

// Summary returns how many commands were recorded and their summed time.
func (t *Trace) Summary() (n int, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.cmds), t.time
}

// TraceFrom returns the Trace of ctx, nil if it has none.
func TraceFrom(ctx context.Context) *Trace { return traceFrom(ctx) }
