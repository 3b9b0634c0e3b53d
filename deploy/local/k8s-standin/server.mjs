#!/usr/bin/env node
// A STAND-IN for the Kubernetes API server, for the local stack and its tests only.
//
// No real apiserver can run on our machines (no container runtime, no etcd), so this small
// server speaks enough of the Kubernetes API for kubectl to work against it faithfully:
// discovery (/api, /apis, /api/v1, /apis/apps/v1, /version), namespaced and cluster-scoped
// CRUD with resourceVersions, Status errors, list/get/create/update/patch (merge, strategic
// merge for maps, JSON patch)/delete/deletecollection for namespaces, configmaps, secrets,
// pods, services and deployments, and `pods/exec` over WebSocket (v4/v5.channel.k8s.io) or
// SPDY/3.1 (v4.channel.k8s.io, spdy.mjs) that runs nothing: it answers `echo ...`, copies stdin
// back for `cat`, and otherwise prints what it would have run. It is not a real cluster: no
// controllers, no scheduling, no admission, no watch streaming.
//
//   usage: node server.mjs --listen 127.0.0.1:16443 --token-file <file>
//
// Requests must carry `Authorization: Bearer <contents of --token-file>` (a service-account
// token, injected by the gateway). One access-log line per request on stdout.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { serveSpdyExec } from './spdy.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
if (!args.listen) {
  console.error('usage: server.mjs --listen host:port [--token-file <file>]');
  process.exit(2);
}
const colon = args.listen.lastIndexOf(':');
const host = args.listen.slice(0, colon);
const port = Number(args.listen.slice(colon + 1));
const token = () => (args['token-file'] ? readFileSync(args['token-file'], 'utf8').trim() : undefined);

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const GROUPS = {
  v1: [
    { name: 'namespaces', singularName: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'] },
    { name: 'configmaps', singularName: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] },
    { name: 'secrets', singularName: 'secret', kind: 'Secret', namespaced: true },
    { name: 'pods', singularName: 'pod', kind: 'Pod', namespaced: true, shortNames: ['po'] },
    { name: 'services', singularName: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'] },
  ],
  'apps/v1': [{ name: 'deployments', singularName: 'deployment', kind: 'Deployment', namespaced: true, shortNames: ['deploy'] }],
};

let rv = 1000;
/** key `${groupVersion}/${resource}/${namespace}/${name}` → object */
const store = new Map();
const key = (gv, res, ns, name) => `${gv}/${res}/${ns ?? ''}/${name}`;
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
for (const ns of ['default', 'kube-system', 'demo']) put('v1', 'namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });

function put(gv, res, ns, obj, existing) {
  const meta = (obj.metadata ??= {});
  meta.resourceVersion = String(++rv);
  meta.uid = existing?.metadata?.uid ?? randomUUID();
  meta.creationTimestamp = existing?.metadata?.creationTimestamp ?? now();
  if (ns) meta.namespace = ns;
  store.set(key(gv, res, ns, meta.name), obj);
  return obj;
}

function status(code, reason, message, details = {}) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: code < 400 ? 'Success' : 'Failure', message, reason, details, code };
}

function send(res, code, body) {
  const b = Buffer.from(JSON.stringify(body));
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': b.length, 'Audit-Id': randomUUID() });
  res.end(b);
}

/** RFC 7386 merge patch; strategic-merge directives ($patch, $setElementOrder/...) are dropped. */
function mergePatch(target, patch) {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch: add, replace, remove, test. */
function jsonPatch(doc, ops) {
  const out = structuredClone(doc);
  for (const op of ops) {
    const path = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = path.pop();
    let parent = out;
    for (const p of path) parent = parent?.[p];
    if (parent === undefined || parent === null) throw new Error(`path ${op.path} does not exist`);
    if (op.op === 'remove') Array.isArray(parent) ? parent.splice(Number(last), 1) : delete parent[last];
    else if (op.op === 'add' && Array.isArray(parent)) parent.splice(last === '-' ? parent.length : Number(last), 0, op.value);
    else if (op.op === 'add' || op.op === 'replace') parent[last] = op.value;
    else if (op.op === 'test' && JSON.stringify(parent[last]) !== JSON.stringify(op.value)) throw new Error(`test failed at ${op.path}`);
  }
  return out;
}

/**
 * OpenAPI v3 as far as kubectl needs it: per group-version a document whose PATCH operations
 * carry the GVK extension and the fieldValidation parameter, so kubectl leaves validation to the
 * server (it sends fieldValidation=Strict) and never needs schemas.
 */
function openapi(p) {
  const gvs = { 'api/v1': 'v1', 'apis/apps/v1': 'apps/v1' };
  if (p === '/openapi/v3') return { paths: Object.fromEntries(Object.keys(gvs).map((k) => [k, { serverRelativeURL: `/openapi/v3/${k}?hash=standin-1` }])) };
  const gv = gvs[p.slice('/openapi/v3/'.length)];
  if (!gv) return undefined;
  const [group, version] = gv.includes('/') ? gv.split('/') : ['', gv];
  const params = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string' } }));
  const paths = {};
  for (const r of GROUPS[gv]) {
    const base = `/${p.slice('/openapi/v3/'.length)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.name}`;
    const op = { 'x-kubernetes-group-version-kind': { group, version, kind: r.kind }, parameters: params, responses: { 200: { description: 'OK' } } };
    paths[`${base}/{name}`] = { get: op, put: op, patch: op, delete: op };
    paths[base] = { get: op, post: op };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes (chaperone stand-in)', version: 'v1.32.0' }, paths, components: { schemas: {} } };
}

function discovery(url) {
  const p = url.pathname.replace(/\/+$/, '');
  if (p.startsWith('/openapi/v3')) return openapi(p);
  if (p === '/version') return { major: '1', minor: '32', gitVersion: 'v1.32.0-chaperone-standin', gitCommit: 'standin', gitTreeState: 'clean', buildDate: '2025-01-01T00:00:00Z', goVersion: 'go1.23', compiler: 'gc', platform: 'linux/amd64' };
  if (p === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `${host}:${port}` }] };
  const group = { name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } };
  if (p === '/apis') return { kind: 'APIGroupList', apiVersion: 'v1', groups: [group] };
  if (p === '/apis/apps') return { kind: 'APIGroup', apiVersion: 'v1', ...group };
  const gv = p === '/api/v1' ? 'v1' : p === '/apis/apps/v1' ? 'apps/v1' : undefined;
  if (!gv) return undefined;
  const resources = GROUPS[gv].map((r) => ({ name: r.name, singularName: r.singularName, namespaced: r.namespaced, kind: r.kind, verbs: VERBS, ...(r.shortNames ? { shortNames: r.shortNames } : {}) }));
  if (gv === 'v1') resources.push({ name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] }, { name: 'namespaces/status', singularName: '', namespaced: false, kind: 'Namespace', verbs: ['get', 'patch', 'update'] });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources };
}

/** /api/v1/... or /apis/apps/v1/... → { gv, def, ns, name, sub } */
function route(pathname) {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let gv;
  let rest;
  if (parts[0] === 'api' && parts[1] === 'v1') [gv, rest] = ['v1', parts.slice(2)];
  else if (parts[0] === 'apis' && parts[1] === 'apps' && parts[2] === 'v1') [gv, rest] = ['apps/v1', parts.slice(3)];
  else return undefined;
  let ns;
  if (rest[0] === 'namespaces' && rest.length > 2) {
    ns = rest[1];
    rest = rest.slice(2);
  }
  const def = GROUPS[gv].find((r) => r.name === rest[0]);
  if (!def || rest.length > 3) return undefined;
  return { gv, def, ns: def.namespaced ? ns : undefined, name: rest[1], sub: rest[2] };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function log(req, code) {
  process.stdout.write(`${new Date().toISOString()} ${req.socket.remoteAddress}:${req.socket.remotePort} "${req.method} ${req.url}" ${code}\n`);
}

function authorized(req) {
  const t = token();
  return t === undefined || req.headers.authorization === `Bearer ${t}`;
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/healthz' || url.pathname === '/readyz' || url.pathname === '/livez') return void res.end('ok');
  if (!authorized(req)) return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
  const d = discovery(url);
  if (d && req.method === 'GET') return send(res, 200, d);
  const r = route(url.pathname);
  if (!r) return send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
  const { gv, def, ns, name, sub } = r;
  if (def.namespaced && ns === undefined) {
    if (req.method === 'GET' && !name) {
      const items = [...store.entries()].filter(([k]) => k.startsWith(`${gv}/${def.name}/`)).map(([, v]) => v);
      return send(res, 200, { kind: `${def.kind}List`, apiVersion: gv, metadata: { resourceVersion: String(rv) }, items });
    }
    return send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
  }
  if (ns !== undefined && !store.has(key('v1', 'namespaces', undefined, ns)) && req.method === 'POST')
    return send(res, 404, status(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' }));
  if (sub) return send(res, 405, status(405, 'MethodNotAllowed', `the stand-in does not serve ${def.name}/${sub} over plain HTTP`));
  const k = name && key(gv, def.name, ns, name);
  const current = k ? store.get(k) : undefined;
  const notFound = () => send(res, 404, status(404, 'NotFound', `${def.name} "${name}" not found`, { name, kind: def.name }));
  const dryRun = url.searchParams.has('dryRun');
  switch (req.method) {
    case 'GET':
      if (!name) {
        const prefix = `${gv}/${def.name}/${ns ?? ''}/`;
        const items = [...store.entries()].filter(([kk]) => kk.startsWith(prefix)).map(([, v]) => v);
        return send(res, 200, { kind: `${def.kind}List`, apiVersion: gv, metadata: { resourceVersion: String(rv) }, items });
      }
      return current ? send(res, 200, current) : notFound();
    case 'POST': {
      const obj = JSON.parse((await readBody(req)).toString() || '{}');
      obj.metadata ??= {};
      if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${randomUUID().slice(0, 5)}`;
      if (!obj.metadata.name) return send(res, 422, status(422, 'Invalid', `${def.kind} is invalid: metadata.name: Required value`));
      if (ns && obj.metadata.namespace && obj.metadata.namespace !== ns) return send(res, 400, status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
      if (store.has(key(gv, def.name, ns, obj.metadata.name))) return send(res, 409, status(409, 'AlreadyExists', `${def.name} "${obj.metadata.name}" already exists`, { name: obj.metadata.name, kind: def.name }));
      Object.assign(obj, { apiVersion: gv, kind: def.kind });
      if (dryRun) return send(res, 201, obj);
      return send(res, 201, put(gv, def.name, ns, obj));
    }
    case 'PUT': {
      if (!current) return notFound();
      const obj = JSON.parse((await readBody(req)).toString() || '{}');
      if (obj.metadata?.resourceVersion && obj.metadata.resourceVersion !== current.metadata.resourceVersion)
        return send(res, 409, status(409, 'Conflict', `Operation cannot be fulfilled on ${def.name} "${name}": the object has been modified; please apply your changes to the latest version and try again`));
      Object.assign(obj, { apiVersion: gv, kind: def.kind });
      return send(res, 200, dryRun ? obj : put(gv, def.name, ns, obj, current));
    }
    case 'PATCH': {
      if (!current) return notFound();
      const type = (req.headers['content-type'] ?? '').split(';')[0];
      const patch = JSON.parse((await readBody(req)).toString() || '{}');
      let next;
      try {
        if (type === 'application/json-patch+json') next = jsonPatch(current, patch);
        else if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') next = mergePatch(current, patch);
        else return send(res, 415, status(415, 'UnsupportedMediaType', `the stand-in does not support patch type ${type}`));
      } catch (err) {
        return send(res, 422, status(422, 'Invalid', err.message));
      }
      next.metadata = { ...next.metadata, name };
      return send(res, 200, dryRun ? next : put(gv, def.name, ns, next, current));
    }
    case 'DELETE': {
      if (!name) {
        const prefix = `${gv}/${def.name}/${ns ?? ''}/`;
        const gone = [...store.keys()].filter((kk) => kk.startsWith(prefix));
        if (!dryRun) for (const kk of gone) store.delete(kk);
        return send(res, 200, { kind: `${def.kind}List`, apiVersion: gv, metadata: {}, items: [] });
      }
      if (!current) return notFound();
      if (!dryRun) store.delete(k);
      return send(res, 200, { ...status(200, '', ''), details: { name, kind: def.name, uid: current.metadata.uid } });
    }
    default:
      return send(res, 405, status(405, 'MethodNotAllowed', `method ${req.method} not allowed`));
  }
}

const server = createServer((req, res) => {
  res.on('finish', () => log(req, res.statusCode));
  handle(req, res).catch((err) => {
    if (!res.headersSent) send(res, 500, status(500, 'InternalError', err.message));
  });
});

/** WebSocket frame (server → client, unmasked). */
function wsFrame(opcode, payload) {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, len]) : Buffer.from([0x80 | opcode, 126, len >> 8, len & 255]);
  return Buffer.concat([head, payload]);
}

// pods/exec over WebSocket (the channel protocol kubectl >= 1.30 speaks): channel 1 stdout,
// channel 3 the final Status; or over SPDY/3.1 (older clients, or WebSocket turned off).
// Nothing is executed.
server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://x');
  const r = route(url.pathname);
  const reject = (code, text) => {
    socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`);
    log(req, code);
  };
  if (!authorized(req)) return reject(401, 'Unauthorized');
  if (String(req.headers.upgrade ?? '').toLowerCase() === 'spdy/3.1') return spdyExec(req, socket, head, url, r, reject);
  const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  const proto = ['v5.channel.k8s.io', 'v4.channel.k8s.io'].find((p) => protocols.includes(p));
  if (!r || r.def.name !== 'pods' || r.sub !== 'exec' || !proto) return reject(400, 'only pods/exec over v4/v5.channel.k8s.io is served');
  if (!store.has(key('v1', 'pods', r.ns, r.name))) return reject(404, `pods "${r.name}" not found`);
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${proto}\r\n\r\n`);
  log(req, 101);
  const command = url.searchParams.getAll('command');
  const finish = () => {
    socket.write(wsFrame(2, Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' }))])));
    setTimeout(() => socket.end(wsFrame(8, Buffer.from([3, 232]))), 50);
  };
  socket.on('error', () => {});
  // `cat` with stdin (v5): what arrives on channel 0 is copied to stdout until the client's close
  // signal for stdin (channel 255, payload 0).
  if (command[0] === 'cat' && url.searchParams.get('stdin') === 'true' && proto === 'v5.channel.k8s.io') {
    let buf = head ?? Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (let f; (f = readClientFrame(buf)); ) {
        buf = buf.subarray(f.size);
        if (f.opcode === 8) return socket.end(wsFrame(8, Buffer.from([3, 232])));
        if (f.payload[0] === 0 && f.payload.length > 1) socket.write(wsFrame(2, Buffer.concat([Buffer.from([1]), f.payload.subarray(1)])));
        if (f.payload[0] === 255 && f.payload[1] === 0) finish();
      }
    });
    return;
  }
  const out = command[0] === 'echo' ? `${command.slice(1).join(' ')}\n` : `chaperone k8s stand-in: would run ${JSON.stringify(command)} in ${r.ns}/${r.name}\n`;
  socket.write(wsFrame(2, Buffer.concat([Buffer.from([1]), Buffer.from(out)])));
  finish();
  socket.on('data', () => {});
});

/** One whole client frame (masked, RFC 6455 §5.2) at the start of buf, unmasked; undefined until it is complete. */
function readClientFrame(buf) {
  if (buf.length < 2) return undefined;
  let len = buf[1] & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  const masked = (buf[1] & 0x80) !== 0;
  const key = masked ? buf.subarray(at, at + 4) : undefined;
  if (masked) at += 4;
  if (buf.length < at + len) return undefined;
  const payload = Buffer.from(buf.subarray(at, at + len));
  if (key) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
  return { opcode: buf[0] & 0x0f, payload, size: at + len };
}

/** pods/exec over SPDY/3.1 with the v4 remote command protocol (X-Stream-Protocol-Version). */
function spdyExec(req, socket, head, url, r, reject) {
  const offered = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((s) => s.trim());
  if (!r || r.def.name !== 'pods' || r.sub !== 'exec' || req.method !== 'POST' || !offered.includes('v4.channel.k8s.io'))
    return reject(400, 'only POST pods/exec over SPDY/3.1 with v4.channel.k8s.io is served');
  if (!store.has(key('v1', 'pods', r.ns, r.name))) return reject(404, `pods "${r.name}" not found`);
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n');
  log(req, 101);
  const flag = (n) => url.searchParams.get(n) === 'true' || url.searchParams.get(n) === '1';
  const want = { stdin: flag('stdin'), stdout: flag('stdout'), stderr: flag('stderr'), tty: flag('tty') };
  serveSpdyExec(socket, head, { want, command: url.searchParams.getAll('command'), log: (m) => process.stdout.write(`${new Date().toISOString()} ${m}\n`) });
}

server.listen(port, host, () => console.error(`k8s stand-in: listening on ${host}:${port} (NOT a real apiserver)`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
