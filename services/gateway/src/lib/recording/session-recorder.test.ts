import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SessionChain, type ChainedEvent, type EventBody } from '@chaperone/events';
import { SessionRecorder } from './session-recorder.js';
import type { EventSink } from './sink.js';

const frame = (n: number): EventBody => ({ type: 'Frame', direction: 'CLIENT_TO_SERVER', messageType: 'Query', bytes: Buffer.alloc(n), redacted: false, masks: [] });

class MemorySink implements EventSink {
  healthy = true;
  published: ChainedEvent[] = [];
  batches = 0;
  hold: Promise<void> | undefined;
  fail = false;
  async publish(_id: string, events: ChainedEvent[]): Promise<void> {
    this.batches++;
    if (this.hold) await this.hold;
    if (this.fail) throw new Error('broker down');
    this.published.push(...events);
  }
}

describe('SessionRecorder', () => {
  it('publishes in order, batches while a publish is in flight, and resolves flush after the ack', async () => {
    const sink = new MemorySink();
    let release!: () => void;
    sink.hold = new Promise((r) => (release = r));
    const rec = new SessionRecorder(new SessionChain('s', 'n'), sink, { ackTimeoutMs: 1000 });
    for (let i = 0; i < 5; i++) rec.append(frame(10));
    const f = rec.flush();
    let done = false;
    void f.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(done, false, 'flush must wait for the acknowledgement');
    assert.ok(rec.unackedBytes > 0);
    release();
    sink.hold = undefined;
    await f;
    assert.deepEqual(sink.published.map((e) => e.event.seq), [0, 1, 2, 3, 4]);
    assert.equal(rec.unackedBytes, 0);
  });

  it('splits batches by size', async () => {
    const sink = new MemorySink();
    const rec = new SessionRecorder(new SessionChain('s', 'n'), sink, { ackTimeoutMs: 1000, maxBatchBytes: 100 });
    for (let i = 0; i < 10; i++) rec.append(frame(60));
    await rec.flush();
    assert.equal(sink.published.length, 10);
    assert.ok(sink.batches >= 10);
  });

  it('fails every waiter and refuses new events when the log does not acknowledge in time', async () => {
    const sink = new MemorySink();
    sink.hold = new Promise(() => {});
    const rec = new SessionRecorder(new SessionChain('s', 'n'), sink, { ackTimeoutMs: 50 });
    rec.append(frame(1));
    await assert.rejects(rec.flush(), (e: Error & { code?: string }) => e.code === 'ACK_TIMEOUT');
    assert.throws(() => rec.append(frame(1)), /did not acknowledge/);
  });

  it('reports publish errors', async () => {
    const sink = new MemorySink();
    sink.fail = true;
    const rec = new SessionRecorder(new SessionChain('s', 'n'), sink, { ackTimeoutMs: 1000 });
    rec.append(frame(1));
    await assert.rejects(rec.flush(), (e: Error & { code?: string }) => e.code === 'PUBLISH_FAILED');
  });
});
