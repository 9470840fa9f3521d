// Package validate checks the deployment artifacts under deploy/, the
// Dockerfile and the example configurations against the tools' own
// parsers and schemas, offline: Kustomize builds the Kubernetes base and
// every object is decoded strictly into the k8s.io/api types (an unknown
// or misspelled field fails); compose-go loads the compose files with the
// Compose Specification schema; Prometheus's rulefmt parses the alert
// rules, PromQL included; and the settings each artifact gives p4scim are
// loaded by p4scim's own config package.
//
// It is a module of its own so that these tools' dependencies stay out of
// p4scim's go.mod. .ci/run runs it (cd deploy/validate && go test ./...);
// systemd-analyze verify of the unit is a step of .ci/run too.
package validate
