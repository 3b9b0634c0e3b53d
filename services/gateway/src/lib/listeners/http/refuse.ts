import type { ServerResponse } from 'node:http';
import { formatResponseHead } from '../../protocols/http/index.js';
import type { HttpSession } from './session.js';

export type Kind = 'rest' | 'git' | 'oci' | 'k8s';

/** A ready-made answer the gateway gives in place of the upstream's. */
export interface Refusal {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

const REASON: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 413: 'RequestEntityTooLarge', 502: 'BadGateway', 503: 'ServiceUnavailable', 504: 'GatewayTimeout' };
const OCI_CODE: Record<number, string> = { 401: 'UNAUTHORIZED', 403: 'DENIED', 404: 'NAME_UNKNOWN', 413: 'SIZE_INVALID' };

/**
 * Shapes the refusal the way the agent's client prints errors: a Kubernetes `Status` for
 * kubectl, the distribution error envelope for registry clients, plain text for git and curl.
 * Every message starts with "chaperone:" so the agent knows who refused.
 */
export function refusal(kind: Kind, status: number, message: string): Refusal {
  const text = message.startsWith('chaperone:') ? message : `chaperone: ${message}`;
  if (kind === 'k8s') {
    const body = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: text, reason: REASON[status] ?? 'InternalError', code: status };
    return json(status, body);
  }
  if (kind === 'oci') return json(status, { errors: [{ code: OCI_CODE[status] ?? (status >= 500 ? 'UNAVAILABLE' : 'DENIED'), message: text, detail: null }] });
  return { status, headers: [['Content-Type', 'text/plain; charset=utf-8']], body: Buffer.from(`${text}\n`) };
}

function json(status: number, value: unknown): Refusal {
  return { status, headers: [['Content-Type', 'application/json']], body: Buffer.from(JSON.stringify(value)) };
}

/**
 * Sends a refusal, recording it in the session when there is one. `close` when the request body
 * was not read: the connection cannot be reused for the next request then.
 */
export function sendRefusal(res: ServerResponse, r: Refusal, opts: { session?: HttpSession; close?: boolean; challenge?: boolean } = {}): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const headers: [string, string][] = [...r.headers, ['Content-Length', String(r.body.length)]];
  // git, skopeo and docker send credentials only after a Basic challenge (never a Bearer one:
  // registry clients would go looking for a token realm).
  if (opts.challenge) headers.push(['WWW-Authenticate', 'Basic realm="chaperone", charset="UTF-8"']);
  if (opts.close) headers.push(['Connection', 'close']);
  const flat = headers.flat();
  if (opts.session) {
    opts.session.append({ type: 'Frame', direction: 'SERVER_TO_CLIENT', messageType: 'http.response.head', bytes: formatResponseHead(r.status, res.req.method === 'HEAD' ? '' : statusText(r.status), '1.1', flat), redacted: false, masks: [] });
    if (r.body.length > 0) opts.session.append({ type: 'Frame', direction: 'SERVER_TO_CLIENT', messageType: 'http.response.body', bytes: r.body, redacted: false, masks: [] });
  }
  if (opts.close) res.shouldKeepAlive = false;
  res.writeHead(r.status, flat);
  res.end(res.req.method === 'HEAD' ? undefined : r.body);
}

function statusText(status: number): string {
  return REASON[status]?.replace(/([a-z])([A-Z])/g, '$1 $2') ?? '';
}

/** The answer to a command the policy did not allow (approval is not wired for HTTP yet: it refuses too). */
export function policyRefusal(x: { kind: Kind; analysis: { refusal?(status: number, message: string): Refusal | undefined } }, _cmd: unknown, d: { result: string; reasons: string[] }): Refusal {
  const why = d.reasons.join('; ') || (d.result === 'approval' ? 'policy requires approval' : 'not allowed');
  const message = d.result === 'approval' ? `chaperone: this request needs approval: ${why}` : `chaperone: denied by policy: ${why}`;
  return x.analysis.refusal?.(403, message) ?? refusal(x.kind, 403, message);
}
