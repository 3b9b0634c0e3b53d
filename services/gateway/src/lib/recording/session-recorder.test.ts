import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SessionChain, type ChainedEvent, type EventBody, singleFrame } from '@chaperone/events';
import { SessionRecorder } from './session-recorder.js';
import type { EventSink } from './sink.js';

const frame = (n: number): EventBody => (singleFrame('CLIENT_TO_SERVER', 'Query', Buffer.alloc(n)));

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

  it('lets events nobody waits for linger, then publishes them with the next flush in one batch', async () => {
    const sink = new MemorySink();
    const rec = new SessionRecorder(new SessionChain('s', 'n'), sink, { ackTimeoutMs: 1000, lingerMs: 60_000 });
    rec.append(frame(10));
    rec.append(frame(10));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(sink.batches, 0, 'results linger');
    rec.append(frame(5));
    await rec.flush();
    assert.equal(sink.batches, 1, 'the lingering frames ride along with the flushed command');
    assert.deepEqual(sink.published.map((e) => e.event.seq), [0, 1, 2]);
  });

  it('publishes lingering events by themselves after lingerMs', async () => {
    const sink = new MemorySink();
    const rec = new SessionRecorder(new SessionChain('s', 'n'), sink, { ackTimeoutMs: 1000, lingerMs: 10 });
    rec.append(frame(10));
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(sink.published.length, 1);
    assert.equal(rec.unackedBytes, 0);
  });

  it('pipelines batches but resolves a flush only when every earlier batch is acknowledged', async () => {
    // The sink acknowledges the second batch before the first: the command after the second must still wait.
    const acks: { events: number[]; resolve: () => void }[] = [];
    const sink: EventSink = {
      healthy: true,
      publish: (_id, events) => new Promise<void>((resolve) => acks.push({ events: events.map((e) => e.event.seq), resolve })),
    };
    const rec = new SessionRecorder(new SessionChain('s', 'n'), sink, { ackTimeoutMs: 1000, lingerMs: 0, maxInFlight: 4 });
    rec.append(frame(1));
    rec.append(frame(1));
    let flushed = false;
    const f = rec.flush().then(() => (flushed = true));
    assert.deepEqual(acks.map((a) => a.events), [[0], [1]], 'two batches in flight at once');
    acks[1]!.resolve();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(flushed, false, 'seq 1 is acknowledged but seq 0 is not: nothing may be forwarded');
    acks[0]!.resolve();
    await f;
    assert.equal(rec.unackedBytes, 0);
  });

  it('holds events back while maxInFlight publishes are out and sends them after an ack', async () => {
    const releases: (() => void)[] = [];
    let published = 0;
    const sink: EventSink = {
      healthy: true,
      publish: (_id, events) => new Promise<void>((resolve) => releases.push(() => ((published += events.length), resolve()))),
    };
    const rec = new SessionRecorder(new SessionChain('s', 'n'), sink, { ackTimeoutMs: 1000, lingerMs: 0, maxInFlight: 1 });
    rec.append(frame(1));
    rec.append(frame(1));
    rec.append(frame(1));
    assert.equal(releases.length, 1);
    const f = rec.flush();
    releases.shift()!();
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(releases.length, 1, 'the held-back events went out as one batch');
    releases.shift()!();
    await f;
    assert.equal(published, 3);
  });

  it('fails the session when an earlier batch fails even if a later one was acknowledged', async () => {
    const acks: { resolve: () => void; reject: (e: Error) => void }[] = [];
    const sink: EventSink = { healthy: true, publish: () => new Promise<void>((resolve, reject) => acks.push({ resolve, reject })) };
    const rec = new SessionRecorder(new SessionChain('s', 'n'), sink, { ackTimeoutMs: 1000, lingerMs: 0 });
    rec.append(frame(1));
    rec.append(frame(1));
    const f = rec.flush();
    acks[1]!.resolve();
    acks[0]!.reject(new Error('broker down'));
    await assert.rejects(f, (e: Error & { code?: string }) => e.code === 'PUBLISH_FAILED');
    assert.ok(rec.failed);
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

  it('times each publish from when it was sent: a later one does not inherit an acknowledged one\'s deadline', async () => {
    const sink = new MemorySink();
    const rec = new SessionRecorder(new SessionChain('s', 'n'), sink, { ackTimeoutMs: 100, lingerMs: 0 });
    rec.append(frame(1));
    await rec.flush();
    await new Promise((r) => setTimeout(r, 60));
    sink.hold = new Promise(() => {});
    rec.append(frame(1));
    const failed = rec.flush().then(
      () => 'acknowledged',
      (e: Error & { code?: string }) => e.code,
    );
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(rec.failed, undefined, 'past the first publish\'s deadline, within the second\'s');
    assert.equal(await failed, 'ACK_TIMEOUT');
  });

  it('reports publish errors', async () => {
    const sink = new MemorySink();
    sink.fail = true;
    const rec = new SessionRecorder(new SessionChain('s', 'n'), sink, { ackTimeoutMs: 1000 });
    rec.append(frame(1));
    await assert.rejects(rec.flush(), (e: Error & { code?: string }) => e.code === 'PUBLISH_FAILED');
  });
});
