import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Registry } from '@chaperone/observability';
import { initSqlParser, sqlCommand } from '../commands/index.js';
import { PolicyBundleError, PolicyEngine, type PolicyInput } from './index.js';

const run = promisify(execFile);
const BUILD = fileURLToPath(new URL('../../../../../policies/build.sh', import.meta.url));

let dir: string;
let bundle: string;
let revision: string;

/** Builds a policy pack with the real policies/build.sh (and the real OPA). */
async function build(out: string, src?: string): Promise<string> {
  const { stdout } = await run('bash', [BUILD, ...(src ? ['-s', src] : []), '-o', out]);
  return /revision (\S+)\)/.exec(stdout)![1]!;
}

/** A one-file policy pack compiled to its own bundle. */
async function buildPack(name: string, rego: string): Promise<string> {
  const src = join(dir, `${name}-src`);
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'policy.rego'), `package chaperone.authz\n\n${rego}\n`);
  const out = join(dir, `${name}.tar.gz`);
  await build(out, src);
  return out;
}

function input(connectionLabels: Record<string, string>, sql: string, groups: string[] = ['agents']): PolicyInput {
  return {
    identity: { subject: 'agent:claude', issuer: 'chaperone', groups, claims: {} },
    connection: { name: 'orders', protocol: 'postgres', labels: connectionLabels },
    session: { id: 's-1', clientAddress: '127.0.0.1:5000', node: 'gw-1' },
    command: sqlCommand(sql),
  };
}

const prod = { env: 'prod' };
const dev = { env: 'dev' };

describe('PolicyEngine with the default policy pack', () => {
  before(async () => {
    await initSqlParser();
    dir = await mkdtemp(join(tmpdir(), 'chaperone-policy-'));
    bundle = join(dir, 'bundle.tar.gz');
    revision = await build(bundle);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('allows ordinary reads and reports revision and timing', async () => {
    const engine = await PolicyEngine.load(bundle);
    assert.equal(engine.revision, revision);
    const d = engine.evaluate(input(prod, 'SELECT * FROM public.orders WHERE id = 1'));
    assert.equal(d.result, 'allow');
    assert.deepEqual(d.reasons, []);
    assert.equal(d.revision, revision);
    assert.ok(Number.isInteger(d.evalMicros) && d.evalMicros >= 0);
    const mask = { detectors: ['email', 'card-number', 'iban', 'phone-number', 'national-id'], columns: [], jsonPaths: [] };
    assert.deepEqual(d.output, { result: 'allow', reasons: [], mask });
    assert.deepEqual(d.mask, mask);
  });

  it('keeps production read-only for agents and carries the mask rules of the tables read', async () => {
    const engine = await PolicyEngine.load(bundle);
    const w = engine.evaluate(input(prod, "UPDATE public.orders SET status = 'paid' WHERE id = 1"));
    assert.equal(w.result, 'deny');
    assert.match(w.reasons[0]!, /\(policy: read-only-prod\)$/);
    assert.equal(engine.evaluate(input(prod, "UPDATE public.orders SET status = 'paid' WHERE id = 1", ['db-writers'])).result, 'allow');
    assert.equal(engine.evaluate(input(prod, 'COPY (SELECT id, email FROM customers) TO STDOUT CSV')).result, 'allow');
    const r = engine.evaluate(input(prod, 'SELECT c.phone, o.id FROM customers c JOIN orders o ON o.customer_id = c.id', ['agents', 'pii-readers']));
    assert.deepEqual(r.mask, { detectors: [], columns: ['phone'], jsonPaths: [] });
  });

  it('denies when the mask rules cannot be applied', async () => {
    const bad = await buildPack('bad-mask', `decision := {"result": "allow", "reasons": [], "mask": {"detectors": m}} if {
	input.command.text == "SELECT 2"
	m := ["email", "ssn-v2"]
} else := {"result": "allow", "reasons": []}`);
    const engine = await PolicyEngine.load(bad);
    const d = engine.evaluate(input(dev, 'SELECT 2'));
    assert.equal(d.result, 'deny');
    assert.match(d.reasons[0]!, /unknown detectors: ssn-v2/);
    const paths = await buildPack('bad-path', 'decision := {"result": "allow", "reasons": [], "mask": {"jsonPaths": ["users.ssn"]}}');
    await assert.rejects(PolicyEngine.load(paths), /must start with \$/);
  });

  it('denies DDL on production connections with the rule named', async () => {
    const engine = await PolicyEngine.load(bundle);
    const d = engine.evaluate(input(prod, 'DROP TABLE public.orders'));
    assert.equal(d.result, 'deny');
    assert.deepEqual(d.reasons, ['DROP TABLE is not allowed on production connections (policy: ddl-in-prod)']);
    assert.equal(engine.evaluate(input(dev, 'DROP TABLE public.orders')).result, 'allow');
    assert.equal(engine.evaluate(input(prod, 'ALTER TABLE orders ADD COLUMN x int', ['schema-migrations'])).result, 'allow');
  });

  it('holds DELETE without WHERE, also inside a CTE, for approval', async () => {
    const engine = await PolicyEngine.load(bundle);
    for (const sql of ['DELETE FROM public.orders', 'WITH d AS (DELETE FROM public.orders RETURNING id) SELECT count(*) FROM d']) {
      const d = engine.evaluate(input(dev, sql));
      assert.equal(d.result, 'approval', sql);
      assert.deepEqual(d.reasons, ['DELETE on public.orders without a WHERE clause needs approval (policy: unbounded-write)']);
      assert.deepEqual(d.approval, { approverGroups: ['dba', 'sre-oncall'], quorum: 1, ttlMs: 900_000 });
    }
    assert.equal(engine.evaluate(input(dev, 'DELETE FROM public.orders WHERE id = 7')).result, 'allow');
  });

  it('denies unparseable SQL on production only', async () => {
    const engine = await PolicyEngine.load(bundle);
    const d = engine.evaluate(input(prod, 'DELTE FROM orders'));
    assert.equal(d.result, 'deny');
    assert.match(d.reasons[0]!, /cannot be parsed .*syntax error at or near "DELTE".*\(policy: unparseable-in-prod\)/);
    assert.equal(engine.evaluate(input(dev, 'DELTE FROM orders')).result, 'allow');
  });

  it('refuses a corrupt bundle at load, or denies everything when asked to start anyway', async () => {
    const corrupt = join(dir, 'corrupt.tar.gz');
    const good = await readFile(bundle);
    await writeFile(corrupt, good.subarray(0, good.length >> 1));
    await assert.rejects(PolicyEngine.load(corrupt), (err: unknown) => err instanceof PolicyBundleError && err.code === 'BUNDLE_INVALID');
    await assert.rejects(PolicyEngine.load(join(dir, 'missing.tar.gz')), (err: unknown) => err instanceof PolicyBundleError && err.code === 'BUNDLE_UNREADABLE');
    const notWasm = join(dir, 'not-wasm.tar.gz');
    await writeFile(notWasm, gzipSync(Buffer.from('hello, not a tar archive at all')));
    await assert.rejects(PolicyEngine.load(notWasm), PolicyBundleError);

    const registry = new Registry();
    const engine = await PolicyEngine.loadOrDenyAll(corrupt, undefined, registry);
    assert.equal(engine.ready, false);
    const d = engine.evaluate(input(dev, 'SELECT 1'));
    assert.equal(d.result, 'deny');
    assert.equal(d.revision, 'none');
    assert.match(d.reasons[0]!, /^policy evaluation failed: no policy bundle loaded \(.*corrupt\.tar\.gz/);
    assert.match(await registry.metrics(), /chaperone_policy_reload_failures_total 1/);
    assert.match(await registry.metrics(), /chaperone_policy_evaluation_failures_total 1/);
    // A good bundle appearing later takes over.
    await copyFile(bundle, corrupt);
    assert.equal(await engine.reload(), true);
    assert.equal(engine.evaluate(input(dev, 'SELECT 1')).result, 'allow');
  });

  it('fails closed when the policy has no decision for an input', async () => {
    const partial = await buildPack('partial', 'decision := {"result": "allow", "reasons": []} if input.command.protocol == "postgres"');
    const engine = await PolicyEngine.load(partial);
    const http: PolicyInput = { ...input(dev, 'select 1'), command: { protocol: 'http', action: 'GET', text: 'GET /', targets: ['/'] } };
    const d = engine.evaluate(http);
    assert.equal(d.result, 'deny');
    assert.match(d.reasons[0]!, /^policy evaluation failed: the policy produced no decision/);
    assert.equal(d.revision, engine.revision);
  });

  it('refuses a bundle whose decisions are malformed (self-check)', async () => {
    const bad = await buildPack('malformed', 'decision := {"result": "maybe", "reasons": []}');
    await assert.rejects(PolicyEngine.load(bad), (err: unknown) => err instanceof PolicyBundleError && err.code === 'SELF_CHECK_FAILED' && /unknown decision result "maybe"/.test(err.message));
    const noApprovers = await buildPack('no-approvers', 'decision := {"result": "approval", "reasons": ["x"], "approval": {"approverGroups": [], "ttlMs": 1000}}');
    await assert.rejects(PolicyEngine.load(noApprovers), /approverGroups/);
  });

  it('hot-reloads a changed bundle and keeps the old one when the new one is bad', async () => {
    const live = join(dir, 'live.tar.gz');
    await copyFile(bundle, live);
    const registry = new Registry();
    const engine = await PolicyEngine.load(live, undefined, registry);
    assert.equal(await engine.reload(), false, 'unchanged file is not reloaded');

    // Replace atomically with a corrupt file: refused, old policy keeps deciding.
    await writeFile(`${live}.new`, Buffer.from('garbage'));
    await rename(`${live}.new`, live);
    assert.equal(await engine.reload(), false);
    assert.equal(await engine.reload(), false);
    assert.equal(engine.revision, revision);
    assert.equal(engine.evaluate(input(prod, 'DROP TABLE t')).result, 'deny');
    assert.match(await registry.metrics(), /chaperone_policy_reload_failures_total 1\b/, 'one broken file counts once');

    // A self-check failure is refused the same way.
    await copyFile(await buildPack('maybe', 'decision := {"result": "maybe", "reasons": []}'), live);
    assert.equal(await engine.reload(), false);
    assert.equal(engine.revision, revision);
    assert.match(await registry.metrics(), /chaperone_policy_reload_failures_total 2\b/);

    // A good new policy takes over through the watcher.
    const permissive = await buildPack('permissive', 'decision := {"result": "allow", "reasons": ["test pack"]}');
    engine.startWatching(20);
    try {
      await copyFile(permissive, `${live}.new`);
      await rename(`${live}.new`, live);
      const deadline = Date.now() + 5000;
      while (engine.revision === revision && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.notEqual(engine.revision, revision);
      assert.deepEqual(engine.evaluate(input(prod, 'DROP TABLE t')).reasons, ['test pack']);
    } finally {
      engine.stop();
    }
  });

  it('reads bundles re-packed by GNU tar (./ names)', async () => {
    const unpacked = join(dir, 'unpacked');
    await mkdir(unpacked);
    await run('tar', ['-xzf', bundle, '-C', unpacked]);
    const manifest = JSON.parse(await readFile(join(unpacked, '.manifest'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(unpacked, '.manifest'), JSON.stringify({ ...manifest, revision: 'repacked-1' }));
    const repacked = join(dir, 'repacked.tar.gz');
    await run('tar', ['-czf', repacked, '-C', unpacked, '.']);
    const engine = await PolicyEngine.load(repacked);
    assert.equal(engine.revision, 'repacked-1');
    assert.equal(engine.evaluate(input(prod, 'TRUNCATE orders')).result, 'deny');
  });

  it('passes inputs and results through Wasm memory intact: multi-byte text, inputs that grow the memory, JavaScript builtins', async () => {
    // sprintf is one of the builtins the SDK implements in JavaScript (a call out of Wasm).
    const echo = await buildPack('echo', 'decision := {"result": "allow", "reasons": [input.command.text, sprintf("%d bytes", [count(input.command.text)])]}');
    const engine = await PolicyEngine.load(echo);
    const texts = [
      "SELECT 'żółć 東京 🚀' AS \"naïve\"",
      'x'.repeat(3 * 1024 * 1024) + '€', // larger than the module's memory at load: it must grow
      'SELECT 1',
    ];
    for (let round = 0; round < 3; round++) {
      for (const text of texts) {
        const d = engine.evaluate(input(dev, text));
        assert.equal(d.result, 'allow', d.reasons.join('; ').slice(0, 200));
        assert.equal(d.reasons[0], text);
        assert.equal(d.reasons[1], `${[...text].length} bytes`);
      }
    }
  });

  it('parses a repeated decision once and hands out frozen copies of it', async () => {
    const engine = await PolicyEngine.load(bundle);
    const a = engine.evaluate(input(prod, 'SELECT phone FROM customers WHERE id = 1'));
    const b = engine.evaluate(input(prod, 'SELECT phone FROM customers WHERE id = 2'));
    assert.equal(a.result, 'allow');
    assert.deepEqual(b, { ...a, evalMicros: b.evalMicros });
    assert.equal(a.mask, b.mask, 'the same parsed mask rules');
    assert.ok(Object.isFrozen(a.reasons) && Object.isFrozen(a.mask) && Object.isFrozen(a.mask?.columns) && Object.isFrozen(a.output));
    // A different output is its own decision.
    const c = engine.evaluate(input(prod, 'DROP TABLE customers'));
    assert.equal(c.result, 'deny');
    assert.match(c.reasons[0]!, /DROP TABLE is not allowed on production connections \(policy: ddl-in-prod\)/);
  });

  it('memoizes decisions of a deterministic bundle by input, and never those of a bundle that reads the clock', async () => {
    const engine = await PolicyEngine.load(bundle);
    const first = engine.evaluate(input(prod, 'SELECT phone FROM customers WHERE id = 1'));
    assert.equal(engine.memoized, 1);
    const again = engine.evaluate(input(prod, 'SELECT phone FROM customers WHERE id = 1'));
    assert.deepEqual(again, { ...first, evalMicros: again.evalMicros }, 'same input, same decision');
    assert.equal(engine.memoized, 1);
    assert.equal(engine.evaluate(input(prod, 'DROP TABLE customers')).result, 'deny');
    assert.equal(engine.memoized, 2, 'another input is its own entry');
    // time.now_ns is a host builtin this SDK does not provide (impure): such a bundle is never memoized.
    const clock = await buildPack(
      'clock',
      `decision := {"result": "allow", "reasons": [sprintf("%d", [time.now_ns()])]} if input.command.text == "what time is it"
decision := {"result": "allow", "reasons": []} if input.command.text != "what time is it"`,
    );
    const timed = await PolicyEngine.load(clock);
    assert.equal(timed.evaluate(input(dev, 'SELECT 1')).result, 'allow');
    assert.equal(timed.evaluate(input(dev, 'SELECT 1')).result, 'allow');
    assert.equal(timed.memoized, 0);
  });
});
