import { createHash } from 'node:crypto';
import type { RecordedMessage } from './frames.js';
import { gatewayAnswerLine, jsonRpcBodyLines, mcpDetailLines } from './mcp.js';

/** Body text shown per body; the rest is counted. */
const MAX_BODY_TEXT = 64 * 1024;
/** Channel names of the Kubernetes remote command protocol, by WebSocket channel byte. */
const CHANNELS = ['stdin', 'stdout', 'stderr', 'error', 'resize'];

const UTF8 = new TextDecoder('utf-8', { fatal: true });

type Direction = 'CLIENT_TO_SERVER' | 'SERVER_TO_CLIENT';

/** Whether a recorded message belongs to an HTTP exchange or an upgraded tunnel. */
export const isHttpMessage = (type: string): boolean => type.startsWith('http.') || type.startsWith('ws.frame.') || type.startsWith('spdy.frame.') || type === 'upgrade.data' || type.startsWith('mcp.');

/** Printable text (UTF-8 with no control characters but tab, CR, LF, ESC), or undefined. */
export function asText(b: Buffer): string | undefined {
  let s: string;
  try {
    s = UTF8.decode(b);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/.test(s) ? undefined : s;
}

/**
 * A git pkt-line stream (a push's report-status, side-band multiplexed or not) as its lines:
 * `unpack ok`, `ok refs/heads/x`, `ng refs/heads/main <why>`; undefined when it is not one.
 */
export function pktLines(b: Buffer, depth = 0): string[] | undefined {
  const out: string[] = [];
  for (let at = 0; at < b.length; ) {
    const hex = b.toString('latin1', at, at + 4);
    if (!/^[0-9a-f]{4}$/.test(hex)) return undefined;
    const len = parseInt(hex, 16);
    if (len === 0 || len === 1 || len === 2) {
      at += 4;
      continue;
    }
    if (len < 4 || at + len > b.length) return undefined;
    const data = b.subarray(at + 4, at + len);
    at += len;
    const band = data[0];
    if (depth === 0 && band === 1) out.push(...(pktLines(data.subarray(1), 1) ?? [data.subarray(1).toString('utf8').trimEnd()]));
    else if (depth === 0 && (band === 2 || band === 3)) out.push(`remote: ${data.subarray(1).toString('utf8').trimEnd()}`);
    else {
      const text = asText(data);
      if (text === undefined) return undefined;
      out.push(text.replace(/\n$/, ''));
    }
  }
  return out;
}

const binaryLine = (b: Buffer): string => `(${b.length} bytes binary, sha256 ${createHash('sha256').update(b).digest('hex')})`;

/** The payload of a recorded WebSocket frame, without a client's XOR key (recordings before it was removed kept it). */
function wsPayload(b: Buffer): { opcode: number; payload: Buffer } | undefined {
  if (b.length < 2) return undefined;
  let len = b[1]! & 0x7f;
  let at = 2;
  if (len === 126) [len, at] = [b.readUInt16BE(2), 4];
  else if (len === 127) [len, at] = [Number(b.readBigUInt64BE(2)), 10];
  const masked = (b[1]! & 0x80) !== 0;
  const key = masked ? b.subarray(at, at + 4) : undefined;
  if (masked) at += 4;
  const payload = Buffer.from(b.subarray(at, at + len));
  if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
  return { opcode: b[0]! & 0x0f, payload };
}

/** `k=v` parameters of a message type: `spdy.frame.data;stream=1;channel=stdout`. */
function typeParam(type: string, name: string): string | undefined {
  for (const p of type.split(';').slice(1)) if (p.startsWith(`${name}=`)) return p.slice(name.length + 1);
  return undefined;
}

/** What an exec tunnel unit carries: its channel and data, or undefined for frames with none (control, close). */
export function tunnelData(m: RecordedMessage): { channel: string; data: Buffer } | undefined {
  if (m.type.startsWith('spdy.frame.data')) return { channel: typeParam(m.type, 'channel') ?? `stream ${typeParam(m.type, 'stream') ?? '?'}`, data: m.bytes.subarray(8) };
  if (m.type === 'upgrade.data') return { channel: 'data', data: m.bytes };
  if (!m.type.startsWith('ws.frame.')) return undefined;
  const f = wsPayload(m.bytes);
  if (!f || f.opcode >= 8) return undefined;
  const named = typeParam(m.type, 'channel');
  // Text frames carry a channel digit and base64 (base64.channel.k8s.io); binary ones a channel byte.
  if (f.opcode === 1 && named && f.payload.length > 0) return { channel: named, data: Buffer.from(f.payload.subarray(1).toString('latin1'), 'base64') };
  if (named && f.payload.length > 0) return { channel: named, data: f.payload.subarray(1) };
  if (f.opcode === 2 && f.payload.length > 0 && f.payload[0]! < CHANNELS.length) return { channel: CHANNELS[f.payload[0]!]!, data: f.payload.subarray(1) };
  return { channel: 'data', data: f.payload };
}

/** A run of one kind of content, printed when the next kind starts. */
interface Run {
  key: string;
  label: string;
  chunks: Buffer[];
  bytes: number;
}

/**
 * Renders the HTTP side of a session: the status line of each response, request and response
 * bodies (text and JSON in full, binary as size + SHA-256, a body stored only in part with its
 * summary), and exec tunnels by channel (`stdin │ …`, `stdout │ …`). Consecutive pieces of one
 * body or one channel are joined, so a body cut into many frames reads as one.
 */
export class HttpRenderer {
  private run: Run | undefined;

  /** Lines for one recorded message (possibly none until a run ends). */
  message(direction: Direction, m: RecordedMessage): string[] {
    if (m.type === 'http.request.head') return this.flush();
    if (m.type === 'http.response.head') return [...this.flush(), `  ← ${m.bytes.toString('latin1').split('\r\n', 1)[0]!.replace(/^HTTP\/\S+ /, '')}`.trimEnd()];
    if (m.type === 'http.request.body' || m.type === 'http.response.body') return this.add(m.type, m.type === 'http.request.body' ? 'request body' : 'response body', m.bytes);
    if (m.type === 'http.request.body.end' || m.type === 'http.response.body.end') return [...this.flush(), this.summary(m)];
    if (m.type === 'mcp.gateway.answer') return [...this.flush(), gatewayAnswerLine(m.bytes)];
    if (m.type === 'http.response.refused') return [...this.flush(), `  ✗ the gateway ended the answer: ${m.bytes.toString('utf8')}`];
    const t = tunnelData(m);
    if (!t) return [];
    return t.data.length === 0 ? [] : this.add(`${direction}:${t.channel}`, t.channel, t.data);
  }

  /** What is still held (a run in progress). */
  flush(): string[] {
    const r = this.run;
    this.run = undefined;
    if (!r) return [];
    const b = Buffer.concat(r.chunks);
    const text = asText(b);
    const more = r.bytes > b.length ? [`    … ${r.bytes - b.length} more bytes`] : [];
    if (r.label.endsWith('body')) {
      const pkt = text === undefined || /^[0-9a-f]{4}/.test(text) ? pktLines(b) : undefined;
      if (pkt) return [`  ${r.label} (git pkt-lines):`, ...pkt.map((l) => `    ${l}`), ...more];
      if (text === undefined) return [`  ${r.label}: ${binaryLine(b)}`];
      const rpc = jsonRpcBodyLines(text);
      if (rpc) return [`  ${r.label} (JSON-RPC):`, ...rpc.map((l) => `    ${l}`), ...more];
      return [`  ${r.label}:`, ...text.replace(/\n$/, '').split('\n').map((l) => `    ${l.replace(/\r$/, '')}`), ...more];
    }
    const label = r.label.padEnd(6);
    if (text === undefined) return [`  ${label} │ ${binaryLine(b)}`];
    return [...text.replace(/\r?\n$/, '').split(/\r?\n/).map((l) => `  ${label} │ ${l}`), ...more];
  }

  private add(key: string, label: string, bytes: Buffer): string[] {
    const out = this.run && this.run.key !== key ? this.flush() : [];
    this.run ??= { key, label, chunks: [], bytes: 0 };
    const room = MAX_BODY_TEXT - Math.min(MAX_BODY_TEXT, this.run.chunks.reduce((n, c) => n + c.length, 0));
    if (room > 0) this.run.chunks.push(bytes.subarray(0, room));
    this.run.bytes += bytes.length;
    return out;
  }

  private summary(m: RecordedMessage): string {
    const which = m.type.startsWith('http.request') ? 'request body' : 'response body';
    try {
      const s = JSON.parse(m.bytes.toString('utf8')) as { bytes: number; storedBytes: number; sha256: string };
      return `  ${which}: ${s.bytes} bytes${s.sha256 ? `, sha256 ${s.sha256}` : ''} (${s.storedBytes === 0 ? 'not stored' : `${s.storedBytes} stored`})`;
    } catch {
      return `  ${which}: (summary does not parse)`;
    }
  }
}

const short = (id: unknown): string => (typeof id === 'string' ? id.slice(0, 12) : '?');
/** A detail value as text ('' when absent). */
const str = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v));

/**
 * The parsed fields a command was decided on, one line each: git ref updates (force pushes,
 * deletions), registry pushes (tag, digest, whether it overwrites a tag), Kubernetes
 * verb/resource/namespace/name. Nothing for other protocols or details that do not parse.
 */
export function detailLines(protocol: string, detailsJson: string): string[] {
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(detailsJson || '{}') as Record<string, unknown>;
  } catch {
    return [];
  }
  if (protocol === 'mcp' && typeof d.method === 'string') return mcpDetailLines(d);
  if (protocol === 'git' && Array.isArray(d.updates)) {
    return (d.updates as Record<string, unknown>[]).map((u) => {
      const how = u.delete ? 'delete' : u.type === 'create' ? 'create' : u.force === true ? 'FORCE PUSH' : u.force === false ? 'fast-forward' : 'update (fast-forward unknown)';
      return `  ref ${str(u.ref)}  ${short(u.old)}..${short(u.new)}  ${how}`;
    });
  }
  if (protocol === 'oci' && d.op === 'manifest.push') {
    const ow = d.overwrite === true ? `OVERWRITES tag (was ${str(d.previousDigest)})` : d.overwrite === false ? 'new tag or same digest' : 'overwrite unknown';
    return [`  repository ${str(d.repository)}  tag ${str(d.tag) || '-'}  digest ${str(d.digest) || '-'}  ${d.tag ? ow : ''}`.trimEnd()];
  }
  if (protocol === 'k8s' && typeof d.verb === 'string') {
    const res = [d.group, d.version, d.resource].filter((x) => typeof x === 'string' && x !== '').join('/');
    const parts = [`verb ${d.verb}`, res && `resource ${res}${str(d.subresource) && `/${str(d.subresource)}`}`, str(d.namespace) && `namespace ${str(d.namespace)}`, str(d.name) && `name ${str(d.name)}`];
    const cmd = Array.isArray(d.command) && d.command.length ? [`  command ${JSON.stringify(d.command)}`] : [];
    return [`  ${parts.filter(Boolean).join('  ')}`, ...cmd];
  }
  return [];
}
