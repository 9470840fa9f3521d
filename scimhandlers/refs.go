package scimhandlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/elimity-com/scim"
	"github.com/p4scim/p4scim/bridge"
)

// resourceRef is the $ref of a resource: the path of its endpoint, as in
// the Location header (a relative URI, which RFC 7643 §2.3.7 allows).
func resourceRef(endpoint, id string) string {
	return BasePath + "/" + endpoint + "/" + url.PathEscape(id)
}

// memberRefs adds display and $ref to a group's members (RFC 7643 §4.2).
// display is the member's Helix Core name, which is what Helix Core itself
// shows in the group spec: it costs no p4 command, where the IdP's
// userName or displayName would cost a read of every member's record.
func memberRefs(members []any) []any {
	out := make([]any, 0, len(members))
	for _, e := range members {
		m, ok := e.(map[string]any)
		if !ok {
			out = append(out, e)
			continue
		}
		value, _ := m["value"].(string)
		endpoint := "Users"
		if t, _ := m["type"].(string); t == bridge.MemberGroup {
			endpoint = "Groups"
		}
		ref := make(map[string]any, len(m)+2)
		for k, v := range m {
			ref[k] = v
		}
		ref["display"] = value
		ref["$ref"] = resourceRef(endpoint, value)
		out = append(out, ref)
	}
	return out
}

// addGroups sets the read-only User attribute groups (RFC 7643 §4.1.2) on
// the resources, with one p4 command for all of them (bridge GroupsOf),
// unless the request's attributes or excludedAttributes leave it out. A
// user in no group has no groups attribute (unassigned attributes are
// omitted, RFC 7643 §2.5). Write responses (POST, PUT, PATCH) do not carry
// it, so that writes keep their cost.
func (h *usersHandler) addGroups(r *http.Request, resources []scim.Resource) error {
	if len(resources) == 0 || !returned(r, "groups") {
		return nil
	}
	ids := make([]string, len(resources))
	for i, res := range resources {
		ids[i] = res.ID
	}
	groups, err := h.svc.GroupsOf(r.Context(), ids...)
	if err != nil {
		return scimError(r.Context(), h.log, err)
	}
	for _, res := range resources {
		names := groups[res.ID]
		if len(names) == 0 {
			continue
		}
		list := make([]any, 0, len(names))
		for _, g := range names {
			list = append(list, map[string]any{"value": g, "display": g, "$ref": resourceRef("Groups", g), "type": "direct"})
		}
		res.Attributes["groups"] = list
	}
	return nil
}

// returned says whether the request's attributes and excludedAttributes
// parameters let the top-level attribute name through.
func returned(r *http.Request, name string) bool {
	q := r.URL.Query()
	if inc := splitAttrs(q.Get("attributes")); len(inc) > 0 {
		_, keep := selected(inc, name)
		return keep
	}
	for _, ex := range splitAttrs(q.Get("excludedAttributes")) {
		if strings.EqualFold(ex, name) {
			return false
		}
	}
	return true
}

// ifMatch turns the request's If-Match header into the bridge's write
// condition (RFC 7644 §3.14); none when the header is absent.
func ifMatch(r *http.Request) []bridge.WriteOption {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return nil
	}
	return []bridge.WriteOption{bridge.IfMatch(splitETags(h)...)}
}

// splitETags splits an If-Match or If-None-Match list. Entity tags are
// quoted and hold no commas (RFC 9110 §8.8.3), so a comma separates them.
func splitETags(h string) []string {
	var out []string
	for _, t := range strings.Split(h, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
