package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/p4scim/p4scim/scimhandlers/metrics"
)

// Stamped at build time (Dockerfile, release builds):
//
//	go build -ldflags "-X main.version=1.4.0 -X main.commit=$(git rev-parse HEAD) -X main.buildDate=$(date -u +%FT%TZ)"
//
// They are variables only because -X can set nothing else; nothing
// assigns them at run time. A plain `go build` in a git checkout fills
// commit and date from the VCS stamp Go embeds (buildVersion).
var (
	version   = "dev"
	commit    = ""
	buildDate = ""
)

// buildVersion is this binary's version, commit and build date: the
// -ldflags values, else what the Go toolchain recorded (vcs.revision and
// vcs.time, "+dirty" when the tree had changes; the module version for
// `go install ...@v1.4.0`).
func buildVersion() metrics.Build {
	b := metrics.Build{Version: version, Revision: commit, Date: buildDate}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Revision == "" {
				b.Revision = s.Value
			}
		case "vcs.time":
			if b.Date == "" {
				b.Date = s.Value
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && commit == "" && b.Revision != "" {
		b.Revision += "+dirty"
	}
	return b
}

// versionText is what `p4scim version` prints.
func versionText(b metrics.Build) string {
	rev, date := b.Revision, b.Date
	if rev == "" {
		rev = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("p4scim %s (commit %s, built %s, %s %s/%s)\n", b.Version, rev, date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
