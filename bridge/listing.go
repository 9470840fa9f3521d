package bridge

import (
	"encoding/json"
	"strings"
)

// Listing is a sorted list of resources, each turned into its SCIM
// document only when asked for: one page of a 50,000-user directory
// decodes the records of that page, not of the directory.
type Listing[T any] struct {
	n  int
	at func(i int) T
}

// ListOf is a Listing of the items given.
func ListOf[T any](items ...T) Listing[T] {
	return Listing[T]{n: len(items), at: func(i int) T { return items[i] }}
}

// Len is the number of resources.
func (l Listing[T]) Len() int { return l.n }

// At builds resource i (0 <= i < Len()).
func (l Listing[T]) At(i int) T { return l.at(i) }

// hiddenRecord reports whether a raw user record marks a user a
// deactivating DELETE hid. Records without the word "deleted" anywhere are
// answered without decoding; the rest are decoded properly, so a userName
// that happens to contain the word is not mistaken for the flag.
func hiddenRecord(raw string) bool {
	if !strings.Contains(raw, `"deleted"`) {
		return false
	}
	var rec struct {
		V       int  `json:"v"`
		Deleted bool `json:"deleted"`
	}
	return json.Unmarshal([]byte(raw), &rec) == nil && rec.V != 0 && rec.Deleted
}
