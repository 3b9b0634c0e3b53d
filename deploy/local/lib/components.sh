# shellcheck shell=bash
# The component registry: names, order, and dispatch to the per-component functions.

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=infra.sh
source "$LOCAL_DIR/lib/infra.sh"
# shellcheck source=app.sh
source "$LOCAL_DIR/lib/app.sh"
# shellcheck source=http-upstreams.sh
source "$LOCAL_DIR/lib/http-upstreams.sh"

INFRA_COMPONENTS=(postgres kafka temporal clickhouse)

service_components() {
  local i
  for ((i = 1; i <= CHAPERONE_GATEWAY_NODES; i++)); do echo "gateway-$i"; done
  printf '%s\n' materializer api approvals-worker
}

# Every component in start order (infra and the HTTP upstreams, services, haproxy last).
all_components() { printf '%s\n' "${INFRA_COMPONENTS[@]}" "${UPSTREAM_COMPONENTS[@]}"; service_components; echo haproxy; }

# Also lists gateway nodes beyond the configured count that still have a pid file
# (e.g. the stack was started with more nodes), so `down` and `status` see them.
known_components() {
  { all_components
    local f
    for f in "$PID_DIR"/gateway-*.pid; do [[ -e $f ]] && basename "$f" .pid; done
  } | awk '!seen[$0]++'
}

# grep reads all of its input (no -q): with pipefail, a grep -q that stops at the first match
# can fail the pipeline when the writer then gets SIGPIPE ("unknown component 'kafka'" under load).
is_component() { all_components | grep -xF -- "$1" >/dev/null || [[ $1 =~ ^gateway-[0-9]+$ ]]; }

component_kind() {
  case $1 in
    postgres | kafka | temporal | clickhouse) echo infra ;;
    git-http | registry | k8s-api | json-api | nginx | oidc | mcp-everything | mcp-filesystem) echo upstream ;;
    haproxy) echo haproxy ;;
    *) echo service ;;
  esac
}

# The port that must be free before the component starts (a foreign listener there is an error).
component_port() {
  case $1 in
    postgres) echo "$CHAPERONE_PG_UPSTREAM_PORT" ;;
    kafka) echo "$CHAPERONE_KAFKA_PORT" ;;
    temporal) echo "$CHAPERONE_TEMPORAL_PORT" ;;
    clickhouse) echo "$CHAPERONE_CLICKHOUSE_HTTP_PORT" ;;
    git-http | registry | k8s-api | json-api | nginx | oidc | mcp-everything | mcp-filesystem) upstream_port "$1" ;;
    gateway-*) gateway_http_port "${1#gateway-}" ;;
    materializer) echo "$CHAPERONE_MATERIALIZER_HTTP_PORT" ;;
    api) echo "$CHAPERONE_API_HTTP_PORT" ;;
    approvals-worker) echo "$CHAPERONE_APPROVALS_HTTP_PORT" ;;
    haproxy) echo "$CHAPERONE_HAPROXY_PG_PORT" ;;
  esac
}

# Seconds to wait for health after a start, and for exit after SIGTERM.
start_timeout() { case $1 in kafka | temporal) echo 90 ;; postgres | clickhouse) echo 45 ;; haproxy) echo 15 ;; *) echo 60 ;; esac; }
stop_grace() { case $1 in kafka) echo 30 ;; postgres | clickhouse | temporal | haproxy) echo 20 ;; *) echo 40 ;; esac; }
# PostgreSQL: SIGINT is its "fast" shutdown (SIGTERM would wait for every client to leave).
stop_signal() { case $1 in postgres) echo INT ;; *) echo TERM ;; esac; }

prepare() {
  case $(component_kind "$1") in
    infra) "prepare_$1" ;;
    upstream) prepare_upstream "$1" ;;
    service) prepare_service "$1" ;;
    haproxy) prepare_haproxy ;;
  esac
}
start() {
  case $(component_kind "$1") in
    infra) "start_$1" ;;
    upstream) start_upstream "$1" ;;
    service) start_service "$1" ;;
    haproxy) start_haproxy ;;
  esac
}
health() {
  case $(component_kind "$1") in
    infra) "health_$1" ;;
    upstream) health_upstream "$1" ;;
    service) health_service "$1" ;;
    haproxy) health_haproxy ;;
  esac
}
after() { if [[ $(component_kind "$1") == infra ]]; then "after_$1"; fi; }

# Who listens on a TCP port (for error messages), and its pid.
port_owner() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(([^)]*' | head -1 | sed 's/users:((//' || true; }
port_pid() { port_owner "$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }

# The .run folder a process belongs to when deploy/local started it (every server's command
# line names a file under it), else nothing.
process_run_dir() {
  [[ -n $1 && -r /proc/$1/cmdline ]] || return 0
  tr '\0' '\n' <"/proc/$1/cmdline" | grep -o '/[^[:space:]=]*/\.run/' | head -1 | sed 's|/$||' || true
}

# Stops a process by pid (not by pid file): the component's signal, its grace, then SIGKILL.
stop_pid() {
  local name=$1 pid=$2 i
  kill "-$(stop_signal "$name")" "$pid" 2>/dev/null || true
  for ((i = 0; i < $(stop_grace "$name") * 10; i++)); do pid_alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do pid_alive "$pid" || return 0; sleep 0.1; done
}

stop_component() {
  local name=$1 pid
  pid=$(live_pid "$name") || { rm -f "$(pid_file "$name")"; return 1; }
  local sig grace
  sig=$(stop_signal "$name"); grace=$(stop_grace "$name")
  kill "-$sig" "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < grace * 10; i++)); do pid_alive "$pid" || break; sleep 0.1; done
  if pid_alive "$pid"; then
    warn "$name (pid $pid) still running ${grace}s after SIG$sig; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do pid_alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$(pid_file "$name")"
}
