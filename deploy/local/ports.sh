# shellcheck shell=bash
# The local stack's ports, in one place. Sourced by every script in deploy/local; each can be
# overridden from the environment (e.g. `CHAPERONE_PG_UPSTREAM_PORT=25432 deploy/local/up`).
# Everything listens on 127.0.0.1 only.

# PostgreSQL: the upstream database agents reach through Chaperone.
: "${CHAPERONE_PG_UPSTREAM_PORT:=15432}"
# Kafka (KRaft, one node that is both broker and controller).
: "${CHAPERONE_KAFKA_PORT:=19092}"
: "${CHAPERONE_KAFKA_CONTROLLER_PORT:=19093}"
# Temporal dev server: frontend gRPC, web UI, HTTP API, metrics.
: "${CHAPERONE_TEMPORAL_PORT:=17233}"
: "${CHAPERONE_TEMPORAL_UI_PORT:=18233}"
: "${CHAPERONE_TEMPORAL_HTTP_PORT:=18234}"
: "${CHAPERONE_TEMPORAL_METRICS_PORT:=18235}"
# ClickHouse server: HTTP, native TCP, interserver (unused, moved off the default 9009).
: "${CHAPERONE_CLICKHOUSE_HTTP_PORT:=18123}"
: "${CHAPERONE_CLICKHOUSE_TCP_PORT:=19000}"
: "${CHAPERONE_CLICKHOUSE_INTERSERVER_PORT:=19009}"
# Gateway node i (1-based) listens for PostgreSQL on BASE+i and for health/metrics on BASE+i.
: "${CHAPERONE_GATEWAY_PG_BASE:=16400}"
: "${CHAPERONE_GATEWAY_HTTP_BASE:=19100}"
: "${CHAPERONE_GATEWAY_NODES:=2}"
# Other Chaperone services (health on /healthz).
: "${CHAPERONE_MATERIALIZER_HTTP_PORT:=19201}"
: "${CHAPERONE_API_GRPC_PORT:=50051}"
: "${CHAPERONE_API_HTTP_PORT:=19301}"
# The web console and its JSON API (HTTPS).
: "${CHAPERONE_API_WEB_PORT:=19443}"
: "${CHAPERONE_APPROVALS_HTTP_PORT:=19401}"
# haproxy: the load-balanced PostgreSQL endpoint agents use, and its stats/metrics page.
: "${CHAPERONE_HAPROXY_PG_PORT:=6432}"
: "${CHAPERONE_HAPROXY_STATS_PORT:=18404}"

# Gateway node i's HTTP reverse proxy (TLS) on BASE+i; haproxy's load-balanced HTTP endpoint.
: "${CHAPERONE_GATEWAY_HTTPPROXY_BASE:=18440}"
: "${CHAPERONE_HAPROXY_HTTP_PORT:=8443}"
# HTTP upstreams behind the gateway (lib/http-upstreams.sh), the benchmark's nginx, and the
# OpenID provider people log in with.
: "${CHAPERONE_GIT_HTTP_PORT:=18081}"
: "${CHAPERONE_REGISTRY_PORT:=15000}"
: "${CHAPERONE_K8S_API_PORT:=16443}"
: "${CHAPERONE_JSON_API_PORT:=18082}"
: "${CHAPERONE_NGINX_ORIGIN_PORT:=18090}"
: "${CHAPERONE_NGINX_PROXY_PORT:=18091}"
: "${CHAPERONE_NGINX_PROXY_TLS_PORT:=18092}"
: "${CHAPERONE_OIDC_PORT:=18950}"
# The reference MCP servers from npm (lib/http-upstreams.sh).
: "${CHAPERONE_MCP_EVERYTHING_PORT:=18904}"
: "${CHAPERONE_MCP_FILESYSTEM_PORT:=18905}"
# The MCP server under test (services/e2e mcp.it.test.ts starts it, built with the MCP SDK, on
# this port; the gateways' `mcp` connection points at it). Nothing listens otherwise.
: "${CHAPERONE_MCP_TEST_PORT:=18903}"
# Approvals: Slack is unreachable here, so the stack points the approvals worker at a local
# stand-in of the Slack Web API on a fixed port, which tests start (services/e2e approvals,
# loadtest bench approvals). With no stand-in running, posting fails (logged, retried) and
# approvers answer with `chaperone approvals approve|deny`. The worker's interactivity endpoint.
: "${CHAPERONE_SLACK_STANDIN_PORT:=18901}"
: "${CHAPERONE_APPROVALS_SLACK_PORT:=19402}"
# Workload identity: two test OIDC issuers the gateways trust. services/e2e (identity-oidc) serves
# the GitHub-Actions-shaped one's JWKS on this port and writes the Kubernetes-shaped one's JWKS
# file; with neither, their tokens are refused (no keys) and nothing else changes.
: "${CHAPERONE_TEST_JWKS_PORT:=18902}"

gateway_pg_port() { echo $((CHAPERONE_GATEWAY_PG_BASE + $1)); }
gateway_httpproxy_port() { echo $((CHAPERONE_GATEWAY_HTTPPROXY_BASE + $1)); }
gateway_http_port() { echo $((CHAPERONE_GATEWAY_HTTP_BASE + $1)); }
