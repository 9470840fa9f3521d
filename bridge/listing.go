package bridge

import "context"

// Listing is a sorted list of resources whose documents are fetched and
// built only for the part asked for: one page of a 50,000-user directory
// reads and decodes the records of that page, not of the directory.
type Listing[T any] struct {
	n int
	// load fetches what resources from..to-1 need and returns the function
	// that builds resource i of them.
	load func(ctx context.Context, from, to int) (func(i int) T, error)
}

// ListOf is a Listing of the items given.
func ListOf[T any](items ...T) Listing[T] {
	return Listing[T]{n: len(items), load: func(context.Context, int, int) (func(int) T, error) {
		return func(i int) T { return items[i] }, nil
	}}
}

// Len is the number of resources.
func (l Listing[T]) Len() int { return l.n }

// Range returns resources from..to-1, clamped to the listing.
func (l Listing[T]) Range(ctx context.Context, from, to int) ([]T, error) {
	from, to = max(from, 0), min(to, l.n)
	if from >= to {
		return []T{}, nil
	}
	at, err := l.load(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, at(i))
	}
	return out, nil
}

// Each calls fn with every resource in order, building one at a time.
func (l Listing[T]) Each(ctx context.Context, fn func(T)) error {
	if l.n == 0 {
		return nil
	}
	at, err := l.load(ctx, 0, l.n)
	if err != nil {
		return err
	}
	for i := range l.n {
		fn(at(i))
	}
	return nil
}

// keyPattern is a `p4 keys -e` pattern matching the keys of names (and
// possibly more): prefix, then the longest prefix the names share, then
// '*'. Names that keyPart encodes share no readable prefix with their
// keys, so any of them makes it prefix + "*".
func keyPattern(prefix string, names []string) string {
	if len(names) == 0 {
		return prefix + "*"
	}
	common := names[0]
	for _, n := range names {
		if keyPart(n) != n {
			return prefix + "*"
		}
		i := 0
		for i < len(common) && i < len(n) && common[i] == n[i] {
			i++
		}
		common = common[:i]
	}
	return prefix + common + "*"
}
