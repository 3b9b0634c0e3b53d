/**
 * Microbenchmark of what every proxied request pays before the policy: head checks, target
 * parsing, agent credentials, routing, and the recorded head.
 * Run: node --conditions=development --import tsx src/lib/protocols/http/request.bench.ts
 */
import { RequestFramer, checkRequestHead, formatRequestHead, parseAgentAuthorization, parseTarget, restCommand, selectRoute } from './index.js';

const N = 300_000;
const raw = ['Host', 'gateway.example:8443', 'User-Agent', 'kubectl/v1.32.4', 'Accept', 'application/json', 'Authorization', `Bearer ${'a'.repeat(120)}.${'b'.repeat(200)}.${'c'.repeat(86)}`, 'Content-Type', 'application/json', 'Content-Length', '512'];
const routes = ['/git/', '/v2/', '/k8s/', '/api/', '/bench/'].map((prefix) => ({ hosts: [], prefix, value: prefix }));

const start = process.hrtime.bigint();
let sink = 0;
for (let i = 0; i < N; i++) {
  checkRequestHead(raw, 1 << 30);
  const t = parseTarget('/k8s/api/v1/namespaces/demo/configmaps/app-config?fieldManager=kubectl-client-side-apply&fieldValidation=Strict', 'PATCH');
  sink += parseAgentAuthorization(raw[7]).token.length;
  sink += selectRoute(routes, 'gateway.example', t.path)?.rest.length ?? 0;
  sink += restCommand('PATCH', t, 'application/json').text.length;
  sink += formatRequestHead('PATCH', '/k8s/api/v1/namespaces/demo/configmaps/app-config', '1.1', raw).length;
}
const ms = Number(process.hrtime.bigint() - start) / 1e6;
console.log(`request head path: ${((N / ms) * 1000).toFixed(0)} requests/s (${((ms * 1000) / N).toFixed(2)} µs each; checksum ${sink})`);

// What the HTTP/1.1 framer (guard.ts) costs per request on a keep-alive connection, against the
// checkRequestHead it replaces for HTTP/1.1: one head (and a 512-byte body) per feed.
let text = 'PATCH /k8s/api/v1/namespaces/demo/configmaps/app-config?fieldManager=kubectl-client-side-apply HTTP/1.1\r\n';
for (let i = 0; i + 1 < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
const wire = Buffer.concat([Buffer.from(`${text}\r\n`, 'latin1'), Buffer.alloc(512, 120)]);
const framer = new RequestFramer({ maxHeadBytes: 16384, maxFields: 100, maxBodyBytes: 1 << 30 });
const f0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) sink += framer.feed(wire).pass.length;
const fms = Number(process.hrtime.bigint() - f0) / 1e6;
const c0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) sink += checkRequestHead(raw, 1 << 30).kind.length;
const cms = Number(process.hrtime.bigint() - c0) / 1e6;
console.log(`framer: ${((fms * 1000) / N).toFixed(2)} µs a request; checkRequestHead: ${((cms * 1000) / N).toFixed(2)} µs (checksum ${sink})`);
