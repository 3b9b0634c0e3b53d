import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { kafkaRequestQueue, loadRequestQueue } from './kafkajs-request-queue.js';

// kafkajs' own RequestQueue, driven as its Connection drives it: push a request, answer it.
interface Queue {
  pending: unknown[];
  throttleCheckTimeoutId: unknown;
  push(r: { entry: object; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(r: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
}
const logger = { debug() {}, info() {}, warn() {}, error() {} };
function queue(): Queue {
  const RequestQueue = loadRequestQueue() as unknown as new (o: object) => Queue;
  return new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 't', broker: 'b:1', logger });
}
const request = (correlationId: number, sent: number[]) => ({
  entry: { correlationId, apiKey: 0, apiName: 'Produce', apiVersion: 7, resolve() {}, reject() {} },
  expectResponse: true,
  sendRequest: () => sent.push(correlationId),
});

describe('kafkajs request queue: the pending-request check is armed only while requests wait', () => {
  it('is installed on this kafkajs', () => assert.equal(kafkaRequestQueue, 'pending-only'));

  it('arms no timer once every request is answered (kafkajs 2.2.4 re-arms a 1 ms one forever)', async () => {
    const q = queue();
    const sent: number[] = [];
    q.push(request(1, sent));
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    assert.deepEqual(sent, [1]);
    assert.equal(q.throttleCheckTimeoutId, null);
    await sleep(5);
    assert.equal(q.throttleCheckTimeoutId, null, 'still nothing armed');
    q.destroy();
  });

  it('sends a request queued behind the in-flight limit when the one in flight is answered', async () => {
    const q = queue();
    const sent: number[] = [];
    q.push(request(1, sent));
    q.push(request(2, sent));
    assert.deepEqual(sent, [1]);
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    assert.deepEqual(sent, [1, 2]);
    q.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
    await sleep(30);
    assert.equal(q.throttleCheckTimeoutId, null, 'the check armed while 2 waited fired once and did not re-arm');
    q.destroy();
  });

  it('sends a request queued under broker throttling when the throttle ends', async () => {
    const q = queue();
    const sent: number[] = [];
    q.maybeThrottle(30);
    q.push(request(1, sent));
    assert.deepEqual(sent, [], 'held while throttled');
    assert.notEqual(q.throttleCheckTimeoutId, null, 'a check is armed for the end of the throttle');
    await sleep(80);
    assert.deepEqual(sent, [1]);
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    assert.equal(q.throttleCheckTimeoutId, null);
    q.destroy();
  });
});
