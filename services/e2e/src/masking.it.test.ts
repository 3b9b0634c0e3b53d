/**
 * Inline policy and masking end to end (issue #5), with real parts: psql through haproxy and
 * the gateway nodes to PostgreSQL, curl through the HTTP gateway to deploy/local's JSON API, the
 * recording in ClickHouse read back with `chaperone sql`, the upstream's statement log, and the
 * policy bundle built by policies/build.sh with OPA.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '@chaperone/config';
import { decodeEventBody, frameMessages } from '@chaperone/events';
import { TokenIssuer } from '@chaperone/identity';
import { initSqlParser, PolicyEngine, sqlCommand, type PolicyInput } from '@chaperone/gateway';
import { httpBase } from './lib/http.js';
import { agentPsql, chaperone, eventually, loadStack, repoRoot, run, statementLogOffset, statementLogSince, type Stack } from './lib/stack.js';

const exec = promisify(execFile);

/** Rows of `chaperone sql … --format json` ({columns, rows, truncated}). */
async function sql<T>(stack: Stack, query: string): Promise<T[]> {
  const r = await chaperone(stack, ['sql', query, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { rows: T[] }).rows;
}

/** ClickHouse 18.16 has no query parameters: values go in as hex literals. */
const hexLiteral = (s: string) => `unhex('${Buffer.from(s).toString('hex')}')`;

describe('inline policy and masking through the load-balanced endpoint', () => {
  let stack: Stack;
  let logStart = 0;
  let token: string;
  const subject = `agent:mask-${randomBytes(4).toString('hex')}`;
  /** The values as stored upstream, read with the upstream's own credentials (not through Chaperone). */
  let secrets: { id: string; kind: string; value: string }[];
  let emails: string[];

  before(async () => {
    stack = loadStack();
    logStart = statementLogOffset(stack);
    const config = loadConfig(stack.CHAPERONE_CONFIG);
    token = await (await TokenIssuer.fromConfig(config.identity)).issue({ subject, groups: ['agents'], ttlMs: 15 * 60_000 });
    const direct = await run('psql', [stack.PG_UPSTREAM_DSN!, '-X', '-At', '-F', '\t', '-c', "SELECT id, kind, encode(convert_to(value, 'UTF8'), 'hex') FROM secrets ORDER BY id"]);
    assert.equal(direct.code, 0, direct.stderr);
    secrets = direct.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t'))
      .map(([id, kind, hex]) => ({ id: id!, kind: kind!, value: Buffer.from(hex!, 'hex').toString() }));
    const e = await run('psql', [stack.PG_UPSTREAM_DSN!, '-X', '-At', '-c', 'SELECT email FROM customers ORDER BY id LIMIT 20']);
    emails = e.stdout.trim().split('\n');
    assert.equal(emails.length, 20);
  });

  it('masks AWS keys, private keys and e-mails for the agent, and records only what the agent saw', async () => {
    const r = await agentPsql(stack, { user: subject, token, sql: 'SELECT id, name, kind, value FROM secrets ORDER BY id; SELECT id, email, phone FROM customers ORDER BY id LIMIT 20' });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    const sensitive = secrets.filter((s) => ['aws_access_key', 'aws_secret_key', 'ssh_private_key', 'tls_private_key'].includes(s.kind));
    assert.equal(sensitive.length, 4);
    for (const s of sensitive) {
      for (const line of s.value.split('\n').filter((l) => l.length > 8 && !l.startsWith('-----'))) assert.ok(!out.includes(line), `${s.kind} leaked: ${line}`);
    }
    for (const email of emails) assert.ok(!out.includes(email), `${email} leaked`);
    const rows = out.split('\n');
    assert.ok(rows.includes('1|billing-aws|aws_access_key|[MASKED:aws-access-key-id]'), out);
    assert.ok(rows.includes('2|billing-aws-secret|aws_secret_key|[MASKED:aws-secret-access-key]'), out);
    assert.ok(rows.some((l) => l.startsWith('3|deploy-key|ssh_private_key|[MASKED:private-key]')), out);
    assert.ok(rows.some((l) => l.startsWith('4|tls-origin|tls_private_key|[MASKED:private-key]')), out);
    assert.ok(rows.includes('1|[MASKED:email]|[MASKED:column]'), 'emails by detector, phone by the policy column rule');

    const session = await eventually('the masked session in the recording', async () => {
      const ls = await chaperone(stack, ['sessions', 'ls', '--subject', subject, '--json']);
      if (ls.code !== 0) throw new Error(ls.stderr);
      return (JSON.parse(ls.stdout) as { sessionId: string; endReason?: string }[]).find((s) => s.endReason);
    });
    const id = session.sessionId;
    // A Frame is one forwarded write: the DataRows are messages inside the result frames.
    const frames = await eventually('every DataRow of the session in ClickHouse', async () => {
      const [row] = await sql<{ n: string | number }>(stack, `SELECT sum(arrayCount(t -> t = 'DataRow', message_types)) AS n FROM events FINAL WHERE session_id = '${id}' AND type = 'Frame'`);
      return Number(row?.n) === 26 ? 26 : undefined;
    });
    assert.equal(frames, 26);
    // Neither the frame bytes nor the Avro record of any event holds a secret or an address.
    const leaks = [...sensitive.flatMap((s) => s.value.split('\n').filter((l) => l.length > 8 && !l.startsWith('-----'))), ...emails];
    for (const leak of leaks) {
      const [row] = await sql<{ n: string | number }>(stack, `SELECT count() AS n FROM events WHERE session_id = '${id}' AND (position(payload, ${hexLiteral(leak)}) > 0 OR position(avro, ${hexLiteral(leak)}) > 0)`);
      assert.equal(Number(row!.n), 0, `the recording holds ${leak}`);
    }
    // What was masked, and where, is in the record: each Frame's MaskNotes (summed over its
    // messages) next to the masked bytes; read from the Avro every column is a projection of.
    const resultFrames = (await sql<{ avro: string }>(stack, `SELECT hex(avro) AS avro FROM events FINAL WHERE session_id = '${id}' AND type = 'Frame' AND has(message_types, 'DataRow') ORDER BY seq`))
      .map((r) => decodeEventBody(Buffer.from(r.avro, 'hex')).body)
      .filter((b) => b.type === 'Frame');
    const noted = (detector: string, location: string, marker: string) => {
      let n = 0;
      for (const f of resultFrames) {
        const markers = frameMessages(f).filter((m) => m.type === 'DataRow').reduce((k, m) => k + f.bytes.subarray(m.start, m.end).toString('latin1').split(marker).length - 1, 0);
        const counted = f.masks.filter((m) => m.detector === detector && m.location === location).reduce((k, m) => k + m.count, 0);
        assert.ok(counted <= markers, `${detector} at ${location}: ${counted} noted, ${markers} ${marker} in the frame's rows`);
        n += counted;
      }
      return n;
    };
    assert.equal(noted('aws-access-key-id', 'value', '[MASKED:aws-access-key-id]'), 1);
    assert.equal(noted('aws-secret-access-key', 'value', '[MASKED:aws-secret-access-key]'), 1);
    assert.equal(noted('private-key', 'value', '[MASKED:private-key]'), 2);
    assert.equal(noted('email', 'email', '[MASKED:email]'), 20);
    assert.equal(noted('column', 'phone', '[MASKED:column]'), 20);
    const verify = await chaperone(stack, ['verify', id, '--json']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  it('refuses a DROP and a write in prod with the policy reason; neither reaches upstream', async () => {
    const table = `mask_e2e_${randomBytes(4).toString('hex')}`;
    const drop = await agentPsql(stack, { user: subject, token, sql: `DROP TABLE ${table}` });
    assert.notEqual(drop.code, 0);
    assert.match(drop.stderr, /chaperone: denied by policy: DROP TABLE is not allowed on production connections \(policy: ddl-in-prod\)/);
    const update = await agentPsql(stack, { user: subject, token, sql: `UPDATE customers SET phone = '${table}' WHERE id = 1` });
    assert.notEqual(update.code, 0);
    assert.match(update.stderr, /UPDATE is a write; production connections are read-only except for the groups .* \(policy: read-only-prod\)/);
    await new Promise((res) => setTimeout(res, 500));
    assert.ok(!statementLogSince(stack, logStart).includes(table), 'a refused statement must not appear in the upstream statement log');
  });

  describe('JSON path rules on HTTP response bodies (the JSON API through the HTTP gateway)', () => {
    // The default pack masks $..ssn, $..password and $..client_secret in every HTTP-borne
    // response (masking.json_paths in policies/data.json); the secret detectors run as well.
    const run1 = randomBytes(4).toString('hex');
    const ssn = `078-05-${run1.slice(0, 4)}`;
    const password = `pw-${run1}-correct-horse`;
    const clientSecret = `cs-${run1}-battery-staple`;
    const aws = 'AKIAIOSFODNN7EXAMPLE';
    const curl = (...args: string[]) => run('curl', ['-sS', '--fail-with-body', '--cacert', stack.TLS_CA_FILE!, '-H', `Authorization: Bearer ${token}`, ...args], { timeout: 300_000 });

    it('replaces the values at the paths, records the paths (never the values), and keeps the JSON valid', async () => {
      const item = { name: `mask-${run1}`, owner: { ssn, login: { password, note: `key ${aws}` } }, oauth: [{ client_secret: clientSecret }], qty: 3 };
      const created = await curl('-H', 'Content-Type: application/json', '-d', JSON.stringify(item), `${httpBase(stack)}/api/items`);
      assert.equal(created.code, 0, created.stderr + created.stdout);
      const id = (JSON.parse(created.stdout) as { id: string }).id;
      const read = await curl(`${httpBase(stack)}/api/items/${id}`);
      assert.equal(read.code, 0, read.stderr);
      for (const leak of [ssn, password, clientSecret, aws]) assert.ok(!read.stdout.includes(leak), `${leak} leaked: ${read.stdout}`);
      const doc = JSON.parse(read.stdout) as typeof item;
      assert.deepEqual(doc.owner, { ssn: '[MASKED:json-path]', login: { password: '[MASKED:json-path]', note: 'key [MASKED:aws-access-key-id]' } });
      assert.equal(doc.oauth[0]!.client_secret, '[MASKED:json-path]');
      assert.equal(doc.qty, 3);

      // The agent's HTTP sessions (its token serves both protocols).
      const inSessions = async () => {
        const ls = await chaperone(stack, ['sessions', 'ls', '--subject', subject, '--json']);
        if (ls.code !== 0) throw new Error(ls.stderr);
        const ids = (JSON.parse(ls.stdout) as { sessionId: string; protocol?: string }[]).map((x) => `'${x.sessionId}'`);
        return ids.length === 0 ? undefined : `session_id IN (${ids.join(',')})`;
      };
      const rows = await eventually('the masked response body frame in ClickHouse', async () => {
        const where = await inSessions();
        if (!where) return undefined;
        const r = await sql<{ n: string | number }>(
          stack,
          `SELECT count() AS n FROM events WHERE ${where} AND message_type = 'http.response.body' AND position(payload, ${hexLiteral(`"name":"mask-${run1}"`)}) > 0 AND has(mask_locations, '$.owner.ssn') AND has(mask_locations, '$.owner.login.password') AND has(mask_locations, '$.oauth[0].client_secret') AND has(mask_detectors, 'aws-access-key-id')`,
        );
        return Number(r[0]?.n) >= 2 ? Number(r[0]!.n) : undefined;
      }, 60_000);
      assert.ok(rows >= 2, 'the create and the read answers, each with its notes');
      const where = (await inSessions())!;
      for (const leak of [ssn, password, clientSecret]) {
        const [row] = await sql<{ n: string | number }>(stack, `SELECT count() AS n FROM events WHERE ${where} AND message_type LIKE 'http.response%' AND (position(payload, ${hexLiteral(leak)}) > 0 OR position(avro, ${hexLiteral(leak)}) > 0)`);
        assert.equal(Number(row!.n), 0, `the recording holds ${leak}`);
      }
    });

    it('masks a 10 MB JSON response as it streams, secrets straddling chunk boundaries included', async () => {
      // /echo answers with the request as JSON: the body comes back inside it, ~10 MB.
      const records = [];
      let size = 0;
      for (let i = 0; size < 10 * 1024 * 1024; i++) {
        const r = { i, ssn: `078-05-${String(i % 10000).padStart(4, '0')}`, note: `deploy ${aws} #${i}`, auth: { password: `p-${run1}-${i}` }, pad: 'x'.repeat(i % 977) };
        records.push(r);
        size += JSON.stringify(r).length + 1;
      }
      const file = join(await mkdtemp(join(tmpdir(), 'chaperone-mask-json-')), 'body.json');
      await writeFile(file, JSON.stringify({ records }));
      try {
        const r = await curl('-H', 'Content-Type: application/json', '--data-binary', `@${file}`, `${httpBase(stack)}/api/echo`);
        assert.equal(r.code, 0, r.stderr.slice(0, 500));
        assert.ok(r.stdout.length > 10 * 1024 * 1024, `${r.stdout.length} bytes`);
        const doc = JSON.parse(r.stdout) as { body: { records: { ssn: string; note: string; auth: { password: string } }[] } };
        const got = doc.body.records;
        assert.equal(got.length, records.length);
        assert.ok(got.every((x) => x.ssn === '[MASKED:json-path]' && x.auth.password === '[MASKED:json-path]' && x.note.startsWith('deploy [MASKED:aws-access-key-id] #')));
        assert.ok(!r.stdout.includes(aws) && !r.stdout.includes(`p-${run1}-`));
      } finally {
        await rm(join(file, '..'), { recursive: true, force: true });
      }
    });
  });

  describe('policy bundle reload (a copy of the bundle, in-process engine)', () => {
    let dir: string;
    before(async () => {
      await initSqlParser();
      dir = await mkdtemp(join(tmpdir(), 'chaperone-mask-e2e-'));
    });
    after(async () => rm(dir, { recursive: true, force: true }));

    const input = (sql: string): PolicyInput => ({
      identity: { subject, issuer: 'chaperone', groups: ['agents'], claims: {} },
      connection: { name: 'demo', protocol: 'postgres', labels: { env: 'prod' } },
      session: { id: 'e2e', clientAddress: '127.0.0.1:1', node: 'e2e' },
      command: sqlCommand(sql),
    });

    it('rejects a broken bundle (bad Wasm, failing self-check) and keeps serving the old policy', async () => {
      const live = join(dir, 'bundle.tar.gz');
      await copyFile(loadConfig(stack.CHAPERONE_CONFIG).policy.bundleFile, live);
      const engine = await PolicyEngine.load(live);
      const revision = engine.revision;
      assert.equal(engine.evaluate(input('DROP TABLE customers')).result, 'deny');

      // Not a bundle at all.
      await writeFile(`${live}.new`, randomBytes(4096));
      await rename(`${live}.new`, live);
      assert.equal(await engine.reload(), false);
      assert.equal(engine.revision, revision);

      // A real bundle whose decisions are malformed: it builds, but fails the self-check.
      const src = join(dir, 'bad-src');
      await mkdir(src);
      await writeFile(join(src, 'policy.rego'), 'package chaperone.authz\n\ndecision := {"result": "allow", "reasons": "not a list"}\n');
      await exec('bash', [join(repoRoot, 'policies/build.sh'), '-s', src, '-o', `${live}.new`]);
      await rename(`${live}.new`, live);
      assert.equal(await engine.reload(), false);
      assert.equal(engine.revision, revision);
      const d = engine.evaluate(input('DROP TABLE customers'));
      assert.equal(d.result, 'deny');
      assert.match(d.reasons[0]!, /ddl-in-prod/);
      assert.deepEqual(d.mask?.detectors, ['email', 'card-number', 'iban', 'phone-number', 'national-id']);

      // And the good one comes back.
      await copyFile(loadConfig(stack.CHAPERONE_CONFIG).policy.bundleFile, `${live}.new`);
      await rename(`${live}.new`, live);
      assert.equal(await engine.reload(), true);
      assert.equal(engine.revision, revision);
      assert.ok((await readFile(live)).length > 0);
    });
  });
});
