/**
 * MCP side by side (issue #15): `tools/call` of the reference `everything` server's echo tool
 * with the official SDK client at one client, direct to the server and through Chaperone
 * (haproxy → gateway nodes, per-call decision and recording on), in one run; prints p50/mean
 * latency per target, Chaperone/direct as a ratio, the latency added, and whether the added p50
 * stays within the Kafka acknowledgement floor + 1 ms (the issue's bound).
 *
 * The two targets are called in alternation (direct, Chaperone, direct, …) so that both see the
 * same machine load: on a shared machine whose load swings within a run, measuring one target
 * after the other compared two different machines.
 *
 *   node --conditions=development --import tsx loadtest/src/bench/mcp.ts [--calls 300] [--warmup 30] [--via URL] [--json]
 */
import { request as httpsRequest, Agent } from 'node:https';
import { cpus, loadavg } from 'node:os';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { loadConfig } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { readFileSync } from 'node:fs';
import { loadBenchStack, repoRoot } from './bench-stack.js';
import { BenchError } from './errors.js';
import { kafkaAckFloor } from './kafka-floor.js';

const HELP = `Usage: node --conditions=development --import tsx loadtest/src/bench/mcp.ts [options]

Calls the echo tool of the reference MCP server "everything" (deploy/local component
mcp-everything) one call at a time with the MCP SDK client, direct and through Chaperone (the
local stack's haproxy endpoint, connection mcp-everything), and prints p50 and mean latency per
target, Chaperone/direct p50 as a ratio, the latency added, and the verdict on the bound "added
p50 <= Kafka acknowledgement p50 + 1 ms".

Options:
  --calls <n>     measured calls per target (default 300)
  --warmup <n>    calls before measuring, per target (default 30)
  --stack <file>  the stack description (default deploy/local/.run/stack.json)
  --via <url>     reach Chaperone here instead of the load-balanced endpoint, e.g. one gateway
                  node's HTTP proxy (https://127.0.0.1:18441) or an extra node being profiled
  --json          print the figures as JSON on stdout (progress stays on stderr)
  -h, --help      this text`;

interface Options {
  calls: number;
  warmup: number;
  stack: string;
  via: string | undefined;
  json: boolean;
}

function options(): Options | undefined {
  const { values: v } = parseArgs({
    options: {
      calls: { type: 'string', default: '300' },
      warmup: { type: 'string', default: '30' },
      stack: { type: 'string', default: `${repoRoot}deploy/local/.run/stack.json` },
      via: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (v.help) return void process.stdout.write(`${HELP}\n`);
  const positive = (name: string, s: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new BenchError('BAD_ARGS', `--${name} takes a positive integer, not "${s}"`);
    return n;
  };
  return { calls: positive('calls', v.calls), warmup: positive('warmup', v.warmup), stack: v.stack, via: v.via, json: v.json };
}

/** fetch over node:https with the stack's CA and keep-alive (the SDK takes a fetch; the global one cannot be given a CA). */
function fetchWithCa(ca: string): (url: string | URL, init?: RequestInit) => Promise<Response> {
  const agent = new Agent({ ca, keepAlive: true });
  return (url, init = {}) =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(new URL(url), { method: init.method ?? 'GET', headers: Object.fromEntries(new Headers(init.headers).entries()), agent }, (res) => {
        const h = new Headers();
        for (const [k, val] of Object.entries(res.headers)) if (val !== undefined) h.set(k, Array.isArray(val) ? val.join(', ') : val);
        const status = res.statusCode ?? 502;
        resolve(new Response(status === 202 || status === 204 ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, headers: h }));
      });
      req.on('error', reject);
      init.signal?.addEventListener('abort', () => req.destroy(new Error('aborted')));
      req.end(typeof init.body === 'string' ? init.body : undefined);
    });
}

interface Figures {
  target: 'direct' | 'chaperone';
  calls: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

type Target = { target: Figures['target']; transport: StreamableHTTPClientTransport };

/** One echo call per target in turn, warm-up first; the samples of each target. */
async function measure(targets: Target[], o: Options): Promise<Figures[]> {
  const clients = targets.map(() => new Client({ name: 'chaperone-bench', version: '1.0.0' }));
  try {
    for (const [i, c] of clients.entries()) await c.connect(targets[i]!.transport);
    const samples = targets.map(() => [] as number[]);
    for (let n = 0; n < o.warmup + o.calls; n++) {
      for (const [i, c] of clients.entries()) {
        const t0 = process.hrtime.bigint();
        const r = await c.callTool({ name: 'echo', arguments: { message: `bench ${n}` } });
        if (r.isError) throw new BenchError('RUN_FAILED', `${targets[i]!.target}: the echo call failed: ${JSON.stringify(r.content)}`);
        if (n >= o.warmup) samples[i]!.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
    }
    return samples.map((s, i) => {
      s.sort((a, b) => a - b);
      const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
      return { target: targets[i]!.target, calls: o.calls, p50Us: at(0.5), p99Us: at(0.99), meanUs: s.reduce((a, b) => a + b, 0) / s.length };
    });
  } finally {
    for (const c of clients) await c.close();
  }
}

async function main(o: Options): Promise<void> {
  const stack = loadBenchStack(o.stack);
  if (!stack.MCP_EVERYTHING_URL) throw new BenchError('NO_STACK', 'the stack has no mcp-everything component: restart it with a deploy/local that runs the reference MCP servers (deploy/local/up)');
  const config = loadConfig(stack.CHAPERONE_CONFIG);
  const token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject: 'bench:mcp', groups: ['agents'], ttlMs: 30 * 60_000 });
  const progress = (s: string) => process.stderr.write(`${s}\n`);
  const load = [loadavg()[0]!];
  const via = `${(o.via ?? stack.AGENT_HTTP_BASE!).replace(/\/$/, '')}/mcp-everything/`;
  progress(`direct ${stack.MCP_EVERYTHING_URL} and chaperone ${via}, in alternation …`);
  const [direct, through] = (await measure(
    [
      { target: 'direct', transport: new StreamableHTTPClientTransport(new URL(stack.MCP_EVERYTHING_URL)) },
      { target: 'chaperone', transport: new StreamableHTTPClientTransport(new URL(via), { requestInit: { headers: { Authorization: `Bearer ${token}` } }, fetch: fetchWithCa(readFileSync(stack.TLS_CA_FILE!, 'utf8')) }) },
    ],
    o,
  )) as [Figures, Figures];
  progress('measuring the Kafka acknowledgement round trip (acks=all, idempotent, one message) …');
  const kafkaAck = await kafkaAckFloor(config.kafka.brokers);
  load.push(loadavg()[0]!);
  const addedUs = through.p50Us - direct.p50Us;
  const boundUs = kafkaAck.p50Us + 1000;
  const ratio = through.p50Us / direct.p50Us;
  const verdict = `added p50 ${(addedUs / 1000).toFixed(2)} ms ${addedUs <= boundUs ? '<=' : '>'} Kafka ack p50 + 1 ms = ${(boundUs / 1000).toFixed(2)} ms: ${addedUs <= boundUs ? 'within' : 'OVER'} the bound`;
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? '?'}, load average ${load[0]!.toFixed(1)} → ${load[1]!.toFixed(1)}`;
  const date = new Date().toISOString();
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ date, machine, cases: [direct, through], ratio, addedUs, kafkaAck, boundUs, withinBound: addedUs <= boundUs }, null, 2)}\n`);
    return;
  }
  const row = (f: Figures) => `${f.target.padEnd(10)} ${String(f.calls).padStart(6)} ${(f.p50Us / 1000).toFixed(2).padStart(8)} ${(f.p99Us / 1000).toFixed(2).padStart(8)} ${(f.meanUs / 1000).toFixed(2).padStart(8)}`;
  process.stdout.write(
    `MCP tools/call (everything/echo), 1 client; ${date}; ${machine}\n\n` +
      `target      calls  p50 ms   p99 ms   mean ms\n${row(direct)}\n${row(through)}\n\n` +
      `chaperone/direct p50: ${ratio.toFixed(2)}×; ${verdict}\n`,
  );
}

try {
  const o = options();
  if (o) await main(o);
} catch (err) {
  process.stderr.write(`mcp benchmark: ${err instanceof BenchError ? err.message : ((err as Error).stack ?? String(err))}\n`);
  process.exitCode = 1;
}
