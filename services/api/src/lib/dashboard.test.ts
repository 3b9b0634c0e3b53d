import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { consumerLag } from './dashboard.js';

describe('dashboard', () => {
  it('sums the materializer\'s consumer lag gauge over partitions, ignoring its other metrics', () => {
    const text = [
      '# HELP chaperone_materializer_consumer_lag Records behind',
      '# TYPE chaperone_materializer_consumer_lag gauge',
      'chaperone_materializer_consumer_lag{topic="chaperone.sessions",partition="0"} 3',
      'chaperone_materializer_consumer_lag{topic="chaperone.sessions",partition="1"} 4',
      'chaperone_materializer_consumer_lag_other 100',
      'chaperone_materializer_event_lag_seconds_count 9',
    ].join('\n');
    assert.equal(consumerLag(text), 7);
    assert.equal(consumerLag(''), 0);
  });
});
