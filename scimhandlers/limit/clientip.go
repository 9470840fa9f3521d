package limit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns a function naming the client of a request by IP
// address, for per-client limits and logs.
//
// It is the peer address, unless the peer is one of the trusted proxies:
// then X-Forwarded-For is read from the right, skipping entries that are
// themselves trusted proxies, and the first other address is the client.
// Only the right end of the header can be believed, since each proxy
// appends what it saw and anything to the left came from the client; so a
// client cannot pick its own bucket by sending a forged header, and an
// X-Forwarded-For from an untrusted peer is ignored altogether. An entry
// that is not an address stops the walk at the last trusted hop.
func ClientIP(trusted []netip.Prefix) func(*http.Request) string {
	prefixes := make([]netip.Prefix, 0, len(trusted))
	for _, p := range trusted {
		if p.IsValid() {
			prefixes = append(prefixes, p.Masked())
		}
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer, ok := parseAddr(r.RemoteAddr)
		if !ok {
			return r.RemoteAddr // not an IP (a unix socket, a test): the best name there is
		}
		if len(prefixes) == 0 || !isTrusted(peer) {
			return peer.String()
		}
		client := peer
		entries := forwardedFor(r.Header.Values("X-Forwarded-For"))
		for i := len(entries) - 1; i >= 0; i-- {
			a, ok := parseAddr(entries[i])
			if !ok {
				break
			}
			client = a
			if !isTrusted(a) {
				break
			}
		}
		return client.String()
	}
}

// forwardedFor splits X-Forwarded-For values, which proxies may send as
// several header lines or one comma-separated list.
func forwardedFor(values []string) []string {
	var out []string
	for _, v := range values {
		for _, e := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(e))
		}
	}
	return out
}

// parseAddr reads an IP address with or without a port ("1.2.3.4",
// "1.2.3.4:80", "[::1]:80", "::1"), dropping any zone and unmapping
// IPv4-in-IPv6 so that one client has one name.
func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		host, _, serr := net.SplitHostPort(s)
		if serr != nil {
			return netip.Addr{}, false
		}
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.Addr{}, false
		}
	}
	return a.Unmap().WithZone(""), true
}
