package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loader sends requests, spread round-robin over the daemons, and records
// each into the phase running.
type loader struct {
	daemons []*daemon
	emu     invocationCounter
	hc      *http.Client
	rate    float64 // requests per second; 0 = unlimited
	next    atomic.Uint64

	paceMu   sync.Mutex
	paceNext time.Time

	mu  sync.Mutex
	cur *result
}

type invocationCounter interface {
	ResetInvocations()
	InvocationCount() int
}

// pace blocks until the next slot under the rate cap.
func (l *loader) pace(ctx context.Context) error {
	if l.rate <= 0 {
		return ctx.Err()
	}
	l.paceMu.Lock()
	now := time.Now()
	if l.paceNext.Before(now) {
		l.paceNext = now
	}
	at := l.paceNext
	l.paceNext = l.paceNext.Add(time.Duration(float64(time.Second) / l.rate))
	l.paceMu.Unlock()
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// do sends one request to the next daemon and records it; status 0 is a
// transport error.
func (l *loader) do(ctx context.Context, method, path string, body any) (int, []byte) {
	if err := l.pace(ctx); err != nil {
		return 0, nil
	}
	var rd io.Reader
	if body != nil {
		enc, err := json.Marshal(body)
		if err != nil {
			return 0, nil
		}
		rd = bytes.NewReader(enc)
	}
	d := l.daemons[int(l.next.Add(1))%len(l.daemons)]
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, rd)
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/scim+json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	t0 := time.Now()
	status, raw, id := 0, []byte(nil), ""
	if resp, err := l.hc.Do(req); err == nil {
		raw, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		status, id = resp.StatusCode, resp.Header.Get("X-Request-Id")
	}
	l.record(d, status, time.Since(t0), id)
	return status, raw
}

func (l *loader) record(d *daemon, status int, lat time.Duration, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.cur
	if r == nil {
		return
	}
	r.requests++
	r.statuses[status]++
	if !r.ok(status) {
		r.errs++
	}
	r.lat = append(r.lat, lat)
	if id != "" {
		r.ids[d] = append(r.ids[d], id)
	}
}

// result is one phase's figures.
type result struct {
	name        string
	ok          func(status int) bool
	requests    int
	statuses    map[int]int
	errs        int
	lat         []time.Duration
	wall        time.Duration
	invocations int
	ids         map[*daemon][]string
	own         []time.Duration // per request: duration in the daemon minus time in p4
	p4Time      time.Duration   // summed over the phase's requests, as the daemons logged it
	unlogged    int             // requests whose log line never came
	notes       []string
}

func is2xx(s int) bool { return s >= 200 && s < 300 }

// phase runs jobs 0..n-1 on conc workers; each job sends one or more
// requests through l.do, all measured as this phase.
func (l *loader) phase(ctx context.Context, name string, n, conc int, ok func(int) bool, job func(ctx context.Context, i int)) *result {
	r := &result{name: name, ok: ok, statuses: map[int]int{}, ids: map[*daemon][]string{}}
	l.emu.ResetInvocations()
	l.mu.Lock()
	l.cur = r
	l.mu.Unlock()
	idx := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				job(ctx, i)
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case idx <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(idx)
	wg.Wait()
	r.wall = time.Since(start)
	r.invocations = l.emu.InvocationCount()
	l.mu.Lock()
	l.cur = nil
	l.mu.Unlock()
	for d, ids := range r.ids {
		found, missing := d.logs.take(ids, 5*time.Second)
		r.unlogged += missing
		for _, s := range found {
			ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
			r.own = append(r.own, ms(s.DurationMs)-ms(s.P4Ms))
			r.p4Time += ms(s.P4Ms)
		}
	}
	return r
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
}

func (r *result) print(w io.Writer) {
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	sort.Slice(r.own, func(i, j int) bool { return r.own[i] < r.own[j] })
	st := statusCounts(r.statuses)
	tput, perReq := 0.0, 0.0
	if r.wall > 0 {
		tput = float64(r.requests) / r.wall.Seconds()
	}
	if r.requests > 0 {
		perReq = float64(r.invocations) / float64(r.requests)
	}
	fmt.Fprintf(w, "%-26s requests=%d errors=%d statuses[%s] wall=%.1fs throughput=%.1f req/s p4/request=%.2f (%d invocations)\n",
		r.name, r.requests, r.errs, strings.Join(st, " "), r.wall.Seconds(), tput, perReq, r.invocations)
	fmt.Fprintf(w, "%-26s latency p50=%s p90=%s p99=%s max=%s | p4scim own time p50=%s p99=%s",
		"", ms(pct(r.lat, 0.50)), ms(pct(r.lat, 0.90)), ms(pct(r.lat, 0.99)), ms(pct(r.lat, 1)), ms(pct(r.own, 0.5)), ms(pct(r.own, 0.99)))
	if r.unlogged > 0 {
		fmt.Fprintf(w, " (%d requests had no log line)", r.unlogged)
	}
	fmt.Fprintln(w)
	for _, n := range r.notes {
		fmt.Fprintf(w, "%-26s %s\n", "", n)
	}
}

// total folds phases into one result.
func total(rs []*result) *result {
	all := &result{name: "all phases", ok: is2xx, statuses: map[int]int{}, ids: map[*daemon][]string{}}
	for _, r := range rs {
		all.requests += r.requests
		all.errs += r.errs
		all.lat = append(all.lat, r.lat...)
		all.own = append(all.own, r.own...)
		all.wall += r.wall
		all.invocations += r.invocations
		all.p4Time += r.p4Time
		all.unlogged += r.unlogged
		for c, n := range r.statuses {
			all.statuses[c] += n
		}
	}
	return all
}

// statusCounts renders a count per HTTP status, in status order, as
// "201=10 429=2"; 0 is a network error.
func statusCounts(statuses map[int]int) []string {
	codes := make([]int, 0, len(statuses))
	for c := range statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	st := make([]string, 0, len(codes))
	for _, c := range codes {
		label := strconv.Itoa(c)
		if c == 0 {
			label = "neterr"
		}
		st = append(st, fmt.Sprintf("%s=%d", label, statuses[c]))
	}
	return st
}
