import type { ClientRequest, IncomingHttpHeaders } from 'node:http';
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

export function relayResponse(x: Exchange, deps: ExchangeDeps, upReq: ClientRequest, started: bigint, decision: PolicyDecision & { commandId?: number }, transformFor: (headers: IncomingHttpHeaders) => BodyTransform | undefined): Promise<void> {
  const { res, session, conn } = x;
  const { recorder } = session;
  // The response answers one request, whose Command this is (events v3); 0 when the exchange
  // decided several (an MCP batch), which this response does not split.
  const commandId = decision.commandId ?? 0;
  return new Promise((resolve) => {
    const timer = setTimeout(() => upReq.destroy(new UpstreamError('RESPONSE_TIMEOUT', `the upstream sent no response within ${conn.http.responseTimeoutMs} ms`)), conn.http.responseTimeoutMs);
    upReq.on('error', (err) => {
      clearTimeout(timer);
      if (!res.headersSent) {
        const timeout = err instanceof UpstreamError && err.code === 'RESPONSE_TIMEOUT';
        deps.log.warn({ connection: conn.name, err }, 'upstream request failed');
        sendRefusal(res, refusal(x.kind, timeout ? 504 : 502, `upstream ${conn.name} failed: ${err.message}`), { session, close: true });
      } else res.destroy();
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
      const headers = endToEndHeaders(upRes.rawHeaders);
      const flat: string[] = [];
      for (const [k, v] of headers) {
        const lower = k.toLowerCase();
        flat.push(k, lower === 'location' || lower === 'content-location' ? rewriteLocation(x, v) : v);
      }
      const status = upRes.statusCode ?? 502;
      // Masking changes the body's length: the agent gets it chunked instead (RFC 9112 §6.1).
      const transform = transformFor(upRes.headers);
      const masking = bodyMasking(upRes.headers);
      const masker = masking !== 'none' ? new BodyMasker(maskerFor(effectiveRules(decision.mask)), { json: masking === 'json' }) : undefined;
      if (masker || transform) {
        for (let i = flat.length - 2; i >= 0; i -= 2) if (flat[i]!.toLowerCase() === 'content-length') flat.splice(i, 2);
      }
      // Recorded as the agent got it: an HTTP/2 agent gets an HTTP/2 head, which has no reason phrase (RFC 9113 §8.3.2).
      const h2 = x.req.httpVersionMajor === 2;
      session.append(singleFrame('SERVER_TO_CLIENT', 'http.response.head', formatResponseHead(status, h2 ? '' : (upRes.statusMessage ?? ''), h2 ? '2.0' : '1.1', flat), { commandId }));
      res.writeHead(status, upRes.statusMessage, flat);
      const cap = new BodyCapture(bodyStoreFor(upRes.headers['content-type'], conn.http.bodies), conn.http.bodies.maxStoredBytes);
      let paused = false;
      const resume = (): void => {
        if (paused && recorder.unackedBytes <= deps.maxInFlightBytes && !res.writableNeedDrain) {
          paused = false;
          upRes.resume();
        }
      };
      recorder.on('drain', resume);
      res.on('drain', resume);
      const relay = (chunk: Buffer, masks: MaskNote[], owner = commandId): boolean => {
        const stored = cap.take(chunk);
        if (stored.length > 0 || masks.length > 0) session.append(singleFrame('SERVER_TO_CLIENT', 'http.response.body', stored, { masks, commandId: owner }));
        return chunk.length === 0 || res.write(chunk);
      };
      upRes.on('data', (raw: Buffer) => {
        if (transform?.failure) return;
        const body = transform ? transform.push(raw) : raw;
        const parts = transform?.takeParts?.();
        let ok: boolean;
        if (parts && parts.length > 0) ok = relayParts(body, parts, masker, relay);
        else {
          const { out: chunk, notes } = masker ? maskChunk(masker, body, transform?.messageAligned === true) : { out: body, notes: [] };
          ok = relay(chunk, notes);
        }
        if (transform?.failure) return endBroken(transform.failure);
        if (!ok || recorder.unackedBytes > deps.maxInFlightBytes) {
          paused = true;
          upRes.pause();
        }
      });
      const done = (): void => {
        recorder.off('drain', resume);
        res.off('drain', resume);
        resolve();
      };
      // The transform could not read the upstream's body (an MCP event stream with broken
      // framing or invalid UTF-8): what it forwarded were whole messages and its error; the
      // rest of the upstream's answer is neither forwarded nor read.
      const endBroken = (err: Error): void => {
        deps.log.info({ connection: conn.name, session: session.info.sessionId, err }, 'upstream body refused by the gateway; answer ended');
        session.append(singleFrame('SERVER_TO_CLIENT', 'http.response.refused', Buffer.from(err.message), { redacted: true, commandId }));
        if (masker) {
          const tail = masker.end();
          relay(tail.out, tail.notes);
        }
        upRes.destroy();
        res.end();
        done();
      };
      upRes.on('end', () => {
        if (transform?.failure) return;
        const last = transform?.end();
        const parts = transform?.takeParts?.();
        if (last && parts && parts.length > 0) relayBatch(last, parts, masker, relay);
        else if (last && last.length > 0) {
          const r = masker ? masker.push(last) : { out: last, notes: [] };
          relay(r.out, r.notes);
        }
        if (masker) {
          const tail = masker.end();
          relay(tail.out, tail.notes);
          countJsonMasking(masker, deps.metrics);
        }
        if (cap.size > 0 && cap.storedBytes < cap.size) session.append(bodyEndFrame('SERVER_TO_CLIENT', cap, 'http.response.body.end', commandId));
        res.end();
        done();
      });
      upRes.on('error', () => {
        if (transform?.failure) return;
        res.destroy();
        done();
      });
      upRes.on('aborted', () => {
        if (transform?.failure) return;
        res.destroy();
        done();
      });
      res.on('close', () => {
        if (!upRes.complete) upRes.destroy();
        done();
      });
    });
  });
}
