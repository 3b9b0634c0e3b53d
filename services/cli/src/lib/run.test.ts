import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { Lifecycle, createLogger } from '@chaperone/observability';
import { lifecycleDone, runService, type ServiceHandle } from './run.js';

const log = createLogger({ name: 'run-test', level: 'silent' });

/** Runs a service against a fake process; resolves with the exit code it chose. */
function harness(handle: ServiceHandle, stopDeadlineMs = 60_000) {
  const proc = new EventEmitter();
  let exited!: (code: number) => void;
  const code = new Promise<number>((resolve) => (exited = resolve));
  void runService({
    name: 'test',
    log,
    stopDeadlineMs,
    start: () => Promise.resolve(handle),
    process: proc,
    exit: (_log, c) => (exited(c), undefined as never),
  });
  return { proc, code };
}

const started = () => new Promise((resolve) => setImmediate(resolve));

describe('runService', () => {
  it('stops once on SIGTERM and exits 0 after a clean stop', async () => {
    let stops = 0;
    const { proc, code } = harness({ stop: () => (stops++, Promise.resolve()) });
    await started();
    proc.emit('SIGTERM', 'SIGTERM');
    assert.equal(await code, 0);
    assert.equal(stops, 1);
  });

  it('exits 1, without hanging, when stop() rejects', async () => {
    const { proc, code } = harness({ stop: () => Promise.reject(new Error('close failed')) });
    await started();
    proc.emit('SIGINT', 'SIGINT');
    assert.equal(await code, 1);
  });

  it('exits 1 when stop() never settles within the deadline', async () => {
    const { proc, code } = harness({ stop: () => new Promise(() => undefined) }, 20);
    await started();
    proc.emit('SIGTERM', 'SIGTERM');
    assert.equal(await code, 1);
  });

  it('exits when the service ends by itself: 0 when it ended, 1 when it failed', async () => {
    assert.equal(await harness({ stop: () => Promise.resolve(), done: Promise.resolve() }).code, 0);
    assert.equal(await harness({ stop: () => Promise.resolve(), done: Promise.reject(new Error('consumer crashed')) }).code, 1);
  });

  it('ends with a service that reports through its Lifecycle (the materializer): 0 once stopped, 1 once failed', async () => {
    const crashes = new Lifecycle('materializer');
    crashes.to('running');
    let stops = 0;
    const crashed = harness({ stop: () => (stops++, Promise.resolve()), done: lifecycleDone(crashes) });
    await started();
    crashes.to('failed');
    assert.equal(await crashed.code, 1);
    assert.equal(stops, 1, 'a failed service is still stopped once (its consumer left, its clients closed)');

    const drains = new Lifecycle('materializer');
    drains.to('running');
    const stopped = harness({ stop: () => (drains.to('draining'), drains.to('stopped'), Promise.resolve()), done: lifecycleDone(drains) });
    await started();
    stopped.proc.emit('SIGTERM', 'SIGTERM');
    assert.equal(await stopped.code, 0);
  });

  it('a signal during start stops the service once it is up, and a second signal exits 1 at once', async () => {
    const proc = new EventEmitter();
    let up!: (h: ServiceHandle) => void;
    let stops = 0;
    const codes: number[] = [];
    let exited!: () => void;
    const done = new Promise<void>((resolve) => (exited = resolve));
    void runService({
      name: 'test',
      log,
      start: () => new Promise<ServiceHandle>((resolve) => (up = resolve)),
      process: proc,
      exit: (_log, c) => (codes.push(c), exited(), undefined as never),
    });
    proc.emit('SIGTERM', 'SIGTERM');
    assert.equal(stops, 0, 'nothing to stop before start resolves');
    up({ stop: () => (stops++, Promise.resolve()) });
    await done;
    assert.deepEqual(codes, [0]);
    assert.equal(stops, 1);
    proc.emit('SIGINT', 'SIGINT');
    assert.deepEqual(codes, [0, 1]);
  });
});
