package validate

import (
	"strings"
	"testing"
	"time"
)

// TestSystemdUnit checks the unit's promises; systemd-analyze verify (a
// .ci/run step) checks its syntax against systemd itself.
func TestSystemdUnit(t *testing.T) {
	keys := map[string][]string{}
	section := ""
	for _, line := range strings.Split(read(t, "deploy/systemd/p4scim.service"), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, _ := strings.Cut(line, "=")
			keys[section+"."+k] = append(keys[section+"."+k], v)
		}
	}
	one := func(k string) string {
		if v := keys[k]; len(v) == 1 {
			return v[0]
		}
		t.Errorf("%s: %v, want one value", k, keys[k])
		return ""
	}
	for k, want := range map[string]string{
		"Service.NoNewPrivileges": "yes", "Service.ProtectSystem": "strict", "Service.Restart": "on-failure",
		"Service.User": "p4scim", "Service.ExecReload": "/bin/kill -HUP $MAINPID", "Unit.StartLimitIntervalSec": "0",
	} {
		if got := one(k); got != want {
			t.Errorf("%s=%s, want %s", k, got, want)
		}
	}
	if d, err := time.ParseDuration(one("Service.RestartSec")); err != nil || d < time.Second {
		t.Errorf("RestartSec %v", d)
	}
	if d, err := time.ParseDuration(one("Service.TimeoutStopSec")); err != nil || d <= defaultDuration(t, "SHUTDOWN_GRACE") {
		t.Errorf("TimeoutStopSec %v is not longer than SHUTDOWN_GRACE", d)
	}
	if exec := one("Service.ExecStart"); !strings.Contains(exec, " serve --env-file /etc/p4scim/p4scim.env") {
		t.Errorf("ExecStart %q: want the environment file read by p4scim", exec)
	}
	if len(keys["Service.Environment"]) > 0 || len(keys["Service.EnvironmentFile"]) > 0 {
		t.Error("Environment=/EnvironmentFile= would outrank or misquote the settings file")
	}
}
