#!/usr/bin/env bash
# Checks formatting and types, then runs the Rego unit tests (*_test.rego) of a policy pack.
#   usage: policies/test.sh [-s <policy dir>] [extra `opa test` flags, e.g. --coverage, -r <regex>]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OPA="${OPA:-${CHAPERONE_CACHE:-$HOME/.cache/chaperone}/bin/opa}"
if [[ "${1:-}" == -s || "${1:-}" == --src ]]; then
  here="$(realpath -m "${2:?policy dir}")"
  shift 2
fi
if [[ ! -x "$OPA" ]]; then
  echo "policies/test.sh: OPA not found at $OPA; run deploy/local/install (it builds OPA into the cache), or set OPA=/path/to/opa" >&2
  exit 127
fi
cd "$here" 2>/dev/null || { echo "policies/test.sh: policy dir $here does not exist" >&2; exit 2; }
"$OPA" fmt --fail -l . >/dev/null || { echo "policies/test.sh: Rego in $here is not formatted; run: $OPA fmt -w $here" >&2; exit 1; }
"$OPA" check --strict --ignore build --ignore node_modules --ignore package.json .
exec "$OPA" test -v --ignore build --ignore node_modules --ignore package.json "$@" .
