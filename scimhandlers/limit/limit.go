// Package limit holds the HTTP middleware that protects the bridge from
// more than it should take: bodies too large (413); more work at once than
// Helix Core should see, which queues per token and is refused (429) only
// when the wait would be too long (Admission); failed authentications and
// probes from one address (AddressBudget); and optional hard caps on the
// request rate overall or per client (Rate, off by default). Each answers
// with a SCIM error body, because IdPs parse every error response as one
// (RFC 7644 §3.12), and with an integer Retry-After where waiting helps,
// which Okta and Entra honour.
//
// The SCIM library below has no limits of its own and turns a failed body
// read into a 400 invalidSyntax, so these must run before it.
package limit

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"
)

// MaxBody refuses request bodies larger than n bytes with a 413.
//
// A declared Content-Length over n is refused before anything is read. A
// body of unknown length (chunked) is read here, up to n+1 bytes: more than
// n is refused with a 413; otherwise r.Body is replaced with the buffered
// bytes. Reading it here, rather than wrapping it in http.MaxBytesReader,
// is what makes the answer a 413: the SCIM library swallows read errors and
// answers 400. A declared length within n needs no buffering, since
// net/http never delivers more than the declared length.
func MaxBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				tooLarge(w, n)
				return
			}
			if r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
				buf, err := io.ReadAll(io.LimitReader(r.Body, n+1))
				_ = r.Body.Close()
				switch {
				case int64(len(buf)) > n:
					tooLarge(w, n)
					return
				case err != nil:
					var mbe *http.MaxBytesError
					if errors.As(err, &mbe) {
						tooLarge(w, n)
						return
					}
					WriteError(w, http.StatusBadRequest, "The request body could not be read.")
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(buf))
				r.ContentLength = int64(len(buf))
			}
			next.ServeHTTP(w, r)
		})
	}
}

func tooLarge(w http.ResponseWriter, n int64) {
	// The rest of an oversized body is not worth reading to keep the
	// connection alive; closing it frees the client and us.
	w.Header().Set("Connection", "close")
	WriteError(w, http.StatusRequestEntityTooLarge,
		"The request body is larger than the limit of "+strconv.FormatInt(n, 10)+" bytes.")
}

// retryAfter turns a delay into Retry-After seconds: an integer (RFC 9110
// allows a date too, but IdPs parse the integer form), rounded up, at
// least 1 so that a client never retries at once.
func retryAfter(d time.Duration) int {
	s := math.Ceil(d.Seconds())
	if s < 1 {
		return 1
	}
	if s > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(s)
}

// WriteError writes a SCIM error body (RFC 7644 §3.12) with no scimType,
// through the SCIM library's marshaller so that the form matches the rest
// of the API.
func WriteError(w http.ResponseWriter, status int, detail string) {
	b, _ := scimerrors.ScimError{Status: status, Detail: detail}.MarshalJSON()
	h := w.Header()
	h.Set("Content-Type", "application/scim+json")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
