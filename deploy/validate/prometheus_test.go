package validate

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// TestAlertRules parses the alert rules as `promtool check rules` does:
// the YAML structure, each rule's fields, and each PromQL expression.
func TestAlertRules(t *testing.T) {
	groups, errs := rulefmt.ParseFile(filepath.Join(root, "configs/p4scim-alerts.yml"), false, model.UTF8Validation,
		parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Error(err)
	}
	if groups == nil || len(groups.Groups) == 0 || len(groups.Groups[0].Rules) == 0 {
		t.Fatal("no rules")
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("rule %+v: want an alert name, a summary and a severity", r)
			}
		}
	}
}
