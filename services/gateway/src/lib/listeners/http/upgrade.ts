import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { singleFrame, type Direction } from '@chaperone/events';
import { HttpProtocolError, WsFrameReader, endToEndHeaders, formatResponseHead, headerValue, wsOpcodeName, type RequestTarget } from '../../protocols/http/index.js';
import type { ApprovalGate } from '../../approvals/index.js';
import { effectiveRules, maskerFor } from '../../masking/index.js';
import type { Analysis } from './analysis.js';
import { analyze } from './analyze.js';
import { holdForApproval, RETRY_AFTER_HELD_S, upgradeCommandText } from './approval.js';
import { decide, dropFor, makeProbe, requestHeadFrame, type Decided } from './exchange.js';
import type { ExchangeDeps } from './exchange-types.js';
import { approvalRefusal, policyRefusal, refusal } from './refuse.js';
import type { Refusal } from './types.js';
import type { HttpSession } from './session.js';
import type { HttpConnection } from './types.js';
import { SpdyTunnelSplitter, type TunnelUnit } from './spdy.js';
import { upstreamPath } from './upstream.js';
import { TunnelMasker, wsChannelEncoding } from './tunnel-masking.js';

export interface UpgradeContext {
  session: HttpSession;
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  conn: HttpConnection;
  target: RequestTarget;
  /** The path as the upstream API sees it. */
  routedPath: string;
  clientIp: string;
  tls: boolean;
}

/** A WebSocket or SPDY frame may carry a whole file (kubectl cp); beyond this the tunnel is closed. */
const MAX_TUNNEL_FRAME_BYTES = 16 * 1024 * 1024;
/** How long an ended tunnel's sockets may take to flush what was written to them. */
const TUNNEL_LINGER_MS = 5000;
/** What a client may send before its upgrade is answered (while held for approval); beyond this it is dropped. */
const MAX_EARLY_BYTES = 1024 * 1024;
/** Exec output held back by masking (a secret may go on in the next frame) goes out once the upstream is this quiet. */
const TUNNEL_FLUSH_IDLE_MS = 25;

const STATUS_TEXT: Record<number, string> = { 403: 'Forbidden', 502: 'Bad Gateway', 503: 'Service Unavailable' };

function raw(status: number, headers: [string, string][], body: Buffer): Buffer {
  const flat = [...headers, ['Content-Length', String(body.length)], ['Connection', 'close']].flat();
  return Buffer.concat([formatResponseHead(status, STATUS_TEXT[status] ?? 'Bad Gateway', '1.1', flat), body]);
}

/** What the upgraded connection speaks, from the protocol the upstream switched to (RFC 9110 §7.8). */
function tunnelMode(reqHeaders: readonly string[], resHeaders: readonly string[]): 'websocket' | 'spdy' | 'opaque' {
  const proto = (headerValue(resHeaders, 'upgrade') ?? headerValue(reqHeaders, 'upgrade') ?? '').trim().toLowerCase();
  return proto === 'websocket' ? 'websocket' : proto === 'spdy/3.1' ? 'spdy' : 'opaque';
}

/**
 * An Upgrade (WebSocket, SPDY for `kubectl exec`): decided like any request (one sent to
 * approval is held, see holdUpgrade), then a recorded tunnel. WebSocket traffic is recorded frame by frame (`ws.frame.<opcode>[;channel=<name>]`, client frames without their XOR key), SPDY/3.1 frame by
 * frame with the stream and its channel (`spdy.frame.<type>;stream=<id>;channel=<name>`), anything
 * else as the chunks that pass (`upgrade.data`). Exec output is masked on every output channel (TunnelMasker). Client-to-upstream bytes are acknowledged before
 * they are forwarded; upstream-to-client bytes are recorded and relayed with backpressure.
 */
export async function handleUpgrade(u: UpgradeContext, deps: ExchangeDeps): Promise<void> {
  const { session, req, socket, conn } = u;
  const kind = conn.http.kind;
  // Bytes after the head belong to the tunnel; a body announced too could not be told apart.
  if (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0') throw new HttpProtocolError('BAD_CONTENT_LENGTH', 'an upgrade request carries no body');
  const analysis = analyze(kind, { method: req.method ?? 'GET', target: u.target, routedPath: u.routedPath, headers: req.headers });
  const cmd = await analysis.command(true, makeProbe(conn, deps));
  // The head, the answer and every tunnel frame (exec stdin/stdout/stderr) belong to this
  // Command (events v3); it is recorded just below, with no await between.
  session.append(requestHeadFrame(req, session.peekCommandId()));
  const d = decide({ session, conn, req, path: u.target.path, routedPath: u.routedPath, query: u.target.query }, deps, cmd);
  const x = { kind, analysis };
  const refuse = async (r: Refusal, result: string): Promise<void> => {
    session.counters.denied++;
    deps.metrics.requests.inc({ kind, result });
    const bytes = raw(r.status, r.headers, r.body);
    session.append(singleFrame('SERVER_TO_CLIENT', 'http.response.head', bytes, { commandId: d.commandId }));
    socket.end(bytes);
    await session.recorder.flush().catch(() => {});
  };
  let clientHead = u.head;
  if (d.result === 'approval' && deps.approvals) {
    const v = await holdUpgrade(u, deps, deps.approvals, analysis, upgradeCommandText(cmd), d);
    if (v === 'gone') {
      deps.metrics.requests.inc({ kind, result: 'client-gone' });
      socket.destroy();
      return;
    }
    if ('refusal' in v) return refuse(v.refusal, v.result);
    clientHead = v.head;
  } else if (d.result !== 'allow') return refuse(policyRefusal(x, cmd, d), d.result);
  await session.recorder.flush();
  const auth = await deps.credentials(conn).headers(analysis.scope);
  const flat: string[] = ['Host', conn.http.preserveHost ? (req.headers.host ?? conn.http.url.host) : conn.http.url.host];
  // No WebSocket extension (permessage-deflate): a compressed payload could be neither masked nor read in the recording.
  for (const [k, v] of endToEndHeaders(req.rawHeaders, { drop: dropFor(conn), upgrade: true })) if (k.toLowerCase() !== 'sec-websocket-extensions') flat.push(k, v);
  for (const [k, v] of auth) flat.push(k, v);
  flat.push('X-Forwarded-For', u.clientIp, 'X-Forwarded-Proto', u.tls ? 'https' : 'http');
  // A POST upgrade (SPDY exec) says it has no body; without a length Node would send it chunked,
  // and the upstream would read the chunked terminator as the first tunnel bytes.
  if (req.method !== 'GET' && req.method !== 'HEAD') flat.push('Content-Length', '0');
  const upReq = deps.pool.open(conn, { method: req.method ?? 'GET', path: upstreamPath(conn, u.routedPath, u.target.query), headers: flat });
  await new Promise<void>((resolve) => {
    upReq.on('error', (err) => {
      const r = refusal(kind, 502, `upstream ${conn.name} failed: ${err.message}`);
      if (!socket.destroyed) socket.end(raw(r.status, r.headers, r.body));
      resolve();
    });
    upReq.on('response', (res) => {
      // No upgrade after all: relay the plain answer and close.
      const headers = endToEndHeaders(res.rawHeaders).flat();
      const head = formatResponseHead(res.statusCode ?? 502, res.statusMessage ?? '', '1.1', [...headers, 'Connection', 'close']);
      session.append(singleFrame('SERVER_TO_CLIENT', 'http.response.head', head, { commandId: d.commandId }));
      socket.write(head);
      res.on('data', (c: Buffer) => {
        session.append(singleFrame('SERVER_TO_CLIENT', 'http.response.body', c, { commandId: d.commandId }));
        socket.write(c);
      });
      res.on('end', () => {
        socket.end();
        resolve();
      });
      res.on('error', () => resolve());
    });
    upReq.on('upgrade', (res, upSocket, upHead) => {
      const headers = endToEndHeaders(res.rawHeaders, { upgrade: true }).flat();
      const head = formatResponseHead(101, res.statusMessage ?? 'Switching Protocols', '1.1', headers);
      session.append(singleFrame('SERVER_TO_CLIENT', 'http.response.head', head, { commandId: d.commandId }));
      socket.write(head);
      const mode = tunnelMode(req.rawHeaders, res.rawHeaders);
      const ws = mode === 'websocket' ? wsChannelEncoding(headerValue(res.rawHeaders, 'sec-websocket-protocol')) : undefined;
      const masking = new TunnelMasker(maskerFor(effectiveRules(d.mask)), ws, MAX_TUNNEL_FRAME_BYTES);
      tunnel(session, deps, socket, upSocket, { mode, masking, commandId: d.commandId }, clientHead, upHead, resolve);
    });
    upReq.end();
  });
  deps.metrics.requests.inc({ kind, result: 'allow' });
}

/**
 * Holds an upgrade the policy sends to approval, like any request (approval.ts); it has no body,
 * so it can always wait. The client is read meanwhile, so that one that goes away ends the wait;
 * what it sends early (a client should wait for the 101) is kept for the tunnel. Returns the
 * bytes the tunnel starts with once approved, 'gone', or the answer to send.
 */
async function holdUpgrade(u: UpgradeContext, deps: ExchangeDeps, gate: ApprovalGate, analysis: Analysis, commandText: string, d: Decided): Promise<'gone' | { head: Buffer } | { refusal: Refusal; result: string }> {
  const { socket, session } = u;
  const gone = new AbortController();
  const early: Buffer[] = [u.head];
  let bytes = u.head.length;
  const onGone = (): void => gone.abort(new Error('client closed the connection'));
  const onData = (c: Buffer): void => {
    bytes += c.length;
    if (bytes > MAX_EARLY_BYTES) gone.abort(new Error(`client sent more than ${MAX_EARLY_BYTES} bytes before its upgrade was answered`));
    else early.push(c);
  };
  socket.on('data', onData);
  socket.on('end', onGone);
  socket.on('close', onGone);
  socket.on('error', onGone);
  try {
    const v = await holdForApproval({ session, commandId: d.commandId, decision: d, commandText, canHold: true, signal: gone.signal }, gate, deps.httpHoldMs, deps.log);
    deps.metrics.approvals.inc({ outcome: gone.signal.aborted ? 'abandoned' : v.outcome.outcome.toLowerCase() });
    if (gone.signal.aborted || socket.destroyed) return 'gone';
    if (v.forward) return { head: Buffer.concat(early) };
    const answer = { outcome: v.outcome, ticket: v.ticket, held: true, holdMs: deps.httpHoldMs, retryAfterS: RETRY_AFTER_HELD_S, reasons: d.reasons };
    return { refusal: approvalRefusal({ kind: u.conn.http.kind, analysis }, answer), result: `approval-${v.outcome.outcome.toLowerCase()}` };
  } finally {
    socket.off('data', onData);
    socket.off('end', onGone);
    socket.off('close', onGone);
    socket.off('error', onGone);
    // Read again by the tunnel (which resumes it), or not at all.
    socket.pause();
  }
}

type Split = (dir: Direction, chunk: Buffer) => TunnelUnit[] | Error | Promise<TunnelUnit[] | Error>;

/** How a tunnel is cut into recorded frames: WebSocket frames, SPDY frames, or the chunks as they come. */
function splitterFor(mode: 'websocket' | 'spdy' | 'opaque'): { split: Split; close(): void } {
  if (mode === 'spdy') {
    const spdy = new SpdyTunnelSplitter({ maxFrameBytes: MAX_TUNNEL_FRAME_BYTES });
    return { split: (dir, chunk) => spdy.split(dir, chunk), close: () => spdy.close() };
  }
  if (mode === 'opaque') return { split: (_dir, chunk) => [{ bytes: chunk, type: 'upgrade.data' }], close: () => {} };
  const readers = { CLIENT_TO_SERVER: new WsFrameReader(MAX_TUNNEL_FRAME_BYTES), SERVER_TO_CLIENT: new WsFrameReader(MAX_TUNNEL_FRAME_BYTES) };
  return {
    split: (dir, chunk) => {
      const r = readers[dir].push(chunk);
      return r.error ?? r.frames.map((f) => ({ bytes: f.raw, type: `ws.frame.${wsOpcodeName(f.opcode)}`, ws: f }));
    },
    close: () => {},
  };
}

/**
 * Relays an upgraded connection, recording it unit by unit. Each direction is processed in order
 * (splitting may wait for a SPDY header block to inflate): client units are acknowledged before
 * they are forwarded; upstream units are relayed while their records are in flight, reading
 * paused beyond maxInFlightBytes or while the client is slow. A side that closes has its
 * pending units relayed before the other side is ended; an error or a malformed frame ends
 * both at once.
 */
function tunnel(session: HttpSession, deps: ExchangeDeps, client: Duplex, upstream: Duplex, how: { mode: 'websocket' | 'spdy' | 'opaque'; masking: TunnelMasker; commandId: number }, clientHead: Buffer, upHead: Buffer, done: () => void): void {
  const { recorder } = session;
  const { mode, masking, commandId } = how;
  const run = { commandIds: [commandId], commandStarts: [0] };
  const splitter = splitterFor(mode);
  let closed = false;
  let idle: NodeJS.Timeout | undefined;
  const close = (graceful: boolean): void => {
    if (closed) return;
    closed = true;
    clearTimeout(idle);
    splitter.close();
    recorder.off('drain', resumeUpstream);
    // Graceful: what was written still goes out (end), then the socket is gone either way; a
    // peer that keeps its half open, or stops reading, does not keep the tunnel.
    for (const s of [client, upstream]) {
      if (graceful && !s.destroyed) {
        s.end(() => s.destroy());
        setTimeout(() => s.destroy(), TUNNEL_LINGER_MS).unref();
      } else s.destroy();
    }
    done();
  };
  const malformed = (err: Error): void => {
    deps.log.info({ session: session.info.sessionId, mode, err }, 'upgraded tunnel closed on a malformed frame');
    close(false);
  };
  const record = (direction: Direction, us: TunnelUnit[]): void => {
    for (const x of us) {
      const f = singleFrame(direction, x.type, x.recorded ?? x.bytes, { masks: x.masks ?? [] });
      // Every frame of the tunnel is the exec's (events v3): one run array shared by all of them.
      if (commandId) {
        f.commandIds = run.commandIds;
        f.commandStarts = run.commandStarts;
      }
      session.append(f);
    }
  };
  let fromClientDone: Promise<void> = Promise.resolve();
  let fromUpstreamDone: Promise<void> = Promise.resolve();
  const fromClient = (chunk: Buffer): void => {
    client.pause();
    fromClientDone = fromClientDone
      .then(async () => {
        const us = await splitter.split('CLIENT_TO_SERVER', chunk);
        if (closed) return;
        if (us instanceof Error) return malformed(us);
        record('CLIENT_TO_SERVER', masking.client(us));
        if (us.length > 0) {
          await recorder.flush();
          if (closed) return;
          for (const x of us) upstream.write(x.bytes);
        }
        if (upstream.writableNeedDrain) upstream.once('drain', () => !closed && client.resume());
        else client.resume();
      })
      .catch(() => close(false));
  };
  const resumeUpstream = (): void => {
    if (recorder.unackedBytes <= deps.maxInFlightBytes && !client.writableNeedDrain && !closed) upstream.resume();
  };
  const fromUpstream = (chunk: Buffer): void => {
    upstream.pause();
    fromUpstreamDone = fromUpstreamDone
      .then(async () => {
        const split = await splitter.split('SERVER_TO_CLIENT', chunk);
        if (closed) return;
        const us = split instanceof Error ? split : masking.server(split);
        if (us instanceof Error) return malformed(us);
        relayUpstream(us);
        resumeUpstream();
        clearTimeout(idle);
        if (masking.holding) idle = setTimeout(flushHeld, TUNNEL_FLUSH_IDLE_MS);
      })
      .catch(() => close(false));
  };
  const relayUpstream = (us: TunnelUnit[]): void => {
    record('SERVER_TO_CLIENT', us);
    for (const x of us) client.write(x.bytes);
  };
  // Output held back by masking goes out once the upstream is quiet, or before the client is ended.
  const flushHeld = (): Promise<void> => (fromUpstreamDone = fromUpstreamDone.then(() => void (!closed && relayUpstream(masking.flush()))).catch(() => close(false)));
  client.on('drain', resumeUpstream);
  recorder.on('drain', resumeUpstream);
  client.on('data', fromClient);
  upstream.on('data', fromUpstream);
  // A half-close (the agent's server socket allows it) passes on once the side's units are relayed.
  client.on('end', () => void fromClientDone.then(() => !closed && upstream.end()));
  upstream.on('end', () => void flushHeld().then(() => !closed && client.end()));
  client.on('close', () => void fromClientDone.then(() => close(true)));
  upstream.on('close', () => void flushHeld().then(() => close(true)));
  for (const s of [client, upstream]) s.on('error', () => close(false));
  if (upHead.length > 0) fromUpstream(upHead);
  if (clientHead.length > 0) fromClient(clientHead);
  // A client read while its upgrade was held was paused afterwards.
  else client.resume();
}
