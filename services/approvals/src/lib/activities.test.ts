import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { createLogger } from '@chaperone/observability';
import { createActivities } from './activities.js';
import type { PingInput } from '@chaperone/approvals-contract';

const log = createLogger({ name: 'approvals-test', level: 'warn' });

describe('createActivities', () => {
  const activities = createActivities({ log, nodeId: 'node-7', now: () => new Date('2030-01-02T03:04:05.000Z') });

  it('ping answers with the message, the node id and the time', async () => {
    assert.deepEqual(await activities.ping({ message: 'hi' }), { message: 'hi', nodeId: 'node-7', at: '2030-01-02T03:04:05.000Z' });
  });

  it('ping refuses malformed input as a non-retryable failure', async () => {
    for (const input of [{}, { message: 'x'.repeat(1025) }] as PingInput[]) {
      await assert.rejects(activities.ping(input), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, 'INVALID_PING');
        assert.equal(err.nonRetryable, true);
        return true;
      });
    }
  });
});
