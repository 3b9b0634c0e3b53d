#!/usr/bin/env bash
# Runs the Rego unit tests (policies/*_test.rego) against the policy and data.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OPA="${OPA:-${CHAPERONE_CACHE:-$HOME/.cache/chaperone}/bin/opa}"
if [[ ! -x "$OPA" ]]; then
  echo "policies/test.sh: OPA not found at $OPA; run deploy/local/install (it builds OPA into the cache), or set OPA=/path/to/opa" >&2
  exit 127
fi
cd "$here"
"$OPA" fmt --fail -l ./*.rego >/dev/null || { echo "policies/test.sh: Rego not formatted; run: $OPA fmt -w policies/" >&2; exit 1; }
"$OPA" check --strict ./*.rego data.json
exec "$OPA" test -v "$@" ./*.rego data.json
