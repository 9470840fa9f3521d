package p4emu

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clientOpts are the parsed global options and environment.
type clientOpts struct {
	argv     []string
	mode     Mode
	port     string // P4PORT as given
	user     string
	password string
	client   string
	host     string
	tickets  string
	trust    string
	retries  int
	xfile    string
	batch    int
	command  string
	args     []string
	version  bool
	help     bool
}

// RunClient is the `p4` command line: it parses argv (os.Args[1:]) and the
// environment, sends the command to the server named by P4PORT and writes
// what the real client would write. It returns the exit status (§1.4).
func RunClient(args []string, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := envMap(environ)
	o, err := parseGlobal(args, env)
	if err != "" {
		fmt.Fprint(stderr, err)
		return 1
	}
	if o.version {
		fmt.Fprintf(stdout, "Perforce - The Fast Software Configuration Management System.\n"+
			"Copyright 1995-2025 Perforce Software.  All rights reserved.\nRev. %s.\n", ClientVersion)
		return 0
	}
	if o.help || o.command == "" {
		fmt.Fprint(stdout, usageText)
		return 0
	}
	in := readStdin(stdin)
	batches := [][]string{o.args}
	if o.xfile != "" {
		var data []byte
		if o.xfile == "-" {
			data, in = in, nil
		} else {
			b, err := os.ReadFile(o.xfile)
			if err != nil {
				fmt.Fprintf(stderr, "Perforce client error:\n\tOpen for read: %s: %s\n", o.xfile, errText(err))
				return 1
			}
			data = b
		}
		batches = nil
		lines := splitLines(data)
		for len(lines) > 0 {
			n := min(o.batch, len(lines))
			batches = append(batches, append(append([]string(nil), o.args...), lines[:n]...))
			lines = lines[n:]
		}
	}
	exit := 0
	for _, b := range batches {
		if code := runOne(o, b, in, stdout, stderr); code > exit {
			exit = code
		}
	}
	if o.mode.Script && !o.mode.Marshal && !o.mode.JSON {
		fmt.Fprintf(stdout, "exit: %d\n", exit)
	}
	return exit
}

const usageText = `Usage: p4 [ options ] command [ arg ... ]
    Options:
	-h -?           print this message
	-s              prefix each line with tag describing the message
	-G              format input/output as marshalled Python objects
	-ztag           output in tagged format
	-Mj             output in line-delimited JSON (use with -ztag)
	-c client       set client name (default $P4CLIENT)
	-H host         set host name (default $P4HOST)
	-p port         set server port (default $P4PORT)
	-P password     set user's password (default $P4PASSWD)
	-u user         set user's username (default $P4USER)
	-q              suppress all info messages
	-r retries      retry command if network times out
	-x file         read named files as xargs
	-V              print client version
`

func envMap(environ []string) map[string]string {
	m := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// parseGlobal parses the global options of the 2023.2 client (§1.1) and
// applies flag > P4CONFIG > environment precedence (§1.5).
func parseGlobal(args []string, env map[string]string) (clientOpts, string) {
	o := clientOpts{argv: args, batch: 128}
	flags := map[string]string{}
	const withValue = "bcCdEFHMpPlLQrxzZuv"
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if strings.HasPrefix(a, "--") {
			continue // --no-script, --explain: nothing to do here
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			ch := a[j]
			if strings.IndexByte(withValue, ch) >= 0 {
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return o, fmt.Sprintf("Perforce client error:\n\tMissing argument for option -%c.\n", ch)
					}
					i++
					v = args[i]
				}
				switch ch {
				case 'z', 'Z':
					if v == "tag" {
						o.mode.Tag = true
					}
				case 'M':
					if v == "j" {
						o.mode.JSON = true
					}
				case 'r':
					n, err := strconv.Atoi(v)
					if err != nil {
						return o, fmt.Sprintf("Perforce client error:\n\tInvalid retry count '%s'.\n", v)
					}
					o.retries = n
				case 'b':
					n, err := strconv.Atoi(v)
					if err != nil || n < 1 {
						return o, fmt.Sprintf("Perforce client error:\n\tInvalid batch size '%s'.\n", v)
					}
					o.batch = n
				case 'x':
					o.xfile = v
				case 'E':
					if k, val, ok := strings.Cut(v, "="); ok {
						env[k] = val
					}
				default:
					flags[string(ch)] = v
				}
				break
			}
			switch ch {
			case 'G':
				o.mode.Marshal, o.mode.Tag = true, true // -G implies -ztag
			case 's', 'e':
				o.mode.Script = true
			case 'q':
				o.mode.Quiet = true
			case 'V':
				o.version = true
			case 'h', '?':
				o.help = true
			case 'R', 'I':
				// Ruby marshal and progress indicators: not emulated.
			default:
				return o, fmt.Sprintf("Perforce client error:\n\tUnknown option -%c.\n%s", ch, "")
			}
		}
	}
	if i < len(args) {
		o.command, o.args = args[i], args[i+1:]
	}
	cfg := readP4Config(env)
	get := func(flag, name string) string {
		if v, ok := flags[flag]; ok && flag != "" {
			return v
		}
		if v, ok := cfg[name]; ok {
			return v
		}
		return env[name]
	}
	o.port = get("p", "P4PORT")
	if o.port == "" {
		o.port = "perforce:1666"
	}
	o.user = get("u", "P4USER")
	if o.user == "" {
		o.user = env["USER"]
	}
	if o.user == "" {
		o.user = env["USERNAME"]
	}
	o.password = get("P", "P4PASSWD")
	o.client = get("c", "P4CLIENT")
	o.host = get("H", "P4HOST")
	if o.host == "" {
		o.host, _ = os.Hostname()
	}
	home := env["HOME"]
	o.tickets = get("", "P4TICKETS")
	if o.tickets == "" {
		o.tickets = filepath.Join(home, ".p4tickets")
	}
	o.trust = get("", "P4TRUST")
	if o.trust == "" {
		o.trust = filepath.Join(home, ".p4trust")
	}
	return o, ""
}

// readP4Config reads the P4CONFIG file found in the working directory or
// its parents (VAR=value lines).
func readP4Config(env map[string]string) map[string]string {
	name := env["P4CONFIG"]
	out := map[string]string{}
	if name == "" {
		return out
	}
	dir, err := os.Getwd()
	if err != nil {
		return out
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			for _, l := range splitLines(b) {
				if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok && !strings.HasPrefix(k, "#") {
					out[k] = v
				}
			}
			return out
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return out
		}
		dir = parent
	}
}

// readStdin reads all of stdin unless it is a terminal: the emulator
// never prompts interactively, and reading a tty would block.
func readStdin(r io.Reader) []byte {
	if r == nil {
		return nil
	}
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return nil
		}
	}
	b, _ := io.ReadAll(r)
	return b
}

// splitPort strips the protocol prefix of a P4PORT (§1.5).
func splitPort(port string) (addr string, ssl bool) {
	for _, p := range []string{"tcp:", "tcp4:", "tcp6:", "tcp46:", "tcp64:", "ssl:", "ssl4:", "ssl6:", "ssl46:", "ssl64:"} {
		if strings.HasPrefix(port, p) {
			return port[len(p):], strings.HasPrefix(p, "ssl")
		}
	}
	if !strings.Contains(port, ":") {
		return "localhost:" + port, false // a bare port number
	}
	return port, false
}

// runOne runs one command (one -x batch), with -r retries on RPC errors.
func runOne(o clientOpts, args []string, stdin []byte, stdout, stderr io.Writer) int {
	addr, ssl := splitPort(o.port)
	if o.command == "trust" {
		return runTrust(o, addr, ssl, args, stdout, stderr)
	}
	if o.command == "tickets" {
		return runTickets(o, stdout)
	}
	var rpcErr string
	for attempt := 0; attempt <= o.retries; attempt++ {
		if attempt > 0 {
			time.Sleep(retryPause)
		}
		var code int
		code, rpcErr = attemptOne(o, addr, ssl, args, stdin, stdout, stderr)
		if rpcErr == "" {
			return code
		}
	}
	fmt.Fprint(stderr, rpcErr)
	return 1
}

// attemptOne returns a non-empty rpcErr (the text to print) when the
// connection failed, so that -r can retry.
func attemptOne(o clientOpts, addr string, ssl bool, args []string, stdin []byte, stdout, stderr io.Writer) (int, string) {
	c, rpcErr := dial(addr)
	if rpcErr != "" {
		return 1, rpcErr
	}
	defer c.c.Close()
	if ssl {
		var hello response
		if c.send(request{Hello: true}) != nil || c.recv(&hello) != nil {
			return 1, partnerExited
		}
		peer := c.c.RemoteAddr().String()
		if msg := trustProblem(o.trust, peer, hello.Fingerprint); msg != "" {
			var out output
			out.fail(genComm, "%s\nTo allow connection use the 'p4 trust' command.", msg)
			so, se := out.encode(o.mode)
			stdout.Write(so)
			stderr.Write(se)
			return 1, ""
		}
	}
	req := request{Argv: o.argv, Command: o.command, Args: args, User: o.user, Password: o.password,
		Ticket: lookupTicket(o.tickets, addr, o.user), Client: o.client, Host: o.host, Port: o.port,
		Mode: o.mode, Stdin: stdin}
	var resp response
	if c.send(req) != nil || c.recv(&resp) != nil {
		return 1, partnerExited
	}
	stdout.Write(resp.Stdout)
	stderr.Write(resp.Stderr)
	switch {
	case resp.Ticket != "":
		if err := writeTicket(o.tickets, addr, resp.TicketUser, resp.Ticket); err != nil {
			fmt.Fprintf(stderr, "Perforce client error:\n\tCan't update ticket file %s: %s\n", o.tickets, errText(err))
			return 1, ""
		}
	case resp.RemoveTicket:
		_ = removeTicket(o.tickets, addr, resp.TicketUser)
	}
	return resp.Exit, ""
}

// retryPause spaces -r attempts a little, so a restarting server has a
// chance; the real client has no documented pause.
const retryPause = 10 * time.Millisecond

const partnerExited = "Perforce client error:\n\tPartner exited unexpectedly.\n"

func dial(addr string) (*conn, string) {
	nc, err := net.Dial("tcp", addr)
	if err == nil {
		return newConn(nc), ""
	}
	head := "Perforce client error:\n\tConnect to server failed; check $P4PORT.\n\tTCP connect to " + addr + " failed.\n"
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		host, _, _ := net.SplitHostPort(addr)
		return nil, head + "\t" + host + ": host unknown.\n"
	}
	resolved := addr
	if ta, rerr := net.ResolveTCPAddr("tcp", addr); rerr == nil {
		resolved = ta.String()
	}
	return nil, head + "\tconnect: " + resolved + ": " + errText(err) + "\n"
}

// errText renders an OS error the way strerror does.
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return errText(pe.Err)
	}
	return err.Error()
}

// Tickets file: one "host:port=user:TICKET" line per port and user (§1.5).

func readLinesFile(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return splitLines(b)
}

func lookupTicket(path, port, user string) string {
	for _, l := range readLinesFile(path) {
		k, rest, ok := strings.Cut(l, "=")
		if !ok || k != port {
			continue
		}
		u, t, ok := strings.Cut(rest, ":")
		if ok && u == user {
			return t
		}
	}
	return ""
}

func writeTicket(path, port, user, ticket string) error {
	return rewriteEntry(path, port, user, port+"="+user+":"+ticket)
}

func removeTicket(path, port, user string) error { return rewriteEntry(path, port, user, "") }

// rewriteEntry replaces (or removes, with line "") the line for port and
// user, keeping every other line.
func rewriteEntry(path, port, user, line string) error {
	var out []string
	done := false
	for _, l := range readLinesFile(path) {
		k, rest, _ := strings.Cut(l, "=")
		u, _, _ := strings.Cut(rest, ":")
		if k == port && u == user {
			if line != "" && !done {
				out = append(out, line)
			}
			done = true
			continue
		}
		out = append(out, l)
	}
	if !done && line != "" {
		out = append(out, line)
	}
	if dir := filepath.Dir(path); dir != "" {
		_ = os.MkdirAll(dir, 0o700)
	}
	text := strings.Join(out, "\n")
	if text != "" {
		text += "\n"
	}
	return os.WriteFile(path, []byte(text), 0o600)
}

func runTickets(o clientOpts, stdout io.Writer) int {
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for _, l := range readLinesFile(o.tickets) {
		k, rest, ok := strings.Cut(l, "=")
		u, t, ok2 := strings.Cut(rest, ":")
		if ok && ok2 {
			fmt.Fprintf(w, "%s (%s) %s\n", k, u, t)
		}
	}
	return 0
}
