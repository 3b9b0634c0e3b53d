#!/usr/bin/env node
// git smart-HTTP upstream for the local stack: `git http-backend` (Debian's git) behind a tiny
// Node HTTP server that speaks CGI to it (RFC 3875), with Basic authentication so the gateway's
// credential injection is exercised. Bare repositories live under GIT_PROJECT_ROOT.
//
//   usage: node server.mjs --listen 127.0.0.1:18080 --root <dir> --user <name> --password-file <file>
//
// One access-log line per request on stdout: `<iso time> <client> <user|-> "<method> <path>" <status> <bytes in>`
// (the e2e tests read it to prove that refused requests never reached the upstream).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
if (!args.listen || !args.root) {
  console.error('usage: server.mjs --listen host:port --root <dir> [--user <name> --password-file <file>]');
  process.exit(2);
}
const [host, port] = [args.listen.slice(0, args.listen.lastIndexOf(':')), Number(args.listen.slice(args.listen.lastIndexOf(':') + 1))];
const password = args['password-file'] ? readFileSync(args['password-file'], 'utf8').trim() : undefined;
const expected = password !== undefined ? `Basic ${Buffer.from(`${args.user ?? 'git'}:${password}`).toString('base64')}` : undefined;

function log(req, user, status, bytesIn) {
  process.stdout.write(`${new Date().toISOString()} ${req.socket.remoteAddress}:${req.socket.remotePort} ${user ?? '-'} "${req.method} ${req.url}" ${status} ${bytesIn}\n`);
}

const server = createServer((req, res) => {
  let bytesIn = 0;
  req.on('data', (c) => (bytesIn += c.length));
  if (req.url === '/healthz') {
    res.end('ok');
    return;
  }
  if (expected && req.headers.authorization !== expected) {
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
    res.end('authentication required\n');
    req.resume();
    req.on('end', () => log(req, undefined, 401, bytesIn));
    return;
  }
  const url = new URL(req.url, 'http://x');
  const env = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: args.root,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    // http-backend enables receive-pack only for an authenticated user (git-http-backend(1)).
    REMOTE_USER: expected ? (args.user ?? 'git') : '',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    GATEWAY_INTERFACE: 'CGI/1.1',
  };
  if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  if (req.headers['git-protocol']) env.HTTP_GIT_PROTOCOL = req.headers['git-protocol'];
  const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  req.pipe(cgi.stdin);
  cgi.stdin.on('error', () => {});
  let head = Buffer.alloc(0);
  let status = 200;
  let headersDone = false;
  cgi.stdout.on('data', (chunk) => {
    if (headersDone) return void (res.write(chunk) || (cgi.stdout.pause(), res.once('drain', () => cgi.stdout.resume())));
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') : head.indexOf('\n\n');
    if (end < 0) return;
    const sep = head[end] === 13 ? 4 : 2;
    const headers = {};
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const k = line.slice(0, i).trim();
      const v = line.slice(i + 1).trim();
      if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
      else headers[k] = v;
    }
    headersDone = true;
    res.writeHead(status, headers);
    const rest = head.subarray(end + sep);
    if (rest.length > 0) res.write(rest);
  });
  cgi.stdout.on('end', () => {
    if (!headersDone) res.writeHead(502).end('git http-backend sent no headers\n');
    else res.end();
  });
  cgi.on('close', () => log(req, args.user ?? 'git', status, bytesIn));
  res.on('close', () => {
    if (!res.writableFinished) cgi.kill();
  });
});
server.keepAliveTimeout = 65_000;
server.requestTimeout = 0;
server.listen(port, host, () => console.error(`git-http: listening on ${host}:${port}, repositories under ${args.root}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
