package limit

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Refusal reasons of the admission queue, passed to AdmissionOptions.OnRefused.
// They form a small fixed set so that they can be used as a metric label.
const (
	RefusedQueueFull = "queue_full" // the queue already holds its bound
	RefusedWait      = "wait"       // the wait would exceed, or did exceed, the bound
)

// AdmissionOptions configure Admission.
type AdmissionOptions struct {
	// Slots is how many requests run at once. Requests beyond it queue.
	// The real resource is the p4 pool (P4_MAX_CONCURRENT): a request runs
	// its p4 commands one after another, so a few more slots than p4
	// processes keep the pool busy while a request does its own work.
	// <= 0 disables admission control.
	Slots int
	// MaxWait bounds a request's time in the queue: a request that would
	// wait longer, by the recent service time, is refused at once, and one
	// that did wait this long is refused then. It must stay well under an
	// IdP's own timeout (60 s for Okta and Entra), so that the IdP reads a
	// 429 it backs off on rather than a timeout it counts as a failure.
	// <= 0 means a request never waits: no free slot, 429.
	MaxWait time.Duration
	// MaxQueue bounds the requests waiting, all keys together; beyond it a
	// request is refused at once. <= 0 means DefaultMaxQueue.
	MaxQueue int
	// Key names the queue a request waits in: the authenticated token, so
	// that queues are served round-robin and one IdP's burst cannot starve
	// another's. nil puts every request in one queue.
	Key func(*http.Request) string
	// OnWait, if set, is called with the queue wait of every admitted
	// request (zero when a slot was free); OnRefused with the reason of
	// every refusal; OnQueue with the number waiting after each change.
	// Metric hooks; they must be safe for concurrent use.
	OnWait    func(time.Duration)
	OnRefused func(reason string)
	OnQueue   func(waiting int)
}

// Admission lets at most Slots requests run at once and queues the others,
// one FIFO queue per key, served round-robin: when a slot frees, it goes to
// the head of the next key's queue that holds a request. A client that
// sends a burst waits for capacity instead of being refused, and a second
// client arriving meanwhile is served next, not after the burst.
//
// A request is refused with a 429 and an integer Retry-After only when the
// queue is full or its wait would exceed MaxWait. The wait is foreseen from
// the requests ahead of it (by round-robin, those of its own key plus, of
// every other key, as many as its own position) and the recent time a
// request holds a slot; Retry-After is that foreseen wait, so a client
// retrying then finds the queue drained.
func Admission(o AdmissionOptions) func(http.Handler) http.Handler {
	if o.Slots <= 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	q := NewQueue(o.Slots, o.MaxWait, o.MaxQueue)
	q.onQueue = o.OnQueue
	key := o.Key
	if key == nil {
		key = func(*http.Request) string { return "" }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			release, err := q.Acquire(r.Context(), key(r))
			if err != nil {
				var ref *Refused
				if !errors.As(err, &ref) {
					// The client left while queued: no one reads this answer,
					// but the log and metrics should see a 429, not a 200.
					ref = &Refused{Reason: RefusedWait, RetryAfter: time.Second}
				}
				if o.OnRefused != nil {
					o.OnRefused(ref.Reason)
				}
				s := retryAfter(ref.RetryAfter)
				w.Header().Set("Retry-After", strconv.Itoa(s))
				WriteError(w, http.StatusTooManyRequests,
					"The server is at capacity; retry after "+strconv.Itoa(s)+" seconds.")
				return
			}
			defer release()
			if o.OnWait != nil {
				o.OnWait(time.Since(start))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// DefaultMaxQueue is the queue bound Admission uses when MaxQueue <= 0:
// enough for the largest IdP bursts (Okta sends up to 50 at once per app,
// Entra's group pushes a few hundred) from several IdPs at once.
const DefaultMaxQueue = 1000

// Refused is the error of a refused Acquire.
type Refused struct {
	Reason     string        // RefusedQueueFull or RefusedWait
	RetryAfter time.Duration // when retrying is worth it
}

func (e *Refused) Error() string {
	return "admission refused (" + e.Reason + "), retry after " + e.RetryAfter.String()
}

// Queue is the state behind Admission: slots, per-key FIFO queues served
// round-robin, and the recent time a request holds a slot. It is safe for
// concurrent use.
type Queue struct {
	slots    int
	maxWait  time.Duration
	maxQueue int
	onQueue  func(int)

	mu      sync.Mutex
	busy    int
	waiting int
	queues  map[string][]*waiter
	ring    []string // keys with waiters, in round-robin order
	next    int      // index in ring of the key served next
	hold    time.Duration
	holdSet bool
}

type waiter struct {
	key     string
	ready   chan struct{}
	granted bool // under Queue.mu: a slot was handed to this waiter
}

// NewQueue returns a queue of slots slots; maxWait and maxQueue as in
// AdmissionOptions.
func NewQueue(slots int, maxWait time.Duration, maxQueue int) *Queue {
	if maxQueue <= 0 {
		maxQueue = DefaultMaxQueue
	}
	return &Queue{slots: max(slots, 1), maxWait: maxWait, maxQueue: maxQueue, queues: map[string][]*waiter{}}
}

// Acquire takes a slot for key, waiting in key's queue if none is free. It
// returns the function that gives the slot back, or a *Refused, or the
// context's error if ctx ends first.
func (q *Queue) Acquire(ctx context.Context, key string) (release func(), err error) {
	q.mu.Lock()
	if q.busy < q.slots && q.waiting == 0 {
		q.busy++
		q.mu.Unlock()
		return q.releaser(time.Now()), nil
	}
	if q.waiting >= q.maxQueue {
		ra := q.foreseeLocked(key)
		q.mu.Unlock()
		return nil, &Refused{Reason: RefusedQueueFull, RetryAfter: ra}
	}
	if wait := q.foreseeLocked(key); wait > q.maxWait {
		q.mu.Unlock()
		return nil, &Refused{Reason: RefusedWait, RetryAfter: wait}
	}
	w := &waiter{key: key, ready: make(chan struct{})}
	if len(q.queues[key]) == 0 {
		q.ring = append(q.ring, key)
	}
	q.queues[key] = append(q.queues[key], w)
	q.waiting++
	q.queueChangedLocked()
	q.mu.Unlock()

	timer := time.NewTimer(max(q.maxWait, 0))
	defer timer.Stop()
	select {
	case <-w.ready:
		return q.releaser(time.Now()), nil
	case <-timer.C:
		err = &Refused{Reason: RefusedWait}
	case <-ctx.Done():
		err = ctx.Err()
	}
	q.mu.Lock()
	if w.granted { // the slot came as the wait ended: take it
		q.mu.Unlock()
		return q.releaser(time.Now()), nil
	}
	q.removeLocked(w)
	if ref, ok := err.(*Refused); ok {
		ref.RetryAfter = q.foreseeLocked(key)
	}
	q.mu.Unlock()
	return nil, err
}

// foreseeLocked estimates how long a new request of key would wait: the
// requests served before it, by round-robin, times the recent hold time,
// spread over the slots. Before any request has finished there is no hold
// time to go by, and the estimate is zero (MaxWait still bounds the wait).
func (q *Queue) foreseeLocked(key string) time.Duration {
	own := len(q.queues[key])
	ahead := own
	for k, ws := range q.queues {
		if k != key {
			ahead += min(len(ws), own+1)
		}
	}
	return time.Duration(float64(q.hold) * float64(ahead+1) / float64(q.slots))
}

func (q *Queue) releaser(start time.Time) func() {
	var once sync.Once
	return func() { once.Do(func() { q.release(time.Since(start)) }) }
}

// release records how long the slot was held and hands it to the next
// waiter by round-robin, or frees it.
func (q *Queue) release(held time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	// An exponentially weighted mean: recent enough to follow a slowing
	// Helix Core within a few requests, smooth enough that one slow
	// request does not refuse a burst.
	if !q.holdSet {
		q.hold, q.holdSet = held, true
	} else {
		q.hold = (q.hold*7 + held) / 8
	}
	if len(q.ring) == 0 {
		q.busy--
		return
	}
	q.next %= len(q.ring)
	key := q.ring[q.next]
	ws := q.queues[key]
	w := ws[0]
	if len(ws) == 1 {
		delete(q.queues, key)
		q.ring = slices.Delete(q.ring, q.next, q.next+1) // the next key moves into q.next
	} else {
		q.queues[key] = ws[1:]
		q.next++
	}
	q.waiting--
	w.granted = true
	close(w.ready)
	q.queueChangedLocked()
}

// removeLocked takes a waiter that gave up out of its queue.
func (q *Queue) removeLocked(w *waiter) {
	ws := q.queues[w.key]
	i := slices.Index(ws, w)
	if i < 0 {
		return
	}
	q.waiting--
	if len(ws) > 1 {
		q.queues[w.key] = slices.Delete(ws, i, i+1)
		q.queueChangedLocked()
		return
	}
	delete(q.queues, w.key)
	r := slices.Index(q.ring, w.key)
	q.ring = slices.Delete(q.ring, r, r+1)
	if r < q.next {
		q.next--
	}
	q.queueChangedLocked()
}

func (q *Queue) queueChangedLocked() {
	if q.onQueue != nil {
		q.onQueue(q.waiting)
	}
}

// Waiting returns the number of requests queued (for tests and metrics).
func (q *Queue) Waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting
}
