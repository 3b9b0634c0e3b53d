import { connect as netConnect, type Socket } from 'node:net';
import fc from 'fast-check';
import { Backend, MessageReader, decodeDataRow, decodeBackend, decodeErrorFields, encodeGSSENCRequest, encodeQuery, encodeSSLRequest, encodeTerminate, type PgMessage } from '../../../protocols/postgres/index.js';
import type { ClientSessionSpec, ServerSessionSpec } from './frames.js';
import type { PgHarness } from './harness.js';
import { cut } from './mutations.js';
import { HangError, RawPgClient, errorMessage, withTimeout } from './raw-client.js';
import type { StartupSpec } from './startup-frames.js';

/** How each fuzzed connection ended, by outcome name. */
export type Outcomes = Map<string, number>;

/** The gateway decodes what it inspects (ReadyForQuery, and what result masking reads) and may end the session on a malformed one. */
function decodes(m: PgMessage): boolean {
  try {
    decodeBackend(m);
    return true;
  } catch {
    return false;
  }
}

/** Messages the gateway's result masking may rewrite (masking/postgres.ts). */
const MASKABLE = new Set<number>([Backend.DataRow, Backend.ErrorResponse, Backend.NoticeResponse, Backend.CopyData, Backend.NotificationResponse]);

/** The forwarded frame is the upstream's, or its masked rewrite (same type; never a gateway error). */
function sameOrMasked(got: PgMessage, sent: PgMessage): boolean {
  if (got.frame.equals(sent.frame)) return true;
  return got.code === sent.code && MASKABLE.has(got.code) && !isGatewayError(got);
}

const bump = (o: Outcomes, k: string) => o.set(k, (o.get(k) ?? 0) + 1);
const isGatewayError = (m: PgMessage) => m.code === Backend.ErrorResponse && (decodeErrorFields(m.payload).M ?? '').startsWith('chaperone:');

/**
 * Runs generated jobs `concurrency` at a time until their frames add up to `targetFrames`.
 * Job `i` gets the value fast-check generates from seed `seed + i`, so a failing job can be
 * regenerated from the seed printed with the failure.
 */
export async function runJobs<T>(o: {
  name: string;
  seed: number;
  targetFrames: number;
  concurrency: number;
  arb: fc.Arbitrary<T>;
  frames: (spec: T) => number;
  run: (spec: T, i: number) => Promise<void>;
}): Promise<{ jobs: number; frames: number }> {
  let frames = 0;
  let next = 0;
  let failure: Error | undefined;
  const worker = async () => {
    while (frames < o.targetFrames && !failure) {
      const i = next++;
      const [spec] = fc.sample(o.arb, { seed: o.seed + i, numRuns: 1 });
      frames += o.frames(spec!);
      try {
        await o.run(spec!, i);
      } catch (err) {
        failure ??= new Error(`${o.name}: job #${i} (fast-check seed ${o.seed + i}; suite seed ${o.seed}) failed: ${(err as Error).message}`, { cause: err });
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  if (failure) throw failure;
  return { jobs: next, frames };
}

/** A plain TCP connection that keeps everything it receives. */
class PlainConn {
  private chunks: Buffer[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => (this.chunks.push(c), this.notify()));
    socket.on('close', () => ((this.closed = true), this.notify()));
    socket.on('error', () => {});
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `n` bytes arrived or the connection closed. */
  async bytes(n: number, timeoutMs: number, what: string): Promise<Buffer> {
    await withTimeout(
      (async () => {
        while (this.received.length < n && !this.closed) await new Promise<void>((r) => this.waiters.push(r));
      })(),
      timeoutMs,
      what,
    );
    return this.received;
  }

  async close(timeoutMs: number, what: string): Promise<void> {
    await withTimeout(
      (async () => {
        while (!this.closed) await new Promise<void>((r) => this.waiters.push(r));
      })(),
      timeoutMs,
      what,
    );
  }
}

async function plain(port: number, timeoutMs: number): Promise<PlainConn> {
  const s = netConnect({ host: '127.0.0.1', port, noDelay: true });
  const conn = new PlainConn(s);
  await withTimeout(new Promise<void>((resolve, reject) => (s.once('connect', resolve), s.once('error', reject))), timeoutMs, 'the TCP connection');
  return conn;
}

/** What a gateway may say in the startup phase: 'N'/'S' answers, then ErrorResponse or an authentication request. */
function checkStartupAnswer(bytes: Buffer): void {
  let i = 0;
  while (bytes[i] === 0x4e) i++; // 'N'
  if (bytes[i] === 0x53) return; // 'S': TLS from here on
  const reader = new MessageReader({ maxMessageBytes: 1 << 20 });
  const { messages, error } = reader.push(bytes.subarray(i));
  if (error || reader.bufferedBytes > 0) throw new Error(`the gateway answered with bytes that are not whole frames: ${bytes.subarray(0, 64).toString('hex')}`);
  for (const m of messages)
    if (m.code !== Backend.ErrorResponse && m.code !== Backend.Authentication) throw new Error(`unexpected ${String.fromCharCode(m.code)} message in the startup phase`);
}

/** One hostile startup-phase connection: it must be answered with an error or closed in time. */
export async function startupConnection(h: PgHarness, spec: StartupSpec, timeoutMs: number, outcomes: Outcomes): Promise<void> {
  if (spec.kind === 'tls-then') {
    const c = await RawPgClient.connect(h.port, { tls: true, timeoutMs });
    c.end(spec.after);
    const got = await c.untilClosed(timeoutMs, 'the gateway to close the connection');
    bump(outcomes, got.some((m) => m.code === Backend.ErrorResponse) ? 'tls: error' : 'tls: closed');
    return;
  }
  const c = await plain(h.port, timeoutMs);
  if (spec.kind === 'plain') c.socket.end(spec.bytes);
  else {
    const [request, answer] = spec.kind === 'ssl-then' ? [encodeSSLRequest(), 'S'] : [encodeGSSENCRequest(), 'N'];
    c.socket.write(request);
    const got = await c.bytes(1, timeoutMs, `the answer to the ${spec.kind === 'ssl-then' ? 'SSL' : 'GSSENC'}Request`);
    if (got.toString('latin1', 0, 1) !== answer) throw new Error(`${spec.kind}: answered ${JSON.stringify(got.toString('latin1', 0, 1))}, expected ${answer}`);
    c.socket.end(spec.after);
  }
  await c.close(timeoutMs, 'the gateway to close the connection');
  if (spec.kind !== 'ssl-then') checkStartupAnswer(c.received);
  bump(outcomes, `${spec.kind}: ${c.received.includes(0x45) ? 'answered' : 'closed'}`);
}

/**
 * A logged-in session that sends `spec.frames` and then a sentinel query: the gateway must
 * answer the sentinel or end the connection within `timeoutMs`, and send only whole frames.
 */
export async function clientSession(h: PgHarness, spec: ClientSessionSpec, i: number, timeoutMs: number, outcomes: Outcomes): Promise<void> {
  const c = await RawPgClient.connect(h.port, { tls: true, timeoutMs });
  const sentinel = String(700_000_000 + i);
  const pieces = cut(Buffer.concat([...spec.frames, encodeQuery(`SELECT ${sentinel}`)]), spec.cuts);
  const pipelined = spec.pipelineWithPassword ? pieces.shift() : undefined;
  const login = await c.login({ user: h.subject, database: 'fake', applicationName: 'fuzz-client', token: h.token, ...(pipelined ? { pipelined } : {}) }, timeoutMs);
  if (!login.ok) throw new Error(`login failed: ${login.error}`);
  for (const p of pieces) c.write(p);
  if (spec.ending === 'vanish') {
    c.destroy();
    return void bump(outcomes, 'client vanished');
  }
  let answered = false;
  let errors = 0;
  for (let m = await c.next(timeoutMs, 'the sentinel answer'); m; m = await c.next(timeoutMs, 'the sentinel answer')) {
    if (m.code === Backend.ErrorResponse && isGatewayError(m)) errors++;
    if (m.code === Backend.DataRow && decodeDataRow(m.payload)[0]?.toString() === sentinel) answered = true;
    if (answered && m.code === Backend.ReadyForQuery) break;
  }
  if (c.readError) throw new Error(`the gateway sent bytes that are not frames: ${c.readError.message}`);
  if (answered) {
    if (spec.ending === 'terminate') await c.terminate(timeoutMs);
    else c.destroy();
    bump(outcomes, 'answered');
  } else bump(outcomes, errors > 0 ? 'gateway error, closed' : 'closed');
}

/**
 * A session whose upstream sends `spec.frames` (or a mutated login): the client must receive
 * exactly a prefix of the well-framed upstream frames, then at most gateway errors, and the
 * session must end when the upstream breaks framing, closes, or the client terminates.
 */
export async function serverSession(h: PgHarness, spec: ServerSessionSpec, i: number, timeoutMs: number, outcomes: Outcomes): Promise<void> {
  const app = `fuzz-server-${i}`;
  const stream = Buffer.concat(spec.frames);
  h.upstream.script(app, spec.login ? { login: Buffer.concat(spec.login) } : { frames: cut(stream, spec.cuts), thenClose: spec.thenClose });
  const c = await RawPgClient.connect(h.port, { tls: true, timeoutMs });
  const login = await c.login({ user: h.subject, database: 'fake', applicationName: app, token: h.token }, timeoutMs);
  if (spec.login) {
    if (login.ok) c.write(encodeTerminate());
    await c.untilClosed(timeoutMs, 'the end of a session whose upstream login was mutated');
    return void bump(outcomes, login.ok ? 'mutated login: session, then closed' : 'mutated login: refused');
  }
  if (!login.ok) throw new Error(`login failed: ${login.error}`);
  c.write(encodeQuery('SELECT 1'));
  const reader = new MessageReader({ maxMessageBytes: h.config.gateway.postgres.maxMessageBytes });
  const { messages: expected, error } = reader.push(stream);
  const clean = !error && reader.bufferedBytes === 0 && expected.every(decodes);
  const got: PgMessage[] = [];
  while (got.length < expected.length) {
    const m = await c.next(timeoutMs, `upstream frame ${got.length + 1} of ${expected.length}`);
    if (!m) break;
    got.push(m);
  }
  if (!c.closed && !spec.thenClose) c.write(encodeTerminate());
  got.push(...(await c.untilClosed(timeoutMs, 'the end of the session')));
  if (c.readError) throw new Error(`the gateway sent bytes that are not frames: ${c.readError.message}`);
  let k = 0;
  while (k < got.length && k < expected.length && sameOrMasked(got[k]!, expected[k]!)) k++;
  const rest = got.slice(k);
  if (!rest.every(isGatewayError))
    throw new Error(`after ${k} upstream frames the client got ${String.fromCharCode(rest[0]!.code)} (${rest[0]!.frame.length} bytes) that is neither the next upstream frame nor a gateway error`);
  if (clean && k < expected.length)
    throw new Error(`the upstream sent ${expected.length} well-formed frames but the client got only ${k} of them${rest.length ? `, then: ${rest.map(errorMessage).join('; ')}` : ''}`);
  bump(outcomes, k === expected.length ? (rest.length ? 'all forwarded, then error' : 'all forwarded') : rest.length ? 'cut short with an error' : 'cut short');
}

export { HangError };
