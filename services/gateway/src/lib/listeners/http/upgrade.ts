import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Direction } from '@chaperone/events';
import { WsFrameReader, endToEndHeaders, formatRequestHead, formatResponseHead, headerValue, wsOpcodeName, type RequestTarget } from '../../protocols/http/index.js';
import { analyze } from './analyze.js';
import { DROP_REQUEST, decide, makeProbe, type ExchangeDeps } from './exchange.js';
import { policyRefusal, refusal } from './refuse.js';
import type { HttpSession } from './session.js';
import type { HttpConnection } from './types.js';
import { upstreamPath } from './upstream.js';

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

/** A WebSocket frame may carry a whole file (kubectl cp); beyond this the tunnel is closed. */
const MAX_WS_FRAME_BYTES = 16 * 1024 * 1024;

function raw(status: number, headers: [string, string][], body: Buffer): Buffer {
  const flat = [...headers, ['Content-Length', String(body.length)], ['Connection', 'close']].flat();
  return Buffer.concat([formatResponseHead(status, status === 403 ? 'Forbidden' : 'Bad Gateway', '1.1', flat), body]);
}

/**
 * An Upgrade (WebSocket, SPDY for `kubectl exec`): decided like any request, then a recorded
 * tunnel. WebSocket traffic is recorded frame by frame (`ws.frame`), anything else as the chunks
 * that pass (`upgrade.data`). Client-to-upstream bytes are acknowledged before they are
 * forwarded; upstream-to-client bytes are recorded and relayed with backpressure.
 */
export async function handleUpgrade(u: UpgradeContext, deps: ExchangeDeps): Promise<void> {
  const { session, req, socket, conn } = u;
  const kind = conn.http.kind;
  const analysis = analyze(kind, { method: req.method ?? 'GET', target: u.target, routedPath: u.routedPath, headers: req.headers });
  const cmd = await analysis.command(true, makeProbe(conn, deps));
  session.append({ type: 'Frame', direction: 'CLIENT_TO_SERVER', messageType: 'http.request.head', bytes: formatRequestHead(req.method ?? '', req.url ?? '', req.httpVersion, req.rawHeaders), redacted: false, masks: [] });
  const d = decide({ session, conn, req, path: u.target.path, routedPath: u.routedPath, query: u.target.query }, deps, cmd);
  const x = { kind, analysis };
  if (d.result !== 'allow') {
    session.counters.denied++;
    deps.metrics.requests.inc({ kind, result: d.result });
    const r = policyRefusal(x, cmd, d);
    const bytes = raw(r.status, r.headers, r.body);
    session.append({ type: 'Frame', direction: 'SERVER_TO_CLIENT', messageType: 'http.response.head', bytes, redacted: false, masks: [] });
    socket.end(bytes);
    await session.recorder.flush().catch(() => {});
    return;
  }
  await session.recorder.flush();
  const auth = await deps.credentials(conn).headers(analysis.scope);
  const flat: string[] = ['Host', conn.http.preserveHost ? (req.headers.host ?? conn.http.url.host) : conn.http.url.host];
  for (const [k, v] of endToEndHeaders(req.rawHeaders, { drop: DROP_REQUEST, upgrade: true })) flat.push(k, v);
  for (const [k, v] of auth) flat.push(k, v);
  flat.push('X-Forwarded-For', u.clientIp, 'X-Forwarded-Proto', u.tls ? 'https' : 'http');
  const upReq = deps.pool.open(conn, { method: req.method ?? 'GET', path: upstreamPath(conn, u.routedPath, u.target.query), headers: flat });
  const websocket = (headerValue(req.rawHeaders, 'upgrade') ?? '').toLowerCase() === 'websocket';
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
      session.append({ type: 'Frame', direction: 'SERVER_TO_CLIENT', messageType: 'http.response.head', bytes: head, redacted: false, masks: [] });
      socket.write(head);
      res.on('data', (c: Buffer) => {
        session.append({ type: 'Frame', direction: 'SERVER_TO_CLIENT', messageType: 'http.response.body', bytes: c, redacted: false, masks: [] });
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
      session.append({ type: 'Frame', direction: 'SERVER_TO_CLIENT', messageType: 'http.response.head', bytes: head, redacted: false, masks: [] });
      socket.write(head);
      tunnel(session, deps, socket, upSocket, websocket, u.head, upHead, resolve);
    });
    upReq.end();
  });
  deps.metrics.requests.inc({ kind, result: 'allow' });
}

function tunnel(session: HttpSession, deps: ExchangeDeps, client: Duplex, upstream: Duplex, websocket: boolean, clientHead: Buffer, upHead: Buffer, done: () => void): void {
  const { recorder } = session;
  const readers = { c: new WsFrameReader(MAX_WS_FRAME_BYTES), s: new WsFrameReader(MAX_WS_FRAME_BYTES) };
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    client.destroy();
    upstream.destroy();
    done();
  };
  /** Splits into recordable units: whole WebSocket frames, or the chunk as it came. */
  const units = (dir: Direction, chunk: Buffer): { bytes: Buffer; type: string }[] | undefined => {
    if (!websocket) return [{ bytes: chunk, type: 'upgrade.data' }];
    const r = (dir === 'CLIENT_TO_SERVER' ? readers.c : readers.s).push(chunk);
    if (r.error) {
      deps.log.info({ session: session.info.sessionId, err: r.error.message }, 'websocket tunnel closed on a malformed frame');
      return undefined;
    }
    return r.frames.map((f) => ({ bytes: f.raw, type: `ws.frame.${wsOpcodeName(f.opcode)}` }));
  };
  let chain: Promise<void> = Promise.resolve();
  const fromClient = (chunk: Buffer): void => {
    const us = units('CLIENT_TO_SERVER', chunk);
    if (!us) return close();
    for (const x of us) session.append({ type: 'Frame', direction: 'CLIENT_TO_SERVER', messageType: x.type, bytes: x.bytes, redacted: false, masks: [] });
    if (us.length === 0) return;
    client.pause();
    chain = chain
      .then(async () => {
        await recorder.flush();
        for (const x of us) upstream.write(x.bytes);
        if (!closed) client.resume();
      })
      .catch(close);
  };
  const fromUpstream = (chunk: Buffer): void => {
    const us = units('SERVER_TO_CLIENT', chunk);
    if (!us) return close();
    for (const x of us) {
      session.append({ type: 'Frame', direction: 'SERVER_TO_CLIENT', messageType: x.type, bytes: x.bytes, redacted: false, masks: [] });
      if (!client.write(x.bytes) || recorder.unackedBytes > deps.maxInFlightBytes) upstream.pause();
    }
  };
  const resumeUpstream = (): void => {
    if (recorder.unackedBytes <= deps.maxInFlightBytes && !client.writableNeedDrain && !closed) upstream.resume();
  };
  client.on('drain', resumeUpstream);
  recorder.on('drain', resumeUpstream);
  client.on('data', fromClient);
  upstream.on('data', fromUpstream);
  for (const s of [client, upstream]) {
    s.on('error', close);
    s.on('close', () => {
      recorder.off('drain', resumeUpstream);
      close();
    });
  }
  if (upHead.length > 0) fromUpstream(upHead);
  if (clientHead.length > 0) fromClient(clientHead);
}
