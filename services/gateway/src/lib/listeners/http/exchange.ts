import type { ClientRequest, IncomingMessage } from 'node:http';
import { singleFrame } from '@chaperone/events';
import { jsonBatchCuts } from '../../protocols/mcp/index.js';
import { BodyCapture, HttpProtocolError, bodyStoreFor, endToEndHeaders, formatRequestHead, type HttpCommand } from '../../protocols/http/index.js';
import type { PolicyDecision, PolicyInput, PolicyInputBase } from '../../policy/index.js';
import { decisionEvent, policyInputBase } from '../../policy/index.js';
import type { ApprovalGate } from '../../approvals/index.js';
import { ClientGone } from '../../errors.js';
import { sha256Hex } from '../../hash.js';
import type { Analysis, McpHooks, UpstreamProbe } from './analysis.js';
import { mcpPolicyInput, mcpToolHooks } from './analyze-mcp.js';
import { bodyFramingError } from './guard.js';
import { approvalCommandText, holdForApproval, RETRY_AFTER_HELD_S, RETRY_AFTER_UNHELD_S } from './approval.js';
import { approvalRefusal, refusal, sendRefusal } from './refuse.js';
import { bodyEndFrame, relayResponse, rewriteLocation } from './response.js';
import type { HttpSession } from './session.js';
import type { Exchange, ExchangeDeps } from './exchange-types.js';
import type { HttpConnection, Refusal } from './types.js';
import { upstreamPath } from './upstream.js';

/** Bodies up to this size are read completely before anything goes upstream (see preRead). */
export const PRE_READ_BYTES = 64 * 1024;



/**
 * Reads the start of the body before the decision. Small bodies (most API calls) are read
 * whole, so a body the HTTP parser rejects half-way (bad chunking) never reaches the upstream;
 * protocols that decide on the body (git push ref updates, OCI manifests) read what they need.
 */
function preRead(req: IncomingMessage, a: Analysis, maxBody: number): Promise<{ chunks: Buffer[]; bytes: number; ended: boolean }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let satisfied = a.consume === undefined;
  const limit = Math.max(a.bodyBytes, PRE_READ_BYTES);
  return new Promise((resolve, reject) => {
    // No Content-Length and no Transfer-Encoding: the request has no body (RFC 9112 §6.3 ¶7).
    const bodyless = req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;
    if (req.readableEnded || bodyless) {
      req.resume();
      return resolve({ chunks, bytes, ended: true });
    }
    const refused = bodyFramingError(req);
    if (refused) return reject(refused);
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onError);
    };
    const finish = (ended: boolean): void => {
      cleanup();
      if (!ended) req.pause();
      resolve({ chunks, bytes, ended });
    };
    const onData = (c: Buffer): void => {
      chunks.push(c);
      bytes += c.length;
      if (!satisfied && a.consume) satisfied = a.consume(c);
      if (bytes > maxBody) {
        cleanup();
        req.pause();
        reject(new HttpProtocolError('BODY_TOO_LARGE', `request body exceeds the gateway limit of ${maxBody} bytes`));
      } else if ((satisfied && bytes >= PRE_READ_BYTES) || bytes >= limit) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onClose = (): void => {
      if (!req.readableEnded) {
        cleanup();
        reject(new ClientGone('client closed the connection before the request body ended'));
      }
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e instanceof HttpProtocolError ? e : new ClientGone(`request body is malformed or was cut off: ${e.message}`));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onError);
    req.resume();
  });
}

/** What a decision needs to know about the exchange. */
export type DecideContext = Pick<Exchange, 'session' | 'conn' | 'req' | 'path' | 'routedPath' | 'query'>;

export function makeProbe(conn: HttpConnection, deps: ExchangeDeps): UpstreamProbe {
  return {
    conn,
    pool: deps.pool,
    auth: async (scope) => [...(await deps.credentials(conn).headers(scope))],
    upstreamPath: (p) => upstreamPath(conn, p, ''),
  };
}

/** Per session, the policy-input part of its last connection (frozen: the engine serializes it once). */
const inputBases = new WeakMap<HttpSession, { conn: HttpConnection; base: PolicyInputBase }>();

function inputBase(x: DecideContext): PolicyInputBase {
  const hit = inputBases.get(x.session);
  if (hit?.conn === x.conn) return hit.base;
  const { info } = x.session;
  const base = policyInputBase(info.identity, { name: x.conn.name, protocol: 'http', labels: x.conn.labels }, { id: info.sessionId, clientAddress: info.clientAddress, node: info.nodeId });
  inputBases.set(x.session, { conn: x.conn, base });
  return base;
}

function policyInput(x: DecideContext, cmd: HttpCommand): PolicyInput {
  const { identity, connection, session } = inputBase(x);
  return {
    identity,
    connection,
    session,
    command: {
      protocol: cmd.protocol,
      action: cmd.action,
      text: cmd.text,
      targets: cmd.targets,
      http: { method: x.req.method ?? '', host: x.req.headers.host ?? '', path: x.path, routedPath: x.routedPath, query: x.query, contentType: x.req.headers['content-type'] ?? '' },
      ...(cmd.protocol === 'mcp' ? { mcp: mcpPolicyInput(cmd.details) } : cmd.protocol !== 'http' ? { [cmd.protocol]: cmd.details } : {}),
    },
  };
}

/** A decision and the id of the Command event it decided. */
export type Decided = PolicyDecision & { commandId: number };

/** Records Command + Decision; returns the decision. */
export function decide(x: DecideContext, deps: ExchangeDeps, cmd: HttpCommand, override?: PolicyDecision): Decided {
  const { session } = x;
  const commandId = session.nextCommandId();
  session.append({ type: 'Command', commandId, protocol: cmd.protocol, action: cmd.action, targets: cmd.targets, text: cmd.text, textSha256: sha256Hex(cmd.text), detailsJson: JSON.stringify(cmd.details), params: [] });
  const d = override ?? deps.policy.evaluate(policyInput(x, cmd));
  session.append(decisionEvent(commandId, d));
  session.counters.commands++;
  return { ...d, commandId };
}

/** For analysers that decide per message (MCP): record each, or only ask the policy. */
function mcpHooks(x: DecideContext & Partial<Pick<Exchange, 'publicBase' | 'routePrefix'>>, deps: ExchangeDeps): McpHooks {
  return {
    server: x.conn.name,
    decide: (c, override) => decide(x, deps, c, override),
    evaluate: (c) => deps.policy.evaluate(policyInput(x, c)),
    hidden: (tools) => deps.log.debug({ connection: x.conn.name, session: x.session.info.sessionId, tools }, 'mcp: tools hidden from tools/list'),
    upstreamPath: upstreamPath(x.conn, x.routedPath, ''),
    agentUrl: (url) => (x as Partial<Exchange>).publicBase === undefined ? url : rewriteLocation(x as Exchange, url),
    answerServer: (path, message, mcpSessionId) => answerServer(x, deps, path, message, mcpSessionId),
    ...(deps.mcpTools ? { tools: mcpToolHooks(deps.mcpTools, x.conn.name, { node: x.session.info.nodeId, sessionId: x.session.info.sessionId }, deps.log) } : {}),
  };
}

/**
 * Sends the server a message in the agent's place (an MCP server request refused by the policy
 * is answered with a JSON-RPC error): recorded as a client-to-server frame, acknowledged, then
 * POSTed with the connection's credentials. Runs in the background; a failure is logged.
 */
function answerServer(x: DecideContext, deps: ExchangeDeps, path: string, message: Record<string, unknown>, mcpSessionId: string | null): void {
  const body = Buffer.from(JSON.stringify(message));
  x.session.append(singleFrame('CLIENT_TO_SERVER', 'mcp.gateway.answer', body));
  const send = async (): Promise<void> => {
    await x.session.recorder.flush();
    const auth = await deps.credentials(x.conn).headers({});
    const headers = ['Host', x.conn.http.url.host, 'Content-Type', 'application/json', 'Accept', 'application/json, text/event-stream', 'Content-Length', String(body.length)];
    if (mcpSessionId) headers.push('Mcp-Session-Id', mcpSessionId);
    const version = x.req.headers['mcp-protocol-version'];
    if (typeof version === 'string') headers.push('Mcp-Protocol-Version', version);
    for (const [k, v] of auth) headers.push(k, v);
    const r = await deps.pool.fetch(x.conn, { method: 'POST', path, headers }, body, 64 * 1024);
    if (r.status >= 300) deps.log.warn({ connection: x.conn.name, session: x.session.info.sessionId, status: r.status }, 'mcp: the server refused the answer to its request');
  };
  send().catch((err: unknown) => deps.log.warn({ err, connection: x.conn.name, session: x.session.info.sessionId }, 'mcp: could not answer a server request'));
}

/**
 * Runs one exchange: pre-read → Command + Decision (+ the request head and stored body bytes)
 * recorded and acknowledged → forward with injected credentials → stream the rest of the body
 * (each stored chunk acknowledged before it is written upstream; the upstream request is ended
 * only after the body summary is acknowledged) → record and relay the response.
 */
export async function runExchange(x: Exchange, deps: ExchangeDeps, refuse: (x: Exchange, cmd: HttpCommand, d: PolicyDecision) => Refusal): Promise<void> {
  const { session, req, res, conn } = x;
  const { recorder } = session;
  const kindLabel = { kind: x.kind };
  const probe = makeProbe(conn, deps);
  let pre: Awaited<ReturnType<typeof preRead>>;
  let cmd: HttpCommand;
  try {
    pre = await preRead(req, x.analysis, deps.maxBodyBytes);
    cmd = await x.analysis.command(pre.ended, probe);
  } catch (err) {
    if (err instanceof ClientGone) return void deps.metrics.requests.inc({ ...kindLabel, result: 'client-gone' });
    if (err instanceof HttpProtocolError) {
      deps.metrics.requests.inc({ ...kindLabel, result: `refused:${err.code}` });
      session.append(requestHeadFrame(req));
      return sendRefusal(res, refusal(x.kind, err.status, err.message), { session, close: true });
    }
    throw err;
  }
  // The request's frames belong to the Command decided just below (events v3): no await between.
  const commandId = session.peekCommandId();
  session.append(requestHeadFrame(req, commandId));
  const reqCap = new BodyCapture(bodyStoreFor(req.headers['content-type'], conn.http.bodies), conn.http.bodies.maxStoredBytes);
  const messages = x.analysis.decideEach ? recordBatchBody(session, reqCap, pre.chunks, commandId) : recordBody(session, reqCap, pre.chunks, commandId);
  const d = x.analysis.decideEach ? x.analysis.decideEach(mcpHooks(x, deps)) : decide(x, deps, cmd);
  // The Command the response frames belong to: this request's; for an MCP batch decided message
  // by message, none here (the answer is divided by message: analyze-mcp.ts).
  const owner = messages === 1 ? d.commandId : 0;
  x.commandId = owner;
  if (pre.ended && pre.bytes > 0) session.append(bodyEndFrame('CLIENT_TO_SERVER', reqCap, 'http.request.body.end', owner));
  const refused = async (r: Refusal, result: string): Promise<void> => {
    session.counters.denied++;
    deps.metrics.requests.inc({ ...kindLabel, result });
    sendRefusal(res, r, { session, close: !pre.ended, commandId: owner });
    await recorder.flush().catch(() => {});
  };
  if (d.result === 'approval' && deps.approvals) {
    const v = await awaitApproval(x, deps, deps.approvals, cmd, d, pre);
    if (v !== 'forward') return v === 'gone' ? void deps.metrics.requests.inc({ ...kindLabel, result: 'client-gone' }) : refused(v.refusal, v.result);
  } else if (d.result !== 'allow') return refused(refuse(x, cmd, d), d.result);
  const t0 = process.hrtime.bigint();
  await recorder.flush();
  deps.metrics.recordWait.observe(Number(process.hrtime.bigint() - t0) / 1e9);
  // Ended (or answered by an administrator's end of the session, listener.ts) while it waited: never forwarded.
  if (session.isEnded || res.destroyed || res.headersSent) return;

  const auth = await deps.credentials(conn).headers(x.analysis.scope);
  const headers = endToEndHeaders(req.rawHeaders, { drop: dropFor(conn) });
  const flat: string[] = ['Host', conn.http.preserveHost ? (req.headers.host ?? conn.http.url.host) : conn.http.url.host];
  for (const [k, v] of headers) flat.push(k, v);
  for (const [k, v] of auth) flat.push(k, v);
  flat.push('X-Forwarded-For', x.clientIp, 'X-Forwarded-Proto', x.tls ? 'https' : 'http');
  const framed = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  if (pre.ended) {
    // The whole body is here: send it with a Content-Length whatever framing the agent used.
    if (pre.bytes > 0 || framed) flat.push('Content-Length', String(pre.bytes));
  } else if (req.headers['content-length'] !== undefined) {
    flat.push('Content-Length', req.headers['content-length']);
  }
  const upReq = deps.pool.open(conn, { method: req.method ?? 'GET', path: upstreamPath(conn, x.routedPath, x.query), headers: flat });
  const started = process.hrtime.bigint();
  const response = relayResponse(x, deps, upReq, started, { ...d, commandId: owner }, (headers) => x.analysis.responseTransform?.(headers, mcpHooks(x, deps)));
  try {
    if (pre.ended) upReq.end(pre.bytes > 0 ? Buffer.concat(pre.chunks, pre.bytes) : undefined);
    else {
      for (const c of pre.chunks) upReq.write(c);
      await streamRequestBody(x, deps, upReq, reqCap, pre.bytes, owner);
    }
  } catch (err) {
    upReq.destroy();
    if (err instanceof ClientGone) {
      deps.metrics.requests.inc({ ...kindLabel, result: 'client-gone' });
      return;
    }
    if (err instanceof HttpProtocolError && !res.headersSent) {
      deps.metrics.requests.inc({ ...kindLabel, result: `refused:${err.code}` });
      return sendRefusal(res, refusal(x.kind, err.status, err.message), { session, close: true });
    }
    throw err;
  }
  await response;
  deps.metrics.requests.inc({ ...kindLabel, result: 'allow' });
}

/**
 * Holds a request the policy sends to approval (approval.ts): 'forward' when approved (now or
 * earlier, within the approval's validity), 'gone' when the agent left while waiting, otherwise
 * the answer to send. Only a request whose body is wholly in memory waits; a larger, streaming
 * one cannot be replayed after the wait, so its approval is requested and it is answered at once.
 */
async function awaitApproval(x: Exchange, deps: ExchangeDeps, gate: ApprovalGate, cmd: HttpCommand, d: Decided, pre: { chunks: Buffer[]; bytes: number; ended: boolean }): Promise<'forward' | 'gone' | { refusal: Refusal; result: string }> {
  const gone = new AbortController();
  const onClose = (): void => gone.abort(new Error('client closed the connection'));
  x.res.once('close', onClose);
  try {
    const v = await holdForApproval(
      { session: x.session, commandId: d.commandId, decision: d, commandText: x.analysis.approvalText?.() ?? approvalCommandText(cmd, pre, x.req.headers['content-length']), canHold: pre.ended, signal: gone.signal },
      gate,
      deps.httpHoldMs,
      deps.log,
    );
    deps.metrics.approvals.inc({ outcome: gone.signal.aborted ? 'abandoned' : v.outcome.outcome.toLowerCase() });
    if (v.forward) return 'forward';
    if (gone.signal.aborted || x.res.destroyed) return 'gone';
    const retryAfterS = v.held ? RETRY_AFTER_HELD_S : RETRY_AFTER_UNHELD_S;
    const answer = { outcome: v.outcome, ticket: v.ticket, held: v.held, holdMs: deps.httpHoldMs, retryAfterS, reasons: d.reasons };
    return { refusal: approvalRefusal(x, answer), result: `approval-${v.outcome.outcome.toLowerCase()}` };
  } finally {
    x.res.off('close', onClose);
  }
}

/** The agent's Authorization is never forwarded; Expect is answered by the gateway itself. */
export const DROP_REQUEST: ReadonlySet<string> = new Set(['host', 'authorization', 'expect', 'content-length', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']);

/** Credentials an agent may try to send along; dropped unless the connection forwards them. */
const AGENT_CREDENTIAL_FIELDS = ['cookie', 'proxy-authorization'];
const dropSets = new WeakMap<HttpConnection, ReadonlySet<string>>();

/**
 * The request fields never forwarded on this connection: DROP_REQUEST, every agent-sent copy of
 * the field its credentials are injected in (else an upstream that reads the first value reads
 * the agent's), and Cookie and Proxy-Authorization unless `forwardAgentHeaders` names them.
 */
export function dropFor(conn: HttpConnection): ReadonlySet<string> {
  let set = dropSets.get(conn);
  if (!set) {
    const c = conn.http.credentials;
    const forwarded = new Set(conn.http.forwardAgentHeaders.map((h) => h.toLowerCase()));
    const names = [...DROP_REQUEST, ...AGENT_CREDENTIAL_FIELDS.filter((h) => !forwarded.has(h))];
    if (c.type === 'header') names.push(c.name.toLowerCase());
    dropSets.set(conn, (set = new Set(names)));
  }
  return set;
}

export function requestHeadFrame(req: IncomingMessage, commandId = 0): Parameters<HttpSession['append']>[0] {
  return singleFrame('CLIENT_TO_SERVER', 'http.request.head', formatRequestHead(req.method ?? '', req.url ?? '', req.httpVersion, req.rawHeaders), { commandId });
}

/** Records the stored part of the pre-read body, all of it the request's command; one message. */
function recordBody(session: HttpSession, cap: BodyCapture, chunks: readonly Buffer[], commandId: number): number {
  for (const c of chunks) {
    const stored = cap.take(c);
    if (stored.length > 0) session.append(singleFrame('CLIENT_TO_SERVER', 'http.request.body', stored, { commandId }));
  }
  return 1;
}

/**
 * Records an MCP POST body (read whole) one JSON-RPC message at a time, each with its own
 * command: decideEach records one Command per message, in body order, from `firstId` on, in the
 * same synchronous run. Returns how many messages the body holds.
 */
function recordBatchBody(session: HttpSession, cap: BodyCapture, chunks: readonly Buffer[], firstId: number): number {
  if (chunks.length === 0) return 1;
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  const cuts = jsonBatchCuts(body);
  let at = 0;
  cuts.forEach((end, i) => {
    const stored = cap.take(body.subarray(at, end));
    if (stored.length > 0) session.append(singleFrame('CLIENT_TO_SERVER', 'http.request.body', stored, { commandId: firstId + i }));
    at = end;
  });
  return cuts.length;
}

/**
 * Streams the rest of a large body: every chunk whose bytes are stored is acknowledged before it
 * is written upstream; reading pauses while too much is unacknowledged or the upstream is slow.
 */
function streamRequestBody(x: Exchange, deps: ExchangeDeps, upReq: ClientRequest, cap: BodyCapture, already: number, commandId: number): Promise<void> {
  const { req, session } = x;
  const { recorder } = session;
  let total = already;
  let queued = 0;
  let chain: Promise<void> = Promise.resolve();
  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (e: Error): void => {
      if (failed) return;
      failed = true;
      req.pause();
      reject(e);
    };
    const drained = (): Promise<void> => new Promise((r) => upReq.once('drain', r));
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > deps.maxBodyBytes) return fail(new HttpProtocolError('BODY_TOO_LARGE', `request body exceeds the gateway limit of ${deps.maxBodyBytes} bytes`));
      const stored = cap.take(chunk);
      if (stored.length > 0) session.append(singleFrame('CLIENT_TO_SERVER', 'http.request.body', stored, { commandId }));
      queued += chunk.length;
      if (queued > deps.maxInFlightBytes) req.pause();
      chain = chain
        .then(async () => {
          if (stored.length > 0) await recorder.flush();
          if (!upReq.write(chunk)) await drained();
          queued -= chunk.length;
          if (queued <= deps.maxInFlightBytes / 2 && req.isPaused() && !failed) req.resume();
        })
        .catch(fail);
    });
    req.on('end', () => {
      chain = chain
        .then(async () => {
          session.append(bodyEndFrame('CLIENT_TO_SERVER', cap, 'http.request.body.end', commandId));
          await recorder.flush();
          upReq.end();
          resolve();
        })
        .catch(fail);
    });
    req.on('error', (e) => fail(e instanceof HttpProtocolError ? e : new ClientGone(`request body is malformed or was cut off: ${e.message}`)));
    req.on('close', () => {
      if (!req.readableEnded) fail(new ClientGone('client closed the connection before the request body ended'));
    });
    req.resume();
  });
}

