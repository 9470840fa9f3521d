package p4

import (
	"context"
	"strings"
	"sync"
)

// Trace collects the p4 commands run on behalf of one request, for the
// audit log. Only the command word and its flags are kept: names and key
// values are in the request already, and nothing secret is ever on argv.
type Trace struct {
	mu   sync.Mutex
	cmds []string
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

func (t *Trace) add(args []string, outcome string) {
	parts := []string{args[0]}
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") && !strings.Contains(a, "=") {
			parts = append(parts, a)
		}
	}
	entry := strings.Join(parts, " ")
	if outcome != "ok" {
		entry += " (" + outcome + ")"
	}
	t.mu.Lock()
	t.cmds = append(t.cmds, entry)
	t.mu.Unlock()
}

// Commands returns what was recorded, in order.
func (t *Trace) Commands() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.cmds...)
}
