package bridge

import (
	"context"
	"testing"
)

func TestListing(t *testing.T) {
	var loaded [][2]int
	built := 0
	l := Listing[int]{n: 5, load: func(_ context.Context, from, to int) (func(int) int, error) {
		loaded = append(loaded, [2]int{from, to})
		return func(i int) int { built++; return i * 10 }, nil
	}}
	ctx := context.Background()
	got, err := l.Range(ctx, 3, 10)
	if err != nil || len(got) != 2 || got[0] != 30 || got[1] != 40 || built != 2 || loaded[0] != [2]int{3, 5} {
		t.Fatalf("Range(3, 10) = %v, %v; built %d, loaded %v", got, err, built, loaded)
	}
	if got, _ := l.Range(ctx, 7, 9); len(got) != 0 || len(loaded) != 1 {
		t.Fatalf("Range past the end = %v, loaded %v", got, loaded)
	}
	sum := 0
	if err := l.Each(ctx, func(v int) { sum += v }); err != nil || sum != 100 || loaded[1] != [2]int{0, 5} {
		t.Fatalf("Each: sum %d, %v, loaded %v", sum, err, loaded)
	}
	o := ListOf("a", "b")
	if all, _ := o.Range(ctx, 0, 2); o.Len() != 2 || len(all) != 2 || all[1] != "b" {
		t.Fatalf("ListOf: %d %q", o.Len(), all)
	}
}

func TestKeyPattern(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{nil, "p.user.*"},
		{[]string{"ada"}, "p.user.ada*"},
		{[]string{"load.user000100", "load.user000199"}, "p.user.load.user0001*"},
		{[]string{"ada", "bob"}, "p.user.*"},
		{[]string{"ada", "adam", "adb"}, "p.user.ad*"},
		{[]string{"ada", "a b"}, "p.user.*"}, // encoded by keyPart: no readable prefix
	}
	for _, tt := range tests {
		if got := keyPattern("p.user.", tt.names); got != tt.want {
			t.Errorf("keyPattern(%q) = %q, want %q", tt.names, got, tt.want)
		}
	}
}
