# syntax=docker/dockerfile:1
# p4scim image: a static p4scim binary plus the real p4 CLI from Perforce's
# package repository, running as a non-root user.
#
#   docker build -t p4scim .
#   docker run --env-file .env -p 8080:8080 p4scim

ARG GO_VERSION=1.26
ARG UBUNTU=24.04

FROM golang:${GO_VERSION}-bookworm AS build
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/p4scim ./cmd/p4scim

# The p4 client comes from Perforce's signed APT repository at build time
# (package p4-cli; helix-cli on older repository snapshots).
FROM ubuntu:${UBUNTU} AS p4cli
ARG PERFORCE_DISTRO=noble
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && curl -fsSL https://package.perforce.com/perforce.pubkey | gpg --dearmor -o /usr/share/keyrings/perforce.gpg \
 && echo "deb [signed-by=/usr/share/keyrings/perforce.gpg] https://package.perforce.com/apt/ubuntu ${PERFORCE_DISTRO} release" \
      > /etc/apt/sources.list.d/perforce.list \
 && apt-get update \
 && (apt-get install -y --no-install-recommends p4-cli || apt-get install -y --no-install-recommends helix-cli) \
 && p4 -V

FROM ubuntu:${UBUNTU}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/p4scim --create-home p4scim
COPY --from=p4cli /usr/bin/p4 /usr/local/bin/p4
COPY --from=build /out/p4scim /usr/local/bin/p4scim
USER p4scim
WORKDIR /var/lib/p4scim
ENV LISTEN_ADDRESS=:8080 \
    P4TRUST=/var/lib/p4scim/.p4trust
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD ["/usr/local/bin/p4scim", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/p4scim"]
CMD ["serve"]
