import { Counter, Gauge, Histogram, type Registry } from '@chaperone/observability';

/** The materializer's Prometheus metrics, on the registry its /metrics serves. */
export function createMetrics(registry: Registry) {
  const registers = [registry];
  return {
    records: new Counter({
      name: 'chaperone_materializer_records_total',
      help: 'Kafka records (one publish of one session each) whose events were all written to ClickHouse (redeliveries included)',
      registers,
    }),
    events: new Counter({ name: 'chaperone_materializer_events_total', help: 'Events written to ClickHouse (redeliveries included)', registers }),
    batches: new Counter({ name: 'chaperone_materializer_batches_total', help: 'Batches inserted into ClickHouse', registers }),
    insertSeconds: new Histogram({
      name: 'chaperone_materializer_insert_seconds',
      help: 'Time to insert one batch (events, commands and sessions) into ClickHouse',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    batchEvents: new Histogram({
      name: 'chaperone_materializer_batch_events',
      help: 'Events per ClickHouse insert (the batches of all partitions a fetch returned, up to materializer.batchSize)',
      buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000],
      registers,
    }),
    eventLag: new Histogram({
      name: 'chaperone_materializer_event_lag_seconds',
      help: 'Age of the oldest event of each batch when ClickHouse accepted it (event time on the gateway to visible in ClickHouse)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    }),
    insertFailures: new Counter({ name: 'chaperone_materializer_insert_failures_total', help: 'Failed insert attempts (retried)', registers }),
    decodeErrors: new Counter({
      name: 'chaperone_materializer_decode_errors_total',
      help: 'Kafka records skipped because they are not decodable session events',
      labelNames: ['code'],
      registers,
    }),
    sealed: new Counter({
      name: 'chaperone_materializer_sessions_sealed_total',
      help: 'Sessions sealed incomplete after materializer.idleTimeout without events or SessionEnded',
      registers,
    }),
    lag: new Gauge({
      name: 'chaperone_materializer_consumer_lag',
      help: 'Records between the last one materialized and the end of the partition',
      labelNames: ['topic', 'partition'],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
