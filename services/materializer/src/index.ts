/**
 * @module @chaperone/materializer
 * The Kafka consumer group that materializes session events into the ClickHouse recording
 * store: decode, batch, insert, and only then commit offsets.
 */
export { Materializer } from './lib/materializer.js';
export type { MaterializerOptions } from './lib/materializer.js';
export { MaterializerError } from './lib/errors.js';
