import type { ChainedEvent } from '@chaperone/events';

/** Where a session's events go: the event log (Kafka in production). */
export interface EventSink {
  /**
   * Resolves once the events are durably acknowledged, in order, for this session. A sink that
   * queues must not send events once `cancelled()` is true (the session failed): later events
   * stored without earlier ones would leave a hole in the session's chain.
   */
  publish(sessionId: string, events: ChainedEvent[], cancelled?: () => boolean): Promise<void>;
  readonly healthy: boolean;
}
