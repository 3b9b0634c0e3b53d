#!/usr/bin/env bash
# Compiles a policy pack to an OPA Wasm bundle with /policy.wasm, /data.json and a /.manifest
# whose revision is a hash of the sources, so every Decision event names the exact policy.
#   usage: policies/build.sh [-s <policy dir>] [-o <bundle.tar.gz>]
#   defaults: -s policies/  -o policies/build/bundle.tar.gz
# Sources are the *.rego files (tests, *_test.rego, excluded) and data.json files under the
# policy dir; the entrypoint is chaperone/authz/decision. OPA: $OPA, else the one
# deploy/local/install builds into ${CHAPERONE_CACHE:-~/.cache/chaperone}/bin/opa.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OPA="${OPA:-${CHAPERONE_CACHE:-$HOME/.cache/chaperone}/bin/opa}"
src="$here"
out="$here/build/bundle.tar.gz"
usage() { echo "usage: policies/build.sh [-s <policy dir>] [-o <bundle.tar.gz>]"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -s|--src) src="$(realpath -m "${2:?}")"; shift 2 ;;
    -o|--output) out="$(realpath -m "${2:?}")"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "policies/build.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [[ ! -x "$OPA" ]]; then
  echo "policies/build.sh: OPA not found at $OPA; run deploy/local/install (it builds OPA into the cache), or set OPA=/path/to/opa" >&2
  exit 127
fi
if [[ ! -d "$src" ]]; then
  echo "policies/build.sh: policy dir $src does not exist" >&2
  exit 2
fi
cd "$src"
mapfile -t sources < <(find . \( -name build -o -name node_modules \) -prune -o -type f \( \( -name '*.rego' ! -name '*_test.rego' \) -o -name data.json \) -print | sed 's|^\./||' | LC_ALL=C sort)
if [[ ${#sources[@]} -eq 0 ]]; then
  echo "policies/build.sh: no .rego files in $src" >&2
  exit 2
fi
# The revision covers names and contents, so renaming or editing anything yields a new one.
revision="sha256:$(for f in "${sources[@]}"; do printf '%s\0' "$f"; cat "$f"; done | sha256sum | cut -c1-16)"
stage="$(mktemp -d)"
tmp_out=""
trap 'rm -rf "$stage" "$tmp_out"' EXIT
# Staging keeps stray JSON (package.json) and tests out of the bundle.
cp --parents "${sources[@]}" "$stage/"
"$OPA" check --strict "$stage"
mkdir -p "$(dirname "$out")"
# Written next to the target and renamed into place, so a watching gateway never reads a
# half-written bundle and concurrent builds do not clobber each other's output.
tmp_out="$(mktemp "$out.XXXXXX")"
(cd "$stage" && "$OPA" build -t wasm -e chaperone/authz/decision --revision "$revision" -o "$tmp_out" .) >&2
mv -f "$tmp_out" "$out"
tmp_out=""
echo "$out (revision $revision)"
