import type { ChainedEvent } from '@chaperone/events';

/** Where a session's events go: the event log (Kafka in production). */
export interface EventSink {
  /** Resolves once the events are durably acknowledged, in order, for this session. */
  publish(sessionId: string, events: ChainedEvent[]): Promise<void>;
  readonly healthy: boolean;
}
