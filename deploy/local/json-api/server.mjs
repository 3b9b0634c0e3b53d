#!/usr/bin/env node
// A small JSON API upstream for the local stack: in-memory CRUD of /items plus /echo, behind an
// API key header (the gateway injects it; agents never hold it).
//
//   usage: node server.mjs --listen 127.0.0.1:18082 [--key-file <file>] [--header X-Api-Key]
//
//   GET    /items            list            POST   /items       create (JSON body, id assigned)
//   GET    /items/<id>       read            PUT    /items/<id>  replace
//   PATCH  /items/<id>       merge           DELETE /items/<id>  delete
//   ANY    /echo[/...]       the request as JSON (method, path, query, headers without the key, body)
//
// One access-log line per request on stdout: `<iso time> <client> "<method> <url>" <status> <bytes in>`.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
if (!args.listen) {
  console.error('usage: server.mjs --listen host:port [--key-file <file>] [--header X-Api-Key]');
  process.exit(2);
}
const colon = args.listen.lastIndexOf(':');
const header = (args.header ?? 'X-Api-Key').toLowerCase();
const key = args['key-file'] ? readFileSync(args['key-file'], 'utf8').trim() : undefined;
const items = new Map();
let next = 1;

function send(res, status, body) {
  const b = Buffer.from(body === undefined ? '' : JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': b.length });
  res.end(b);
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    res.on('finish', () => process.stdout.write(`${new Date().toISOString()} ${req.socket.remoteAddress}:${req.socket.remotePort} "${req.method} ${req.url}" ${res.statusCode} ${raw.length}\n`));
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/healthz') return send(res, 200, { ok: true });
    if (key !== undefined && req.headers[header] !== key) return send(res, 401, { error: `missing or wrong ${args.header ?? 'X-Api-Key'}` });
    let body;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        if (!url.pathname.startsWith('/echo')) return send(res, 400, { error: 'body is not JSON' });
        body = raw.toString('utf8');
      }
    }
    if (url.pathname === '/echo' || url.pathname.startsWith('/echo/')) {
      const headers = { ...req.headers };
      delete headers[header];
      return send(res, 200, { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body: body ?? null });
    }
    const m = /^\/items(?:\/([^/]+))?\/?$/.exec(url.pathname);
    if (!m) return send(res, 404, { error: `no route ${url.pathname}` });
    const id = m[1];
    if (!id) {
      if (req.method === 'GET') return send(res, 200, { items: [...items.values()] });
      if (req.method === 'POST') {
        if (typeof body !== 'object' || body === null) return send(res, 400, { error: 'expected a JSON object' });
        const item = { ...body, id: String(next++) };
        items.set(item.id, item);
        return send(res, 201, item);
      }
      return send(res, 405, { error: 'method not allowed' });
    }
    const cur = items.get(id);
    if (!cur && req.method !== 'PUT') return send(res, 404, { error: `item ${id} not found` });
    switch (req.method) {
      case 'GET':
        return send(res, 200, cur);
      case 'PUT':
        items.set(id, { ...body, id });
        return send(res, 200, items.get(id));
      case 'PATCH':
        items.set(id, { ...cur, ...body, id });
        return send(res, 200, items.get(id));
      case 'DELETE':
        items.delete(id);
        res.writeHead(204);
        return res.end();
      default:
        return send(res, 405, { error: 'method not allowed' });
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(args.listen.slice(colon + 1)), args.listen.slice(0, colon), () => console.error(`json-api: listening on ${args.listen}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
