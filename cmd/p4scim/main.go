// Command p4scim is the SCIM 2.0 provisioning bridge for Perforce Helix
// Core. It wires configuration, the p4 client, the bridge and the SCIM
// handlers, and serves them; it holds no rules of its own.
//
//	p4scim serve [--dev] [flags]   run the daemon
//	p4scim check [flags]           check configuration and Helix Core, one line per check
//	p4scim healthcheck [flags]     GET /healthz of the daemon these settings describe
//	p4scim reclaim [--apply]       list (delete) deactivated users past their grace period
//	p4scim version                 print the version, commit and build date
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

func main() {
	if code, ok := actAsP4(); ok {
		os.Exit(code)
	}
	// SIGHUP never kills: serve reloads on it (reload.go), and at any
	// other moment it is dropped, rather than taking the default action
	// of ending the process. (Signals to a full channel are dropped.)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

const usage = `usage: p4scim <command> [flags]

commands:
  serve        run the SCIM bridge (serve --dev runs it against an embedded Helix Core emulator)
  check        check the configuration and Helix Core: one pass/fail line each
  healthcheck  GET /healthz of the daemon the settings describe (the image's HEALTHCHECK)
  reclaim      list deactivated users past their grace period and the licences deleting them frees;
               --apply deletes them
  version      print the version, commit and build date
  help         show this help

Run 'p4scim <command> --help' for the command and the settings.
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
		err = healthcheck(ctx, args[1:], environ, stdout)
	case "version", "--version", "-version":
		fmt.Fprint(stdout, versionText(buildVersion()))
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
