package limit

import (
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// AddressBudget is a per-address budget of unauthenticated requests: a
// token bucket per client address (the same bounded table as Rate's). p4scim
// keeps two. One is spent only by requests that fail to authenticate: it is
// asked after the token check fails (auth.Options.LimitFailure), never
// before, so an IdP that shares its egress address or reverse proxy with a
// flood of bad tokens still authenticates, and the flood never reaches the
// admission queue that authenticated clients share (a failed check costs a
// SHA-256 and no p4 command; refusing it sooner would save nothing worth an
// IdP's access). The other is spent by the probes (/healthz, /readyz,
// /metrics), whose callers poll a few times a minute (Middleware).
//
// A limited failure is answered late: after the time until the address
// has budget again, at most a second (a tarpit). A flood runs on a fixed
// number of connections, so holding each answer turns thousands of
// requests a second into a few per connection, and the CPU the IdP's
// requests share stays theirs. At most maxTarpitted answers are held at
// once, so that holding them costs bounded memory; beyond that they are
// answered at once.
type AddressBudget struct {
	lim       *limiter
	clientKey func(*http.Request) string
	onLimited func()
	tarpit    time.Duration // longest hold of a limited answer
	held      chan struct{} // the answers held now
}

const (
	defaultTarpit = time.Second
	maxTarpitted  = 1024
)

// NewAddressBudget allows each client address perSecond requests on
// average and burst at once; perSecond <= 0 turns the limit off (Spend
// never limits).
// clientKey names the address (ClientIP); onLimited, if set, is called for
// every request limited (a metric hook).
func NewAddressBudget(perSecond float64, burst int, clientKey func(*http.Request) string, onLimited func()) *AddressBudget {
	if clientKey == nil {
		clientKey = ClientIP(nil)
	}
	return &AddressBudget{
		lim:       newLimiter(0, 0, rate.Limit(perSecond), burst, time.Now, defaultMaxClients),
		clientKey: clientKey, onLimited: onLimited,
		tarpit: defaultTarpit, held: make(chan struct{}, maxTarpitted),
	}
}

// Spend spends one request of r's address and reports whether its budget
// was already spent, with the Retry-After seconds until it has one again;
// a limited answer is held first (the tarpit).
func (f *AddressBudget) Spend(r *http.Request) (retryAfterSeconds int, limited bool) {
	wait, ok := f.lim.allow(f.clientKey(r))
	if ok {
		return 0, false
	}
	if f.onLimited != nil {
		f.onLimited()
	}
	if hold := min(wait, f.tarpit); hold > 0 {
		select {
		case f.held <- struct{}{}:
			t := time.NewTimer(hold)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
			<-f.held
		default: // enough held already: answer at once
		}
	}
	return retryAfter(wait), true
}

// Middleware spends the budget for every request, answering 429 with an
// integer Retry-After (after the tarpit) once an address has spent it.
func (f *AddressBudget) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, limited := f.Spend(r); limited {
			w.Header().Set("Retry-After", strconv.Itoa(s))
			WriteError(w, http.StatusTooManyRequests, "Too many requests from this address; retry after "+strconv.Itoa(s)+" seconds.")
			return
		}
		next.ServeHTTP(w, r)
	})
}
