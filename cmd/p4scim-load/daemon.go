package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/p4scim/p4scim/internal/procgroup"
)

// daemon is one p4scim process under load: `p4scim serve` against the
// emulator, exec'ing this binary as p4.
type daemon struct {
	cmd    *exec.Cmd
	base   string // .../scim/v2
	root   string // http://host:port
	logs   *logIndex
	exited chan struct{}
	err    error // Wait's result, once exited is closed
}

// daemonEnv is the environment of every p4scim process: nothing inherited
// but PATH and HOME, so the operator's own P4* and p4scim settings cannot
// change what is measured.
func daemonEnv(cfg config, p4port, p4user, p4passwd, p4bin, listen string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"P4PORT=" + p4port, "P4USER=" + p4user, "P4PASSWD=" + p4passwd, "P4BIN=" + p4bin,
		"BEARER_TOKEN=" + token, "LISTEN_ADDRESS=" + listen,
		// Every limit is the shipped default: what is measured is what an
		// admin gets. -p4-concurrency, -max-in-flight and -daemon-env change
		// them, and the report says so.
		"LOG_FORMAT=json", "LOG_LEVEL=info",
	}
	if cfg.p4Concurrency > 0 {
		env = append(env, "P4_MAX_CONCURRENT="+strconv.Itoa(cfg.p4Concurrency))
	}
	if cfg.maxInFlight > 0 {
		env = append(env, "MAX_IN_FLIGHT="+strconv.Itoa(cfg.maxInFlight))
	}
	return append(env, cfg.daemonEnv...)
}

// startDaemon runs `bin serve` in dir and waits until it is ready.
func startDaemon(ctx context.Context, bin, dir string, env []string, listen string, verbose io.Writer) (*daemon, error) {
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir // no .env of the operator's is read
	cmd.Env = env
	procgroup.Isolate(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	d := &daemon{cmd: cmd, root: "http://" + listen, logs: newLogIndex(), exited: make(chan struct{})}
	d.base = d.root + "/scim/v2"
	go d.logs.read(stderr, verbose)
	go func() { d.err = cmd.Wait(); close(d.exited) }()

	deadline := time.Now().Add(30 * time.Second)
	probe := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-d.exited:
			return nil, fmt.Errorf("p4scim exited before it was ready (%v); its last log lines:\n%s", d.err, d.logs.tail())
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := probe.Get(d.root + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("p4scim not ready at %s after 30s; its last log lines:\n%s", d.root, d.logs.tail())
		}
	}
}

// stop sends SIGTERM, and SIGKILL to the process group if it does not go.
func (d *daemon) stop() {
	if d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		_ = procgroup.Kill(d.cmd)
		<-d.exited
	}
}

// memory returns the process's current and peak resident set (VmRSS,
// VmHWM) in KiB.
func memory(pid int) (rss, peak int64, err error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			peak = n
		}
	}
	if peak == 0 {
		return 0, 0, errors.New("no VmHWM in /proc/<pid>/status")
	}
	return rss, peak, sc.Err()
}

// freeAddress returns a loopback address with a port free at the time of
// the call, for a daemon's LISTEN_ADDRESS.
func freeAddress() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// served is what the daemon's request log says of one request.
type served struct {
	DurationMs float64 `json:"duration_ms"`
	P4Ms       float64 `json:"p4_ms"`
	P4Commands int     `json:"p4_commands"`
}

// logIndex reads a daemon's JSON log: request lines by request id, and a
// count of warnings and errors.
type logIndex struct {
	mu       sync.Mutex
	byID     map[string]served
	problems int
	last     []string // the last lines, for start-up failures
	changed  chan struct{}
}

func newLogIndex() *logIndex {
	return &logIndex{byID: map[string]served{}, changed: make(chan struct{}, 1)}
}

func (l *logIndex) read(r io.Reader, verbose io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var m struct {
			Level     string `json:"level"`
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
			served
		}
		err := json.Unmarshal(line, &m)
		l.mu.Lock()
		l.last = append(l.last, string(line))
		if len(l.last) > 20 {
			l.last = l.last[1:]
		}
		if err != nil {
			l.mu.Unlock()
			continue
		}
		if m.Level == "WARN" || m.Level == "ERROR" {
			l.problems++
			if verbose != nil {
				fmt.Fprintf(verbose, "p4scim: %s\n", line)
			}
		}
		if m.Msg == "request" && m.RequestID != "" {
			l.byID[m.RequestID] = m.served
		}
		l.mu.Unlock()
		select {
		case l.changed <- struct{}{}:
		default:
		}
	}
}

// take returns and forgets the log entries of ids, waiting up to wait for
// lines not yet written (the daemon logs a request after answering it).
func (l *logIndex) take(ids []string, wait time.Duration) (found []served, missing int) {
	deadline := time.After(wait)
	for {
		l.mu.Lock()
		missing = 0
		for _, id := range ids {
			if _, ok := l.byID[id]; !ok {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		l.mu.Unlock()
		select {
		case <-l.changed:
			continue
		case <-deadline:
		}
		l.mu.Lock()
		break
	}
	defer l.mu.Unlock()
	for _, id := range ids {
		if s, ok := l.byID[id]; ok {
			found = append(found, s)
			delete(l.byID, id)
		}
	}
	return found, len(ids) - len(found)
}

func (l *logIndex) warnings() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.problems
}

func (l *logIndex) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.last, "\n")
}
