package limit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"
)

// waitQueued blocks until q holds n waiters: the goroutines started so far
// have queued, so the order they queued in is known.
func waitQueued(t *testing.T, q *Queue, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for q.Waiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d, want %d", q.Waiting(), n)
		}
		runtime.Gosched()
	}
}

func mustAcquire(t *testing.T, q *Queue, key string) func() {
	t.Helper()
	release, err := q.Acquire(context.Background(), key)
	if err != nil {
		t.Fatalf("Acquire(%q): %v", key, err)
	}
	return release
}

// TestQueueRoundRobin: one token's burst queued first does not make a
// second token wait behind it; slots go to the tokens' queues in turn,
// each queue in its order.
func TestQueueRoundRobin(t *testing.T) {
	tests := []struct {
		name    string
		arrival []string // keys, in the order they queue behind a held slot
		want    []string // the order they are admitted in
	}{
		{"a burst then one other", []string{"a1", "a2", "a3", "a4", "a5", "b1"}, []string{"a1", "b1", "a2", "a3", "a4", "a5"}},
		{"three tokens", []string{"a1", "a2", "a3", "b1", "b2", "c1"}, []string{"a1", "b1", "c1", "a2", "b2", "a3"}},
		{"one token is FIFO", []string{"a1", "a2", "a3"}, []string{"a1", "a2", "a3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := NewQueue(1, time.Minute, 0)
			hold := mustAcquire(t, q, "a0")
			var mu sync.Mutex
			var order []string
			var wg sync.WaitGroup
			next := make(chan func()) // the admitted hand their release over
			for i, id := range tt.arrival {
				wg.Add(1)
				go func() {
					defer wg.Done()
					release, err := q.Acquire(context.Background(), id[:1])
					if err != nil {
						t.Errorf("%s: %v", id, err)
						return
					}
					mu.Lock()
					order = append(order, id)
					mu.Unlock()
					next <- release
				}()
				waitQueued(t, q, i+1)
			}
			hold()
			for range tt.arrival {
				(<-next)()
			}
			wg.Wait()
			if len(order) != len(tt.want) {
				t.Fatalf("admitted %v, want %v", order, tt.want)
			}
			for i := range order {
				if order[i] != tt.want[i] {
					t.Fatalf("admitted %v, want %v", order, tt.want)
				}
			}
			if q.Waiting() != 0 {
				t.Fatalf("%d still queued", q.Waiting())
			}
			// Every slot came back: a new request runs at once.
			mustAcquire(t, q, "z")()
		})
	}
}

// TestQueueBounds: a request is refused at once when the queue is full or
// its foreseen wait exceeds MaxWait, and after MaxWait if it did wait
// that long; Retry-After is the foreseen wait.
func TestQueueBounds(t *testing.T) {
	t.Run("queue full", func(t *testing.T) {
		q := NewQueue(1, time.Minute, 2)
		defer mustAcquire(t, q, "a")()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		for i := range 2 {
			go func() { _, _ = q.Acquire(ctx, "a") }()
			waitQueued(t, q, i+1)
		}
		_, err := q.Acquire(context.Background(), "b")
		var ref *Refused
		if !errors.As(err, &ref) || ref.Reason != RefusedQueueFull {
			t.Fatalf("third waiter: %v, want queue_full", err)
		}
	})
	t.Run("foreseen wait", func(t *testing.T) {
		q := NewQueue(2, 20*time.Second, 0)
		q.hold, q.holdSet = 10*time.Second, true // as if requests took 10 s each
		defer mustAcquire(t, q, "a")()
		defer mustAcquire(t, q, "a")()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// a's 1st queued request is foreseen at 5 s (10 s over 2 slots), its
		// 4th at 20 s: all within the bound.
		for i := range 4 {
			go func() { _, _ = q.Acquire(ctx, "a") }()
			waitQueued(t, q, i+1)
		}
		_, err := q.Acquire(context.Background(), "a")
		var ref *Refused
		if !errors.As(err, &ref) || ref.Reason != RefusedWait || ref.RetryAfter != 25*time.Second {
			t.Fatalf("a's 5th: %v, want refused for a 25s wait", err)
		}
		// b is served next by round-robin: one of a's ahead, 10 s foreseen.
		if wait := func() time.Duration { q.mu.Lock(); defer q.mu.Unlock(); return q.foreseeLocked("b") }(); wait != 10*time.Second {
			t.Fatalf("b foreseen at %v, want 10s", wait)
		}
	})
	t.Run("waited the bound", func(t *testing.T) {
		q := NewQueue(1, 10*time.Millisecond, 0)
		defer mustAcquire(t, q, "a")()
		_, err := q.Acquire(context.Background(), "b")
		var ref *Refused
		if !errors.As(err, &ref) || ref.Reason != RefusedWait {
			t.Fatalf("%v, want refused after the wait bound", err)
		}
		if q.Waiting() != 0 {
			t.Fatal("the refused request stayed queued")
		}
	})
	t.Run("client gone", func(t *testing.T) {
		q := NewQueue(1, time.Minute, 0)
		hold := mustAcquire(t, q, "a")
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() { _, err := q.Acquire(ctx, "b"); errc <- err }()
		waitQueued(t, q, 1)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("%v, want context.Canceled", err)
		}
		hold()
		// The slot was freed, not handed to the one who left.
		mustAcquire(t, q, "c")()
	})
}

// TestAdmissionMiddleware: a refusal is a SCIM 429 with an integer
// Retry-After and is counted with its reason; a request that waited is
// served; Slots <= 0 turns admission off.
func TestAdmissionMiddleware(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	var mu sync.Mutex
	refused := map[string]int{}
	waits := 0
	queuedOne := make(chan struct{}, 1)
	h := Admission(AdmissionOptions{
		Slots: 1, MaxWait: time.Minute, MaxQueue: 1,
		Key:       func(r *http.Request) string { return r.Header.Get("X-Token") },
		OnRefused: func(reason string) { mu.Lock(); refused[reason]++; mu.Unlock() },
		OnWait:    func(time.Duration) { mu.Lock(); waits++; mu.Unlock() },
		OnQueue: func(n int) {
			if n == 1 {
				queuedOne <- struct{}{}
			}
		},
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
	}))
	do := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	slow := make(chan int)
	go func() { slow <- do("/slow").Code }()
	<-started
	queued := make(chan int)
	go func() { queued <- do("/queued").Code }()
	<-queuedOne
	rec := do("/refused")
	scimError(t, rec, 429)
	if ra := rec.Header().Get("Retry-After"); ra != "1" {
		t.Fatalf("Retry-After %q, want 1", ra)
	}
	close(release)
	if c := <-slow; c != 200 {
		t.Fatalf("slow: %d", c)
	}
	if c := <-queued; c != 200 {
		t.Fatalf("queued request: %d, want 200 after waiting", c)
	}
	mu.Lock()
	defer mu.Unlock()
	if refused[RefusedQueueFull] == 0 || waits != 2 {
		t.Fatalf("refused %v, waits %d; want queue_full counted and 2 admitted", refused, waits)
	}
	if c := get(Admission(AdmissionOptions{})(echo), "1.2.3.4:5").Code; c != 200 {
		t.Fatalf("disabled: %d", c)
	}
}

// TestAddressBudget: each request (a failed authentication, a probe)
// spends its address's budget; beyond it the answer is limited with a
// Retry-After, and other addresses keep theirs.
func TestAddressBudget(t *testing.T) {
	limited := 0
	f := NewAddressBudget(1, 2, nil, func() { limited++ })
	f.tarpit = 0 // TestAddressBudgetTarpit holds answers
	req := func(addr string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		return r
	}
	for i, tt := range []struct {
		addr    string
		limited bool
	}{{"10.0.0.1:1", false}, {"10.0.0.1:2", false}, {"10.0.0.1:3", true}, {"10.0.0.2:1", false}} {
		s, got := f.Spend(req(tt.addr))
		if got != tt.limited || (got && s != 1) {
			t.Fatalf("failure %d from %s: limited=%v retry=%d, want limited=%v retry=1", i, tt.addr, got, s, tt.limited)
		}
	}
	if limited != 1 {
		t.Fatalf("onLimited called %d times", limited)
	}
	if _, got := NewAddressBudget(0, 1, nil, nil).Spend(req("10.0.0.1:1")); got {
		t.Fatal("AUTH_FAILURE_LIMIT=0 limited")
	}
	// As middleware: a SCIM 429 with Retry-After once spent.
	h := NewAddressBudget(1, 1, nil, nil)
	h.tarpit = 0
	mw := h.Middleware(echo)
	if c := get(mw, "10.0.0.3:1").Code; c != 200 {
		t.Fatalf("within the budget: %d", c)
	}
	rec := get(mw, "10.0.0.3:1")
	scimError(t, rec, 429)
	if rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
}

// TestAddressBudgetTarpit: a limited answer is held until the address has
// budget again (at most the tarpit), unless the client leaves, or as many
// answers are held as the bound allows.
func TestAddressBudgetTarpit(t *testing.T) {
	f := NewAddressBudget(0.001, 1, nil, nil) // one failure, then a refill in 1000 s
	f.tarpit = time.Hour                      // held until the client leaves
	r := httptest.NewRequest("GET", "/", nil)
	f.Spend(r) // the budget
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Spend(r.WithContext(ctx)); close(done) }()
	for len(f.held) != 1 {
		runtime.Gosched()
	}
	select {
	case <-done:
		t.Fatal("a limited answer was not held")
	default:
	}
	cancel()
	<-done
	// With the bound reached, the next is answered at once.
	for range maxTarpitted {
		f.held <- struct{}{}
	}
	if _, limited := f.Spend(r); !limited {
		t.Fatal("not limited")
	}
}
