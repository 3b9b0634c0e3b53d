import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Config } from '@chaperone/config';
import { createLogger } from '@chaperone/observability';
import type { StoredEvent } from '@chaperone/store';
import { testConfig } from '@chaperone/store/testing';
import { createApiClient, type ApiClient } from './client.js';
import type { EventMsg as ReplayEvent } from './proto.js';
import { startApiServer, type ApiServer } from './server.js';
import { FIRST_PAGE_BYTES, PAGE_BYTES } from './stored.js';
import { bulkScript, fakeStore, recordScript, storedEvent, type FakeStore } from './testing.js';
import { LiveTranscript } from './transcript/index.js';

const KiB = 1024;

/** Waits until `value()` has not changed for a while: the server has done what it will do. */
async function settled(value: () => number): Promise<number> {
  let last = value();
  for (let still = 0; still < 5; ) {
    await new Promise((r) => setTimeout(r, 100));
    const now = value();
    still = now === last ? still + 1 : 0;
    last = now;
  }
  return last;
}

describe('Replay streams a big session', () => {
  const base = testConfig();
  const config: Config = { ...base, api: { ...base.api, listen: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, requireToken: false, web: undefined } };
  const running: { server: ApiServer; client: ApiClient }[] = [];
  const serve = async (fake: FakeStore): Promise<ApiClient> => {
    const server = await startApiServer(config, { store: fake.store, opsServer: false, logger: createLogger({ name: 'replay-test', level: 'warn' }) });
    const client = createApiClient(server.address);
    running.push({ server, client });
    return client;
  };

  after(async () => {
    for (const { server, client } of running) {
      client.close();
      await server.stop(1000);
    }
  });

  it('reads no further than the client takes: a reader that stops holds the replay at a few pages', async () => {
    // 3.75 GB of 768 KiB frames, made on demand: the same view of one buffer each time.
    const frame = Buffer.alloc(768 * KiB);
    const avro = Buffer.from('not decoded here');
    const event = (seq: number) => ({ sessionId: 'huge', seq, tsMicros: seq, nodeId: 'n', type: 'Frame', payload: frame, avro }) as StoredEvent;
    const fake = fakeStore('huge', 5000, event);
    const client = await serve(fake);
    const events = client.replay('huge')[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) assert.equal(((await events.next()) as IteratorYieldResult<ReplayEvent>).value.seq, i);
    await settled(() => fake.reads.length);
    const furthest = Math.max(...fake.reads.map((r) => r.end));
    // What grpc-js and HTTP/2 buffer on both sides, and the page after the one being sent.
    assert.ok(furthest <= 100, `read up to seq ${furthest} while the client took 3 events`);
    const eventBytes = frame.length + avro.length;
    assert.deepEqual(fake.reads[0], { from: 0, to: 2000, maxBytes: FIRST_PAGE_BYTES, end: Math.floor(FIRST_PAGE_BYTES / eventBytes) }, 'the first page holds a few frames');
    for (const r of fake.reads.slice(1)) {
      assert.equal(r.maxBytes, PAGE_BYTES);
      assert.ok((r.end - r.from) * eventBytes <= PAGE_BYTES, `a page of ${r.end - r.from} big frames`);
    }
    await events.return?.();
    const reads = await settled(() => fake.reads.length);
    assert.ok(Math.max(...fake.reads.map((r) => r.end)) <= furthest + 2 * Math.floor(PAGE_BYTES / eventBytes), 'a cancelled replay stops reading');
    assert.equal(fake.reads.length, reads);
  });

  // A server that waited for the whole session before sending would never print, and time out.
  it('sends the first result rows while the rest of the session is still being read', { timeout: 30_000 }, async () => {
    const recorded = recordScript(bulkScript(200, 50, 200), 'v2', 'bulk');
    const fake = fakeStore('bulk', recorded.length, (seq) => storedEvent(recorded[seq]!));
    fake.hold(recorded.length - 1); // the page with the session's last events waits
    const client = await serve(fake);
    const live = new LiveTranscript({ maxRows: 20 });
    let text = '';
    let released = false;
    for await (const e of client.replay('bulk')) {
      text += live.push(e);
      if (!released && text.includes('  20  ')) {
        // The page holding the session's end is still held back: only what came before it was sent.
        assert.ok(e.seq < recorded.length - 1);
        assert.match(text, /#1 SELECT\n.*\n.*ALLOW[\s\S]* {2}n {3}repeat\n[\s\S]* {2}1 {3}x{10}/);
        released = true;
        fake.release();
      }
    }
    assert.ok(released, 'the table was printed before the last page was read');
    text += live.end();
    assert.match(text, / {2}… 9980 more rows\n {2}\(SELECT 10000\)\n$/);
  });
});
