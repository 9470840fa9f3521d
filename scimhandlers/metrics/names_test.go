package metrics

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestConfigsUseRealMetricNames fails when the alert rules or the Grafana
// dashboard in configs/ name a metric this package does not export.
func TestConfigsUseRealMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, Build{Version: "test"})
	NewLicence(reg).Server("main")
	NewReclaim(reg).Server("main")
	// Labelled vectors appear in Gather only once used.
	m.requests.WithLabelValues("Users", "GET", "200").Inc()
	m.duration.WithLabelValues("Users", "GET").Observe(0.1)
	m.Server("main").P4Command("user", "ok", time.Millisecond)
	m.Server("main").Provisioned("user", "created", 1)
	m.AuthFailure("invalid")
	m.TokenFileReload("revoked")
	m.AdmissionRefused("wait")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range families {
		known[f.GetName()] = true
	}
	name := regexp.MustCompile(`p4scim_[a-z0-9_]+`)
	files, _ := filepath.Glob(filepath.Join("..", "..", "configs", "*"))
	checked := 0
	for _, f := range files {
		if !strings.HasSuffix(f, ".json") && !strings.Contains(f, "alerts") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range name.FindAllString(string(b), -1) {
			base := n
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				base = strings.TrimSuffix(base, suffix)
			}
			if !known[base] {
				t.Errorf("%s uses %s, which p4scim does not export", filepath.Base(f), n)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no metric names found in configs/")
	}
}
