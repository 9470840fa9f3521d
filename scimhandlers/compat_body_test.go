package scimhandlers

import "testing"

func TestDuplicateKey(t *testing.T) {
	tests := map[string]string{
		`{"userName":"a","USERNAME":"b"}`:                   "USERNAME",
		`{"userName":"a","userName":"b"}`:                   "userName",
		`{"name":{"givenName":"a","GivenName":"b"}}`:        "GivenName",
		`{"emails":[{"value":"a"},{"value":"b"}]}`:          "",
		`{"a":{"x":1},"b":{"x":1},"c":[{"x":[1,{"x":2}]}]}`: "",
		`{"a":[{"b":1}],"A":2}`:                             "A",
		`{"a":"A","b":"a"}`:                                 "",
		`{"userName":`:                                      "",
		`[{"a":1,"a":2}]`:                                   "a",
	}
	for in, want := range tests {
		if got := duplicateKey([]byte(in)); got != want {
			t.Errorf("duplicateKey(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestCoreSchemaMissing(t *testing.T) {
	const user = "urn:ietf:params:scim:schemas:core:2.0:User"
	tests := []struct {
		path, body string
		missing    bool
	}{
		{BasePath + "/Users", `{"schemas":["` + user + `"]}`, false},
		{BasePath + "/Users", `{"schemas":["URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER","urn:x"]}`, false},
		{BasePath + "/Users", `{"userName":"a"}`, false}, // absent: the library fills it
		{BasePath + "/Users", `{"schemas":["urn:evil"]}`, true},
		{BasePath + "/Users/x", `{"schemas":"` + user + `"}`, true},
		{BasePath + "/Groups", `{"schemas":["` + user + `"]}`, true},
		{BasePath + "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"]}`, false},
		{BasePath + "/Schemas", `{"schemas":["urn:evil"]}`, false},
	}
	for _, tt := range tests {
		if _, got := coreSchemaMissing(tt.path, []byte(tt.body)); got != tt.missing {
			t.Errorf("%s %s: missing = %v, want %v", tt.path, tt.body, got, tt.missing)
		}
	}
}
