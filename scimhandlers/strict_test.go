package scimhandlers_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// The strict-client tests (issue 13): what RFC 7643/7644 testers and
// Microsoft's reference clients check, end to end through the stack.

const searchSchema = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// newUser creates a user and returns its id.
func newUser(t *testing.T, st *stacktest.Stack, userName string, extra ...any) string {
	t.Helper()
	body := map[string]any{"schemas": []string{userSchema, entSchema}, "userName": userName,
		"emails": []any{map[string]any{"value": userName, "type": "work", "primary": true}}}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	return st.Do("POST", "/Users", body).Must(t, 201).Str("id")
}

func newGroup(t *testing.T, st *stacktest.Stack, displayName string, members ...string) string {
	t.Helper()
	list := []any{}
	for _, m := range members {
		list = append(list, map[string]any{"value": m})
	}
	return st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": displayName, "members": list}).Must(t, 201).Str("id")
}

// TestTolerantRouting: a trailing slash and any case of the endpoint
// segment reach the endpoint; ids keep their case.
func TestTolerantRouting(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	id := newUser(t, st, "route@example.com")
	gid := newGroup(t, st, "Route Group")
	filter := filterQuery(`userName eq "route@example.com"`)
	tests := []struct {
		path  string
		check func(stacktest.Response) bool
	}{
		{"/Users/?" + filter, func(r stacktest.Response) bool { return len(r.Resources()) == 1 && r.Resources()[0]["id"] == id }},
		{"/users?" + filter, func(r stacktest.Response) bool { return len(r.Resources()) == 1 }},
		{"/USERS/" + id, func(r stacktest.Response) bool { return r.Str("id") == id }},
		{"/Users/" + id + "/", func(r stacktest.Response) bool { return r.Str("id") == id }},
		{"/groups/" + gid + "/", func(r stacktest.Response) bool { return r.Str("id") == gid }},
		{"/Groups/", func(r stacktest.Response) bool { return len(r.Resources()) == 1 }},
		{"/serviceproviderconfig", func(r stacktest.Response) bool { return r.JSON["patch"] != nil }},
		{"/ResourceTypes/", func(r stacktest.Response) bool { return len(r.Resources()) == 2 }},
		{"/schemas/", func(r stacktest.Response) bool { return len(r.Resources()) == 3 }},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := st.Do("GET", tt.path, nil).Must(t, 200)
			if !tt.check(r) {
				t.Fatalf("wrong answer: %s", r.Body)
			}
		})
	}
	// Writes route too.
	st.Do("PATCH", "/users/"+id+"/", patch(map[string]any{"op": "replace", "path": "displayName", "value": "Routed"})).Must(t, 200)
	if got := st.Do("GET", "/Users/"+id, nil).Must(t, 200).Str("displayName"); got != "Routed" {
		t.Fatalf("displayName %q after PATCH via /users/%s/", got, id)
	}
}

// TestPathlessExtensionPatch: a path-less add or replace whose value holds
// an extension object (RFC 7644 §3.5.2.1, §3.5.2.3) is merged into the
// extension: the attributes named change, the others stay. A core URN
// object works the same, for users and groups.
func TestPathlessExtensionPatch(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	id := newUser(t, st, "ext@example.com", entSchema, map[string]any{"department": "R&D"})
	gid := newGroup(t, st, "Ext Group")
	tests := []struct {
		name, path string
		op         map[string]any
		check      func(stacktest.Response) string
	}{
		{"add enterprise object", "/Users/" + id, map[string]any{"op": "add", "value": map[string]any{entSchema: map[string]any{"employeeNumber": "42"}}},
			func(r stacktest.Response) string {
				ext, _ := r.JSON[entSchema].(map[string]any)
				if ext["employeeNumber"] != "42" || ext["department"] != "R&D" {
					return fmt.Sprintf("enterprise = %v", ext)
				}
				return ""
			}},
		{"replace enterprise object", "/Users/" + id, map[string]any{"op": "replace", "value": map[string]any{entSchema: map[string]any{"employeeNumber": "43", "manager": map[string]any{"value": "boss"}}}},
			func(r stacktest.Response) string {
				ext, _ := r.JSON[entSchema].(map[string]any)
				m, _ := ext["manager"].(map[string]any)
				if ext["employeeNumber"] != "43" || ext["department"] != "R&D" || m["value"] != "boss" {
					return fmt.Sprintf("enterprise = %v", ext)
				}
				return ""
			}},
		{"replace core user object", "/Users/" + id, map[string]any{"op": "replace", "value": map[string]any{userSchema: map[string]any{"nickName": "Nick"}}},
			func(r stacktest.Response) string {
				if r.Str("nickName") != "Nick" {
					return "nickName = " + r.Str("nickName")
				}
				return ""
			}},
		{"replace core group object", "/Groups/" + gid, map[string]any{"op": "replace", "value": map[string]any{groupSchema: map[string]any{"displayName": "Ext Group 2"}}},
			func(r stacktest.Response) string {
				if r.Str("displayName") != "Ext Group 2" {
					return "displayName = " + r.Str("displayName")
				}
				return ""
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := st.Do("PATCH", tt.path, patch(tt.op))
			if r.Status != 200 && r.Status != 204 {
				t.Fatalf("PATCH: %d %s", r.Status, r.Body)
			}
			if msg := tt.check(st.Do("GET", tt.path, nil).Must(t, 200)); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

// TestControlCharactersInFreeText: free text the bridge keeps in its
// record (addresses[].formatted, nickName, an extension attribute) keeps
// its newlines, tabs and other control characters, and gets them back;
// the spec fields of that user stay clean. Where a value becomes a spec
// field or a name, TestHostileInput proves it is refused.
func TestControlCharactersInFreeText(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	formatted := "100 Universal City Plaza\nHollywood, CA 91608 USA"
	body := map[string]any{"schemas": []string{userSchema, entSchema}, "userName": "free.text@example.com",
		"displayName": "Free Text",
		"addresses":   []any{map[string]any{"type": "work", "formatted": formatted, "streetAddress": "100 Universal City Plaza"}},
		"nickName":    "tab\there",
		entSchema:     map[string]any{"department": "esc\x1b[31m red\u0085"}}
	id := st.Do("POST", "/Users", body).Must(t, 201).Str("id")
	got := st.Do("GET", "/Users/"+id, nil).Must(t, 200)
	addrs, _ := got.JSON["addresses"].([]any)
	if len(addrs) != 1 || addrs[0].(map[string]any)["formatted"] != formatted {
		t.Fatalf("addresses = %v", got.JSON["addresses"])
	}
	if got.Str("nickName") != "tab\there" {
		t.Fatalf("nickName = %q", got.Str("nickName"))
	}
	if ext, _ := got.JSON[entSchema].(map[string]any); ext["department"] != "esc\x1b[31m red\u0085" {
		t.Fatalf("department = %q", ext["department"])
	}
	// PUT and PATCH keep them too.
	body["nickName"] = "line\nbreak"
	st.Do("PUT", "/Users/"+id, body).Must(t, 200)
	st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "path": "title", "value": "a\r\nb"})).Must(t, 200)
	got = st.Do("GET", "/Users/"+id, nil).Must(t, 200)
	if got.Str("nickName") != "line\nbreak" || got.Str("title") != "a\r\nb" {
		t.Fatalf("nickName %q title %q", got.Str("nickName"), got.Str("title"))
	}
	for _, u := range st.Emu.Server.Users() {
		if strings.ContainsFunc(u.Email+u.FullName+u.Name, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
			t.Fatalf("control character in a spec: %+v", u)
		}
	}
	// Where it would reach a spec field, it is still refused.
	st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "path": "name.formatted", "value": "a\nUser: root"})).Must(t, 400)
}

// TestSearch: POST .search (RFC 7644 §3.4.3) at each resource and at the
// root, with filter, attributes, excludedAttributes, startIndex and count.
func TestSearch(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	for i := range 3 {
		newUser(t, st, fmt.Sprintf("search%d@example.com", i), "displayName", fmt.Sprintf("Searcher %d", i))
	}
	newGroup(t, st, "Searchers")
	newGroup(t, st, "Others")
	search := func(path string, req map[string]any) stacktest.Response {
		req["schemas"] = []string{searchSchema}
		return st.Do("POST", path, req)
	}
	types := func(r stacktest.Response) string {
		var out []string
		for _, res := range r.Resources() {
			meta, _ := res["meta"].(map[string]any)
			out = append(out, fmt.Sprint(meta["resourceType"]))
		}
		return strings.Join(out, ",")
	}
	t.Run("users filter and attributes", func(t *testing.T) {
		r := search("/Users/.search", map[string]any{"filter": `userName eq "search1@example.com"`, "attributes": []string{"userName"}}).Must(t, 200)
		res := r.Resources()
		if len(res) != 1 || res[0]["userName"] != "search1@example.com" || res[0]["emails"] != nil || res[0]["id"] == nil {
			t.Fatalf("resources %v", res)
		}
		if schemas, _ := r.JSON["schemas"].([]any); len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:ListResponse" {
			t.Fatalf("schemas %v", r.JSON["schemas"])
		}
	})
	t.Run("users excludedAttributes and paging", func(t *testing.T) {
		r := search("/Users/.search", map[string]any{"excludedAttributes": []string{"emails"}, "startIndex": 2, "count": 1}).Must(t, 200)
		res := r.Resources()
		if r.JSON["totalResults"] != float64(3) || len(res) != 1 || res[0]["userName"] != "search1@example.com" || res[0]["emails"] != nil {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("groups", func(t *testing.T) {
		r := search("/Groups/.search", map[string]any{"filter": `displayName eq "Searchers"`}).Must(t, 200)
		if len(r.Resources()) != 1 || r.Resources()[0]["displayName"] != "Searchers" {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("root pages across users then groups", func(t *testing.T) {
		r := search("/.search", map[string]any{"startIndex": 3, "count": 2}).Must(t, 200)
		if r.JSON["totalResults"] != float64(5) || types(r) != "User,Group" || r.JSON["itemsPerPage"] != float64(2) || r.JSON["startIndex"] != float64(3) {
			t.Fatalf("%s", r.Body)
		}
		r = search("/.search", map[string]any{"startIndex": 5, "count": 10}).Must(t, 200)
		if types(r) != "Group" || r.Resources()[0]["displayName"] != "Searchers" {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("root filter on an attribute both types have", func(t *testing.T) {
		r := search("/.search", map[string]any{"filter": `displayName sw "Searche"`}).Must(t, 200)
		if r.JSON["totalResults"] != float64(4) || types(r) != "User,User,User,Group" {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("root filter on a User attribute", func(t *testing.T) {
		r := search("/.search", map[string]any{"filter": `userName eq "search2@example.com"`}).Must(t, 200)
		if types(r) != "User" {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("root filter no type has", func(t *testing.T) {
		r := search("/.search", map[string]any{"filter": `nosuch eq "x"`}).Must(t, 400)
		if r.Str("scimType") != "invalidFilter" {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("wrong schemas", func(t *testing.T) {
		r := st.Do("POST", "/Users/.search", map[string]any{"schemas": []string{userSchema}}).Must(t, 400)
		if !strings.Contains(r.Str("detail"), searchSchema) {
			t.Fatalf("%s", r.Body)
		}
	})
}

// TestMembersAndGroups: group members carry display and $ref, and a user
// has the read-only groups attribute, computed from Helix Core, in a GET
// and in a list; excludedAttributes=groups leaves it out.
func TestMembersAndGroups(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	uid := newUser(t, st, "member@example.com")
	newUser(t, st, "loner@example.com")
	sub := newGroup(t, st, "Sub Group")
	gid := newGroup(t, st, "Parent Group", uid)
	st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": sub, "type": "Group"}}})).Must(t, 204)
	st.Do("PATCH", "/Groups/"+sub, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": uid}}})).Must(t, 204)

	g := st.Do("GET", "/Groups/"+gid, nil).Must(t, 200)
	want := map[string]string{uid: "/scim/v2/Users/" + uid, sub: "/scim/v2/Groups/" + sub}
	members, _ := g.JSON["members"].([]any)
	if len(members) != 2 {
		t.Fatalf("members %v", g.JSON["members"])
	}
	for _, m := range members {
		mm := m.(map[string]any)
		v, _ := mm["value"].(string)
		if mm["$ref"] != want[v] || mm["display"] != v {
			t.Errorf("member %v, want $ref %s and display %s", mm, want[v], v)
		}
	}

	wantGroups := fmt.Sprint([]string{gid, sub})
	groupsOf := func(res map[string]any) string {
		var out []string
		list, _ := res["groups"].([]any)
		for _, e := range list {
			m := e.(map[string]any)
			if m["$ref"] != "/scim/v2/Groups/"+m["value"].(string) || m["type"] != "direct" || m["display"] != m["value"] {
				t.Errorf("groups element %v", m)
			}
			out = append(out, m["value"].(string))
		}
		return fmt.Sprint(out)
	}
	if got := groupsOf(st.Do("GET", "/Users/"+uid, nil).Must(t, 200).JSON); got != wantGroups {
		t.Errorf("GET groups %s, want %s", got, wantGroups)
	}
	list := st.Do("GET", "/Users", nil).Must(t, 200).Resources()
	for _, res := range list {
		switch res["id"] {
		case uid:
			if got := groupsOf(res); got != wantGroups {
				t.Errorf("list groups %s, want %s", got, wantGroups)
			}
		default:
			if res["groups"] != nil {
				t.Errorf("%v has groups %v", res["id"], res["groups"])
			}
		}
	}
	if r := st.Do("GET", "/Users/"+uid+"?excludedAttributes=groups", nil).Must(t, 200); r.JSON["groups"] != nil {
		t.Errorf("excluded groups returned: %s", r.Body)
	}
	// groups is read-only: a PATCH of it is refused.
	r := st.Do("PATCH", "/Users/"+uid, patch(map[string]any{"op": "add", "path": "groups", "value": []any{map[string]any{"value": gid}}})).Must(t, 400)
	if r.Str("scimType") != "mutability" {
		t.Errorf("PATCH groups: %s", r.Body)
	}
}

// TestMemberResolvedByID: a member is what its value is the id of. A type
// of Group with a user's id (and $ref Users/…) adds the user; without a
// type, $ref says which to look up first.
func TestMemberResolvedByID(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	uid := newUser(t, st, "typed@example.com")
	sub := newGroup(t, st, "Typed Sub")
	gid := newGroup(t, st, "Typed Parent")
	st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "add", "path": "members", "value": []any{
		map[string]any{"value": uid, "type": "Group", "$ref": st.URL + "/Users/" + uid},
		map[string]any{"value": sub, "$ref": st.URL + "/Groups/" + sub},
	}})).Must(t, 204)
	g, _ := st.Emu.Server.Group(gid)
	if fmt.Sprint(g.Users) != fmt.Sprint([]string{uid}) || fmt.Sprint(g.Subgroups) != fmt.Sprint([]string{sub}) {
		t.Fatalf("users %v subgroups %v", g.Users, g.Subgroups)
	}
	// Still refused: a value that is the id of nothing.
	r := st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "nobody", "type": "Group"}}})).Must(t, 400)
	if !strings.Contains(r.Str("detail"), "nobody") {
		t.Fatalf("%s", r.Body)
	}
}

// TestAttributesWithValueFilter: attributes and excludedAttributes entries
// with a value filter select their attribute; a malformed one is 400
// invalidValue, never a silent drop.
func TestAttributesWithValueFilter(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	id := newUser(t, st, "attrs@example.com", "displayName", "Attrs")
	tests := []struct {
		query      string
		status     int
		has, hasnt []string
	}{
		{`attributes=` + url.QueryEscape(`emails[type eq "work"]`), 200, []string{"emails", "id"}, []string{"displayName", "userName"}},
		{`attributes=` + url.QueryEscape(`emails[type eq "work"].value,displayName`), 200, []string{"emails", "displayName"}, []string{"userName"}},
		{`excludedAttributes=` + url.QueryEscape(`emails[type eq "work"]`), 200, []string{"displayName", "userName"}, []string{"emails"}},
		{`attributes=` + url.QueryEscape(`emails[type eq "work"`), 400, nil, nil},
		{`attributes=` + url.QueryEscape(`emails[type eq]`), 400, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			for _, path := range []string{"/Users/" + id + "?", "/Users?" + filterQuery(`userName eq "attrs@example.com"`) + "&"} {
				r := st.Do("GET", path+tt.query, nil).Must(t, tt.status)
				if tt.status != 200 {
					if r.Str("scimType") != "invalidValue" {
						t.Fatalf("%s", r.Body)
					}
					continue
				}
				res := r.JSON
				if strings.Contains(path, "filter") {
					res = r.Resources()[0]
				}
				for _, k := range tt.has {
					if res[k] == nil {
						t.Errorf("%s: %s missing: %s", path, k, r.Body)
					}
				}
				for _, k := range tt.hasnt {
					if res[k] != nil {
						t.Errorf("%s: %s returned: %s", path, k, r.Body)
					}
				}
			}
		})
	}
	// emails[...].value keeps only the value of each address.
	r := st.Do("GET", "/Users/"+id+"?attributes="+url.QueryEscape(`emails[type eq "work"].value`), nil).Must(t, 200)
	if emails, _ := r.JSON["emails"].([]any); len(emails) != 1 || fmt.Sprint(emails[0]) != "map[value:attrs@example.com]" {
		t.Errorf("emails %v", r.JSON["emails"])
	}
}

// TestETags: meta.version and the ETag header on every resource; If-Match
// on PUT, PATCH and DELETE answered 412 when stale, applied when current;
// If-None-Match on GET answered 304 when current.
func TestETags(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	id := newUser(t, st, "etag@example.com")
	gid := newGroup(t, st, "ETag Group")
	auth := "Bearer " + stacktest.Token
	with := func(method, path string, body any, header, value string) stacktest.Response {
		return st.DoWith(method, path, body, map[string]string{"Authorization": auth, header: value})
	}
	for _, path := range []string{"/Users/" + id, "/Groups/" + gid} {
		t.Run(path, func(t *testing.T) {
			r := st.Do("GET", path, nil).Must(t, 200)
			etag := r.Header.Get("ETag")
			meta, _ := r.JSON["meta"].(map[string]any)
			if !strings.HasPrefix(etag, `W/"`) || meta["version"] != etag {
				t.Fatalf("ETag %q, meta.version %v", etag, meta["version"])
			}
			if list := st.Do("GET", path[:strings.LastIndex(path, "/")], nil).Must(t, 200); len(list.Resources()) != 1 ||
				list.Resources()[0]["meta"].(map[string]any)["version"] != etag {
				t.Fatalf("list meta.version differs: %s", list.Body)
			}
			invocations := func() int { return len(st.Emu.Server.Invocations()) }
			n := invocations()
			st.Do("GET", path, nil).Must(t, 200)
			getCost := invocations() - n
			n = invocations()
			nm := with("GET", path, nil, "If-None-Match", etag)
			if nm.Status != 304 || len(nm.Body) != 0 || nm.Header.Get("ETag") != etag {
				t.Fatalf("If-None-Match current: %d %q %s", nm.Status, nm.Header.Get("ETag"), nm.Body)
			}
			if cost := invocations() - n; cost != getCost {
				t.Errorf("a conditional GET costs %d p4 commands, a GET %d", cost, getCost)
			}
			with("GET", path, nil, "If-None-Match", `W/"stale"`).Must(t, 200)

			var put map[string]any
			edit := patch(map[string]any{"op": "replace", "path": "displayName", "value": "Changed " + path})
			if strings.HasPrefix(path, "/Users") {
				put = map[string]any{"schemas": []string{userSchema}, "userName": "etag@example.com", "displayName": "Put"}
			} else {
				put = map[string]any{"schemas": []string{groupSchema}, "displayName": "ETag Group"}
			}
			before := helixState(st)
			r = with("PUT", path, put, "If-Match", `W/"stale"`).Must(t, 412)
			if r.Str("status") != "412" || r.Str("detail") == "" {
				t.Fatalf("412 body %s", r.Body)
			}
			with("PATCH", path, edit, "If-Match", `W/"stale"`).Must(t, 412)
			with("DELETE", path, nil, "If-Match", `W/"stale"`).Must(t, 412)
			if after := helixState(st); after != before {
				t.Fatalf("a stale write changed Helix Core:\nbefore %s\nafter  %s", before, after)
			}
			// The current version (also in a list, or as a strong tag) applies.
			r = with("PATCH", path, edit, "If-Match", `W/"other", `+strings.TrimPrefix(etag, "W/"))
			if r.Status != 200 && r.Status != 204 {
				t.Fatalf("PATCH with current If-Match: %d %s", r.Status, r.Body)
			}
			now := st.Do("GET", path, nil).Must(t, 200).Header.Get("ETag")
			if now == etag {
				t.Fatal("the version did not change with the resource")
			}
			with("PUT", path, put, "If-Match", etag).Must(t, 412) // the old one is stale now
			r = with("PUT", path, put, "If-Match", now).Must(t, 200)
			if tag := r.Header.Get("ETag"); tag == "" || tag != st.Do("GET", path, nil).Must(t, 200).Header.Get("ETag") {
				t.Errorf("PUT's ETag %q is not the resource's", tag)
			}
			with("PATCH", path, edit, "If-Match", "*").Must(t, map[bool]int{true: 200, false: 204}[strings.HasPrefix(path, "/Users")])
			now = st.Do("GET", path, nil).Must(t, 200).Header.Get("ETag")
			with("DELETE", path, nil, "If-Match", now).Must(t, 204)
		})
	}
}

// TestGroupsAttributeUnavailable: when Helix Core drops the groups
// command, a GET that needs the groups attribute answers 503 with
// Retry-After (never a user silently without its groups); one that leaves
// groups out does not need the command and answers.
func TestGroupsAttributeUnavailable(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	id := newUser(t, st, "down@example.com")
	newGroup(t, st, "Down Group", id)
	st.Emu.Server.SetFault("groups", p4emu.Fault{Drop: true})
	for _, path := range []string{"/Users/" + id, "/Users"} {
		r := st.Do("GET", path, nil).Must(t, 503)
		if r.Header.Get("Retry-After") == "" || r.Str("status") != "503" {
			t.Fatalf("%s: %s %v", path, r.Body, r.Header)
		}
		st.Do("GET", path+"?excludedAttributes=groups", nil).Must(t, 200)
	}
	st.Emu.Server.ClearFaults()
	if r := st.Do("GET", "/Users/"+id, nil).Must(t, 200); r.JSON["groups"] == nil {
		t.Fatalf("no groups after recovery: %s", r.Body)
	}
}
