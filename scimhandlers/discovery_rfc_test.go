package scimhandlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/scimhandlers"
)

// The schemas of the discovery resources, transcribed from RFC 7643 §8.7.2
// ("Service Provider Schemas"), with what §5-§7 add to them:
//
//   - §5 defines etag (REQUIRED) and, in authenticationSchemes, type
//     (REQUIRED, with five canonical values); §8.5's example has primary.
//     §8.7.2's JSON lacks all three.
//   - §8.7.2 gives canonicalValues the type "complex"; §7 and every
//     example make it a list of strings, which is what is checked.
//
// Only what the RFC says is here: nothing is derived from p4scim's output.
const rfcSchemaAttributes = `{
"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig": [
  {"name":"documentationUri","type":"reference","referenceTypes":["external"],"multiValued":false,"required":false},
  {"name":"patch","type":"complex","multiValued":false,"required":true,"subAttributes":[
    {"name":"supported","type":"boolean","multiValued":false,"required":true}]},
  {"name":"bulk","type":"complex","multiValued":false,"required":true,"subAttributes":[
    {"name":"supported","type":"boolean","multiValued":false,"required":true},
    {"name":"maxOperations","type":"integer","multiValued":false,"required":true},
    {"name":"maxPayloadSize","type":"integer","multiValued":false,"required":true}]},
  {"name":"filter","type":"complex","multiValued":false,"required":true,"subAttributes":[
    {"name":"supported","type":"boolean","multiValued":false,"required":true},
    {"name":"maxResults","type":"integer","multiValued":false,"required":true}]},
  {"name":"changePassword","type":"complex","multiValued":false,"required":true,"subAttributes":[
    {"name":"supported","type":"boolean","multiValued":false,"required":true}]},
  {"name":"sort","type":"complex","multiValued":false,"required":true,"subAttributes":[
    {"name":"supported","type":"boolean","multiValued":false,"required":true}]},
  {"name":"etag","type":"complex","multiValued":false,"required":true,"subAttributes":[
    {"name":"supported","type":"boolean","multiValued":false,"required":true}]},
  {"name":"authenticationSchemes","type":"complex","multiValued":true,"required":true,"subAttributes":[
    {"name":"type","type":"string","multiValued":false,"required":true,
     "canonicalValues":["oauth","oauth2","oauthbearertoken","httpbasic","httpdigest"]},
    {"name":"name","type":"string","multiValued":false,"required":true},
    {"name":"description","type":"string","multiValued":false,"required":true},
    {"name":"specUri","type":"reference","referenceTypes":["external"],"multiValued":false,"required":false},
    {"name":"documentationUri","type":"reference","referenceTypes":["external"],"multiValued":false,"required":false},
    {"name":"primary","type":"boolean","multiValued":false,"required":false}]}
],
"urn:ietf:params:scim:schemas:core:2.0:ResourceType": [
  {"name":"id","type":"string","multiValued":false,"required":false},
  {"name":"name","type":"string","multiValued":false,"required":true},
  {"name":"description","type":"string","multiValued":false,"required":false},
  {"name":"endpoint","type":"reference","referenceTypes":["uri"],"multiValued":false,"required":true},
  {"name":"schema","type":"reference","referenceTypes":["uri"],"multiValued":false,"required":true},
  {"name":"schemaExtensions","type":"complex","multiValued":true,"required":false,"subAttributes":[
    {"name":"schema","type":"reference","referenceTypes":["uri"],"multiValued":false,"required":true},
    {"name":"required","type":"boolean","multiValued":false,"required":true}]}
],
"urn:ietf:params:scim:schemas:core:2.0:Schema": [
  {"name":"id","type":"string","multiValued":false,"required":true},
  {"name":"name","type":"string","multiValued":false,"required":false},
  {"name":"description","type":"string","multiValued":false,"required":false},
  {"name":"attributes","type":"complex","multiValued":true,"required":true,"subAttributes":"ATTRIBUTE"}
],
"ATTRIBUTE": [
  {"name":"name","type":"string","multiValued":false,"required":true},
  {"name":"type","type":"string","multiValued":false,"required":true,
   "canonicalValues":["string","complex","boolean","decimal","integer","dateTime","reference","binary"]},
  {"name":"multiValued","type":"boolean","multiValued":false,"required":true},
  {"name":"description","type":"string","multiValued":false,"required":false},
  {"name":"required","type":"boolean","multiValued":false,"required":false},
  {"name":"canonicalValues","type":"string","multiValued":true,"required":false},
  {"name":"caseExact","type":"boolean","multiValued":false,"required":false},
  {"name":"mutability","type":"string","multiValued":false,"required":false,
   "canonicalValues":["readOnly","readWrite","immutable","writeOnly"]},
  {"name":"returned","type":"string","multiValued":false,"required":false,
   "canonicalValues":["always","never","default","request"]},
  {"name":"uniqueness","type":"string","multiValued":false,"required":false,
   "canonicalValues":["none","server","global"]},
  {"name":"referenceTypes","type":"string","multiValued":true,"required":false},
  {"name":"subAttributes","type":"complex","multiValued":true,"required":false,"subAttributes":"ATTRIBUTE"}
],
"META": [
  {"name":"resourceType","type":"string","multiValued":false,"required":false},
  {"name":"created","type":"dateTime","multiValued":false,"required":false},
  {"name":"lastModified","type":"dateTime","multiValued":false,"required":false},
  {"name":"location","type":"reference","referenceTypes":["uri"],"multiValued":false,"required":false},
  {"name":"version","type":"string","multiValued":false,"required":false}
]
}`

// rfcAttribute is an attribute definition as RFC 7643 §7 writes it.
// SubAttributes is a list, or the name of a list (the Schema schema's
// attributes and subAttributes share one definition, recursively).
type rfcAttribute struct {
	Name            string          `json:"name"`
	Type            string          `json:"type"`
	MultiValued     bool            `json:"multiValued"`
	Required        bool            `json:"required"`
	CanonicalValues []string        `json:"canonicalValues"`
	ReferenceTypes  []string        `json:"referenceTypes"`
	SubAttributes   json.RawMessage `json:"subAttributes"`
}

// rfcValidator checks documents strictly: an attribute the schema does not
// define, a value of the wrong JSON type, a missing required attribute, a
// value outside the canonical ones, an empty string, an empty list or a
// null (unassigned values are omitted, §2.5) and a reference that is not a
// URI are each an error.
type rfcValidator struct {
	defs map[string][]rfcAttribute
}

func newRFCValidator(t *testing.T) rfcValidator {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(rfcSchemaAttributes), &raw); err != nil {
		t.Fatal(err)
	}
	v := rfcValidator{defs: map[string][]rfcAttribute{}}
	for k, r := range raw {
		var attrs []rfcAttribute
		if err := json.Unmarshal(r, &attrs); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		v.defs[k] = attrs
	}
	return v
}

func (v rfcValidator) subAttributes(a rfcAttribute) []rfcAttribute {
	var named string
	if json.Unmarshal(a.SubAttributes, &named) == nil {
		return v.defs[named]
	}
	var list []rfcAttribute
	_ = json.Unmarshal(a.SubAttributes, &list)
	return list
}

// resource validates a resource of the schema: its own attributes plus
// the common schemas and meta (RFC 7643 §3.1).
func (v rfcValidator) resource(schemaID string, doc map[string]any) []string {
	var errs []string
	schemas, ok := doc["schemas"].([]any)
	if !ok || len(schemas) == 0 {
		errs = append(errs, "schemas: missing or not a list")
	}
	found := false
	for _, s := range schemas {
		str, ok := s.(string)
		if !ok {
			errs = append(errs, fmt.Sprintf("schemas: %v is not a string", s))
		}
		found = found || str == schemaID
	}
	if !found {
		errs = append(errs, "schemas does not include "+schemaID)
	}
	rest := make(map[string]any, len(doc))
	for k, x := range doc {
		switch k {
		case "schemas":
		case "meta":
			m, ok := x.(map[string]any)
			if !ok {
				errs = append(errs, "meta: not an object")
				continue
			}
			errs = append(errs, v.object("meta", v.defs["META"], m)...)
		default:
			rest[k] = x
		}
	}
	return append(errs, v.object("", v.defs[schemaID], rest)...)
}

func (v rfcValidator) object(path string, attrs []rfcAttribute, m map[string]any) []string {
	var errs []string
	byName := map[string]rfcAttribute{}
	for _, a := range attrs {
		byName[a.Name] = a
		if _, ok := m[a.Name]; !ok && a.Required {
			errs = append(errs, join(path, a.Name)+": required, missing")
		}
	}
	for k, x := range m {
		a, ok := byName[k]
		if !ok {
			errs = append(errs, join(path, k)+": not an attribute of the schema")
			continue
		}
		errs = append(errs, v.value(join(path, k), a, x)...)
	}
	return errs
}

func (v rfcValidator) value(path string, a rfcAttribute, x any) []string {
	if x == nil {
		return []string{path + ": null (an unassigned value is omitted)"}
	}
	if !a.MultiValued {
		return v.singular(path, a, x)
	}
	list, ok := x.([]any)
	if !ok {
		return []string{fmt.Sprintf("%s: multi-valued, got %T", path, x)}
	}
	if len(list) == 0 {
		return []string{path + ": empty list (an unassigned value is omitted)"}
	}
	var errs []string
	for i, e := range list {
		errs = append(errs, v.singular(fmt.Sprintf("%s[%d]", path, i), a, e)...)
	}
	return errs
}

func (v rfcValidator) singular(path string, a rfcAttribute, x any) []string {
	wrong := func() []string { return []string{fmt.Sprintf("%s: %s expected, got %T %v", path, a.Type, x, x)} }
	switch a.Type {
	case "string", "reference", "dateTime", "binary":
		s, ok := x.(string)
		if !ok {
			return wrong()
		}
		if s == "" {
			return []string{path + ": empty string"}
		}
		if len(a.CanonicalValues) > 0 && !containsString(a.CanonicalValues, s) {
			return []string{fmt.Sprintf("%s: %q is not one of %v", path, s, a.CanonicalValues)}
		}
		switch a.Type {
		case "reference":
			u, err := url.Parse(s)
			if err != nil {
				return []string{fmt.Sprintf("%s: %q is not a URI: %v", path, s, err)}
			}
			if containsString(a.ReferenceTypes, "external") && (u.Scheme == "" || u.Host == "") {
				return []string{fmt.Sprintf("%s: %q is not an absolute URL (external reference)", path, s)}
			}
		case "dateTime":
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				return []string{fmt.Sprintf("%s: %q is not an xsd:dateTime", path, s)}
			}
		}
	case "boolean":
		if _, ok := x.(bool); !ok {
			return wrong()
		}
	case "integer":
		n, ok := x.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			return wrong()
		}
	case "decimal":
		if _, ok := x.(json.Number); !ok {
			return wrong()
		}
	case "complex":
		m, ok := x.(map[string]any)
		if !ok {
			return wrong()
		}
		return v.object(path, v.subAttributes(a), m)
	default:
		return []string{path + ": the schema has an unknown type " + a.Type}
	}
	return nil
}

// listResponse validates a ListResponse (RFC 7644 §3.4.2) and each of its
// resources.
func (v rfcValidator) listResponse(schemaID string, doc map[string]any) []string {
	var errs []string
	for k, x := range doc {
		switch k {
		case "schemas":
			if fmt.Sprint(x) != "[urn:ietf:params:scim:api:messages:2.0:ListResponse]" {
				errs = append(errs, fmt.Sprintf("schemas = %v", x))
			}
		case "totalResults", "startIndex", "itemsPerPage":
			if n, ok := x.(json.Number); !ok || strings.ContainsAny(n.String(), ".eE") {
				errs = append(errs, fmt.Sprintf("%s: integer expected, got %v", k, x))
			}
		case "Resources":
			list, ok := x.([]any)
			if !ok {
				errs = append(errs, "Resources: not a list")
			}
			for i, e := range list {
				m, ok := e.(map[string]any)
				if !ok {
					errs = append(errs, fmt.Sprintf("Resources[%d]: not an object", i))
					continue
				}
				for _, err := range v.resource(schemaID, m) {
					errs = append(errs, fmt.Sprintf("Resources[%d].%s", i, err))
				}
			}
		default:
			errs = append(errs, k+": not an attribute of a ListResponse")
		}
	}
	if doc["totalResults"] == nil {
		errs = append(errs, "totalResults: required, missing")
	}
	return errs
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func decodeNumbers(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

// TestDiscoveryValidatesStrictly validates every discovery document the
// stack serves against the RFC's schema for it. The documentation URI is
// left unset, as in the default deployment, so an empty value would show.
func TestDiscoveryValidatesStrictly(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	v := newRFCValidator(t)
	const (
		spcSchema = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
		rtSchema  = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
		schSchema = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	)
	tests := []struct {
		path, schema string
		list         bool
	}{
		{"/ServiceProviderConfig", spcSchema, false},
		{"/ResourceTypes", rtSchema, true},
		{"/ResourceTypes/User", rtSchema, false},
		{"/ResourceTypes/Group", rtSchema, false},
		{"/Schemas", schSchema, true},
		{"/Schemas/" + userSchema, schSchema, false},
		{"/Schemas/" + entSchema, schSchema, false},
		{"/Schemas/" + groupSchema, schSchema, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			doc := decodeNumbers(t, st.Do("GET", tt.path, nil).Must(t, 200).Body)
			var errs []string
			if tt.list {
				errs = v.listResponse(tt.schema, doc)
			} else {
				errs = v.resource(tt.schema, doc)
			}
			for _, e := range errs {
				t.Error(e)
			}
		})
	}
	// With a documentation URI configured, it is shown, and valid.
	st = stacktest.Start(t, stacktest.Options{Handler: scimhandlers.Options{DocumentationURI: "https://docs.example.com/p4scim"}})
	doc := decodeNumbers(t, st.Do("GET", "/ServiceProviderConfig", nil).Must(t, 200).Body)
	if doc["documentationUri"] != "https://docs.example.com/p4scim" {
		t.Errorf("documentationUri = %v", doc["documentationUri"])
	}
	for _, e := range v.resource(spcSchema, doc) {
		t.Error(e)
	}
}

// TestRFCValidatorIsStrict proves the validator above fails what it must:
// each broken ServiceProviderConfig is refused.
func TestRFCValidatorIsStrict(t *testing.T) {
	v := newRFCValidator(t)
	good := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
	"patch":{"supported":true},"bulk":{"supported":false,"maxOperations":0,"maxPayloadSize":0},
	"filter":{"supported":true,"maxResults":200},"changePassword":{"supported":false},"sort":{"supported":false},
	"etag":{"supported":true},"authenticationSchemes":[{"type":"oauthbearertoken","name":"Bearer","description":"d"}]}`
	if errs := v.resource("urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig", decodeNumbers(t, []byte(good))); len(errs) > 0 {
		t.Fatalf("a valid document fails: %v", errs)
	}
	broken := map[string]func(m map[string]any){
		"empty documentationUri":    func(m map[string]any) { m["documentationUri"] = "" },
		"relative documentationUri": func(m map[string]any) { m["documentationUri"] = "docs" },
		"unknown attribute":         func(m map[string]any) { m["xml"] = map[string]any{"supported": false} },
		"unknown sub-attribute":     func(m map[string]any) { m["patch"].(map[string]any)["maxOps"] = json.Number("1") },
		"string for boolean":        func(m map[string]any) { m["sort"] = map[string]any{"supported": "false"} },
		"decimal for integer":       func(m map[string]any) { m["filter"].(map[string]any)["maxResults"] = json.Number("1.5") },
		"missing required":          func(m map[string]any) { delete(m, "etag") },
		"single for multi-valued":   func(m map[string]any) { m["authenticationSchemes"] = m["authenticationSchemes"].([]any)[0] },
		"empty list":                func(m map[string]any) { m["authenticationSchemes"] = []any{} },
		"non-canonical type":        func(m map[string]any) { m["authenticationSchemes"].([]any)[0].(map[string]any)["type"] = "bearer" },
		"null":                      func(m map[string]any) { m["documentationUri"] = nil },
		"no schemas":                func(m map[string]any) { delete(m, "schemas") },
	}
	for name, breakIt := range broken {
		t.Run(name, func(t *testing.T) {
			m := decodeNumbers(t, []byte(good))
			breakIt(m)
			if errs := v.resource("urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig", m); len(errs) == 0 {
				t.Fatal("accepted")
			}
		})
	}
}
