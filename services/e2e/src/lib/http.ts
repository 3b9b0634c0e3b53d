/**
 * Helpers for the HTTP gateway integration tests: agent tokens, raw requests through the
 * load-balanced TLS endpoint, and reading recorded commands back with `chaperone sql`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { loadConfig } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { chaperone, eventually, type Stack } from './stack.js';

/** A fresh subject per test file, so its sessions and commands can be told apart. */
export function uniqueSubject(prefix: string): string {
  return `agent:e2e-${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function issueToken(stack: Stack, subject: string, groups = ['agents']): Promise<string> {
  const issuer = await TokenIssuer.fromConfig(loadConfig(stack.CHAPERONE_CONFIG).identity);
  return issuer.issue({ subject, groups, ttlMs: 30 * 60_000 });
}

/** The HTTP endpoint agents use: haproxy in front of the gateway nodes' HTTP proxies (TLS). */
export function httpBase(stack: Stack): string {
  if (!stack.AGENT_HTTP_BASE) throw new Error('stack.json has no AGENT_HTTP_BASE: restart the stack with a deploy/local that has the HTTP upstreams (deploy/local/up)');
  return stack.AGENT_HTTP_BASE;
}

/**
 * Writes a kubeconfig whose only cluster is the Kubernetes connection behind the agents'
 * endpoint (`<AGENT_HTTP_BASE>/k8s`, the stack's CA) and whose user holds `token`.
 */
export function writeKubeconfig(file: string, stack: Stack, token: string, namespace: string): void {
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: chaperone, cluster: {server: "${httpBase(stack)}/k8s", certificate-authority: "${stack.TLS_CA_FILE}"}}]`,
      `users: [{name: agent, user: {token: "${token}"}}]`,
      `contexts: [{name: chaperone, context: {cluster: chaperone, user: agent, namespace: ${namespace}}}]`,
      'current-context: chaperone',
      '',
    ].join('\n'),
  );
}

/**
 * Sends raw bytes over TLS to the agents' HTTP endpoint and returns what came back before the
 * server closed (or `waitMs` passed): for requests no well-behaved client would send.
 */
export function rawTls(stack: Stack, bytes: string | Buffer, waitMs = 2000): Promise<string> {
  const port = Number(stack.HAPROXY_HTTP_PORT);
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const s = connect({ host: '127.0.0.1', port, ca: readFileSync(stack.TLS_CA_FILE!), servername: 'localhost' }, () => s.write(bytes));
    const done = (): void => {
      clearTimeout(t);
      s.destroy();
      resolve(Buffer.concat(out).toString('latin1'));
    };
    const t = setTimeout(done, waitMs);
    s.on('data', (c: Buffer) => out.push(c));
    s.on('end', done);
    s.on('close', done);
    s.on('error', (e: Error) => (out.length > 0 ? done() : reject(e)));
  });
}

export interface CommandRow {
  session_id: string;
  command_id: number;
  protocol: string;
  action: string;
  targets: string[];
  text: string;
  details: string;
  decision: string;
  reasons: string[];
}

/** Runs read-only SQL through `chaperone sql --format json` and returns the rows. */
export async function sql<T>(stack: Stack, query: string): Promise<T[]> {
  const r = await chaperone(stack, ['sql', query, '--format', 'json']);
  if (r.code !== 0) throw new Error(`chaperone sql failed: ${r.stderr}`);
  const parsed = JSON.parse(r.stdout) as { rows?: T[] } | T[];
  return Array.isArray(parsed) ? parsed : (parsed.rows ?? []);
}

/** The decided commands of a subject, oldest first, once at least `min` (matching `where`) are materialized. */
export async function commandsOf(stack: Stack, subject: string, min: number, where = '1'): Promise<CommandRow[]> {
  // Arrays travel as one string joined by a unit separator: the JSON output of old ClickHouse
  // servers prints arrays as ClickHouse literals.
  const q = `SELECT session_id, command_id, protocol, action, arrayStringConcat(targets, '\\x1f') AS targets, text, details, decision, arrayStringConcat(reasons, '\\x1f') AS reasons FROM commands FINAL WHERE subject = '${subject}' AND decision != '' AND (${where}) ORDER BY ts_micros, command_id`;
  const list = (v: unknown): string[] => (typeof v === 'string' ? (v === '' ? [] : v.split('\x1f')) : (v as string[]));
  return eventually(`${min} commands of ${subject} in ClickHouse`, async () => {
    const rows = await sql<CommandRow>(stack, q);
    return rows.length >= min ? rows.map((r) => ({ ...r, command_id: Number(r.command_id), targets: list(r.targets), reasons: list(r.reasons) })) : undefined;
  }, 60_000);
}

/**
 * Protocol messages per command and direction in the frames of these sessions (frame_commands,
 * events v3), once `ready` holds for them: `${command_id} ${direction}` -> messages.
 */
export async function frameCommands(stack: Stack, sessionIds: string[], ready: (m: Map<string, number>) => boolean): Promise<Map<string, number>> {
  const ids = sessionIds.map((s) => `'${s}'`).join(',');
  return eventually(`frame_commands of ${ids}`, async () => {
    const rows = await sql<{ command_id: number | string; direction: string; messages: number | string }>(
      stack,
      `SELECT command_id, direction, sum(messages) AS messages FROM frame_commands FINAL WHERE session_id IN (${ids}) GROUP BY command_id, direction`,
    );
    const m = new Map(rows.map((r) => [`${Number(r.command_id)} ${r.direction}`, Number(r.messages)]));
    return ready(m) ? m : undefined;
  }, 60_000);
}

/** Request lines a log file gained since `from` (a byte offset from `logSize`); health probes left out. */
export function logSince(file: string, from: number): string {
  return readFileSync(file)
    .subarray(from)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.includes('/healthz') && !l.startsWith('====='))
    .join('\n');
}

export function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** `chaperone replay <session>` once the session is sealed and materialized. */
export async function replayOf(stack: Stack, sessionId: string): Promise<string> {
  await eventually(`session ${sessionId} sealed`, async () => {
    const rows = await sql<{ n: number | string }>(stack, `SELECT count() AS n FROM sessions FINAL WHERE session_id = '${sessionId}' AND sealed = 1`);
    return Number(rows[0]?.n ?? 0) > 0 ? true : undefined;
  }, 60_000);
  const r = await chaperone(stack, ['replay', sessionId]);
  if (r.code !== 0) throw new Error(`chaperone replay failed: ${r.stderr}`);
  return r.stdout;
}
