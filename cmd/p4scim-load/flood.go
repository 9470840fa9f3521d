package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// wrongToken is what the wrong-token flood presents: well-formed, valid
// for nothing.
const wrongToken = "flood-wrong-token-0123456789abcdefghijklmnopqrstuvwxyz"

// flood sends requests as fast as its workers can (or at rate per
// address) from several local source addresses until stopped: an attacker
// or a misconfigured client, and the traffic the IdP must not feel.
// Binding 127.0.0.x as the source makes each address a client of its own
// to the daemon, as distinct egress addresses would be.
type flood struct {
	kind    string // "wrong-token" or "readyz"
	addrs   []string
	workers int     // per address
	rate    float64 // requests per second per address; 0 = as fast as possible

	sent     atomic.Int64
	mu       sync.Mutex
	statuses map[int]int
}

func newFlood(kind string, addrs []string, workers int, rate float64) *flood {
	return &flood{kind: kind, addrs: addrs, workers: workers, rate: rate, statuses: map[int]int{}}
}

// run floods the daemons until ctx ends.
func (f *flood) run(ctx context.Context, daemons []*daemon) {
	var wg sync.WaitGroup
	for _, addr := range f.addrs {
		local := &net.TCPAddr{IP: net.ParseIP(addr)}
		hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			DialContext:         (&net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: f.workers, DisableCompression: true,
		}}
		var interval time.Duration
		if f.rate > 0 {
			interval = time.Duration(float64(time.Second) * float64(f.workers) / f.rate)
		}
		for w := 0; w < f.workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer hc.CloseIdleConnections()
				next := time.Now()
				for i := w; ctx.Err() == nil; i++ {
					if interval > 0 {
						next = next.Add(interval)
						if !sleepUntil(ctx, next) {
							return
						}
					}
					f.one(ctx, hc, daemons[i%len(daemons)])
				}
			}()
		}
	}
	wg.Wait()
}

func (f *flood) one(ctx context.Context, hc *http.Client, d *daemon) {
	url := d.root + "/readyz"
	if f.kind == "wrong-token" {
		url = d.base + "/Users?filter=" + `userName%20eq%20%22someone%40example.com%22`
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return
	}
	if f.kind == "wrong-token" {
		req.Header.Set("Authorization", "Bearer "+wrongToken)
	}
	status := 0
	if resp, err := hc.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
	} else if ctx.Err() != nil {
		return // stopped mid-request: not an answer
	}
	f.sent.Add(1)
	f.mu.Lock()
	f.statuses[status]++
	f.mu.Unlock()
}

// summary is one line: how much the flood sent and what it got.
func (f *flood) summary(wall time.Duration) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := statusCounts(f.statuses)
	perSec := 0.0
	if wall > 0 {
		perSec = float64(f.sent.Load()) / wall.Seconds()
	}
	return fmt.Sprintf("%s flood from %s (%d workers each): %d requests (%.0f/s) statuses[%s]",
		f.kind, strings.Join(f.addrs, ","), f.workers, f.sent.Load(), perSec, strings.Join(st, " "))
}

func sleepUntil(ctx context.Context, at time.Time) bool {
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
