/**
 * The masking corpus end to end (issue #17): random, format-valid values of every rule of the
 * adopted rule set (secretlint's recommended preset, compiled into the gateway's scanner), of the
 * gateway's own rules and of each PII kind are written into tables directly upstream, then an
 * agent SELECTs them with psql through haproxy and the gateway nodes. None may reach the agent
 * in clear, and none may be in the recording (every event's frame bytes and Avro record, read
 * back from ClickHouse). Secrets are masked on every connection (the sandbox, a dev one); PII
 * only where the policy turns its detectors on (the demo connection, production).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadConfig } from '@chaperone/config';
import { TokenIssuer } from '@chaperone/identity';
import { maskingCorpus, type CorpusValue } from '@chaperone/gateway/testing';
import { agentPsql, chaperone, eventually, loadStack, repoRoot, run, type Stack } from './lib/stack.js';

/** Rows of `chaperone sql … --format json` ({columns, rows, truncated}). */
async function sql<T>(stack: Stack, query: string): Promise<T[]> {
  const r = await chaperone(stack, ['sql', query, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { rows: T[] }).rows;
}

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
const upstreamDsn = (stack: Stack, db: string) => stack.PG_UPSTREAM_DSN!.replace(/\/[^/?]+(\?|$)/, `/${db}$1`);
const leaked = (text: string, values: readonly CorpusValue[]) => values.filter((v) => text.includes(v.secret)).map((v) => `${v.kind}: ${v.value.slice(0, 100)}`);

/** PII detectors the default policy pack runs on production connections (policies/data.json). */
const piiDetectors = (): string[] =>
  (JSON.parse(readFileSync(`${repoRoot}policies/data.json`, 'utf8')) as { chaperone?: { settings?: { masking?: { pii_detectors?: string[] } } } }).chaperone?.settings?.masking?.pii_detectors ?? [];

describe('masking corpus through the gateway', () => {
  let stack: Stack;
  let token: string;
  const run1 = randomBytes(4).toString('hex');
  const subject = `agent:mask-corpus-${run1}`;
  const table = `masking_corpus_${run1}`;
  const corpus = maskingCorpus({ seed: parseInt(run1, 16) });
  const secrets = corpus.filter((v) => !v.kind.startsWith('pii:'));
  const pii = corpus.filter((v) => v.kind.startsWith('pii:'));

  async function createTable(db: string, values: readonly CorpusValue[]): Promise<void> {
    const rows = values.map((v, i) => `(${i}, ${literal(v.kind)}, ${literal(v.value)})`).join(',\n');
    const r = await run('psql', [upstreamDsn(stack, db), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'], {
      input: `CREATE TABLE ${table} (id int PRIMARY KEY, kind text, value text);\nINSERT INTO ${table} VALUES\n${rows};\n`,
    });
    assert.equal(r.code, 0, r.stderr);
  }

  /** Every event of the subject's ended session on `connection`, frame bytes and Avro record, as text. */
  async function recording(connection: string, dataRows: number): Promise<string> {
    const session = await eventually(`the ${connection} session in the recording`, async () => {
      const ls = await chaperone(stack, ['sessions', 'ls', '--subject', subject, '--json']);
      if (ls.code !== 0) throw new Error(ls.stderr);
      return (JSON.parse(ls.stdout) as { sessionId: string; connection: string; endReason?: string }[]).find((s) => s.endReason && s.connection === connection);
    });
    const id = session.sessionId;
    await eventually('every DataRow of the session in ClickHouse', async () => {
      const [row] = await sql<{ n: string | number }>(stack, `SELECT sum(arrayCount(t -> t = 'DataRow', message_types)) AS n FROM events FINAL WHERE session_id = '${id}' AND type = 'Frame'`);
      return Number(row?.n) === dataRows ? true : undefined;
    });
    const rows = await sql<{ p: string; a: string }>(stack, `SELECT hex(payload) AS p, hex(avro) AS a FROM events WHERE session_id = '${id}'`);
    return rows.map((r) => `${Buffer.from(r.p, 'hex').toString('utf8')}\n${Buffer.from(r.a, 'hex').toString('utf8')}`).join('\n');
  }

  before(async () => {
    stack = loadStack();
    const config = loadConfig(stack.CHAPERONE_CONFIG);
    token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject, groups: ['agents'], ttlMs: 15 * 60_000 });
    await createTable('sandbox', secrets);
    await createTable('demo', pii);
  });

  after(async () => {
    for (const db of ['sandbox', 'demo']) await run('psql', [upstreamDsn(stack, db), '-X', '-q', '-c', `DROP TABLE IF EXISTS ${table}`]);
  });

  it(`masks every secret of the corpus on the sandbox connection, for the agent and in the recording`, async () => {
    assert.ok(secrets.length > 100, `${secrets.length} secrets`);
    const r = await agentPsql(stack, { user: subject, token, dbname: 'sandbox', sql: `SELECT id, kind, value FROM ${table} ORDER BY id` });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('[MASKED:').length - 1 >= secrets.length, true, 'a marker for each value');
    assert.deepEqual(leaked(r.stdout, secrets), [], 'the agent saw these in clear');
    assert.deepEqual(leaked(await recording('sandbox', secrets.length), secrets), [], 'the recording holds these in clear');
  });

  it('masks every PII kind the policy turns on, on the production demo connection', async (t) => {
    const on = new Set(piiDetectors());
    const detectorOf = (v: CorpusValue) => (v.kind.startsWith('pii:national-id') ? 'national-id' : v.kind.startsWith('pii:card') ? 'card-number' : v.kind.startsWith('pii:phone') ? 'phone-number' : v.kind.split(':')[1]!);
    const covered = pii.filter((v) => on.has(detectorOf(v)));
    const off = [...new Set(pii.filter((v) => !on.has(detectorOf(v))).map(detectorOf))];
    if (off.length > 0) t.diagnostic(`not on in the policy pack (policies/data.json masking.pii_detectors), so not checked: ${off.join(', ')}`);
    assert.ok(covered.length > 20, `${covered.length} PII values checked`);
    const r = await agentPsql(stack, { user: subject, token, dbname: 'demo', sql: `SELECT id, kind, value FROM ${table} ORDER BY id` });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(leaked(r.stdout, covered), [], 'the agent saw these in clear');
    assert.deepEqual(leaked(await recording('demo', pii.length), covered), [], 'the recording holds these in clear');
  });
});
