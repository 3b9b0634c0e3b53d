# shellcheck shell=bash
# The HTTP upstreams agents reach through the gateway's HTTP proxy, and the benchmark peer:
#   git-http   git http-backend (Debian's git) behind a small Node CGI bridge, Basic auth
#   registry   Debian's docker-registry (distribution 2.8), htpasswd (bcrypt) auth
#   k8s-api    a Kubernetes API STAND-IN (deploy/local/k8s-standin: no real apiserver runs here)
#   json-api   an in-memory JSON CRUD/echo API behind an X-Api-Key header
#   nginx      the benchmark peer: a static origin, and a reverse proxy to it (plain and TLS)
#   mcp-everything   the reference MCP server `everything` (npm), its own Streamable HTTP transport
#   mcp-filesystem   the reference MCP server `filesystem` (npm, stdio) over Streamable HTTP
#                    through mcp-proxy, X-API-Key auth, serving $RUN_DIR/mcp-files
# Plus what the rest of deploy/local needs from them: chaperone.yaml connections, the haproxy
# HTTP frontend and the stack.env lines. Same prepare_/start_/health_ shape as lib/infra.sh,
# dispatched by the component table (lib/components.sh, kind "upstream"). Sourced, never run.

GIT_ROOT=$RUN_DIR/git/repos
REGISTRY_DIR=$RUN_DIR/registry
NGINX_DIR=$RUN_DIR/nginx

# ---------------------------------------------------------------- OpenID provider (human login)
# panva's oidc-provider (OpenID Certified, maintained), pinned, installed once under the cache;
# deploy/local/oidc/server.mjs configures it with static test users and the CLI's public client.
OIDC_DIR=$CACHE/oidc-provider-$OIDC_PROVIDER_VERSION
prepare_oidc() {
  [[ -f $OIDC_DIR/node_modules/oidc-provider/package.json ]] && return 0
  mkdir -p "$OIDC_DIR"
  [[ -f $OIDC_DIR/package.json ]] || echo '{"private":true}' >"$OIDC_DIR/package.json"
  (cd "$OIDC_DIR" && npm install --no-audit --no-fund --save-exact "oidc-provider@$OIDC_PROVIDER_VERSION") >"$LOG_DIR/oidc-install.log" 2>&1 ||
    die "npm install oidc-provider@$OIDC_PROVIDER_VERSION failed (see $LOG_DIR/oidc-install.log)"
}
start_oidc() {
  # The gateway's client for the client credentials grant (OAuth towards MCP servers, issue #15).
  OIDC_GATEWAY_CLIENT_SECRET=$(secret_file oidc-gateway-client.secret) \
    spawn oidc node "$LOCAL_DIR/oidc/server.mjs" "$OIDC_DIR" "$CHAPERONE_OIDC_PORT" "$CHAPERONE_API_WEB_PORT"
}
health_oidc() { http_ok "http://127.0.0.1:$CHAPERONE_OIDC_PORT/.well-known/openid-configuration"; }

# ---------------------------------------------------------------- reference MCP servers (issue #15)
# The official reference servers from npm, pinned, installed once under the cache (one npm
# project for the three packages). `everything` speaks Streamable HTTP itself (`streamableHttp`
# argument, POST/GET/DELETE /mcp on $PORT; it has no auth of its own and would bind every interface:
# mcp/loopback.mjs, preloaded, binds it to 127.0.0.1);
# `filesystem` speaks stdio only, so mcp-proxy (punkpeye/mcp-proxy, the maintained stdio ⇄
# Streamable HTTP bridge) serves it on loopback at /mcp, behind an X-API-Key the gateway injects.
MCP_SERVERS_DIR=$CACHE/mcp-servers-$MCP_EVERYTHING_VERSION-$MCP_FILESYSTEM_VERSION-$MCP_PROXY_VERSION
MCP_FILES_DIR=$RUN_DIR/mcp-files
prepare_mcp_servers() {
  [[ -f $MCP_SERVERS_DIR/node_modules/mcp-proxy/package.json && -f $MCP_SERVERS_DIR/node_modules/@modelcontextprotocol/server-everything/package.json &&
    -f $MCP_SERVERS_DIR/node_modules/@modelcontextprotocol/server-filesystem/package.json ]] && return 0
  mkdir -p "$MCP_SERVERS_DIR"
  [[ -f $MCP_SERVERS_DIR/package.json ]] || echo '{"private":true}' >"$MCP_SERVERS_DIR/package.json"
  (cd "$MCP_SERVERS_DIR" && npm install --no-audit --no-fund --save-exact "@modelcontextprotocol/server-everything@$MCP_EVERYTHING_VERSION" \
    "@modelcontextprotocol/server-filesystem@$MCP_FILESYSTEM_VERSION" "mcp-proxy@$MCP_PROXY_VERSION") >"$LOG_DIR/mcp-servers-install.log" 2>&1 ||
    die "npm install of the reference MCP servers failed (see $LOG_DIR/mcp-servers-install.log)"
}
prepare_mcp_everything() { prepare_mcp_servers; }
start_mcp_everything() {
  # It has no listen-address setting and binds every interface: mcp/loopback.mjs makes it 127.0.0.1.
  PORT=$CHAPERONE_MCP_EVERYTHING_PORT spawn mcp-everything node --import "$LOCAL_DIR/mcp/loopback.mjs" \
    "$MCP_SERVERS_DIR/node_modules/@modelcontextprotocol/server-everything/dist/index.js" streamableHttp
}
prepare_mcp_filesystem() {
  prepare_mcp_servers
  secret_file mcp-filesystem.key >/dev/null
  mkdir -p "$MCP_FILES_DIR/docs"
  [[ -f $MCP_FILES_DIR/docs/README.md ]] || printf '# Files an agent may read through Chaperone\n' >"$MCP_FILES_DIR/docs/README.md"
}
start_mcp_filesystem() {
  MCP_PROXY_API_KEY=$(cat "$SECRETS_DIR/mcp-filesystem.key") spawn mcp-filesystem node "$MCP_SERVERS_DIR/node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs" \
    --host 127.0.0.1 --port "$CHAPERONE_MCP_FILESYSTEM_PORT" --server stream -- \
    node "$MCP_SERVERS_DIR/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js" "$MCP_FILES_DIR"
}
# Any HTTP answer to a GET without a session (400/405/401) means the server is up.
mcp_http_up() {
  local code
  code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "http://127.0.0.1:$1/mcp") || return 1
  [[ $code =~ ^[1-5][0-9][0-9]$ && $code != 000 ]]
}
health_mcp_everything() { mcp_http_up "$CHAPERONE_MCP_EVERYTHING_PORT"; }
health_mcp_filesystem() { mcp_http_up "$CHAPERONE_MCP_FILESYSTEM_PORT"; }

# ---------------------------------------------------------------- git http-backend
prepare_git_http() {
  command -v git >/dev/null || die "git not installed: run deploy/local/install"
  secret_file git-http.password >/dev/null
  if [[ ! -d $GIT_ROOT/demo.git ]]; then
    mkdir -p "$GIT_ROOT"
    git init -q --bare -b main "$GIT_ROOT/demo.git"
    # One commit on main so that a clone has something to check out.
    local seed; seed=$(mktemp -d)
    git -C "$seed" init -q -b main
    printf '# demo\n\nA repository served by git http-backend through Chaperone.\n' >"$seed/README.md"
    git -C "$seed" add README.md
    git -C "$seed" -c user.name=deploy-local -c user.email=deploy-local@chaperone.invalid commit -q -m "initial commit"
    git -C "$seed" push -q "$GIT_ROOT/demo.git" main
    rm -rf "$seed"
  fi
}
start_git_http() {
  spawn git-http node "$LOCAL_DIR/git-http/server.mjs" --listen "127.0.0.1:$CHAPERONE_GIT_HTTP_PORT" --root "$GIT_ROOT" \
    --user git-bot --password-file "$SECRETS_DIR/git-http.password"
}
health_git_http() { http_ok "http://127.0.0.1:$CHAPERONE_GIT_HTTP_PORT/healthz"; }

# ---------------------------------------------------------------- docker-registry
prepare_registry() {
  command -v docker-registry >/dev/null || die "docker-registry not installed: run deploy/local/install"
  local pw hash
  pw=$(secret_file registry.password)
  mkdir -p "$REGISTRY_DIR/data"
  # distribution's htpasswd accepts only bcrypt; glibc's crypt(3) makes it ($2b$).
  if [[ ! -s $REGISTRY_DIR/htpasswd || $REGISTRY_DIR/htpasswd -ot $SECRETS_DIR/registry.password ]]; then
    hash=$(REG_PW=$pw python3 -W ignore -c 'import crypt, os; print(crypt.crypt(os.environ["REG_PW"], crypt.mksalt(crypt.METHOD_BLOWFISH)))') ||
      die "could not make a bcrypt hash for the registry (python3 with the crypt module is needed)"
    (umask 077; printf 'registry-bot:%s\n' "$hash" >"$REGISTRY_DIR/htpasswd")
  fi
  cat >"$REGISTRY_DIR/config.yml" <<YAML
# Generated by deploy/local/up (lib/http-upstreams.sh).
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$CHAPERONE_REGISTRY_PORT
  secret: $(secret_file registry-http.secret)
auth:
  htpasswd:
    realm: chaperone-local-registry
    path: $REGISTRY_DIR/htpasswd
YAML
}
start_registry() { spawn registry docker-registry serve "$REGISTRY_DIR/config.yml"; }
# /v2/ answers 401 without credentials: any answer means the registry is up.
health_registry() {
  local code
  code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "http://127.0.0.1:$CHAPERONE_REGISTRY_PORT/v2/") || return 1
  [[ $code == 200 || $code == 401 ]]
}

# ---------------------------------------------------------------- Kubernetes API stand-in
prepare_k8s_api() { secret_file k8s-sa.token >/dev/null; }
start_k8s_api() {
  spawn k8s-api node "$LOCAL_DIR/k8s-standin/server.mjs" --listen "127.0.0.1:$CHAPERONE_K8S_API_PORT" --token-file "$SECRETS_DIR/k8s-sa.token"
}
health_k8s_api() { http_ok "http://127.0.0.1:$CHAPERONE_K8S_API_PORT/healthz"; }

# ---------------------------------------------------------------- JSON API
prepare_json_api() { secret_file json-api.key >/dev/null; }
start_json_api() {
  spawn json-api node "$LOCAL_DIR/json-api/server.mjs" --listen "127.0.0.1:$CHAPERONE_JSON_API_PORT" --key-file "$SECRETS_DIR/json-api.key" --header X-Api-Key
}
health_json_api() { http_ok "http://127.0.0.1:$CHAPERONE_JSON_API_PORT/healthz"; }

# ---------------------------------------------------------------- nginx (benchmark peer)
prepare_nginx() {
  command -v nginx >/dev/null || die "nginx not installed: run deploy/local/install"
  mkdir -p "$NGINX_DIR/tmp"
  local t
  for t in body proxy fastcgi uwsgi scgi; do mkdir -p "$NGINX_DIR/tmp/$t"; done
  # shellcheck disable=SC2016  # $host is nginx's variable
  local proxy='proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host;'
  cat >"$NGINX_DIR/nginx.conf" <<CONF
# Generated by deploy/local/up (lib/http-upstreams.sh): the benchmark's origin and nginx peer.
daemon off;
worker_processes auto;
pid $NGINX_DIR/nginx.pid;
error_log stderr warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $NGINX_DIR/tmp/body;
    proxy_temp_path $NGINX_DIR/tmp/proxy;
    fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
    uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
    scgi_temp_path $NGINX_DIR/tmp/scgi;
    keepalive_requests 100000;
    upstream origin { server 127.0.0.1:$CHAPERONE_NGINX_ORIGIN_PORT; keepalive 256; }
    # the origin every benchmark run targets: a small static JSON document
    server {
        listen 127.0.0.1:$CHAPERONE_NGINX_ORIGIN_PORT;
        location / { default_type application/json; return 200 '{"ok":true,"from":"origin"}\n'; }
    }
    # nginx as a reverse proxy in front of the origin, plain and TLS
    server { listen 127.0.0.1:$CHAPERONE_NGINX_PROXY_PORT; location / { $proxy } }
    server {
        listen 127.0.0.1:$CHAPERONE_NGINX_PROXY_TLS_PORT ssl;
        ssl_certificate $TLS_DIR/gateway.pem;
        ssl_certificate_key $TLS_DIR/gateway-key.pem;
        location / { $proxy }
    }
}
CONF
  nginx -t -q -p "$NGINX_DIR" -e stderr -c "$NGINX_DIR/nginx.conf" || die "generated $NGINX_DIR/nginx.conf is invalid (see above)"
}
start_nginx() { spawn nginx nginx -p "$NGINX_DIR" -e stderr -c "$NGINX_DIR/nginx.conf"; }
health_nginx() { http_ok "http://127.0.0.1:$CHAPERONE_NGINX_ORIGIN_PORT/"; }

# ---------------------------------------------------------------- what the others write
# chaperone.yaml: gateway.httpProxy (indented for the gateway: block).
http_proxy_yaml() {
  local i
  printf '  httpProxy:\n    listen: 127.0.0.1:%s\n    listenByNode:\n' "$(gateway_httpproxy_port 1)"
  for ((i = 1; i <= CHAPERONE_GATEWAY_NODES; i++)); do printf '      gw-%s: 127.0.0.1:%s\n' "$i" "$(gateway_httpproxy_port "$i")"; done
}

# chaperone.yaml: the HTTP connections (indented for the connections: list).
http_connections_yaml() {
  secret_file git-http.password >/dev/null
  secret_file registry.password >/dev/null
  secret_file k8s-sa.token >/dev/null
  secret_file json-api.key >/dev/null
  secret_file mcp-server.token >/dev/null
  secret_file mcp-filesystem.key >/dev/null
  cat <<YAML
  - name: git
    protocol: http
    labels: { env: dev }
    http:
      upstream: http://127.0.0.1:$CHAPERONE_GIT_HTTP_PORT
      kind: git
      pathPrefix: /git/
      credentials: { type: basic, username: git-bot, password: { file: secrets/git-http.password } }
  - name: registry
    protocol: http
    labels: { env: dev }
    http:
      upstream: http://127.0.0.1:$CHAPERONE_REGISTRY_PORT
      kind: oci
      # registry clients always talk to /v2/ at the root
      pathPrefix: /v2/
      stripPrefix: false
      credentials: { type: basic, username: registry-bot, password: { file: secrets/registry.password } }
  - name: cluster
    protocol: http
    labels: { env: dev }
    http:
      upstream: http://127.0.0.1:$CHAPERONE_K8S_API_PORT
      kind: k8s
      pathPrefix: /k8s/
      credentials: { type: kubernetesServiceAccount, tokenFile: secrets/k8s-sa.token }
  - name: api
    protocol: http
    labels: { env: dev }
    http:
      upstream: http://127.0.0.1:$CHAPERONE_JSON_API_PORT
      kind: rest
      pathPrefix: /api/
      credentials: { type: header, name: X-Api-Key, value: { file: secrets/json-api.key } }
  - name: bench
    protocol: http
    labels: { env: dev }
    http:
      upstream: http://127.0.0.1:$CHAPERONE_NGINX_ORIGIN_PORT
      kind: rest
      pathPrefix: /bench/
  # an MCP server over Streamable HTTP, labelled prod (e2e: mcp; the test serves it)
  - name: mcp
    protocol: http
    labels: { env: prod }
    http:
      upstream: http://127.0.0.1:$CHAPERONE_MCP_TEST_PORT
      kind: mcp
      pathPrefix: /mcp/
      credentials: { type: bearer, token: { file: secrets/mcp-server.token } }
  # the reference MCP servers from npm (e2e: mcp-reference)
  - name: mcp-everything
    protocol: http
    labels: { env: dev }
    http:
      upstream: http://127.0.0.1:$CHAPERONE_MCP_EVERYTHING_PORT/mcp
      kind: mcp
      pathPrefix: /mcp-everything/
  - name: mcp-files
    protocol: http
    labels: { env: prod }
    http:
      # mcp-proxy serves exactly /mcp (no trailing slash): agents use /mcp-files/mcp
      upstream: http://127.0.0.1:$CHAPERONE_MCP_FILESYSTEM_PORT
      kind: mcp
      pathPrefix: /mcp-files/
      credentials: { type: header, name: X-API-Key, value: { file: secrets/mcp-filesystem.key } }
YAML
}

# haproxy.cfg: the load-balanced HTTP proxy endpoint (TCP: TLS ends at the gateway nodes).
haproxy_http_cfg() {
  local i
  printf '\nfrontend http_proxy\n    bind 127.0.0.1:%s\n    default_backend gateways_http\n\nbackend gateways_http\n    balance leastconn\n    option httpchk GET /healthz\n    http-check expect status 200\n' "$CHAPERONE_HAPROXY_HTTP_PORT"
  for ((i = 1; i <= CHAPERONE_GATEWAY_NODES; i++)); do
    printf '    server gw-%s 127.0.0.1:%s check port %s inter 2s fall 2 rise 2\n' "$i" "$(gateway_httpproxy_port "$i")" "$(gateway_http_port "$i")"
  done
}

# stack.env lines (env_line from lib/stackinfo.sh).
http_stack_env() {
  local i gw=""
  for ((i = 1; i <= CHAPERONE_GATEWAY_NODES; i++)); do gw+="${gw:+,}127.0.0.1:$(gateway_httpproxy_port "$i")"; done
  env_line GATEWAY_HTTP_PROXY_ADDRESSES "$gw"
  env_line HAPROXY_HTTP_PORT "$CHAPERONE_HAPROXY_HTTP_PORT"
  env_line AGENT_HTTP_BASE "https://127.0.0.1:$CHAPERONE_HAPROXY_HTTP_PORT"
  env_line GIT_HTTP_URL "http://127.0.0.1:$CHAPERONE_GIT_HTTP_PORT"
  env_line GIT_HTTP_ROOT "$GIT_ROOT"
  env_line GIT_HTTP_ACCESS_LOG "$LOG_DIR/git-http.log"
  env_line REGISTRY_URL "http://127.0.0.1:$CHAPERONE_REGISTRY_PORT"
  env_line REGISTRY_LOG "$LOG_DIR/registry.log"
  env_line K8S_API_URL "http://127.0.0.1:$CHAPERONE_K8S_API_PORT"
  env_line K8S_API_ACCESS_LOG "$LOG_DIR/k8s-api.log"
  env_line JSON_API_URL "http://127.0.0.1:$CHAPERONE_JSON_API_PORT"
  env_line JSON_API_ACCESS_LOG "$LOG_DIR/json-api.log"
  env_line MCP_TEST_PORT "$CHAPERONE_MCP_TEST_PORT"
  env_line MCP_EVERYTHING_URL "http://127.0.0.1:$CHAPERONE_MCP_EVERYTHING_PORT/mcp"
  env_line MCP_FILESYSTEM_URL "http://127.0.0.1:$CHAPERONE_MCP_FILESYSTEM_PORT/mcp"
  env_line MCP_FILES_DIR "$MCP_FILES_DIR"
  env_line MCP_EVERYTHING_LOG "$LOG_DIR/mcp-everything.log"
  env_line NGINX_ORIGIN_URL "http://127.0.0.1:$CHAPERONE_NGINX_ORIGIN_PORT"
  env_line NGINX_PROXY_URL "http://127.0.0.1:$CHAPERONE_NGINX_PROXY_PORT"
  env_line NGINX_PROXY_TLS_URL "https://127.0.0.1:$CHAPERONE_NGINX_PROXY_TLS_PORT"
}
