package validate

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/joho/godotenv"

	"github.com/p4scim/p4scim/config"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// parseDockerfile splits a Dockerfile into instructions, as the
// Dockerfile frontend does for the properties checked here: comments and
// blank lines dropped, backslash continuations joined.
func parseDockerfile(text string) []instruction {
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// TestDockerfile checks the image's promises: fully qualified, pinned base
// images; a cross-compiling multi-arch build; version, commit and date
// stamped and labelled; no settings in ENV (they would outrank the .env);
// a non-root numeric user; the .env path docs give; a HEALTHCHECK that is
// p4scim's own healthcheck command.
func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(read(t, "Dockerfile"))
	args := map[string]string{}
	var froms, labels, runs []string
	byCmd := map[string][]string{}
	for _, in := range ins {
		byCmd[in.cmd] = append(byCmd[in.cmd], in.args)
		switch in.cmd {
		case "ARG":
			if k, v, ok := strings.Cut(in.args, "="); ok {
				if _, seen := args[k]; !seen {
					args[k] = v
				}
			}
		case "FROM":
			froms = append(froms, in.args)
		case "LABEL":
			labels = append(labels, in.args)
		case "RUN":
			runs = append(runs, in.args)
		}
	}
	expand := func(s string) string {
		return regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(s, func(m string) string { return args[m[2:len(m)-1]] })
	}
	// registry/namespace/name:exact-tag, never latest.
	qualified := regexp.MustCompile(`^[a-z0-9.-]+\.[a-z]+/[a-z0-9._/-]+:[0-9][0-9A-Za-z._-]*(@sha256:[0-9a-f]{64})?$`)
	for _, f := range froms {
		var image string
		for _, fl := range strings.Fields(f) {
			if !strings.HasPrefix(fl, "--") {
				image = fl
				break
			}
		}
		if img := expand(image); !qualified.MatchString(img) {
			t.Errorf("FROM %s: %q is not a fully qualified image with an exact version tag", f, img)
		}
	}
	if !strings.Contains(froms[0], "--platform=$BUILDPLATFORM") {
		t.Errorf("the build stage %q does not run on the builder's platform (buildx cross-compiles)", froms[0])
	}
	build := strings.Join(runs, "\n")
	for _, want := range []string{"GOARCH=${TARGETARCH}", "GOOS=${TARGETOS}", "CGO_ENABLED=0",
		"-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "-X main.buildDate=${BUILD_DATE}"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build does not use %s", want)
		}
	}
	allLabels := strings.Join(labels, " ")
	for _, want := range []string{"org.opencontainers.image.version=\"${VERSION}\"", "org.opencontainers.image.revision=\"${COMMIT}\"",
		"org.opencontainers.image.created=\"${BUILD_DATE}\"", "org.opencontainers.image.source=", "org.opencontainers.image.title="} {
		if !strings.Contains(allLabels, want) {
			t.Errorf("no label %s", want)
		}
	}
	var names []string
	for _, s := range config.Settings() {
		names = append(names, s.Name)
	}
	for _, env := range byCmd["ENV"] {
		for _, f := range strings.Fields(env) {
			if k, _, _ := strings.Cut(f, "="); slices.Contains(names, k) {
				t.Errorf("ENV sets %s: it would outrank the mounted .env; leave defaults to the program", k)
			}
		}
	}
	if u := byCmd["USER"]; len(u) != 1 || !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(u[0]) {
		t.Errorf("USER %q: want one numeric non-root user (Kubernetes' runAsNonRoot checks numbers)", u)
	}
	if w := byCmd["WORKDIR"]; len(w) == 0 || w[len(w)-1] != "/etc/p4scim" {
		t.Errorf("final WORKDIR %q: docs say the .env is read from /etc/p4scim/.env", w)
	}
	if h := byCmd["HEALTHCHECK"]; len(h) != 1 || !strings.Contains(h[0], `CMD ["/usr/local/bin/p4scim", "healthcheck"]`) {
		t.Errorf("HEALTHCHECK %q: want p4scim's healthcheck command, which reads serve's settings", h)
	}
	if s := byCmd["STOPSIGNAL"]; len(s) != 1 || s[0] != "SIGTERM" {
		t.Errorf("STOPSIGNAL %q", s)
	}
	for _, doc := range []string{"docs/operations.md", "docs/getting-started.md"} {
		if !strings.Contains(read(t, doc), "/etc/p4scim/.env") {
			t.Errorf("%s does not give the .env path in the container, /etc/p4scim/.env", doc)
		}
	}
}

// TestDockerignore: the build context holds neither the history nor a
// local .env with secrets.
func TestDockerignore(t *testing.T) {
	lines := strings.Split(read(t, ".dockerignore"), "\n")
	for _, want := range []string{".git", ".env", "*.env", "!.env.example"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore lacks %q", want)
		}
	}
}

// TestEnvExampleEnvFileSafe: every value in .env.example reads the same
// to p4scim (dotenv rules) and to `docker run --env-file` (the rest of
// the line, literally), so the example is safe both ways.
func TestEnvExampleEnvFileSafe(t *testing.T) {
	text := read(t, ".env.example")
	parsed, err := godotenv.Unmarshal(text)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimLeft(line, " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, literal, ok := strings.Cut(line, "=") // docker's reading
		if !ok {
			t.Errorf("%q is not NAME=value", line)
			continue
		}
		n++
		if parsed[k] != literal {
			t.Errorf("%s: p4scim reads %q, docker --env-file %q", k, parsed[k], literal)
		}
	}
	if n == 0 {
		t.Fatal("no settings in .env.example")
	}
}

// TestMetricsPortConsistent: every example that names the metrics
// address uses one port, and it is not Prometheus's own 9090.
func TestMetricsPortConsistent(t *testing.T) {
	for _, f := range []string{".env.example", "configs/p4scim.example.yaml", "configs/prometheus.yml", "deploy/compose/compose.yaml",
		"deploy/kubernetes/configmap.yaml", "deploy/kubernetes/deployment.yaml", "docs/operations.md", "docs/getting-started.md"} {
		text := read(t, f)
		if !strings.Contains(text, "9464") {
			t.Errorf("%s does not use the metrics port 9464", f)
		}
		for _, line := range strings.Split(text, "\n") {
			if strings.Contains(line, ":9090") && !strings.Contains(line, "Prometheus") {
				t.Errorf("%s: %q uses 9090, Prometheus's own port", f, line)
			}
		}
	}
}
