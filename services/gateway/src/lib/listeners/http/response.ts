import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { singleFrame, type MaskNote } from '@chaperone/events';
import { BodyCapture, bodyStoreFor, endToEndHeaders, formatResponseHead } from '../../protocols/http/index.js';
import type { PolicyDecision } from '../../policy/index.js';
import { jsonBatchCuts, type BodyPart, type BodyTransform } from '../../protocols/mcp/index.js';
import { UpstreamError } from '../../errors.js';
import { BodyMasker, effectiveRules, maskerFor } from '../../masking/index.js';
import type { Exchange, ExchangeDeps } from './exchange-types.js';
import type { HttpMetrics } from './metrics.js';
import { refusal, sendRefusal } from './refuse.js';
import type { HttpSession } from './session.js';

// The response side of an exchange: the upstream's head and body recorded, masked and relayed
// with backpressure.

/** The summary frame that ends a recorded body (size, SHA-256, how much of it is stored). */
export function bodyEndFrame(direction: 'CLIENT_TO_SERVER' | 'SERVER_TO_CLIENT', cap: BodyCapture, messageType: string, commandId = 0): Parameters<HttpSession['append']>[0] {
  const s = cap.summary();
  return singleFrame(direction, messageType, Buffer.from(JSON.stringify(s)), { redacted: s.storedBytes < s.bytes, commandId });
}

/** Rewrites upstream redirects (e.g. registry upload locations) to the gateway's address. */
export function rewriteLocation(x: Pick<Exchange, 'conn' | 'routePrefix' | 'publicBase'>, value: string): string {
  const u = x.conn.http.url;
  const prefix = x.conn.http.stripPrefix && x.routePrefix ? x.routePrefix.slice(0, -1) : '';
  let path: string | undefined;
  if (value.startsWith('/')) path = value;
  else {
    // Either scheme: upstreams build absolute URLs from X-Forwarded-Proto (e.g. distribution).
    for (const origin of [`http://${u.host}`, `https://${u.host}`, `http://${u.hostname}:${u.port}`, `https://${u.hostname}:${u.port}`]) {
      if (value.startsWith(`${origin}/`)) path = value.slice(origin.length);
    }
    if (path === undefined) return value;
  }
  if (u.basePath && path.startsWith(u.basePath)) path = path.slice(u.basePath.length) || '/';
  return value.startsWith('/') ? `${prefix}${path}` : `${x.publicBase}${prefix}${path}`;
}

/**
 * Response bodies that are text (JSON, text/*, XML, YAML, form data) and not compressed are
 * masked as they stream; packs, layers and other binary bodies pass untouched. JSON bodies
 * (`application/json`, `*+json`, NDJSON; a Kubernetes watch stream is `application/json`) get
 * the policy's JSON path rules too.
 */
function bodyMasking(headers: IncomingHttpHeaders): 'none' | 'text' | 'json' {
  const enc = (headers['content-encoding'] ?? 'identity').toLowerCase();
  if (enc !== 'identity') return 'none';
  const type = (headers['content-type'] ?? '').toLowerCase();
  if (/^application\/(json|[\w.+-]+\+json|x-ndjson|jsonl)\s*(;|$)/.test(type)) return 'json';
  return /^(text\/|application\/(json|[\w.+-]+\+json|xml|[\w.+-]+\+xml|x-yaml|yaml|javascript|x-www-form-urlencoded))/.test(type) ? 'text' : 'none';
}

/** Counts what the JSON path rules did to one response body. */
function countJsonMasking(m: BodyMasker, metrics: HttpMetrics): void {
  if (!m.appliesJsonPaths) return;
  if (m.jsonMasked > 0) metrics.jsonPathMasked.inc(m.jsonMasked);
  metrics.jsonBodies.inc({ result: m.jsonError ? 'not-applied' : 'applied' });
}

/** Masks a chunk; a chunk of whole messages is flushed at once (a long-lived event stream is not held back). */
function maskChunk(masker: BodyMasker, body: Buffer, whole: boolean): { out: Buffer; notes: MaskNote[] } {
  const r = masker.push(body);
  if (!whole || body.length === 0) return r;
  const f = masker.flush();
  return f.out.length === 0 ? r : { out: Buffer.concat([r.out, f.out]), notes: [...r.notes, ...f.notes] };
}

type Relay = (chunk: Buffer, masks: MaskNote[], commandId?: number) => boolean;

/** Relays whole messages (SSE events) one by one, each masked on its own and recorded with its command. */
function relayParts(body: Buffer, parts: readonly BodyPart[], masker: BodyMasker | undefined, relay: Relay): boolean {
  let ok = true;
  let at = 0;
  for (const p of parts) {
    const piece = body.subarray(at, (at += p.bytes));
    const { out, notes } = masker ? maskChunk(masker, piece, true) : { out: piece, notes: [] };
    // An event of no command of its own (a comment, a keep-alive) is the exchange's.
    ok = relay(out, notes, p.commandId || undefined) && ok;
  }
  if (at < body.length) ok = relay(body.subarray(at), []) && ok;
  return ok;
}

/**
 * Relays a JSON-RPC batch answer (a whole JSON array) element by element, each recorded with
 * its command. The JSON path rules apply to the whole document, so it is masked whole and the
 * masked array (as many elements) divided again; its mask notes go with the first element.
 */
function relayBatch(body: Buffer, parts: readonly BodyPart[], masker: BodyMasker | undefined, relay: Relay): void {
  let out = body;
  let notes: MaskNote[] = [];
  if (masker) {
    const r = masker.push(body);
    const tail = masker.flush();
    out = tail.out.length === 0 ? r.out : Buffer.concat([r.out, tail.out]);
    notes = [...r.notes, ...tail.notes];
  }
  const cuts = jsonBatchCuts(out);
  if (cuts.length !== parts.length) return void relay(out, notes);
  let at = 0;
  cuts.forEach((end, i) => {
    relay(out.subarray(at, end), i === 0 ? notes : [], parts[i]!.commandId);
    at = end;
  });
}

/**
 * Relays the upstream's answer to one request: a failure or timeout before the head becomes the
 * gateway's 502/504; the head is recorded and relayed (headers end-to-end, redirects rewritten);
 * the body goes through the protocol's transform and masking, recorded and relayed (BodyRelay).
 */
export function relayResponse(x: Exchange, deps: ExchangeDeps, upReq: ClientRequest, started: bigint, decision: PolicyDecision & { commandId?: number }, transformFor: (headers: IncomingHttpHeaders) => BodyTransform | undefined): Promise<void> {
  const { res, conn } = x;
  // The response answers one request, whose Command this is (events v3); 0 when the exchange
  // decided several (an MCP batch): then the transform divides the answer by message.
  const commandId = decision.commandId ?? 0;
  return new Promise((resolve) => {
    const timer = setTimeout(() => upReq.destroy(new UpstreamError('RESPONSE_TIMEOUT', `the upstream sent no response within ${conn.http.responseTimeoutMs} ms`)), conn.http.responseTimeoutMs);
    upReq.on('error', (err) => {
      clearTimeout(timer);
      answerUpstreamFailure(x, deps, err);
      resolve();
    });
    upReq.on('response', (upRes) => {
      clearTimeout(timer);
      // Answered meanwhile (an administrator ended the session): the upstream's answer is not relayed.
      if (res.headersSent || res.destroyed) {
        upRes.destroy();
        return resolve();
      }
      deps.metrics.upstreamLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      if (upRes.statusCode === 401) deps.credentials(conn).invalidate();
      const transform = transformFor(upRes.headers);
      const masking = bodyMasking(upRes.headers);
      const masker = masking !== 'none' ? new BodyMasker(maskerFor(effectiveRules(decision.mask)), { json: masking === 'json' }) : undefined;
      relayHead(x, upRes, commandId, masker !== undefined || transform !== undefined);
      new BodyRelay(x, deps, upRes, { transform, masker, commandId }, resolve).start();
    });
  });
}

/** The upstream failed before its head: the agent gets 502 (504 on the response timeout); after it, the answer is cut. */
function answerUpstreamFailure(x: Exchange, deps: ExchangeDeps, err: Error): void {
  const { res, conn, session } = x;
  if (res.headersSent) return void res.destroy();
  const timeout = err instanceof UpstreamError && err.code === 'RESPONSE_TIMEOUT';
  deps.log.warn({ connection: conn.name, err }, 'upstream request failed');
  sendRefusal(res, refusal(x.kind, timeout ? 504 : 502, `upstream ${conn.name} failed: ${err.message}`), { session, close: true });
}

/** Records and relays the upstream's head: end-to-end fields, redirects rewritten, no Content-Length when the body changes. */
function relayHead(x: Exchange, upRes: IncomingMessage, commandId: number, rewritten: boolean): void {
  const flat: string[] = [];
  for (const [k, v] of endToEndHeaders(upRes.rawHeaders)) {
    const lower = k.toLowerCase();
    flat.push(k, lower === 'location' || lower === 'content-location' ? rewriteLocation(x, v) : v);
  }
  // Masking changes the body's length: the agent gets it chunked instead (RFC 9112 §6.1).
  if (rewritten) {
    for (let i = flat.length - 2; i >= 0; i -= 2) if (flat[i]!.toLowerCase() === 'content-length') flat.splice(i, 2);
  }
  const status = upRes.statusCode ?? 502;
  // Recorded as the agent got it: an HTTP/2 agent gets an HTTP/2 head, which has no reason phrase (RFC 9113 §8.3.2).
  const h2 = x.req.httpVersionMajor === 2;
  x.session.append(singleFrame('SERVER_TO_CLIENT', 'http.response.head', formatResponseHead(status, h2 ? '' : (upRes.statusMessage ?? ''), h2 ? '2.0' : '1.1', flat), { commandId }));
  x.res.writeHead(status, upRes.statusMessage, flat);
}

/**
 * The upstream's body on its way to the agent: transformed, masked, recorded (as much as the
 * connection stores) and relayed, reading paused while too much is unacknowledged or the agent
 * is slow. Ends when the upstream's body ends, fails, or the agent goes away.
 */
class BodyRelay {
  private readonly cap: BodyCapture;
  private readonly transform: BodyTransform | undefined;
  private readonly masker: BodyMasker | undefined;
  private readonly commandId: number;
  private paused = false;
  private readonly resume = (): void => {
    if (this.paused && this.x.session.recorder.unackedBytes <= this.deps.maxInFlightBytes && !this.x.res.writableNeedDrain) {
      this.paused = false;
      this.upRes.resume();
    }
  };

  constructor(
    private readonly x: Exchange,
    private readonly deps: ExchangeDeps,
    private readonly upRes: IncomingMessage,
    how: { transform: BodyTransform | undefined; masker: BodyMasker | undefined; commandId: number },
    private readonly resolve: () => void,
  ) {
    this.transform = how.transform;
    this.masker = how.masker;
    this.commandId = how.commandId;
    const { bodies } = x.conn.http;
    this.cap = new BodyCapture(bodyStoreFor(upRes.headers['content-type'], bodies), bodies.maxStoredBytes);
  }

  start(): void {
    const { upRes, x } = this;
    x.session.recorder.on('drain', this.resume);
    x.res.on('drain', this.resume);
    upRes.on('data', (raw: Buffer) => this.onData(raw));
    upRes.on('end', () => this.onEnd());
    // The transform's own failure already ended the answer (endBroken).
    upRes.on('error', () => !this.transform?.failure && this.cut());
    upRes.on('aborted', () => !this.transform?.failure && this.cut());
    x.res.on('close', () => {
      if (!upRes.complete) upRes.destroy();
      this.done();
    });
  }

  /** Records (what is stored, and any masking) and writes one piece; false when the agent is slow. */
  private readonly relay: Relay = (chunk, masks, owner = this.commandId) => {
    const stored = this.cap.take(chunk);
    if (stored.length > 0 || masks.length > 0) this.x.session.append(singleFrame('SERVER_TO_CLIENT', 'http.response.body', stored, { masks, commandId: owner }));
    return chunk.length === 0 || this.x.res.write(chunk);
  };

  private onData(raw: Buffer): void {
    const { transform, masker } = this;
    if (transform?.failure) return;
    const body = transform ? transform.push(raw) : raw;
    const parts = transform?.takeParts?.();
    let ok: boolean;
    if (parts && parts.length > 0) ok = relayParts(body, parts, masker, this.relay);
    else {
      const { out, notes } = masker ? maskChunk(masker, body, transform?.messageAligned === true) : { out: body, notes: [] };
      ok = this.relay(out, notes);
    }
    if (transform?.failure) return this.endBroken(transform.failure);
    if (!ok || this.x.session.recorder.unackedBytes > this.deps.maxInFlightBytes) {
      this.paused = true;
      this.upRes.pause();
    }
  }

  private onEnd(): void {
    const { transform, masker } = this;
    if (transform?.failure) return;
    const last = transform?.end();
    const parts = transform?.takeParts?.();
    if (last && parts && parts.length > 0) relayBatch(last, parts, masker, this.relay);
    else if (last && last.length > 0) {
      const r = masker ? masker.push(last) : { out: last, notes: [] };
      this.relay(r.out, r.notes);
    }
    if (masker) {
      const tail = masker.end();
      this.relay(tail.out, tail.notes);
      countJsonMasking(masker, this.deps.metrics);
    }
    if (this.cap.size > 0 && this.cap.storedBytes < this.cap.size) this.x.session.append(bodyEndFrame('SERVER_TO_CLIENT', this.cap, 'http.response.body.end', this.commandId));
    this.x.res.end();
    this.done();
  }

  /**
   * The transform could not read the upstream's body (an MCP event stream with broken framing
   * or invalid UTF-8): what it forwarded were whole messages and its error; the rest of the
   * upstream's answer is neither forwarded nor read.
   */
  private endBroken(err: Error): void {
    const { x } = this;
    this.deps.log.info({ connection: x.conn.name, session: x.session.info.sessionId, err }, 'upstream body refused by the gateway; answer ended');
    x.session.append(singleFrame('SERVER_TO_CLIENT', 'http.response.refused', Buffer.from(err.message), { redacted: true, commandId: this.commandId }));
    if (this.masker) {
      const tail = this.masker.end();
      this.relay(tail.out, tail.notes);
    }
    this.upRes.destroy();
    x.res.end();
    this.done();
  }

  /** The upstream's body broke off: so does the agent's. */
  private cut(): void {
    this.x.res.destroy();
    this.done();
  }

  private done(): void {
    this.x.session.recorder.off('drain', this.resume);
    this.x.res.off('drain', this.resume);
    this.resolve();
  }
}
