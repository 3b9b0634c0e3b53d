import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '@chaperone/config';
import { startApiServer, type ApiServer } from '@chaperone/api';
import { bulkScript, fakeStore, recordScript, storedEvent, type FakeStore } from '@chaperone/api/testing';
import { createLogger } from '@chaperone/observability';
import { register } from './replay.js';

let dir: string;
let config: string;

/** Captures what the command prints; `out()` reads it while the command still runs. */
function capture() {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  // Under --test, the runner reports to its parent through stdout as Buffers: let those pass.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => (typeof chunk === 'string' ? ((out += chunk), true) : write(chunk, ...rest)));
  return { out: () => out, restore: () => (process.stdout.write = write) };
}

/** Runs `chaperone replay <args>` in-process with only this command registered. */
function replay(...args: string[]): Promise<void> {
  const program = new Command('chaperone').exitOverride().configureOutput({ writeErr: () => {} });
  register(program);
  return program.parseAsync(['node', 'chaperone', 'replay', ...args, '--config', config]).then(() => undefined);
}

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('chaperone replay', () => {
  const recorded = recordScript(bulkScript(200, 50, 100), 'v2', 'bulk');
  let fake: FakeStore;
  let server: ApiServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chaperone-cli-replay-'));
    await writeFile(join(dir, 'identity.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    config = join(dir, 'chaperone.yaml');
    await writeFile(
      config,
      'identity: { signingKeyFile: identity.pem, issuer: test-issuer, maxTtl: 1h }\nrecording: { nodeKeyFile: node.pem }\npolicy: { bundleFile: bundle.tar.gz }\n' +
        "api: { listen: '127.0.0.1:0', http: '127.0.0.1:0' }\n",
    );
    fake = fakeStore('bulk', recorded.length, (seq) => storedEvent(recorded[seq]!));
    server = await startApiServer(loadConfig(config), { store: fake.store, opsServer: false, logger: createLogger({ name: 'replay-cli-test', level: 'warn' }) });
  });

  after(async () => {
    await server?.stop(1000);
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the first rows of a big result while the rest of the session is still being read', async () => {
    fake.hold(recorded.length - 1);
    const out = capture();
    const running = replay('bulk', '--api', server.address, '--no-wait', '--max-rows', '20');
    running.catch(() => undefined); // awaited below
    try {
      await until('the first rows', () => out.out().includes('\n  20  x'));
      assert.match(out.out(), /#1 SELECT\n.*generate_series[\s\S]* {2}n {3}repeat\n {2}-+ {2}-+\n {2}1 {3}x{59}…\n/);
      fake.release();
      await running;
      assert.match(out.out(), / {2}… 9980 more rows\n {2}\(SELECT 10000\)\n$/);
    } finally {
      // A failed check still lets the command finish before the next test captures output.
      fake.release();
      await running.catch(() => undefined);
      out.restore();
    }
  });

  it('streams --json: rows are written before the session is read to its end, and the document is whole', async () => {
    fake.hold(recorded.length - 1);
    const out = capture();
    const running = replay('bulk', '--api', server.address, '--json');
    running.catch(() => undefined); // awaited below
    try {
      await until('the first rows', () => out.out().includes('"20",'));
      assert.match(out.out(), /^\{\n {2}"sessionId": "bulk",[\s\S]*"rows": \[\n {10}\[\n {12}"1",/);
      fake.release();
      await running;
      const doc = JSON.parse(out.out()) as { commands: { commandId: number; result: { rows: string[][]; tag: string } }[]; events: number };
      assert.equal(doc.events, recorded.length);
      assert.equal(doc.commands[0]!.result.rows.length, 10_000);
      assert.equal(doc.commands[0]!.result.tag, 'SELECT 10000');
    } finally {
      // A failed check still lets the command finish before the next test captures output.
      fake.release();
      await running.catch(() => undefined);
      out.restore();
    }
  });

  it('prints --events one line per event', async () => {
    const out = capture();
    try {
      await replay('bulk', '--api', server.address, '--events');
    } finally {
      out.restore();
    }
    const lines = out.out().trimEnd().split('\n').map((l) => JSON.parse(l) as { seq: number; messageType: string; messageTypes?: string[] });
    assert.deepEqual(lines.map((l) => l.seq), recorded.map((e) => e.seq));
    assert.equal(lines[1]!.messageType, 'Query');
    assert.deepEqual(lines[4]!.messageTypes, ['RowDescription', ...Array<string>(50).fill('DataRow')], 'a frame lists every message it holds');
    assert.equal(lines[2]!.messageTypes, undefined);
  });
});
