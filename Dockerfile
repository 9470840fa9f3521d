# syntax=docker/dockerfile:1
# p4scim image: a static p4scim binary plus the real p4 CLI from Perforce's
# package repository, running as a non-root user. Multi-arch with buildx:
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=1.0.0 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t p4scim .
#   docker run --stop-timeout 30 -v "$PWD/p4scim.env:/etc/p4scim/.env:ro" -p 8080:8080 p4scim
#
# Settings: none are set here. The defaults are the program's, so a mounted
# /etc/p4scim/.env (the working directory's .env) or the container's
# environment decides every one of them (docs/operations.md, "Container").
# Base images are fully qualified (Podman and Buildah need the registry)
# and pinned to exact versions; pin digests too for reproducible builds
# (docker buildx imagetools inspect IMAGE prints them).

ARG GO_IMAGE=docker.io/library/golang:1.26.8-bookworm
ARG UBUNTU_IMAGE=docker.io/library/ubuntu:24.04

# The build runs on the builder's own platform and cross-compiles (no
# emulation): TARGETOS/TARGETARCH come from buildx's --platform.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildDate=${BUILD_DATE}" \
      -o /out/p4scim ./cmd/p4scim

# The p4 client comes from Perforce's signed APT repository at build time
# (package p4-cli; helix-cli on older repository snapshots), for the
# target platform.
FROM ${UBUNTU_IMAGE} AS p4cli
ARG PERFORCE_DISTRO=noble
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && curl -fsSL https://package.perforce.com/perforce.pubkey | gpg --dearmor -o /usr/share/keyrings/perforce.gpg \
 && echo "deb [signed-by=/usr/share/keyrings/perforce.gpg] https://package.perforce.com/apt/ubuntu ${PERFORCE_DISTRO} release" \
      > /etc/apt/sources.list.d/perforce.list \
 && apt-get update \
 && (apt-get install -y --no-install-recommends p4-cli || apt-get install -y --no-install-recommends helix-cli) \
 && p4 -V

FROM ${UBUNTU_IMAGE}
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
LABEL org.opencontainers.image.title="p4scim" \
      org.opencontainers.image.description="SCIM 2.0 provisioning bridge for Perforce Helix Core" \
      org.opencontainers.image.source="https://github.com/p4scim/p4scim" \
      org.opencontainers.image.documentation="https://github.com/p4scim/p4scim/blob/main/docs/operations.md" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.base.name="docker.io/library/ubuntu:24.04"
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 p4scim \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/p4scim --create-home --shell /usr/sbin/nologin p4scim \
 && mkdir -p /etc/p4scim
COPY --from=p4cli /usr/bin/p4 /usr/local/bin/p4
COPY --from=build /out/p4scim /usr/local/bin/p4scim
USER 10001:10001
# ./.env is read when present: mount the settings at /etc/p4scim/.env.
WORKDIR /etc/p4scim
EXPOSE 8080
# SIGTERM lets running requests finish within SHUTDOWN_GRACE (25s by
# default); give the container longer than that to stop: docker run
# --stop-timeout 30, compose stop_grace_period: 30s, Kubernetes
# terminationGracePeriodSeconds: 30 (Docker's own default is 10s).
STOPSIGNAL SIGTERM
# healthcheck reads the same settings as serve: it follows LISTEN_ADDRESS
# from the environment, the .env or the config file, and speaks TLS when
# TLS_CERT_FILE is set. (A --listen flag given to serve is not seen here:
# set the address as a setting.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/p4scim", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/p4scim"]
CMD ["serve"]
