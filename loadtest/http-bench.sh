#!/usr/bin/env bash
# Side-by-side HTTP benchmark of the gateway against nginx, with the local stack running
# (deploy/local/up): wrk at saturation and at a fixed rate, then a large `git clone`.
#
#   usage: loadtest/http-bench.sh [--duration S] [--connections N] [--threads N] [--rate RPS]
#                                 [--clone-mib N] [--skip-clone] [--skip-wrk] [--json FILE]
#
# Targets (all to the same origin, nginx returning a small JSON document):
#   direct     wrk → origin                                  (plain HTTP, no proxy)
#   nginx      wrk → nginx reverse proxy (TLS) → origin      (the peer: proxy_pass, keep-alive upstream)
#   chaperone  wrk → haproxy → gateway nodes (TLS, token auth, recording on, policy) → origin
# Phases:
#   saturation   wrk -t T -c N for S seconds: requests/s and latency percentiles of each target
#   fixed rate   each target at RPS (default: half of direct's peak) with wrk's delay() pacing;
#                also at half of chaperone's own peak, where it is not saturated. Added p99 is
#                chaperone's p99 minus direct's at the same rate.
#   git clone    a repository of --clone-mib MiB of incompressible data (created once under the
#                stack's git root), cloned directly from git http-backend and through the gateway
# Prints a table and the ratios (targets: ≥ nginx's requests/s × 0.25; a 200 MiB clone ≤ 1.2× direct; added p99 ≤ 1 ms at half of
# direct's peak rate). --json also writes every figure to FILE.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
duration=15 connections=64 threads=2 rate="" clone_mib=200 skip_clone=0 skip_wrk=0 json=""
while (($#)); do
  case $1 in
    --duration) duration=${2:?}; shift ;;
    --connections) connections=${2:?}; shift ;;
    --threads) threads=${2:?}; shift ;;
    --rate) rate=${2:?}; shift ;;
    --clone-mib) clone_mib=${2:?}; shift ;;
    --skip-clone) skip_clone=1 ;;
    --skip-wrk) skip_wrk=1 ;;
    --json) json=${2:?}; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "http-bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

env_file=$repo/deploy/local/.run/stack.env
[[ -f $env_file ]] || { echo "http-bench: $env_file missing: start the stack with deploy/local/up" >&2; exit 1; }
# shellcheck disable=SC1090
source "$env_file"
[[ ${STACK_MODE:-} == full && -n ${AGENT_HTTP_BASE:-} ]] || { echo "http-bench: the stack is not fully up with the HTTP proxy (deploy/local/up without --infra-only)" >&2; exit 1; }
for tool in wrk git curl; do command -v "$tool" >/dev/null || { echo "http-bench: $tool not installed (deploy/local/install)" >&2; exit 1; }; done

token=$(node "$CHAPERONE_CLI" token issue --config "$CHAPERONE_CONFIG" --subject agent:http-bench --groups agents --ttl 1h | tr -d '[:space:]')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A URL=(
  [direct]="$NGINX_ORIGIN_URL/bench/x"
  [nginx]="$NGINX_PROXY_TLS_URL/bench/x"
  [chaperone]="$AGENT_HTTP_BASE/bench/x"
)
targets=(direct nginx chaperone)
declare -A R=()

# Runs wrk; sets R[<key>.rps|p50|p99|errors] from its report (latencies in ms).
run_wrk() {
  local key=$1 url=$2 conns=$3 script=${4:-}
  local -a args=(-t "$threads" -c "$conns" -d "${duration}s" --latency)
  ((conns < threads)) && args=(-t "$conns" -c "$conns" -d "${duration}s" --latency)
  [[ $key == *chaperone ]] && args+=(-H "Authorization: Bearer $token")
  [[ -n $script ]] && args+=(-s "$script")
  local out
  out=$(wrk "${args[@]}" "$url" 2>&1) || { echo "$out" >&2; return 1; }
  R[$key.rps]=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  R[$key.p50]=$(awk '$1 == "50%" {print $2}' <<<"$out" | to_ms)
  R[$key.p99]=$(awk '$1 == "99%" {print $2}' <<<"$out" | to_ms)
  R[$key.errors]=$(awk '/Non-2xx|Socket errors/ {s = s $0 "; "} END {print s}' <<<"$out")
}
to_ms() { awk '{v = $1; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else if (v ~ /s$/) {sub(/s/, "", v); v *= 1000}; printf "%.2f", v}'; }

# wrk paces each connection with delay(): rate ≈ connections × 1000 / delay_ms.
pacing() {
  local target=$1 delay_ms=4 conns
  conns=$(awk -v r="$target" -v d="$delay_ms" 'BEGIN {c = int(r * d / 1000 + 0.5); if (c < 1) c = 1; print c}')
  printf 'function delay() return %s end\n' "$delay_ms" >"$work/pace-$conns.lua"
  echo "$conns $work/pace-$conns.lua"
}

echo "# http-bench $(date -u +%FT%TZ) on $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); wrk -t$threads, ${duration}s per run"
curl -sf "${URL[direct]}" >/dev/null || { echo "http-bench: origin ${URL[direct]} does not answer (deploy/local/status)" >&2; exit 1; }
curl -sf --cacert "$TLS_CA_FILE" -H "Authorization: Bearer $token" "${URL[chaperone]}" >/dev/null || { echo "http-bench: ${URL[chaperone]} refused the request; is the bench connection configured? (deploy/local/up rewrites chaperone.yaml)" >&2; exit 1; }

if ((!skip_wrk)); then
echo "## saturation (-c $connections)"
for t in "${targets[@]}"; do
  run_wrk "$t" "${URL[$t]}" "$connections"
  printf '  %-10s %10s req/s   p50 %8s ms   p99 %8s ms  %s\n' "$t" "${R[$t.rps]}" "${R[$t.p50]}" "${R[$t.p99]}" "${R[$t.errors]}"
done

half_direct=${rate:-$(awk -v r="${R[direct.rps]}" 'BEGIN {printf "%d", r / 2}')}
half_chap=$(awk -v r="${R[chaperone.rps]}" 'BEGIN {printf "%d", r / 2}')
for phase in "rate:$half_direct" "ratec:$half_chap"; do
  name=${phase%%:*} target_rate=${phase#*:}
  read -r conns script < <(pacing "$target_rate")
  echo "## fixed rate ~${target_rate} req/s (-c $conns, 4 ms between requests per connection)"
  for t in "${targets[@]}"; do
    run_wrk "$name.$t" "${URL[$t]}" "$conns" "$script"
    printf '  %-10s %10s req/s   p50 %8s ms   p99 %8s ms  %s\n' "$t" "${R[$name.$t.rps]}" "${R[$name.$t.p50]}" "${R[$name.$t.p99]}" "${R[$name.$t.errors]}"
  done
  R[$name.target]=$target_rate
done
fi

if ((!skip_clone)); then
  bare=$GIT_HTTP_ROOT/bench-${clone_mib}m.git
  if [[ ! -d $bare ]]; then
    echo "## creating $bare ($clone_mib MiB of random data, once)"
    seed=$work/seed
    git init -q -b main "$seed"
    for ((i = 0; i < clone_mib / 8; i++)); do head -c $((8 * 1024 * 1024)) /dev/urandom >"$seed/blob-$i.bin"; done
    git -C "$seed" add -A
    git -C "$seed" -c user.name=bench -c user.email=bench@chaperone.invalid commit -q -m "benchmark data"
    git init -q --bare -b main "$bare.tmp"
    git -C "$seed" push -q "$bare.tmp" main
    mv "$bare.tmp" "$bare"
    rm -rf "$seed"
  fi
  # Random blobs never delta: without this, upload-pack spends the clone searching for deltas
  # and the benchmark measures pack-objects instead of the transfer.
  git -C "$bare" config core.bigFileThreshold 1m
  git -C "$bare" config pack.window 0
  pw=$(<"$CHAPERONE_RUN_DIR/secrets/git-http.password")
  clone_time() {
    local name=$1 url=$2 t0 t1
    rm -rf "$work/clone-$name"
    t0=$(date +%s%N)
    GIT_SSL_CAINFO=$TLS_CA_FILE git clone -q --bare "$url" "$work/clone-$name"
    t1=$(date +%s%N)
    R[clone.$name.s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
    R[clone.$name.mibps]=$(awk -v s="${R[clone.$name.s]}" -v m="$clone_mib" 'BEGIN {printf "%.1f", m / s}')
    rm -rf "$work/clone-$name"
  }
  echo "## git clone of $clone_mib MiB (best of 2 after a warm-up clone)"
  direct_url="http://git-bot:$pw@127.0.0.1:${GIT_HTTP_URL##*:}/$(basename "$bare")"
  chaperone_url="${AGENT_HTTP_BASE/https:\/\//https://agent:$token@}/git/$(basename "$bare")"
  clone_time warmup "$direct_url"
  declare -A best=()
  for _ in 1 2; do
    for n in direct chaperone; do
      if [[ $n == direct ]]; then clone_time "$n" "$direct_url"; else clone_time "$n" "$chaperone_url"; fi
      if [[ -z ${best[$n]:-} ]] || awk -v a="${R[clone.$n.s]}" -v b="${best[$n]}" 'BEGIN {exit !(a < b)}'; then best[$n]=${R[clone.$n.s]}; fi
    done
  done
  for n in direct chaperone; do
    R[clone.$n.s]=${best[$n]}
    R[clone.$n.mibps]=$(awk -v s="${best[$n]}" -v m="$clone_mib" 'BEGIN {printf "%.1f", m / s}')
    printf '  %-10s %8s s   %8s MiB/s\n' "$n" "${R[clone.$n.s]}" "${R[clone.$n.mibps]}"
  done
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a / b; else print "n/a"}'; }
diffms() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a - b}'; }
echo "## ratios"
if ((!skip_wrk)); then
R[ratio.chaperone_vs_nginx_rps]=$(ratio "${R[chaperone.rps]}" "${R[nginx.rps]}")
R[ratio.nginx_vs_direct_rps]=$(ratio "${R[nginx.rps]}" "${R[direct.rps]}")
R[added_p99_ms.at_half_direct]=$(diffms "${R[rate.chaperone.p99]}" "${R[rate.direct.p99]}")
R[added_p99_ms.at_half_chaperone]=$(diffms "${R[ratec.chaperone.p99]}" "${R[ratec.direct.p99]}")
R[nginx_added_p99_ms.at_half_direct]=$(diffms "${R[rate.nginx.p99]}" "${R[rate.direct.p99]}")
echo "  chaperone / nginx requests/s at saturation:  ${R[ratio.chaperone_vs_nginx_rps]}   (target ≥ 0.25)"
echo "  nginx / direct requests/s at saturation:     ${R[ratio.nginx_vs_direct_rps]}"
echo "  added p99 at ~${R[rate.target]} req/s (half of direct's peak): chaperone ${R[added_p99_ms.at_half_direct]} ms (achieved ${R[rate.chaperone.rps]} req/s), nginx ${R[nginx_added_p99_ms.at_half_direct]} ms   (target ≤ 1 ms)"
echo "  added p99 at ~${R[ratec.target]} req/s (half of chaperone's peak): ${R[added_p99_ms.at_half_chaperone]} ms"
fi
if ((!skip_clone)); then
  R[ratio.clone_time_chaperone_vs_direct]=$(ratio "${R[clone.chaperone.s]}" "${R[clone.direct.s]}")
  echo "  git clone time, chaperone / direct:           ${R[ratio.clone_time_chaperone_vs_direct]}   (target ≤ 1.2)"
fi

if [[ -n $json ]]; then
  for k in "${!R[@]}"; do printf '%s\t%s\n' "$k" "${R[$k]}"; done | sort |
    node -e 'const lines = require("fs").readFileSync(0, "utf8").trim().split("\n"); const o = {}; for (const l of lines) { const [k, v] = l.split("\t"); o[k] = v !== "" && !isNaN(Number(v)) ? Number(v) : v; } require("fs").writeFileSync(process.argv[1], JSON.stringify(o, null, 2) + "\n");' "$json"
  echo "figures written to $json"
fi
