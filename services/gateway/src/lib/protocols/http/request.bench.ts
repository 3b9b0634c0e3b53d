/**
 * Microbenchmark of what every proxied request pays before the policy: head checks, target
 * parsing, agent credentials, routing, and the recorded head.
 * Run: node --conditions=development --import tsx src/lib/protocols/http/request.bench.ts
 */
import { checkRequestHead, formatRequestHead, parseAgentAuthorization, parseTarget, restCommand, selectRoute } from './index.js';

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
