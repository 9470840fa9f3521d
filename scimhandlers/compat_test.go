package scimhandlers

import (
	"encoding/json"
	"testing"
)

func TestWrapManager(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		patch bool
		want  string // "" = unchanged
	}{
		{"post string", `{"userName":"u","` + enterpriseURN + `":{"manager":"boss"}}`, false,
			`{"userName":"u","` + enterpriseURN + `":{"manager":{"value":"boss"}}}`},
		{"post object untouched", `{"` + enterpriseURN + `":{"manager":{"value":"boss"}}}`, false, ""},
		{"patch bare path", `{"Operations":[{"op":"Add","path":"manager","value":"boss"}]}`, true,
			`{"Operations":[{"op":"Add","path":"` + enterpriseURN + `:manager","value":{"value":"boss"}}]}`},
		{"patch urn path", `{"Operations":[{"op":"add","path":"` + enterpriseURN + `:manager","value":"b"}]}`, true,
			`{"Operations":[{"op":"add","path":"` + enterpriseURN + `:manager","value":{"value":"b"}}]}`},
		{"patch path-less urn key", `{"Operations":[{"op":"replace","value":{"` + enterpriseURN + `:manager":"b"}}]}`, true,
			`{"Operations":[{"op":"replace","value":{"` + enterpriseURN + `:manager":{"value":"b"}}}]}`},
		{"not json", `{"userName":`, false, ""},
		{"no manager string", `{"Operations":[{"op":"add","path":"nickName","value":"manager"}]}`, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := wrapManager([]byte(tt.in), tt.patch)
			if tt.want == "" {
				if ok {
					t.Fatalf("rewrote %s to %s", tt.in, got)
				}
				return
			}
			var g, w any
			_ = json.Unmarshal(got, &g)
			_ = json.Unmarshal([]byte(tt.want), &w)
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			if !ok || string(gb) != string(wb) {
				t.Fatalf("got %s (%v), want %s", gb, ok, wb)
			}
		})
	}
}

func FuzzWrapManager(f *testing.F) {
	f.Add([]byte(`{"Operations":[{"op":"Add","path":"manager","value":"boss"}]}`), true)
	f.Add([]byte(`{"`+enterpriseURN+`":{"manager":"boss"}}`), false)
	f.Fuzz(func(t *testing.T, in []byte, patch bool) {
		out, ok := wrapManager(in, patch)
		if ok && !json.Valid(out) {
			t.Fatalf("invalid JSON out of %q", in)
		}
	})
}

func TestJSONDepth(t *testing.T) {
	tests := map[string]int{
		`{}`:                       1,
		`{"a":[{"b":1}]}`:          3,
		`{"a":"[[[[{{{{"}`:         1,
		`{"a":"\\\"[[["}`:          1,
		`[[[[[]]]]]`:               5,
		`{"a":` + `{"b":{}}` + `}`: 3,
	}
	for in, want := range tests {
		if got := jsonDepth([]byte(in)); got != want {
			t.Errorf("jsonDepth(%s) = %d, want %d", in, got, want)
		}
	}
}
