package limit

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of the per-client table. They bound memory under a flood from
// many addresses: 10 000 limiters are well under a megabyte.
const (
	defaultMaxClients = 10000
	minIdle           = time.Minute
)

// RateOptions configure Rate.
type RateOptions struct {
	// Overall is the request rate for all clients together, per second;
	// <= 0 or rate.Inf disables it. Burst is how many may come at once.
	Overall rate.Limit
	Burst   int
	// PerClient and ClientBurst are the same for each client; <= 0 or
	// rate.Inf disables the per-client limit.
	PerClient   rate.Limit
	ClientBurst int
	// ClientKey names the client of a request; nil means ClientIP(nil),
	// the peer address.
	ClientKey func(*http.Request) string
	// OnLimited, if set, is called for every refused request (a metric
	// hook). It must be safe for concurrent use.
	OnLimited func()
	// Now is the clock; nil means time.Now. For tests.
	Now func() time.Time
	// MaxClients bounds the per-client table; 0 means 10 000.
	MaxClients int
}

// Rate limits requests overall and per client with token buckets
// (golang.org/x/time/rate). A burst below 1 is raised to 1.
//
// A refused request gets a 429 with an integer Retry-After: the time until
// a token is available, rounded up, at least 1 second. The per-client
// bucket is checked first so that one noisy client is told to wait without
// spending the overall budget the others share.
func Rate(o RateOptions) func(http.Handler) http.Handler {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	maxClients := o.MaxClients
	if maxClients <= 0 {
		maxClients = defaultMaxClients
	}
	clientKey := o.ClientKey
	if clientKey == nil {
		clientKey = ClientIP(nil)
	}
	l := newLimiter(o.Overall, o.Burst, o.PerClient, o.ClientBurst, now, maxClients)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if wait, ok := l.allow(clientKey(r)); !ok {
				if o.OnLimited != nil {
					o.OnLimited()
				}
				s := retryAfter(wait)
				w.Header().Set("Retry-After", strconv.Itoa(s))
				WriteError(w, http.StatusTooManyRequests,
					"Too many requests; retry after "+strconv.Itoa(s)+" seconds.")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// limiter is the state behind Rate.
type limiter struct {
	overall     *rate.Limiter // nil: no overall limit
	perClient   rate.Limit    // 0: no per-client limit
	clientBurst int
	now         func() time.Time
	maxClients  int
	idle        time.Duration // a client bucket untouched this long is full again

	mu        sync.Mutex
	clients   map[string]*client
	overflow  *rate.Limiter // shared by new clients while the table is full
	lastSweep time.Time
}

type client struct {
	lim  *rate.Limiter
	last time.Time
}

func enabled(l rate.Limit) bool { return l > 0 && l != rate.Inf }

func newLimiter(overall rate.Limit, burst int, perClient rate.Limit, clientBurst int, now func() time.Time, maxClients int) *limiter {
	burst, clientBurst = max(burst, 1), max(clientBurst, 1)
	l := &limiter{now: now, maxClients: max(maxClients, 1), clients: make(map[string]*client)}
	if enabled(overall) {
		l.overall = rate.NewLimiter(overall, burst)
	}
	if enabled(perClient) {
		l.perClient, l.clientBurst = perClient, clientBurst
		l.overflow = rate.NewLimiter(perClient, clientBurst)
		// A bucket left alone for burst/rate seconds is full: dropping it
		// and starting a fresh (full) one later changes nothing, so
		// eviction never lets a client exceed its rate.
		refill := time.Duration(math.Ceil(float64(clientBurst) / float64(perClient) * float64(time.Second)))
		l.idle = max(refill, minIdle)
	}
	return l
}

// allow takes a token for key, or reports how long until one is available.
func (l *limiter) allow(key string) (time.Duration, bool) {
	now := l.now()
	var cr *rate.Reservation
	if l.perClient > 0 {
		cr = l.clientLimiter(key, now).ReserveN(now, 1)
		if d := cr.DelayFrom(now); !cr.OK() || d > 0 {
			cr.CancelAt(now) // give the token back: this request will not run
			return d, false
		}
	}
	if l.overall != nil {
		or := l.overall.ReserveN(now, 1)
		if d := or.DelayFrom(now); !or.OK() || d > 0 {
			or.CancelAt(now)
			if cr != nil {
				cr.CancelAt(now)
			}
			return d, false
		}
	}
	return 0, true
}

// clientLimiter returns key's bucket, creating it if there is room. Idle
// buckets are swept at most once per idle period, or when the table is
// full; if the table is still full, a new client shares the overflow
// bucket, so memory stays bounded whatever the number of addresses, and
// the overall limit still holds.
func (l *limiter) clientLimiter(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.clients[key]; ok {
		c.last = now
		return c.lim
	}
	if len(l.clients) >= l.maxClients || now.Sub(l.lastSweep) >= l.idle {
		l.sweepLocked(now)
	}
	if len(l.clients) >= l.maxClients {
		return l.overflow
	}
	c := &client{lim: rate.NewLimiter(l.perClient, l.clientBurst), last: now}
	l.clients[key] = c
	return c.lim
}

func (l *limiter) sweepLocked(now time.Time) {
	for k, c := range l.clients {
		if now.Sub(c.last) >= l.idle {
			delete(l.clients, k)
		}
	}
	l.lastSweep = now
}

// size returns the number of per-client buckets held (for tests).
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}
