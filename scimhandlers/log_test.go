package scimhandlers_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/scimhandlers"
)

// TestLogLinesCarryRequestID: every line logged for a request (the warning
// and error lines included) carries its request_id, once, equal to the
// X-Request-Id response header.
func TestLogLinesCarryRequestID(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, st *stacktest.Stack)
		method  string
		path    func(st *stacktest.Stack) string
		body    any
		status  int
		wantMsg []string // log lines expected for the request, by msg
		wrapped bool     // the caller wraps the logger too, as cmd/p4scim does
	}{
		{
			name: "Helix Core stopped, read",
			setup: func(t *testing.T, st *stacktest.Stack) {
				if err := st.Emu.Server.Stop(); err != nil {
					t.Fatal(err)
				}
			},
			method: "GET", path: func(*stacktest.Stack) string { return "/Users/ada" },
			status: 503, wantMsg: []string{"Helix Core unavailable", "request"},
		},
		{
			name: "Helix Core stopped, write",
			setup: func(t *testing.T, st *stacktest.Stack) {
				if err := st.Emu.Server.Stop(); err != nil {
					t.Fatal(err)
				}
			},
			method: "PATCH", path: func(*stacktest.Stack) string { return "/Users/ada" },
			body:   patch(map[string]any{"op": "replace", "path": "displayName", "value": "x"}),
			status: 503, wantMsg: []string{"audit", "Helix Core unavailable", "request"},
		},
		{
			name:   "protected user",
			method: "PATCH", path: func(st *stacktest.Stack) string { return "/Users/" + st.Emu.User },
			body:   patch(map[string]any{"op": "replace", "path": "displayName", "value": "x"}),
			status: 403, wantMsg: []string{"audit", "request refused", "request"}, wrapped: true,
		},
		{
			name: "unexpected p4 answer",
			setup: func(t *testing.T, st *stacktest.Stack) {
				st.Emu.Server.SetFault("users", p4emu.Fault{Fail: "Something nobody expected.", Generic: 2}) // EV_UNKNOWN: not a server fault
			},
			method: "GET", path: func(*stacktest.Stack) string { return "/Users" },
			status: 500, wantMsg: []string{"internal error", "request"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf syncBuffer
			var h slog.Handler = slog.NewJSONHandler(&buf, nil)
			if tt.wrapped {
				h = scimhandlers.LogHandler(h)
			}
			st := stacktest.Start(t, stacktest.Options{Handler: scimhandlers.Options{Logger: slog.New(h)}})
			if tt.setup != nil {
				tt.setup(t, st)
			}
			r := st.Do(tt.method, tt.path(st), tt.body).Must(t, tt.status)
			id := r.Header.Get("X-Request-Id")
			if id == "" {
				t.Fatal("no X-Request-Id")
			}
			seen := map[string]bool{}
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				msg, _ := rec["msg"].(string)
				if n := strings.Count(line, `"request_id":`); n != 1 {
					t.Errorf("%q line has request_id %d times: %s", msg, n, line)
				}
				if rec["request_id"] != id {
					t.Errorf("%q line: request_id %v, X-Request-Id %s: %s", msg, rec["request_id"], id, line)
				}
				seen[msg] = true
			}
			for _, m := range tt.wantMsg {
				if !seen[m] {
					t.Errorf("no %q line in the log:\n%s", m, buf.String())
				}
			}
		})
	}
}
