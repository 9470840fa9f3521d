// Command p4scim is the SCIM 2.0 provisioning bridge for Perforce Helix
// Core. It wires configuration, the p4 client, the bridge and the SCIM
// handlers, and serves them; it holds no rules of its own.
//
//	p4scim serve [--dev] [flags]   run the daemon
//	p4scim check [flags]           check configuration and Helix Core, one line per check
//	p4scim reclaim [--apply]       list (delete) deactivated users past their grace period
//	p4scim version                 print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if code, ok := actAsP4(); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

const usage = `usage: p4scim <command> [flags]

commands:
  serve      run the SCIM bridge (serve --dev runs it against an embedded Helix Core emulator)
  check      check the configuration and Helix Core: one pass/fail line each
  reclaim    list deactivated users past their grace period and the licences deleting them frees;
             --apply deletes them ('p4scim reclaim --help')
  version    print the version
  help       show this help

Run 'p4scim serve --help' for the settings.
`

// run executes one command and returns the process exit code.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], environ, stdout, stderr)
	case "check":
		var ok bool
		ok, err = check(ctx, args[1:], environ, stdout)
		if err == nil && !ok {
			return 1
		}
	case "reclaim":
		var ok bool
		ok, err = reclaim(ctx, args[1:], environ, stdout, stderr)
		if err == nil && !ok {
			return 1
		}
	case "healthcheck":
		err = healthcheck(ctx, environ)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "p4scim %s\n", version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "p4scim: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "p4scim: %v\n", err)
		return 1
	}
	return 0
}

// errHelp reports that --help was asked for and printed.
var errHelp = errors.New("help requested")
