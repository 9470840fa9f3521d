package scimpatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// capture is a ResourceHandler that records the operations the library
// delivers, so the tests run the engine on exactly what a real request
// produces after the library's validation.
type capture struct{ ops []scim.PatchOperation }

func (c *capture) Create(*http.Request, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, nil
}
func (c *capture) Get(*http.Request, string) (scim.Resource, error) { return scim.Resource{}, nil }
func (c *capture) GetAll(*http.Request, scim.ListRequestParams) (scim.Page, error) {
	return scim.Page{}, nil
}
func (c *capture) Replace(*http.Request, string, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, nil
}
func (c *capture) Delete(*http.Request, string) error { return nil }
func (c *capture) Patch(_ *http.Request, _ string, ops []scim.PatchOperation) (scim.Resource, error) {
	c.ops = ops
	return scim.Resource{}, nil
}

// opsFor runs a PATCH body through the pinned library and returns the
// operations it hands to a handler.
func opsFor(t testing.TB, endpoint, body string) []scim.PatchOperation {
	t.Helper()
	schema.SetAllowStringValues(true)
	c := &capture{}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{SupportPatch: true},
		ResourceTypes: []scim.ResourceType{
			{ID: optional.NewString("User"), Name: "User", Endpoint: "/Users", Schema: schema.CoreUserSchema(),
				SchemaExtensions: []scim.SchemaExtension{{Schema: schema.ExtensionEnterpriseUser()}}, Handler: c},
			{ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups", Schema: schema.CoreGroupSchema(), Handler: c},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPatch, endpoint+"/x", strings.NewReader(body)))
	if rec.Code >= 400 {
		t.Fatalf("library refused the body: %d %s", rec.Code, rec.Body)
	}
	return c.ops
}

func doc(s string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		panic(err)
	}
	return m
}

const patchOp = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`

func TestApplyUser(t *testing.T) {
	base := `{"id":"x","userName":"ada@example.com","active":true,"name":{"givenName":"Ada","familyName":"L"},
		"emails":[{"value":"ada@example.com","type":"work","primary":true}]}`
	tests := []struct {
		name, body, want string
	}{
		{"okta deactivate", `{` + patchOp + `,"Operations":[{"op":"replace","value":{"id":"x","active":false}}]}`,
			`{"id":"x","userName":"ada@example.com","active":false,"name":{"givenName":"Ada","familyName":"L"},"emails":[{"value":"ada@example.com","type":"work","primary":true}]}`},
		{"entra string false", `{` + patchOp + `,"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
			`{"id":"x","userName":"ada@example.com","active":false,"name":{"givenName":"Ada","familyName":"L"},"emails":[{"value":"ada@example.com","type":"work","primary":true}]}`},
		{"entra filtered email and family name", `{` + patchOp + `,"Operations":[
			{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@example.com"},
			{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}]}`,
			`{"id":"x","userName":"ada@example.com","active":true,"name":{"givenName":"Ada","familyName":"updatedFamilyName"},"emails":[{"value":"new@example.com","type":"work","primary":true}]}`},
		{"aadOptscim062020 dotted and urn keys", `{` + patchOp + `,"Operations":[{"op":"replace","value":{
			"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua","` + ent + `:employeeNumber":"Aklq"}}]}`,
			`{"id":"x","userName":"ada@example.com","active":true,"displayName":"Bjfe","name":{"givenName":"Kkom","familyName":"Unua"},
			 "emails":[{"value":"ada@example.com","type":"work","primary":true}],"` + ent + `":{"employeeNumber":"Aklq"}}`},
		{"nested name object merges", `{` + patchOp + `,"Operations":[{"op":"replace","value":{"name":{"givenName":"N"}}}]}`,
			`{"id":"x","userName":"ada@example.com","active":true,"name":{"givenName":"N","familyName":"L"},"emails":[{"value":"ada@example.com","type":"work","primary":true}]}`},
		{"add nickName", `{` + patchOp + `,"Operations":[{"op":"Add","path":"nickName","value":"Babs"}]}`,
			`{"id":"x","userName":"ada@example.com","active":true,"nickName":"Babs","name":{"givenName":"Ada","familyName":"L"},"emails":[{"value":"ada@example.com","type":"work","primary":true}]}`},
		{"remove title absent is a no-op", `{` + patchOp + `,"Operations":[{"op":"Remove","path":"title"}]}`, base},
		{"primary moves", `{` + patchOp + `,"Operations":[{"op":"add","path":"emails","value":[{"value":"b@example.com","type":"home","primary":true}]}]}`,
			`{"id":"x","userName":"ada@example.com","active":true,"name":{"givenName":"Ada","familyName":"L"},
			 "emails":[{"value":"ada@example.com","type":"work","primary":false},{"value":"b@example.com","type":"home","primary":true}]}`},
		{"urn path into extension", `{` + patchOp + `,"Operations":[{"op":"replace","path":"` + ent + `:department","value":"Tools"}]}`,
			`{"id":"x","userName":"ada@example.com","active":true,"name":{"givenName":"Ada","familyName":"L"},"emails":[{"value":"ada@example.com","type":"work","primary":true}],"` + ent + `":{"department":"Tools"}}`},
		{"password path-less", `{` + patchOp + `,"Operations":[{"op":"replace","value":{"password":"S3cret!x"}}]}`,
			`{"id":"x","userName":"ada@example.com","active":true,"password":"S3cret!x","name":{"givenName":"Ada","familyName":"L"},"emails":[{"value":"ada@example.com","type":"work","primary":true}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := doc(base)
			changed, err := Apply(res, opsFor(t, "/Users", tt.body), schema.CoreUserSchema(), schema.ExtensionEnterpriseUser())
			if err != nil {
				t.Fatal(err)
			}
			want := doc(tt.want)
			if !reflect.DeepEqual(res, want) {
				got, _ := json.Marshal(res)
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if changed != !reflect.DeepEqual(want, doc(base)) {
				t.Fatalf("changed = %v", changed)
			}
		})
	}
}

func TestFilteredAddCreatesElement(t *testing.T) {
	res := doc(`{"id":"x","userName":"u"}`)
	body := `{` + patchOp + `,"Operations":[{"op":"Add","path":"emails[type eq \"work\"].value","value":"w@example.com"}]}`
	if _, err := Apply(res, opsFor(t, "/Users", body), schema.CoreUserSchema()); err != nil {
		t.Fatal(err)
	}
	emails := res["emails"].([]any)
	if len(emails) != 1 || emails[0].(map[string]any)["type"] != "work" || emails[0].(map[string]any)["value"] != "w@example.com" {
		t.Fatalf("emails = %v", emails)
	}
}

func members(ids ...string) string {
	var parts []string
	for _, id := range ids {
		parts = append(parts, `{"value":"`+id+`","type":"User"}`)
	}
	return `[` + strings.Join(parts, ",") + `]`
}

func TestApplyGroupMembers(t *testing.T) {
	base := `{"id":"g","displayName":"G","members":` + members("a", "b", "c") + `}`
	tests := []struct {
		name, ops string
		want      []string
		changed   bool
	}{
		{"entra add with $ref null", `[{"op":"Add","path":"members","value":[{"$ref":null,"value":"d"}]}]`, []string{"a", "b", "c", "d"}, true},
		{"add present is a no-op", `[{"op":"add","path":"members","value":[{"value":"a"}]}]`, []string{"a", "b", "c"}, false},
		{"entra remove by value list", `[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"b"}]}]`, []string{"a", "c"}, true},
		{"remove by filter", `[{"op":"remove","path":"members[value eq \"c\"]"}]`, []string{"a", "b"}, true},
		{"remove absent member", `[{"op":"remove","path":"members[value eq \"zz\"]"}]`, []string{"a", "b", "c"}, false},
		{"okta remove then add", `[{"op":"remove","path":"members[value eq \"a\"]"},{"op":"add","path":"members","value":[{"value":"e","display":"e@x"}]}]`,
			[]string{"b", "c", "e"}, true},
		{"replace all", `[{"op":"replace","path":"members","value":[{"value":"z"}]}]`, []string{"z"}, true},
		{"remove all", `[{"op":"remove","path":"members"}]`, nil, true},
		{"path-less members add", `[{"op":"add","value":{"members":[{"value":"f"}]}}]`, []string{"a", "b", "c", "f"}, true},
		{"okta rename with id", `[{"op":"replace","value":{"id":"g","displayName":"G"}}]`, []string{"a", "b", "c"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := doc(base)
			changed, err := Apply(res, opsFor(t, "/Groups", `{`+patchOp+`,"Operations":`+tt.ops+`}`), schema.CoreGroupSchema())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range asListLoose(res["members"]) {
				got = append(got, m.(map[string]any)["value"].(string))
			}
			if !reflect.DeepEqual(got, tt.want) || changed != tt.changed {
				t.Fatalf("members = %v (changed %v), want %v (changed %v)", got, changed, tt.want, tt.changed)
			}
		})
	}
}

func TestApplyErrorsLeaveResourceUntouched(t *testing.T) {
	tests := []struct {
		name, ops, scimType string
	}{
		{"add groups is read-only", `[{"op":"add","path":"groups","value":[{"value":"g"}]}]`, "mutability"},
		{"second op fails", `[{"op":"replace","path":"displayName","value":"changed"},{"op":"add","path":"groups","value":[{"value":"g"}]}]`, "mutability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := doc(`{"id":"x","userName":"u","displayName":"orig"}`)
			_, err := Apply(res, opsFor(t, "/Users", `{`+patchOp+`,"Operations":`+tt.ops+`}`), schema.CoreUserSchema())
			var se scimerrors.ScimError
			if !errors.As(err, &se) || string(se.ScimType) != tt.scimType {
				t.Fatalf("err = %v, want %s", err, tt.scimType)
			}
			if res["displayName"] != "orig" {
				t.Fatalf("resource changed on error: %v", res)
			}
		})
	}
}

func TestTooManyOperations(t *testing.T) {
	ops := make([]scim.PatchOperation, MaxOperations+1)
	if _, err := Apply(map[string]any{}, ops, schema.CoreUserSchema()); err == nil {
		t.Fatal("no limit")
	}
}

func FuzzApply(f *testing.F) {
	for _, s := range []string{
		`[{"op":"replace","value":{"active":false}}]`,
		`[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@y"}]`,
		`[{"op":"remove","path":"members[value eq \"a\"]"}]`,
		`[{"op":"add","path":"members","value":[{"value":"a"}]}]`,
		`[{"op":"replace","value":{"name.givenName":"N","` + ent + `:employeeNumber":"1"}}]`,
	} {
		f.Add(s)
	}
	schema.SetAllowStringValues(true)
	f.Fuzz(func(t *testing.T, ops string) {
		if !json.Valid([]byte(ops)) {
			return
		}
		c := &capture{}
		srv, _ := scim.NewServer(&scim.ServerArgs{
			ServiceProviderConfig: &scim.ServiceProviderConfig{SupportPatch: true},
			ResourceTypes: []scim.ResourceType{{ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
				Schema: schema.CoreUserSchema(), SchemaExtensions: []scim.SchemaExtension{{Schema: schema.ExtensionEnterpriseUser()}}, Handler: c}},
		})
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPatch, "/Users/x", strings.NewReader(`{`+patchOp+`,"Operations":`+ops+`}`)))
		if c.ops == nil {
			return
		}
		res := doc(`{"id":"x","userName":"u","emails":[{"value":"a@b","type":"work"}],"members":[{"value":"m"}]}`)
		before := DeepCopy(res)
		if _, err := Apply(res, c.ops, schema.CoreUserSchema(), schema.ExtensionEnterpriseUser()); err != nil {
			if !reflect.DeepEqual(res, before) {
				t.Fatalf("resource changed on error %v", err)
			}
		}
	})
}

// BenchmarkAddMembers adds 3,000 members to a group that has 3,000: each
// is looked up by value, so the cost grows linearly with the members
// (it was quadratic, 7 s for such a PATCH end to end):
//
//	go test -run '^$' -bench AddMembers ./scimhandlers/scimpatch/
func BenchmarkAddMembers(b *testing.B) {
	const n = 3000
	current := make([]any, n)
	var add strings.Builder
	for i := range n {
		current[i] = map[string]any{"value": fmt.Sprintf("old%04d", i)}
		if i > 0 {
			add.WriteString(",")
		}
		fmt.Fprintf(&add, `{"value":"new%04d"}`, i)
	}
	ops := opsFor(b, "/Groups", `{`+patchOp+`,"Operations":[{"op":"add","path":"members","value":[`+add.String()+`]}]}`)
	for b.Loop() {
		res := DeepCopy(map[string]any{"displayName": "g", "members": current})
		if _, err := Apply(res, ops, schema.CoreGroupSchema()); err != nil {
			b.Fatal(err)
		}
	}
}
