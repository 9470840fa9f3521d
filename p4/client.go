package p4

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"time"

	"github.com/p4scim/p4scim/internal/procgroup"
	"github.com/p4scim/p4scim/p4/marshal"
)

// Config configures a Client.
type Config struct {
	Bin              string // the p4 executable; default "p4" from PATH
	Port             string // P4PORT
	User             string // P4USER: a super user
	Password         string // its password, or a ticket (32 hex digits)
	Tickets          string // P4TICKETS file; default a private file in a private directory under RunDir
	Trust            string // P4TRUST file; default next to the tickets file. Set, it is used as is for ssl: ports without TrustFingerprint or TrustAny
	Charset          string // P4CHARSET, for Unicode-mode servers
	TrustFingerprint string // for ssl: ports, the fingerprint to trust
	TrustAny         bool   // for ssl: ports, trust whatever the server presents (trust -f -y)
	RunDir           string // parent of the private directory when Tickets or Trust is empty; default defaultRunParent()
	CommandTimeout   time.Duration
	MaxConcurrent    int
	Observer         func(CommandEvent)
	// Name labels the server in request traces ("main: user -i") when the
	// daemon serves several; "" leaves the entries bare.
	Name string
}

// Client runs p4 commands. It is safe for concurrent use.
type Client struct {
	cfg      Config
	sem      chan struct{}
	env      []string
	ticket   bool // cfg.Password is a ticket: pass it as P4PASSWD, never log in
	ownTrust bool // the operator named the trust file (Config.Trust)
	loginMu  sync.Mutex
	cleanup  func()
}

var ticketPattern = regexp.MustCompile(`^[0-9A-Fa-f]{32}$`)

// New validates cfg and returns a Client. It runs no command.
func New(cfg Config) (*Client, error) {
	var problems []string
	if cfg.Port == "" {
		problems = append(problems, "P4PORT is not set")
	}
	if cfg.User == "" {
		problems = append(problems, "P4USER is not set")
	}
	if strings.HasPrefix(cfg.User, "-") || strings.ContainsAny(cfg.User, " \t\n@#") {
		problems = append(problems, fmt.Sprintf("P4USER %q is not a valid Helix Core user name", cfg.User))
	}
	if cfg.Bin == "" {
		cfg.Bin = "p4"
	}
	if _, err := exec.LookPath(cfg.Bin); err != nil {
		problems = append(problems, fmt.Sprintf("p4 executable %q not found (set P4BIN or install the Helix Core CLI): %v", cfg.Bin, err))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("p4 client: %s", strings.Join(problems, "; "))
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = 30 * time.Second
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 8
	}
	c := &Client{cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent), cleanup: func() {}, ownTrust: cfg.Trust != ""}
	if cfg.Tickets == "" || cfg.Trust == "" {
		dir, release, err := newRunDir(cfg.RunDir)
		if err != nil {
			return nil, fmt.Errorf("p4 client: private directory for tickets: %w", err)
		}
		c.cleanup = release
		if c.cfg.Tickets == "" {
			c.cfg.Tickets = filepath.Join(dir, "tickets")
		}
		if c.cfg.Trust == "" {
			c.cfg.Trust = filepath.Join(dir, "trust")
		}
	}
	c.ticket = ticketPattern.MatchString(cfg.Password)
	c.env = childEnv(os.Environ(), c.cfg, c.ticket)
	return c, nil
}

// Close removes the private tickets directory, if New made one.
func (c *Client) Close() { c.cleanup() }

// Port returns P4PORT.
func (c *Client) Port() string { return c.cfg.Port }

// P4User returns P4USER.
func (c *Client) P4User() string { return c.cfg.User }

// childEnv builds the child's environment from an allow-list: the few
// variables of this process's environment that p4 (or a wrapper script
// named by P4BIN) needs to run, plus exactly the P4 settings the client
// decides. Everything else the daemon holds (BEARER_TOKEN, OAuth client
// secrets, cloud credentials, P4* settings of the host) stays out of the
// child, where a wrapper script, a client-side extension or a crash
// report could pass it on.
func childEnv(base []string, cfg Config, ticket bool) []string {
	env := make([]string, 0, 16)
	for _, kv := range base {
		if name, _, ok := strings.Cut(kv, "="); ok && inheritedVar(name) {
			env = append(env, kv)
		}
	}
	env = append(env, "P4PORT="+cfg.Port, "P4USER="+cfg.User, "P4TICKETS="+cfg.Tickets, "P4TRUST="+cfg.Trust,
		"P4CONFIG=", "P4ENVIRO=/dev/null")
	if cfg.Charset != "" {
		env = append(env, "P4CHARSET="+cfg.Charset)
	}
	if ticket {
		env = append(env, "P4PASSWD="+cfg.Password)
	}
	return env
}

// inheritedVar reports whether a variable of the daemon's environment is
// passed on to p4. p4 itself reads only P4* variables (set by childEnv),
// HOME (the default places of its files, all set explicitly here) and the
// locale (§1.5, §1.7); PATH and TMPDIR serve a P4BIN that is a wrapper
// script; TZ keeps local times as the host shows them. On Windows, Winsock
// needs SYSTEMROOT, and names are case-insensitive. GORACE only matters to
// a Go program run as p4 (the emulator in tests under -race, which would
// otherwise sleep a second at each exit); it holds no secret.
func inheritedVar(name string) bool {
	if runtime.GOOS == "windows" {
		name = strings.ToUpper(name)
	}
	switch name {
	case "PATH", "HOME", "TMPDIR", "TZ", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES",
		"SYSTEMROOT", "WINDIR", "TEMP", "TMP", "USERPROFILE",
		"GORACE":
		return true
	}
	return false
}

// result is what one p4 process said.
type result struct {
	stats    []marshal.Dict
	infos    []string
	messages []Message // errors and warnings, in order
	stderr   string
	exit     int
}

func (r *result) firstError() *Message {
	for i := range r.messages {
		if r.messages[i].Severity >= SeverityFailed {
			return &r.messages[i]
		}
	}
	return nil
}

func (r *result) hasInfo(substr string) bool {
	for _, s := range r.infos {
		if strings.Contains(s, substr) {
			return true
		}
	}
	return false
}

// call is one p4 command to run.
type call struct {
	args  []string // the command word and its arguments, on argv
	stdin []byte
	// lines, when not empty, are further arguments that p4 reads from stdin,
	// one per line (p4 -x -, §5.7): values that must stay off argv, where
	// every local user can read them, and lists too long for it.
	lines []string
	sink  *statSink // receives the stat records; nil: kept in the result
}

// argBatch is the -b batch size given with -x: p4 runs the command once
// per argBatch lines, each time with the fixed arguments and the next
// lines. It is p4's default (§1.1), named so that it stays even: the
// name/value pairs of key -m are never split across two runs.
const argBatch = 128

// command runs one p4 command and turns failures into *Error. An expired
// or revoked session is renewed once by logging in, and the command retried
// once.
func (c *Client) command(ctx context.Context, stdin []byte, args ...string) (*result, error) {
	return c.run(ctx, call{args: args, stdin: stdin})
}

// statSink receives a command's stat records as they are decoded, instead
// of the result keeping them: a listing of a 50,000-user directory is then
// turned into what the caller keeps, record by record. reset runs before
// each attempt, so a retried command does not deliver a record twice.
type statSink struct {
	reset func()
	add   func(marshal.Dict)
}

// commandEach is command with the stat records going to sink (nil: kept
// in the result).
func (c *Client) commandEach(ctx context.Context, stdin []byte, sink *statSink, args ...string) (*result, error) {
	return c.run(ctx, call{args: args, stdin: stdin, sink: sink})
}

// commandLines runs args with lines as further arguments read from stdin
// (p4 -x -); with no lines it is command. p4 takes each line as one
// argument, so a line break inside one would split it: such a value, and
// an empty one (whether p4 keeps an empty line as an empty argument is not
// documented [INF]), is refused without running anything, and without
// showing it. How long a line p4 reads, and whether it trims blanks, are
// not documented either [INF]: the bridge's records are JSON of at most
// 64 KiB, which neither starts nor ends with a blank.
func (c *Client) commandLines(ctx context.Context, sink *statSink, lines []string, args ...string) (*result, error) {
	for i, l := range lines {
		if l == "" || strings.ContainsAny(l, "\r\n") {
			return nil, &Error{Kind: KindInvalidSpec, Command: args[0],
				Err: fmt.Errorf("argument %d is empty or holds a line break: it cannot be passed on stdin", i+1)}
		}
	}
	return c.run(ctx, call{args: args, lines: lines, sink: sink})
}

func (c *Client) run(ctx context.Context, cl call) (*result, error) {
	res, err := c.runOnce(ctx, cl)
	if err == nil || !c.canRelogin(err) {
		return res, err
	}
	if lerr := c.Login(ctx); lerr != nil {
		return nil, lerr
	}
	return c.runOnce(ctx, cl)
}

func (c *Client) canRelogin(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindAuthFailed || c.ticket || c.cfg.Password == "" {
		return false
	}
	for _, m := range e.Messages {
		if sessionMessage(m.Text) {
			return true
		}
	}
	return false
}

// runOnce execs p4 once, classifies the outcome and reports it.
func (c *Client) runOnce(ctx context.Context, cl call) (*result, error) {
	start := time.Now()
	if cl.sink != nil {
		cl.sink.reset()
	}
	args := cl.args
	res, err := c.exec(ctx, cl)
	if err == nil {
		err = classify(args[0], res)
	}
	outcome := "ok"
	if err != nil {
		outcome = KindOf(err).String()
	}
	d := time.Since(start)
	if c.cfg.Observer != nil {
		c.cfg.Observer(CommandEvent{Command: args[0], Duration: d, Outcome: outcome})
	}
	if t := traceFrom(ctx); t != nil {
		t.add(c.cfg.Name, args, outcome, d)
	}
	return res, err
}

// exec runs the process under the deadline and the concurrency bound.
func (c *Client) exec(ctx context.Context, cl call) (*result, error) {
	args, stdin := cl.args, cl.stdin
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CommandTimeout)
	defer cancel()
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-ctx.Done():
		return nil, &Error{Kind: KindTimeout, Command: args[0], Err: fmt.Errorf("waiting for a free p4 slot: %w", ctx.Err())}
	}

	argv := []string{"-G", "-p", c.cfg.Port, "-u", c.cfg.User}
	if len(cl.lines) > 0 {
		argv = append(argv, "-x", "-", "-b", strconv.Itoa(argBatch))
		stdin = []byte(strings.Join(cl.lines, "\n") + "\n")
	}
	argv = append(argv, args...)
	cmd := exec.CommandContext(ctx, c.cfg.Bin, argv...)
	cmd.Env = c.env
	cmd.Stdin = bytes.NewReader(stdin)
	// The output is decoded as it arrives rather than buffered whole: a
	// listing of a large directory is held once, as records, not twice.
	res := &result{}
	out, pw := io.Pipe()
	parsed := make(chan error, 1)
	go func() {
		err := parseOutput(out, res, cl.sink)
		_, _ = io.Copy(io.Discard, out) // never leave the child blocked on a full pipe
		parsed <- err
	}()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = pw, &stderr
	// The child gets its own process group so that a timeout kills it and
	// anything it started, and nothing is left behind.
	procgroup.Isolate(cmd)
	cmd.Cancel = func() error { return procgroup.Kill(cmd) }
	cmd.WaitDelay = 2 * time.Second

	err := cmd.Run()
	_ = pw.Close()
	perr := <-parsed
	if ctx.Err() != nil {
		return nil, &Error{Kind: KindTimeout, Command: args[0], Err: ctx.Err()}
	}
	res.stderr = stderr.String()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.exit = exitErr.ExitCode()
	default:
		return nil, &Error{Kind: KindOther, Command: args[0], Err: fmt.Errorf("running %s: %w", c.cfg.Bin, err)}
	}
	if perr != nil {
		return nil, &Error{Kind: KindOther, Command: args[0], Err: perr}
	}
	return res, nil
}

// parseOutput decodes the marshal stream. Prompts (passwd, login) are
// printed raw before it, so everything before the first '{' is skipped.
func parseOutput(r io.Reader, res *result, sink *statSink) error {
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		b, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading p4 -G output: %w", err)
		}
		if b == '{' {
			_ = br.UnreadByte()
			break
		}
	}
	dec := marshal.NewDecoder(br)
	for {
		d, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("decoding p4 -G output: %w", err)
		}
		switch d.String("code") {
		case "stat":
			if sink != nil {
				sink.add(d)
			} else {
				res.stats = append(res.stats, d)
			}
		case "info", "text":
			res.infos = append(res.infos, d.String("data"))
		case "error":
			sev, _ := d.Int("severity")
			gen, _ := d.Int("generic")
			res.messages = append(res.messages, Message{Severity: Severity(sev), Generic: gen, Text: strings.TrimRight(d.String("data"), "\n")})
		}
	}
}
