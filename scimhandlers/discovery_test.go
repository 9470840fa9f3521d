package scimhandlers_test

import (
	"testing"

	"github.com/p4scim/p4scim/internal/stacktest"
)

// TestDiscovery checks the discovery documents say what is supported, and
// only that (Entra's validator needs patch and filter; strict testers
// reject dishonest documents).
func TestDiscovery(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	spc := st.Do("GET", "/ServiceProviderConfig", nil).Must(t, 200).JSON
	want := map[string]bool{"patch": true, "filter": true, "bulk": false, "changePassword": false, "sort": false, "etag": true}
	for k, supported := range want {
		m, _ := spc[k].(map[string]any)
		if m["supported"] != supported {
			t.Errorf("%s.supported = %v, want %v", k, m["supported"], supported)
		}
	}
	if f, _ := spc["filter"].(map[string]any); f["maxResults"] != float64(200) {
		t.Errorf("filter.maxResults = %v", f["maxResults"])
	}
	schemes, _ := spc["authenticationSchemes"].([]any)
	if len(schemes) != 1 || schemes[0].(map[string]any)["type"] != "oauthbearertoken" {
		t.Errorf("authenticationSchemes = %v", spc["authenticationSchemes"])
	}
	r := st.Do("GET", "/Schemas", nil).Must(t, 200)
	ids := map[string]bool{}
	for _, s := range r.Resources() {
		ids[s["id"].(string)] = true
	}
	for _, id := range []string{userSchema, groupSchema, entSchema} {
		if !ids[id] {
			t.Errorf("/Schemas lacks %s", id)
		}
	}
	r = st.Do("GET", "/ResourceTypes", nil).Must(t, 200)
	endpoints := map[string]string{}
	for _, rt := range r.Resources() {
		endpoints[rt["name"].(string)] = rt["endpoint"].(string)
	}
	if endpoints["User"] != "/Users" || endpoints["Group"] != "/Groups" {
		t.Errorf("resource types = %v", endpoints)
	}
	// Unsupported endpoints answer SCIM errors, not HTML.
	r = st.Do("POST", "/Bulk", map[string]any{})
	if r.Status != 404 || r.Str("status") != "404" {
		t.Errorf("/Bulk: %d %s", r.Status, r.Body)
	}
}
