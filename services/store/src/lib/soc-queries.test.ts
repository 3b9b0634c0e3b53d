/**
 * Every example query of schemas/clickhouse/README.md, run against the ClickHouse server of the
 * local stack and the embedded engine over sessions made to give each of them an answer, so the
 * documented SQL stays correct as the schema grows.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clickhouseDir } from '@chaperone/schemas';
import { SessionChain, decodeRecord, encodeRecord, type ChainedEvent, type EventBody } from '@chaperone/events';
import { fixtureSession, messagesFrame, pgCommandComplete, pgDataRow, pgReadyForQuery, pgRowDescription, throwawayDatabase } from '../testing.js';
import { createChdbExecutor } from './chdb.js';
import { createHttpExecutor } from './clickhouse.js';
import { signIncompleteSeal } from './seal.js';
import { storeOn, type Store } from './store.js';

interface Example {
  title: string;
  sql: string;
  /** Needs a current ClickHouse (chdb), not 18.16. */
  currentOnly: boolean;
}

/** The ```sql blocks of the README, each starting with its `-- N. title` line. */
export function readmeQueries(text = readFileSync(join(clickhouseDir, 'README.md'), 'utf8')): Example[] {
  return [...text.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => {
    const sql = m[1]!.trim();
    const title = /^-- (.*)$/m.exec(sql)?.[1] ?? sql.slice(0, 40);
    return { title, sql, currentOnly: /engine: current/.test(title) };
  });
}

const chained = (sessionId: string, bodies: EventBody[]): ChainedEvent[] => {
  const chain = new SessionChain(sessionId, 'gw-test-1');
  return bodies.map((b) => chain.append(b));
};

const started = (subject: string, connection: string, protocol: string): EventBody => ({
  type: 'SessionStarted', connection, protocol, clientAddress: '127.0.0.1:1', tls: true,
  identity: { subject, issuer: 'chaperone', groups: ['agents'], tokenId: 't', claimsJson: '{}' }, attributesJson: '{"database":"demo"}',
});

const pgCommand = (commandId: number, text: string, targets: string[], qualifiedTargets: string[]): EventBody[] => [
  { type: 'Command', commandId, protocol: 'postgres', action: 'SELECT', targets, text, textSha256: '0'.repeat(64), detailsJson: JSON.stringify({ qualifiedTargets }), params: [] },
  { type: 'Decision', commandId, result: 'ALLOW', reasons: [], policyRevision: 'r', evalMicros: 1, outputJson: '{}' },
];

/**
 * A psycopg-style pipeline (events v3): three executions before one Sync whose results come back
 * in one write, each message attributed to its command; the third fails.
 */
function pipelined(): EventBody[] {
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ['DataRow', pgDataRow([String(i)])] as const);
  const result = messagesFrame('SERVER_TO_CLIENT', [
    ['RowDescription', pgRowDescription(['id'])], ...rows(3), ['CommandComplete', pgCommandComplete('SELECT 3')],
    ['RowDescription', pgRowDescription(['id'])], ...rows(2), ['CommandComplete', pgCommandComplete('SELECT 2')],
    ['ErrorResponse', Buffer.from('E\0\0\0\x04')], ['ReadyForQuery', pgReadyForQuery()],
  ]);
  return [
    ...pgCommand(1, 'SELECT id FROM orders', ['orders'], ['public.orders']),
    ...pgCommand(2, 'SELECT id FROM public.orders LIMIT 2', ['public.orders'], ['public.orders']),
    ...pgCommand(3, 'SELECT nope FROM app.items', ['app.items'], ['app.items']),
    { ...result, commandIds: [1, 2, 3], commandStarts: [0, 5, 9] },
  ];
}

/** Sessions that give every README query something to find. */
async function seed(store: Store): Promise<void> {
  const a = fixtureSession({ subject: 'agent:soc-a', connection: 'prod-pg' });
  const b = fixtureSession({ subject: 'agent:soc-a', connection: 'sandbox-pg' });
  const masked = chained('soc-masked', [
    started('agent:soc-m', 'prod-pg', 'postgres'),
    {
      ...messagesFrame('SERVER_TO_CLIENT', [
        ['RowDescription', pgRowDescription(['email'])], ['DataRow', pgDataRow(['[MASKED:email]'])], ['DataRow', pgDataRow(['[MASKED:email]'])],
        ['CommandComplete', pgCommandComplete('SELECT 2')], ['ReadyForQuery', pgReadyForQuery()],
      ]),
      masks: [{ detector: 'email', location: 'column email', count: 2 }],
    },
  ]);
  const git = chained('soc-git', [
    started('ci:release', 'git', 'git'),
    {
      type: 'Command', commandId: 1, protocol: 'git', action: 'git.push', targets: ['demo.git', 'refs/heads/main'], text: 'POST /git/demo.git/git-receive-pack',
      textSha256: '0'.repeat(64), detailsJson: '{}', params: [],
    },
    { type: 'Decision', commandId: 1, result: 'APPROVAL', reasons: ['push to a protected branch'], policyRevision: 'r', evalMicros: 5, outputJson: '{}' },
    { type: 'ApprovalRequested', commandId: 1, approvalId: 'ap-1', bindingSha256: '0'.repeat(64), approverGroups: ['leads'], quorum: 1, ttlMs: 60_000 },
    { type: 'ApprovalResolved', commandId: 1, approvalId: 'ap-1', outcome: 'APPROVED', approvers: ['lead:ada'], reason: 'release 1.4 signed off' },
  ]);
  const crashed = fixtureSession({ subject: 'agent:soc-c', connection: 'prod-pg', end: 'open' });
  const pipeline = chained('soc-pipeline', [started('agent:soc-p', 'prod-pg', 'postgres'), ...pipelined()]);
  const messages = [...a.messages, ...b.messages, ...crashed.messages, ...[masked, git, pipeline].map((s) => encodeRecord(s.map((e) => e.body)))];
  await store.insertEvents(messages.flatMap((m) => decodeRecord(m)));
  const last = crashed.events.at(-1)!;
  await store.sealIncomplete({
    sessionId: crashed.sessionId, lastSeq: last.event.seq, headHash: last.hash.toString('hex'), lastEventMicros: last.event.tsMicros,
    sealedMicros: Date.now() * 1000, sealedBy: 'materializer-1', reason: 'idle-timeout',
    signature: signIncompleteSeal(generateKeyPairSync('ed25519').privateKey, crashed.sessionId, last.event.seq, last.hash).toString('hex'),
  });
}

function suite(name: string, server: boolean, create: () => Promise<{ store: Store; cleanup(): Promise<void> }>): void {
  describe(`README queries on ${name}`, () => {
    let t: { store: Store; cleanup(): Promise<void> };
    before(async () => {
      t = await create();
      await t.store.migrate();
      await seed(t.store);
    });
    after(async () => t?.cleanup());

    const examples = readmeQueries();
    const example = (n: number): string => examples.find((q) => q.title.startsWith(`${n}. `))!.sql;

    it('answers "who approved what and why" from the columns of commands', async () => {
      const r = await t.store.query(example(15), { readonly: true });
      assert.deepEqual(r.columns.map((c) => c.name), ['session_id', 'command_id', 'subject', 'action', 'text', 'approval_outcome', 'approvers', 'approval_reason', 'waited_seconds']);
      assert.deepEqual(r.rows.map((row) => row.slice(0, 8)), [['soc-git', '1', 'ci:release', 'git.push', 'POST /git/demo.git/git-receive-pack', 'APPROVED', "['lead:ada']", 'release 1.4 signed off']]);
      assert.ok(Number(r.rows[0]![8]) >= 0);
    });

    it('answers "bytes returned per identity per day" from the sessions\' counters', async () => {
      const r = await t.store.query(example(16), { readonly: true });
      const expected = await t.store.query(`SELECT subject, sum(bytes_out) FROM sessions FINAL WHERE ended_micros > 0 GROUP BY subject ORDER BY subject`, { readonly: true });
      const bySubject = new Map<string, number>();
      for (const [, subject, bytes] of r.rows) bySubject.set(String(subject), (bySubject.get(String(subject)) ?? 0) + Number(bytes));
      assert.deepEqual([...bySubject].sort(), expected.rows.map(([s, b]) => [String(s), Number(b)]));
      assert.ok(bySubject.get('agent:soc-a')! > 0, 'the fixture sessions returned bytes');
    });
    it('answers "rows returned per command" with a plain GROUP BY, pipelined results each under its own command', async () => {
      const r = await t.store.query(example(17), { readonly: true });
      assert.deepEqual(r.columns.map((c) => c.name), ['session_id', 'command_id', 'rows_returned', 'bytes', 'errors']);
      const mine = r.rows.filter(([sid]) => sid === 'soc-pipeline').map(([, id, rows, , errors]) => [Number(id), Number(rows), Number(errors)]);
      assert.deepEqual(mine, [[1, 3, 0], [2, 2, 0], [3, 0, 1]]);
      const top = await t.store.query(example(18), { readonly: true });
      assert.deepEqual(top.rows.filter(([sid]) => sid === 'soc-pipeline').map(([, id, subject, , rows]) => [Number(id), subject, Number(rows)]), [
        [1, 'agent:soc-p', 3], [2, 'agent:soc-p', 2], [3, 'agent:soc-p', 0],
      ]);
    });

    it('finds a table by its qualified name however it was written', async () => {
      const r = await t.store.query(example(19), { readonly: true });
      assert.deepEqual(r.rows.map((row) => `${String(row[1])}#${String(row[2])}`).sort(), ['soc-pipeline#1', 'soc-pipeline#2']);
    });

    it('documents at least ten queries', () => assert.ok(examples.length >= 10, `${examples.length} queries`));
    for (const q of examples) {
      it(q.title, { skip: server && q.currentOnly ? 'needs a current ClickHouse; runs on chdb' : false }, async () => {
        const r = await t.store.query(q.sql, { readonly: true });
        assert.ok(r.rows.length > 0, `no rows from:\n${q.sql}`);
      });
    }
  });
}

suite('the ClickHouse server', true, () => {
  const db = throwawayDatabase(undefined, 'chaperone_soc_test');
  const store = storeOn(createHttpExecutor(db.config));
  return Promise.resolve({ store, cleanup: async () => (await db.drop(), await store.close()) });
});

suite('embedded chdb', false, async () => {
  const store = storeOn(await createChdbExecutor({ database: 'chaperone_soc' }));
  return { store, cleanup: () => store.close() };
});
