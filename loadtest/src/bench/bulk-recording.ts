/**
 * The recording side of the bulk benchmark: a case's sessions found in ClickHouse by the case's
 * own subject, waited for until sealed with a gap-free chain, checked with the built CLI's
 * `chaperone verify`; and how soon a replay of a big session shows its first row.
 */
import { spawn } from 'node:child_process';
import { createApiClient } from '@chaperone/api/client';
import { decodeEventBody, frameMessages } from '@chaperone/events';
import type { Store } from '@chaperone/store';
import { gapFree, lit, loadSessions, type RecordedSession } from '../loss/sessions.js';
import { exec, lastLine } from './bench-stack.js';
import { FirstRowWatch } from './bulk-probes.js';
import type { RecordedSessionCheck, RecordingCheck, ReplayTiming } from './bulk-report.js';

type ApiTiming = Pick<ReplayTiming, 'apiFirstEventMs' | 'apiFirstDataRowMs' | 'apiOutcome'>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The built CLI and the configuration it is run with. */
export interface Cli {
  main: string;
  config: string;
}

/** Sealed or marked incomplete, with every event up to the last stored: what verify can judge. */
const settled = (s: RecordedSession) => s.state !== 'open' && gapFree(s);

async function bytesOut(store: Store, ids: string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const r = await store.query(`SELECT session_id, argMax(bytes_out, version) FROM ${store.database}.sessions WHERE session_id IN (${ids.map(lit).join(',')}) GROUP BY session_id`, {
    readonly: true,
  });
  return new Map(r.rows.map((row) => [row[0]!, Number(row[1])]));
}

/**
 * Waits until the subject's sessions since `sinceMs` are all settled in ClickHouse (at least one),
 * then runs `chaperone verify` on each. Never throws for what it finds: the check says it.
 */
export async function checkRecording(store: Store, cli: Cli, subject: string, sinceMs: number, timeoutMs: number): Promise<RecordingCheck> {
  const t0 = performance.now();
  let sessions: RecordedSession[] = [];
  for (const deadline = Date.now() + timeoutMs; ; await sleep(1000)) {
    sessions = await loadSessions({ store, sinceMs, subjects: [subject] });
    if (sessions.length > 0 && sessions.every(settled)) break;
    if (Date.now() > deadline) break;
  }
  const materializedMs = performance.now() - t0;
  const out = await bytesOut(store, sessions.map((s) => s.sessionId));
  const checks: RecordedSessionCheck[] = sessions.map((s) => ({ sessionId: s.sessionId, state: s.state, events: s.events, gapFree: gapFree(s), bytesOut: out.get(s.sessionId) ?? 0 }));
  const waited = `${Math.round(timeoutMs / 1000)} s`;
  if (sessions.length === 0) return { sessions: checks, error: `no session of ${subject} in ClickHouse after ${waited}` };
  const open = sessions.filter((s) => !settled(s));
  if (open.length > 0) return { sessions: checks, error: `${open.length} session(s) not sealed with a gap-free chain after ${waited}: ${open.map((s) => `${s.sessionId} (${s.state}, ${s.events} events to seq ${s.maxSeq})`).join(', ')}` };
  for (const c of checks) c.verify = await verify(cli, c.sessionId);
  return { sessions: checks, materializedMs };
}

/** `chaperone verify <id>`: exit 0 intact, 1 incomplete, 2 broken, 3 unknown. */
async function verify(cli: Cli, sessionId: string): Promise<RecordedSessionCheck['verify']> {
  const t0 = performance.now();
  const r = await exec(process.execPath, [cli.main, 'verify', sessionId, '--config', cli.config], {}, 15 * 60_000);
  return { exitCode: r.code, summary: r.stdout.split('\n')[0]?.trim() || lastLine(r.stderr), ms: performance.now() - t0 };
}

/**
 * `chaperone replay <id> --no-wait` from its start (node start included) to its first result-row
 * line; the CLI is killed there. undefined with the reason when no row came within `limitMs`.
 */
export function cliFirstRow(cli: Cli, sessionId: string, limitMs = 120_000): Promise<Pick<ReplayTiming, 'cliFirstRowMs' | 'cliOutcome'>> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli.main, 'replay', sessionId, '--no-wait', '--config', cli.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const watch = new FirstRowWatch();
    let firstRowMs: number | undefined;
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, limitMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (firstRowMs !== undefined || !watch.push(d)) return;
      firstRowMs = performance.now() - t0;
      child.kill('SIGTERM');
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (firstRowMs !== undefined) return resolve({ cliFirstRowMs: firstRowMs });
      const why = timedOut ? `nothing within ${Math.round(limitMs / 1000)} s` : `exit ${code ?? signal}${stderr ? `: ${lastLine(stderr)}` : ''}`;
      resolve({ cliOutcome: why });
    });
  });
}

/** The API's Replay stream alone: to its first event, and to the first frame holding a DataRow. */
export async function apiFirstRow(address: string, token: string, sessionId: string, limitMs = 120_000): Promise<ApiTiming> {
  const client = createApiClient(address, { token, timeoutMs: limitMs });
  const out: ApiTiming = {};
  const t0 = performance.now();
  const read = async () => {
    for await (const e of client.replay(sessionId)) {
      out.apiFirstEventMs ??= performance.now() - t0;
      if (e.type !== 'Frame') continue;
      const body = decodeEventBody(Buffer.from(e.avro)).body;
      if (body.type === 'Frame' && frameMessages(body).some((m) => m.type === 'DataRow')) {
        out.apiFirstDataRowMs = performance.now() - t0;
        return;
      }
    }
    out.apiOutcome = 'the stream ended without a DataRow';
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([read(), new Promise<void>((resolve) => (timer = setTimeout(() => resolve(void (out.apiOutcome = `no DataRow within ${Math.round(limitMs / 1000)} s`)), limitMs)))]);
  } catch (err) {
    out.apiOutcome = (err as Error).message;
  } finally {
    clearTimeout(timer);
    client.close();
  }
  return out;
}
