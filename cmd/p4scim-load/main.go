// Command p4scim-load drives IdP-shaped SCIM traffic at running p4scim
// daemons in front of the Helix Core emulator, and prints what it costs:
// throughput, latency percentiles, p4 invocations per request, p4scim's own
// time per request (excluding time inside p4) and the daemons' peak RSS.
//
// It starts the emulator in this process (with an optional delay on every
// p4 command, standing in for a remote Helix Core), makes this binary the
// `p4` executable (a symlink named p4), and runs one or more real
// `p4scim serve` processes against it, so the daemon measured is the one an
// admin runs and every p4 command is a real exec of a marshalling client.
// All traffic is loopback, every loop is bounded by count, and the whole
// run by -max-duration.
//
//	go build -o /tmp/p4scim ./cmd/p4scim
//	go build -o /tmp/p4scim-load ./cmd/p4scim-load
//	/tmp/p4scim-load -daemon /tmp/p4scim -users 1000 -groups 50 -members 2000
//
// p4scim runs with its shipped defaults (admission by capacity, no rate
// caps); -p4-concurrency, -max-in-flight and -daemon-env KEY=VALUE change
// them, and the report names every change. Each phase counts its 429s, and
// the run ends with the total.
//
// Phases, in order: initial sync (users), one client's burst of creates
// (-burst at -burst-concurrency), groups and batched memberships, filter
// look-ups, an IdP's look-ups paced at -entra-rate alone, under a flood of
// wrong-token requests and under a flood of /readyz probes (from the
// -flood-addresses, bound as local source addresses so that each is a
// client of its own), an incremental cycle (PUT, deactivation, membership
// changes), a contention burst (concurrent member adds and removes to one
// group, spread over every daemon), an Entra-like mix at a fixed rate, and
// an import paging through every user. It then checks Helix Core's state
// against what the traffic should have made, and exits non-zero if any
// request failed or the state is wrong.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/p4scim/p4scim/p4/p4emu"
)

const (
	token       = "load-token-0123456789abcdefghijklmnopqrstuvwxyz"
	userSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"
	entSchema   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	patchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	password    = "L0ad-Test-Passw0rd!"
	pageSize    = 100
)

func main() {
	if p4emu.IsClient(os.Args[0]) {
		os.Exit(p4emu.RunClient(os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "p4scim-load: %v\n", err)
		os.Exit(1)
	}
}

type config struct {
	daemon                          string
	p4bin                           string
	replicas                        int
	users, groups, members, updates int
	concurrency                     int
	batch                           int
	contention                      int
	entraCycles                     int
	entraRate                       float64
	p4Latency                       time.Duration
	rate                            float64
	maxDuration                     time.Duration
	p4Concurrency                   int
	maxInFlight                     int
	burst, burstConcurrency         int
	floodLookups, floodWorkers      int
	floodRounds                     int
	floodAddrs                      []string
	floodRate                       float64
	daemonEnv                       []string
	verbose                         bool
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }
func (e *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	*e = append(*e, v)
	return nil
}

func parseFlags(args []string, errOut io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("p4scim-load", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&c.daemon, "daemon", "", "the p4scim binary to run and load (required; go build -o /tmp/p4scim ./cmd/p4scim)")
	fs.StringVar(&c.p4bin, "p4", "", "the p4 client the daemons exec (default: this binary, as the emulator's client; go build -o /tmp/p4 ./cmd/p4emu gives the same client without the load tool's weight)")
	fs.IntVar(&c.replicas, "replicas", 1, "p4scim processes on the one Helix Core; requests are spread round-robin")
	fs.IntVar(&c.users, "users", 1000, "users created in the initial sync (N)")
	fs.IntVar(&c.groups, "groups", 50, "groups created in the initial sync (G)")
	fs.IntVar(&c.members, "members", 2000, "memberships added in the initial sync, in total (M)")
	fs.IntVar(&c.updates, "updates", 100, "incremental cycle: look-ups, PUT updates, deactivations and membership changes, each (K)")
	fs.IntVar(&c.concurrency, "concurrency", 8, "requests in flight in the sync, look-up and incremental phases (C)")
	fs.IntVar(&c.batch, "member-batch", 20, "members per PATCH in the initial sync (Entra batches several members per operation)")
	fs.IntVar(&c.contention, "contention", 100, "concurrent member PATCHes to one group: half adds, half removes (0 = skip)")
	fs.IntVar(&c.entraCycles, "entra-cycles", 100, "Entra-like cycles of 5 requests (look-up, create, update, member add, group look-up) (0 = skip)")
	fs.Float64Var(&c.entraRate, "entra-rate", 25, "requests per second of the Entra-like phase (Entra's published rate per tenant)")
	fs.DurationVar(&c.p4Latency, "p4-latency", 0, "delay the emulator adds to every p4 command (a remote Helix Core)")
	fs.Float64Var(&c.rate, "rate", 0, "cap on requests per second in the other phases, 0 = unlimited")
	fs.DurationVar(&c.maxDuration, "max-duration", 60*time.Minute, "stop issuing requests after this long")
	fs.IntVar(&c.p4Concurrency, "p4-concurrency", 0, "p4scim's P4_MAX_CONCURRENT (0 = its default)")
	fs.IntVar(&c.maxInFlight, "max-in-flight", 0, "p4scim's MAX_IN_FLIGHT (0 = its default)")
	fs.IntVar(&c.burst, "burst", 200, "one client's burst of creates after the sync, all at -burst-concurrency (0 = skip)")
	fs.IntVar(&c.burstConcurrency, "burst-concurrency", 32, "requests in flight in the burst")
	fs.IntVar(&c.floodLookups, "flood-lookups", 300, "IdP look-ups (at -entra-rate) measured alone, under a wrong-token flood and under a /readyz flood (0 = skip)")
	floodAddrs := fs.String("flood-addresses", "127.0.0.2,127.0.0.3,127.0.0.4", "local source addresses of the floods, comma-separated (each one client to the daemon)")
	fs.IntVar(&c.floodRounds, "flood-rounds", 5, "rounds the three flood conditions alternate in")
	fs.IntVar(&c.floodWorkers, "flood-workers", 4, "concurrent flood requests per source address")
	fs.Float64Var(&c.floodRate, "flood-rate", 0, "flood requests per second per source address (0 = as fast as the workers go)")
	var env envList
	fs.Var(&env, "daemon-env", "KEY=VALUE added to every p4scim's environment, repeatable (e.g. RATE_LIMIT=50); by default p4scim runs with its shipped defaults")
	fs.BoolVar(&c.verbose, "v", false, "copy p4scim's warnings and errors to stderr")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.daemonEnv = env
	for _, a := range strings.Split(*floodAddrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.floodAddrs = append(c.floodAddrs, a)
		}
	}
	switch {
	case c.daemon == "":
		return c, errors.New("-daemon is required: the p4scim binary to load (go build -o /tmp/p4scim ./cmd/p4scim)")
	case c.replicas < 1:
		return c, errors.New("-replicas must be at least 1")
	case c.users < 1:
		return c, errors.New("-users must be at least 1")
	case c.groups < 0 || c.members < 0 || c.updates < 0 || c.contention < 0 || c.entraCycles < 0:
		return c, errors.New("-groups, -members, -updates, -contention and -entra-cycles must not be negative")
	case c.members > 0 && c.groups == 0, c.entraCycles > 0 && c.groups == 0:
		return c, errors.New("-members and -entra-cycles need -groups")
	case c.concurrency < 1:
		return c, errors.New("-concurrency must be at least 1")
	case c.batch < 1:
		return c, errors.New("-member-batch must be at least 1")
	case c.rate < 0 || c.entraRate <= 0:
		return c, errors.New("-rate must not be negative and -entra-rate must be positive")
	case c.contention > c.users:
		return c, errors.New("-contention must not exceed -users")
	case c.burst < 0 || c.burstConcurrency < 1:
		return c, errors.New("-burst must not be negative and -burst-concurrency must be at least 1")
	case c.floodLookups < 0 || c.floodWorkers < 1 || c.floodRounds < 1 || c.floodRate < 0:
		return c, errors.New("-flood-lookups and -flood-rate must not be negative, -flood-workers and -flood-rounds at least 1")
	case c.floodLookups > 0 && len(c.floodAddrs) == 0:
		return c, errors.New("-flood-lookups needs -flood-addresses")
	}
	for _, a := range c.floodAddrs {
		if net.ParseIP(a) == nil {
			return c, fmt.Errorf("-flood-addresses: %q is not an IP address", a)
		}
	}
	return c, nil
}

// emulator adapts the in-process Helix Core emulator to the loader.
type emulator struct{ *p4emu.Server }

func (e emulator) InvocationCount() int { return len(e.Invocations()) }

func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	cfg, err := parseFlags(args, errOut)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.maxDuration)
	defer cancel()

	dir, err := os.MkdirTemp("", "p4scim-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p4bin := cfg.p4bin
	if p4bin == "" {
		if p4bin, err = p4emu.InstallClient(dir); err != nil {
			return fmt.Errorf("linking this binary as p4: %w", err)
		}
	}
	emu := p4emu.New(p4emu.Options{})
	if err := emu.Listen("127.0.0.1:0"); err != nil {
		return fmt.Errorf("starting the emulator: %w", err)
	}
	defer emu.Close()
	if cfg.p4Latency > 0 {
		emu.SetFault("", p4emu.Fault{Delay: cfg.p4Latency})
	}
	eff := emu.Options()

	var verbose io.Writer
	if cfg.verbose {
		verbose = errOut
	}
	var daemons []*daemon
	defer func() {
		for _, d := range daemons {
			d.stop()
		}
	}()
	for i := 0; i < cfg.replicas; i++ {
		listen, err := freeAddress()
		if err != nil {
			return err
		}
		env := daemonEnv(cfg, emu.Addr(), eff.SuperUser, eff.SuperPassword, p4bin, listen)
		d, err := startDaemon(ctx, cfg.daemon, dir, env, listen, verbose)
		if err != nil {
			return fmt.Errorf("p4scim %d: %w", i+1, err)
		}
		daemons = append(daemons, d)
	}

	l := &loader{daemons: daemons, emu: emulator{emu}, rate: cfg.rate, hc: &http.Client{
		Timeout: 3 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: max(cfg.contention, cfg.burstConcurrency) + cfg.concurrency + 1,
			DisableCompression: true},
	}}
	fmt.Fprintf(out, "p4scim-load: p4scim settings: %s\n", settingsNote(cfg))
	fmt.Fprintf(out, "p4scim-load: daemon=%s p4=%s replicas=%d users=%d groups=%d members=%d updates=%d concurrency=%d member-batch=%d contention=%d entra-cycles=%d entra-rate=%g p4-latency=%s rate=%g\n",
		cfg.daemon, p4bin, cfg.replicas, cfg.users, cfg.groups, cfg.members, cfg.updates, cfg.concurrency, cfg.batch,
		cfg.contention, cfg.entraCycles, cfg.entraRate, cfg.p4Latency, cfg.rate)

	sc := newScenario(cfg, l)
	results := sc.run(ctx, func(r *result) {
		for i, d := range daemons {
			if rss, peak, err := memory(d.cmd.Process.Pid); err == nil {
				r.notes = append(r.notes, fmt.Sprintf("p4scim %d RSS now=%.1f MiB peak=%.1f MiB", i+1, float64(rss)/1024, float64(peak)/1024))
			}
		}
		r.print(out)
	})
	all := total(results)
	all.print(out)
	fmt.Fprintf(out, "answered 429: %d of %d requests (p4scim settings: %s)\n", all.statuses[http.StatusTooManyRequests], all.requests, settingsNote(cfg))

	var failures []string
	for i, d := range daemons {
		_, peak, err := memory(d.cmd.Process.Pid)
		if err != nil {
			return fmt.Errorf("p4scim %d: reading its memory: %w", i+1, err)
		}
		fmt.Fprintf(out, "p4scim %d peak RSS (VmHWM of the daemon process alone): %.1f MiB; warnings/errors logged: %d\n",
			i+1, float64(peak)/1024, d.logs.warnings())
	}
	if _, peak, err := memory(os.Getpid()); err == nil {
		fmt.Fprintf(out, "load generator + emulator peak RSS: %.1f MiB\n", float64(peak)/1024)
	}
	if ctx.Err() != nil {
		failures = append(failures, "stopped early: "+ctx.Err().Error())
	}
	for _, r := range results {
		if r.errs > 0 {
			failures = append(failures, fmt.Sprintf("%s: %d failed requests", r.name, r.errs))
		}
	}
	problems := sc.verify(ctx, emu)
	if len(problems) == 0 {
		fmt.Fprintln(out, "Helix Core state: as the traffic should have made it (users, e-mails, group memberships, deactivations)")
	}
	for _, p := range problems {
		fmt.Fprintf(out, "Helix Core state: %s\n", p)
	}
	failures = append(failures, problems...)
	if len(failures) > 0 {
		return fmt.Errorf("%d problems, first: %s", len(failures), failures[0])
	}
	return nil
}

// settingsNote says which p4scim settings the run changed from the shipped
// defaults.
func settingsNote(cfg config) string {
	var set []string
	if cfg.p4Concurrency > 0 {
		set = append(set, "P4_MAX_CONCURRENT="+strconv.Itoa(cfg.p4Concurrency))
	}
	if cfg.maxInFlight > 0 {
		set = append(set, "MAX_IN_FLIGHT="+strconv.Itoa(cfg.maxInFlight))
	}
	set = append(set, cfg.daemonEnv...)
	if len(set) == 0 {
		return "the shipped defaults"
	}
	return "the shipped defaults but " + strings.Join(set, " ")
}
