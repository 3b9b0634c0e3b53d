# shellcheck shell=bash
# npm install and the Nx build, shared by `stack` and `test-all`. Sourced after common.sh.

# The cached tools (opa, temporal) on PATH for builds and tests; Nx without its TUI/daemon.
export PATH="$CACHE/bin:$CACHE/venv/bin:$PATH" CHAPERONE_CACHE="$CACHE" NX_TUI=false NX_DAEMON=false NX_NO_CLOUD=true

# Installs node_modules from package-lock.json when missing or older than the lock. `npm install`,
# not `npm ci`: npm 11's ci refuses this lock because it lists no entries for other platforms'
# optional native packages (@swc/core-darwin-*, …); install honours the pinned versions all
# the same and leaves the lock unchanged.
ensure_node_modules() {
  local nm=$REPO_ROOT/node_modules
  if [[ -f $nm/.package-lock.json && ! $REPO_ROOT/package-lock.json -nt $nm/.package-lock.json ]]; then
    step npm "node_modules up to date"
    return 0
  fi
  local t; t=$(now_ms)
  step npm "npm install (node_modules missing or older than package-lock.json)"
  mkdir -p "$LOG_DIR"
  if ! (cd "$REPO_ROOT" && npm install --no-audit --no-fund --loglevel=error) >"$LOG_DIR/npm-install.log" 2>&1; then
    tail -n 30 "$LOG_DIR/npm-install.log" >&2
    err "npm install failed (full log: $LOG_DIR/npm-install.log)"; return 1
  fi
  step npm "npm install done in $(elapsed "$t")"
}

# npx nx run-many -t build; output in logs/build.log, its tail on failure.
build_all() {
  local t; t=$(now_ms)
  mkdir -p "$LOG_DIR"
  if ! (cd "$REPO_ROOT" && npx nx run-many -t build --outputStyle=static) >"$LOG_DIR/build.log" 2>&1; then
    tail -n 60 "$LOG_DIR/build.log" >&2
    err "build failed (full log: $LOG_DIR/build.log); fix it, then rerun"; return 1
  fi
  step build "npx nx run-many -t build done in $(elapsed "$t")"
}
