package p4emu

import (
	"errors"
	"net"
	"slices"
	"sync"
	"time"
)

// Server is an in-memory Helix Core server. All methods are goroutine-safe.
type Server struct {
	opts Options

	mu      sync.Mutex // guards the Helix Core state below
	users   map[string]*userRec
	groups  map[string]*Group
	keys    map[string]string
	tickets map[string]*ticket
	// protections is the protections table, in order (§5.5).
	protections []ProtectLine
	// configurables holds what `configure show` reports beyond security
	// (§5.6); unset names show their documented default.
	configurables map[string]string
	started       time.Time

	netMu    sync.Mutex // guards the listener state below
	addr     string
	ln       net.Listener
	conns    map[net.Conn]struct{}
	faults   map[string]Fault
	nth      NthFault // armed by FaultNth (nth.go)
	nthSeen  int
	nthFired bool
	invs     []Invocation
	closed   chan struct{} // closed by Close: releases hung handlers
	wg       sync.WaitGroup
	isClose  bool
}

// Fault makes the server misbehave for a command ("" = every command).
type Fault struct {
	Delay time.Duration // sleep before answering
	Hang  bool          // never answer (until Stop/Close)
	Drop  bool          // close the connection without answering
	// Fail answers with this error text at severity 3 and generic Generic
	// (0 means EV_FAULT, 33) instead of running the command.
	Fail    string
	Generic int
	// AfterCommit runs the command first, keeping every change it made;
	// then Fail replaces its answer, or Hang / Drop lose it. With Fail
	// this is a form-commit trigger failing after p4d committed the spec
	// (the trigger fires "after a form is committed to the database",
	// P4SAG "Form-commit triggers"); p4d's text for a failed trigger is
	// "'%trigger%' validation failed: %result%" at E_FAILED, EV_NOTYET (5)
	// (p4source msgs/msgserver.cc TriggerFailed). p4-cli.md does not cover
	// triggers; that a form-commit failure reaches the client this way is
	// [INF]. With Drop it is a connection lost after the commit.
	AfterCommit bool
	// Flag limits the fault to invocations whose command arguments hold
	// this word, e.g. "-i" for spec saves only ("" = every invocation).
	Flag string
}

// Invocation records one command the server received. It never holds stdin.
type Invocation struct {
	Args    []string // the client's argv (os.Args[1:]), global options included
	User    string
	Command string
	Time    time.Time
}

// New returns a server with the bootstrap super user created.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	if opts.Fingerprint == "" {
		opts.Fingerprint = randomFingerprint()
	}
	s := &Server{
		opts:          opts,
		users:         map[string]*userRec{},
		groups:        map[string]*Group{},
		keys:          map[string]string{},
		tickets:       map[string]*ticket{},
		configurables: map[string]string{},
		conns:         map[net.Conn]struct{}{},
		faults:        map[string]Fault{},
		closed:        make(chan struct{}),
	}
	s.started = s.now()
	s.createUserLocked(User{Name: opts.SuperUser}, opts.SuperPassword)
	s.protections = defaultProtections(opts.SuperUser)
	return s
}

// Options returns the effective options (defaults applied).
func (s *Server) Options() Options { return s.opts }

// Fingerprint returns the fingerprint presented on ssl: ports.
func (s *Server) Fingerprint() string { return s.opts.Fingerprint }

// Listen starts serving on addr ("127.0.0.1:0" picks a port).
func (s *Server) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.netMu.Lock()
	defer s.netMu.Unlock()
	if s.isClose {
		ln.Close()
		return errors.New("p4emu: server closed")
	}
	if s.ln != nil {
		ln.Close()
		return errors.New("p4emu: already listening")
	}
	s.ln, s.addr = ln, ln.Addr().String()
	s.wg.Add(1)
	go s.serve(ln)
	return nil
}

// Addr is the host:port to use as P4PORT.
func (s *Server) Addr() string {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	return s.addr
}

// Stop closes the listener and open connections, so clients get
// "Connection refused"; the state is kept for Start.
func (s *Server) Stop() error {
	s.netMu.Lock()
	ln := s.ln
	s.ln = nil
	for c := range s.conns {
		c.Close()
	}
	s.netMu.Unlock()
	if ln == nil {
		return nil
	}
	return ln.Close()
}

// Start listens again on the address of the last Listen.
func (s *Server) Start() error {
	addr := s.Addr()
	if addr == "" {
		return errors.New("p4emu: Start before Listen")
	}
	return s.Listen(addr)
}

// Close stops the server for good and waits for every handler, hung ones
// included, to return.
func (s *Server) Close() error {
	s.netMu.Lock()
	if !s.isClose {
		s.isClose = true
		close(s.closed)
	}
	s.netMu.Unlock()
	err := s.Stop()
	s.wg.Wait()
	return err
}

// SetFault installs a fault for command ("" = every command).
func (s *Server) SetFault(command string, f Fault) {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	s.faults[command] = f
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	s.faults = map[string]Fault{}
}

// Invocations returns a copy of the invocation record.
func (s *Server) Invocations() []Invocation {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	out := make([]Invocation, len(s.invs))
	for i, inv := range s.invs {
		inv.Args = append([]string(nil), inv.Args...)
		out[i] = inv
	}
	return out
}

// ResetInvocations clears the invocation record.
func (s *Server) ResetInvocations() {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	s.invs = nil
}

func (s *Server) serve(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.netMu.Lock()
		if s.ln != ln {
			s.netMu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.netMu.Unlock()
		go s.handle(c)
	}
}

func (s *Server) handle(nc net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.netMu.Lock()
		delete(s.conns, nc)
		s.netMu.Unlock()
		nc.Close()
	}()
	c := newConn(nc)
	for {
		var req request
		if err := c.recv(&req); err != nil {
			return
		}
		if req.Hello {
			if c.send(response{Fingerprint: s.opts.Fingerprint}) != nil {
				return
			}
			continue
		}
		f, crash := s.record(req)
		if crash != nil {
			crash()
		}
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-s.closed:
				return
			}
		}
		var resp response
		if f.AfterCommit {
			// The command runs and its changes stay; the fault below then
			// replaces or loses the answer.
			resp = s.execute(req, nc.RemoteAddr().String())
		}
		if f.Hang {
			// Wait until the connection or the server goes away, so a
			// hung handler never outlives Close.
			done := make(chan struct{})
			go func() {
				var b [1]byte
				_, _ = nc.Read(b[:])
				close(done)
			}()
			select {
			case <-done:
			case <-s.closed:
			}
			return
		}
		if f.Drop {
			return
		}
		switch {
		case f.Fail != "":
			gen := f.Generic
			if gen == 0 {
				gen = genFault
			}
			var o output
			o.fail(gen, "%s", f.Fail)
			resp = s.finish(req, &o)
		case !f.AfterCommit:
			resp = s.execute(req, nc.RemoteAddr().String())
		}
		if c.send(resp) != nil {
			return
		}
	}
}

// record appends the invocation and returns the fault that applies, and
// for a FaultCrash the function to call before it.
func (s *Server) record(req request) (Fault, func()) {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	s.invs = append(s.invs, Invocation{Args: append([]string(nil), req.Argv...), User: req.User,
		Command: req.Command, Time: s.opts.Now()})
	if f, crash, ok := s.nthLocked(); ok {
		return f, crash
	}
	if f, ok := s.faults[req.Command]; ok && (f.Flag == "" || slices.Contains(req.Args, f.Flag)) {
		return f, nil
	}
	return s.faults[""], nil
}

// finish encodes an output for the request's mode.
func (s *Server) finish(req request, o *output) response {
	stdout, stderr := o.encode(req.Mode)
	return response{Stdout: stdout, Stderr: stderr, Exit: o.exitCode()}
}
