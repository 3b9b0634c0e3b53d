/**
 * A psycopg pipeline (libpq pipeline mode: four statements sent before any result is read, one
 * Sync) through the gateway, the third failing: replay attributes each result and the error to
 * its own statement by the protocol's order, and says the fourth was never executed; the
 * recording itself says whose each result is (frame_commands: rows returned per command), and
 * whose each client message is — in the pipeline, and in a second session of a simple query (two
 * statements) and one extended execution.
 * psycopg (binary, bundling libpq 18) is installed by deploy/local/install into $CACHE/venv.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { issueToken, replayOf, sql } from './lib/http.js';
import { chaperone, eventually, loadStack, run, type Stack } from './lib/stack.js';

const python = join(process.env['CHAPERONE_CACHE'] ?? join(homedir(), '.cache', 'chaperone'), 'venv', 'bin', 'python');
const script = fileURLToPath(new URL('./clients/psycopg_pipeline.py', import.meta.url));
/** psycopg sends a query without parameters as a simple Query, one with parameters by the extended protocol. */
const simpleAndExtended = `import psycopg, sys
conn = psycopg.connect(sys.argv[1], autocommit=True)
conn.execute("SELECT 'simple-' || %s AS a; SELECT 2 AS b" % repr(sys.argv[2]))
print(conn.execute("SELECT %s::text AS c", ["extended-" + sys.argv[2]]).fetchone()[0])`;

type Num = string | number;
/** Client messages per command in a session's frames (frame_commands), once `n` commands have rows. */
async function clientMessages(stack: Stack, sessionId: string, n: number): Promise<number[][]> {
  return eventually(`client frame_commands rows of ${sessionId}`, async () => {
    const rows = await sql<{ command_id: Num; messages: Num }>(
      stack,
      `SELECT command_id, sum(messages) AS messages FROM frame_commands FINAL
       WHERE session_id = '${sessionId}' AND direction = 'CLIENT_TO_SERVER' GROUP BY command_id ORDER BY command_id`,
    );
    return rows.length >= n ? rows.map((r) => [Number(r.command_id), Number(r.messages)]) : undefined;
  }, 60_000);
}

interface JsonCommand {
  commandId: number;
  text: string;
  result: { rows: string[][]; tag?: string; error?: { code: string }; notExecuted?: boolean };
}

describe('replay of a psycopg pipeline session', () => {
  let stack: Stack;
  const marker = randomBytes(4).toString('hex');
  const subject = `agent:e2e-pipeline-${marker}`;
  let sessionId: string;
  let simpleSessionId: string;

  before(async () => {
    stack = loadStack();
    assert.ok(existsSync(python), `${python} is missing: run deploy/local/install (it installs psycopg there)`);
    const [token, simpleToken] = await Promise.all([issueToken(stack, subject), issueToken(stack, `${subject}-simple`)]);
    const conninfo = (user: string) => `host=127.0.0.1 port=${stack.HAPROXY_PG_PORT} dbname=sandbox user=${user} sslmode=verify-full sslrootcert=${stack.TLS_CA_FILE} connect_timeout=10`;
    const [r, simple] = await Promise.all([
      run(python, [script, conninfo(subject), marker], { env: { ...process.env, PGPASSWORD: token } }),
      run(python, ['-c', simpleAndExtended, conninfo(`${subject}-simple`), marker], { env: { ...process.env, PGPASSWORD: simpleToken } }),
    ]);
    assert.equal(r.code, 0, `psycopg client failed: ${r.stderr}`);
    assert.equal(simple.code, 0, `psycopg client (simple and extended) failed: ${simple.stderr}`);
    assert.equal(simple.stdout.trim(), `extended-${marker}`);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { pipelineError: string; results: { rows?: string[] }[] };
    assert.equal(out.pipelineError, 'DivisionByZero');
    assert.deepEqual(out.results[0]!.rows, [`first-${marker}`]);
    const rows = await eventually('the pipeline session in ClickHouse', async () => {
      const s = await sql<{ session_id: string }>(stack, `SELECT session_id FROM sessions FINAL WHERE subject = '${subject}'`);
      return s.length > 0 ? s : undefined;
    }, 60_000);
    sessionId = rows[0]!.session_id;
    const simpleRows = await eventually('the simple-and-extended session in ClickHouse', async () => {
      const s = await sql<{ session_id: string }>(stack, `SELECT session_id FROM sessions FINAL WHERE subject = '${subject}-simple'`);
      return s.length > 0 ? s : undefined;
    }, 60_000);
    simpleSessionId = simpleRows[0]!.session_id;
  });

  it('shows each result and the error under its own statement, and the skipped one as not executed', async () => {
    const text = await replayOf(stack, sessionId);
    const at = (s: string) => {
      const i = text.indexOf(s);
      assert.ok(i >= 0, `${s} in\n${text}`);
      return i;
    };
    assert.match(text, new RegExp(`↳ result of #1\\n\\n {2}a\\n {2}-+\\n {2}first-${marker}\\n {2}\\(SELECT 1\\)\\n`));
    assert.match(text, new RegExp(`↳ result of #2\\n\\n {2}b\\n {2}-+\\n {2}second-${marker}-1\\n {2}second-${marker}-2\\n {2}second-${marker}-3\\n {2}\\(SELECT 3\\)\\n`));
    assert.match(text, /↳ result of #3\n {2}ERROR 22012: division by zero\n {2}↳ #4 not executed: /);
    assert.ok(at(`third_${marker}`) < at('↳ result of #1'), 'every statement was sent before any result came');
  });

  it('records each result frame with its command: rows returned per command is a plain GROUP BY (frame_commands)', async () => {
    // schemas/clickhouse/README.md example 17, for this session.
    const rows = await sql<{ command_id: string | number; rows_returned: string | number; errors: string | number }>(
      stack,
      `SELECT command_id, sum(rows_returned) AS rows_returned, sum(errors) AS errors FROM frame_commands FINAL
       WHERE session_id = '${sessionId}' AND direction = 'SERVER_TO_CLIENT' GROUP BY command_id ORDER BY command_id`,
    );
    assert.deepEqual(rows.map((r) => [Number(r.command_id), Number(r.rows_returned), Number(r.errors)]), [[1, 1, 0], [2, 3, 0], [3, 0, 1]]);
  });

  it('records each client message with its command: the pipeline’s Bind, Describe and Execute, the fourth one’s too', async () => {
    assert.deepEqual(await clientMessages(stack, sessionId, 4), [[1, 3], [2, 3], [3, 3], [4, 3]]);
  });

  it('records a simple query under its statements (the second with no message of its own) and an extended execution under its command', async () => {
    assert.deepEqual(await clientMessages(stack, simpleSessionId, 3), [[1, 1], [2, 0], [3, 3]]);
    const commands = await sql<{ command_id: Num; text: string }>(stack, `SELECT command_id, text FROM commands FINAL WHERE session_id = '${simpleSessionId}' ORDER BY command_id`);
    assert.deepEqual(commands.map((c) => [Number(c.command_id), c.text]), [[1, `SELECT 'simple-' || '${marker}' AS a`], [2, 'SELECT 2 AS b'], [3, 'SELECT $1::text AS c']]);
  });

  it('names and counts alike in sessions show, replay and verify, in the one JSON style', async () => {
    const [show, replay, verify, count] = await Promise.all([
      chaperone(stack, ['sessions', 'show', sessionId, '--json']),
      chaperone(stack, ['replay', sessionId, '--json']),
      chaperone(stack, ['verify', sessionId, '--json']),
      chaperone(stack, ['sql', `SELECT count() AS n, arraySort(groupArray(command_id)) AS ids FROM commands FINAL WHERE session_id = '${sessionId}'`, '--format', 'json']),
    ]);
    for (const r of [show, replay, verify, count]) assert.equal(r.code, 0, r.stderr);
    type Counts = { in: number; out: number };
    const s = JSON.parse(show.stdout) as Record<string, unknown> & { counters: Record<string, number>; sealedHash: string; attributes: unknown };
    const t = JSON.parse(replay.stdout) as { frames: Counts; messages: Counts; started: { at: string } };
    const v = JSON.parse(verify.stdout) as { sealedHash: string; headHash: string };
    assert.deepEqual([s.counters['framesIn'], s.counters['framesOut'], s.counters['messagesIn'], s.counters['messagesOut']], [t.frames.in, t.frames.out, t.messages.in, t.messages.out]);
    assert.equal(s.counters['commands'], 4);
    assert.equal(s.sealedHash, v.sealedHash, 'one sealed hash');
    assert.notEqual(v.headHash, v.sealedHash, 'the head is SessionEnded, after the sealed event');
    assert.match(String(s['startedAt']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(typeof s.attributes, 'object', 'no JSON inside strings');
    assert.equal(s['startedMicros'], undefined);
    assert.equal(s['finalHash'], undefined);
    assert.match(t.started.at, /Z$/);
    assert.deepEqual((JSON.parse(count.stdout) as { rows: { n: unknown; ids: unknown }[] }).rows, [{ n: 4, ids: [1, 2, 3, 4] }], 'UInt64 as numbers');
  });

  it('attributes them in replay --json too', async () => {
    const r = await chaperone(stack, ['replay', sessionId, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const commands = (JSON.parse(r.stdout) as { commands: JsonCommand[] }).commands;
    assert.deepEqual(
      commands.map((c) => [c.commandId, c.result.rows, c.result.tag ?? null, c.result.error?.code ?? null, c.result.notExecuted ?? false]),
      [
        [1, [[`first-${marker}`]], 'SELECT 1', null, false],
        [2, [1, 2, 3].map((g) => [`second-${marker}-${g}`]), 'SELECT 3', null, false],
        [3, [], null, '22012', false],
        [4, [], null, null, true],
      ],
    );
  });
});
