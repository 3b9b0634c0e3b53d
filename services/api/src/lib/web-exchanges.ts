import { createHash, type Hash } from 'node:crypto';
import type { Command } from '@chaperone/events';
import type { EventMsg } from './proto.js';
import { eventBody, recordedMessages, type RecordedMessage } from './transcript/frames.js';
import { asText, detailLines, pktLines, tunnelData } from './transcript/http.js';
import type { TunnelChunk, WebBody, WebExchange, WebExchanges } from './web-types.js';

/** Body bytes kept per body for the console; the rest is counted and hashed. */
export const EXCHANGE_BODY_BYTES = 256 * 1024;
/** Tunnel chunks kept per session (a long exec session); the rest is counted. */
export const TUNNEL_CHUNKS = 20_000;

interface BodyAcc {
  chunks: Buffer[];
  kept: number;
  bytes: number;
  hash: Hash;
  stored?: WebBody['stored'];
}

const newBody = (): BodyAcc => ({ chunks: [], kept: 0, bytes: 0, hash: createHash('sha256') });

function parseDetails(json: string): Record<string, unknown> {
  try {
    const d: unknown = JSON.parse(json || '{}');
    return d && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A body as the console shows it: JSON pretty-printed, text as it is, git pkt-lines as lines, anything else as size + digest. */
export function webBody(acc: BodyAcc): WebBody {
  const b = Buffer.concat(acc.chunks);
  const base = { bytes: acc.bytes, shownBytes: b.length, sha256: acc.hash.digest('hex'), ...(acc.stored ? { stored: acc.stored } : {}) };
  const text = asText(b);
  if (text === undefined || /^[0-9a-f]{4}/.test(text)) {
    const pkt = pktLines(b);
    if (pkt && pkt.length > 0) return { kind: 'git', text: pkt.join('\n'), ...base };
  }
  if (text === undefined) return { kind: 'binary', ...base, shownBytes: 0 };
  if (acc.bytes === b.length && /^\s*[[{]/.test(text)) {
    try {
      return { kind: 'json', text: JSON.stringify(JSON.parse(text), null, 2), ...base };
    } catch {
      // not JSON after all: shown as text
    }
  }
  return { kind: 'text', text, ...base };
}

const STATUS = /^HTTP\/\S+ (\d{3})\s*(.*)$/;

/**
 * Rebuilds the exchanges of an HTTP-based session for the console, event by event in seq order:
 * each request (its head starts one; the Command recorded for it fills it in), its decision and
 * approval, the response's status, the request and response bodies, and an upgraded tunnel's
 * data by channel with the time each piece was recorded.
 */
export class ExchangeBuilder {
  readonly out: WebExchanges = { sessionId: '', exchanges: [], tunnelOmitted: 0 };
  private readonly byId = new Map<number, WebExchange>();
  private current: WebExchange | undefined;
  private request: BodyAcc | undefined;
  private response: BodyAcc | undefined;
  private tunnelChunks = 0;

  push(e: EventMsg): void {
    this.out.sessionId ||= e.sessionId;
    const body = eventBody(e);
    if (!body) return;
    switch (body.type) {
      case 'Command':
        return this.command(e, body);
      case 'Decision': {
        const x = this.byId.get(body.commandId);
        if (x) x.decision = { result: body.result, reasons: [...body.reasons], policyRevision: body.policyRevision };
        return;
      }
      case 'ApprovalRequested': {
        const x = this.byId.get(body.commandId);
        if (x) x.approval = { approvalId: body.approvalId };
        return;
      }
      case 'ApprovalResolved': {
        const x = this.byId.get(body.commandId);
        if (x) x.approval = { approvalId: body.approvalId, outcome: body.outcome, approvers: [...body.approvers], reason: body.reason };
        return;
      }
      case 'Frame':
        if (!body.redacted) for (const m of recordedMessages(body)) this.message(e, m);
        return;
      case 'SessionEnded':
        return this.finish();
    }
  }

  /** The exchanges, every body settled. */
  result(): WebExchanges {
    this.finish();
    return this.out;
  }

  private open(e: EventMsg): WebExchange {
    this.finish();
    const x: WebExchange = { seq: e.seq, tsMicros: e.tsMicros, commandId: 0, protocol: '', action: '', text: '', targets: [], details: {}, fields: [], tunnel: [] };
    this.out.exchanges.push(x);
    this.current = x;
    return x;
  }

  private command(e: EventMsg, c: Command): void {
    // The request's head came first; a second Command for the same request (an MCP batch) opens its own exchange.
    const x = this.current && this.current.commandId === 0 ? this.current : this.open(e);
    Object.assign(x, { commandId: c.commandId, protocol: c.protocol, action: c.action, text: c.text, targets: [...c.targets] });
    x.details = parseDetails(c.detailsJson);
    x.fields = detailLines(c.protocol, c.detailsJson).map((l) => l.trim());
    this.byId.set(c.commandId, x);
  }

  private message(e: EventMsg, m: RecordedMessage): void {
    switch (m.type) {
      case 'http.request.head':
        this.open(e);
        return;
      case 'http.response.head': {
        const x = this.current ?? this.open(e);
        this.settleRequest();
        const line = m.bytes.toString('latin1').split('\r\n', 1)[0]!;
        const s = STATUS.exec(line);
        x.status = { code: s ? Number(s[1]) : 0, line: s ? `${s[1]} ${s[2]}`.trim() : line, tsMicros: e.tsMicros };
        return;
      }
      case 'http.request.body':
        return this.add((this.request ??= newBody()), m.bytes);
      case 'http.response.body':
        return this.add((this.response ??= newBody()), m.bytes);
      case 'http.request.body.end':
        (this.request ??= newBody()).stored = summary(m.bytes);
        return this.settleRequest();
      case 'http.response.body.end':
        (this.response ??= newBody()).stored = summary(m.bytes);
        return this.settleResponse();
    }
    const t = tunnelData(m);
    if (!t || t.data.length === 0) return;
    const x = this.current ?? this.open(e);
    if (this.tunnelChunks >= TUNNEL_CHUNKS) return void this.out.tunnelOmitted++;
    this.tunnelChunks++;
    const chunk: TunnelChunk = { tsMicros: e.tsMicros, channel: t.channel, data: t.data.toString('base64') };
    x.tunnel.push(chunk);
  }

  private add(acc: BodyAcc, bytes: Buffer): void {
    acc.bytes += bytes.length;
    acc.hash.update(bytes);
    const room = EXCHANGE_BODY_BYTES - acc.kept;
    if (room <= 0) return;
    const part = bytes.subarray(0, room);
    acc.chunks.push(Buffer.from(part));
    acc.kept += part.length;
  }

  private settleRequest(): void {
    if (this.request && this.current) this.current.request = webBody(this.request);
    this.request = undefined;
  }

  private settleResponse(): void {
    if (this.response && this.current) this.current.response = webBody(this.response);
    this.response = undefined;
  }

  private finish(): void {
    this.settleRequest();
    this.settleResponse();
  }
}

/** The gateway's note at the end of a body stored only in part. */
function summary(bytes: Buffer): WebBody['stored'] {
  try {
    const s = JSON.parse(bytes.toString('utf8')) as { bytes?: number; storedBytes?: number; sha256?: string };
    return { bytes: Number(s.bytes ?? 0), storedBytes: Number(s.storedBytes ?? 0), sha256: String(s.sha256 ?? '') };
  } catch {
    return undefined;
  }
}
