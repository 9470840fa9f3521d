package bridge

import "testing"

func TestHiddenRecord(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{``, false},
		{`{"v":1,"doc":{"userName":"a"}}`, false},
		{`{"v":1,"doc":{"userName":"a"},"deleted":true}`, true},
		{`{"v":1,"deleted":false}`, false},
		{`{"v":1,"doc":{"userName":"deleted","title":"\"deleted\""}}`, false}, // the word, not the flag
		{`{"v":1,"doc":{"x":{"deleted":true}}}`, false},                       // nested, not the record's flag
		{`{"deleted":true}`, false},                                           // not a record of ours (no version)
		{`{"v":1,"deleted":true`, false},                                      // truncated
	}
	for _, tt := range tests {
		if got := hiddenRecord(tt.raw); got != tt.want {
			t.Errorf("hiddenRecord(%s) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestListing(t *testing.T) {
	built := 0
	l := Listing[int]{n: 3, at: func(i int) int { built++; return i * 10 }}
	if l.Len() != 3 || l.At(2) != 20 || built != 1 {
		t.Fatalf("Len %d, At(2) %d, built %d", l.Len(), l.At(2), built)
	}
	if o := ListOf("a", "b"); o.Len() != 2 || o.At(1) != "b" {
		t.Fatalf("ListOf: %d %q", o.Len(), o.At(1))
	}
}
