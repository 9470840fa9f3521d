package bridge

import "sync"

// batcher coalesces concurrent writes to one resource (group commit): while
// one caller holds a resource's queue and writes to Helix Core, others
// enqueue their changes; the holder then applies everything that queued up
// in one read, one spec write and one lock round trip. IdPs send bursts of
// membership PATCHes to one group (idp-behaviour.md §2.10), and without
// this each would pay the full lock + read + write cost in turn.
type batcher[T any] struct {
	mu     sync.Mutex
	queues map[string]*queue[T]
}

type queue[T any] struct {
	pending []T
	running bool
}

func newBatcher[T any]() *batcher[T] { return &batcher[T]{queues: map[string]*queue[T]{}} }

// enqueue adds item to key's queue and reports whether the caller must
// drain it (no one else is draining).
func (b *batcher[T]) enqueue(key string, item T) (lead bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[key]
	if q == nil {
		q = &queue[T]{}
		b.queues[key] = q
	}
	q.pending = append(q.pending, item)
	if q.running {
		return false
	}
	q.running = true
	return true
}

// take returns everything queued for key, or nil when the queue is empty,
// in which case the caller stops draining.
func (b *batcher[T]) take(key string) []T {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[key]
	if len(q.pending) == 0 {
		delete(b.queues, key)
		return nil
	}
	items := q.pending
	q.pending = nil
	return items
}
