import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { createLogger } from '@chaperone/observability';
import { runService, type ServiceHandle } from './run.js';

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
});
