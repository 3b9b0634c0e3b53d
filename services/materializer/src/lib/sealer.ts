import type { KeyObject } from 'node:crypto';
import type { Admin, PartitionMetadata } from 'kafkajs';
import { sessionPartition } from '@chaperone/events';
import type { Logger } from '@chaperone/observability';
import { IDLE_REASON, signIncompleteSeal, type Store } from '@chaperone/store';
import type { Metrics } from './metrics.js';

export interface SealerOptions {
  store: Store;
  admin: Admin;
  topic: string;
  groupId: string;
  /** Sessions without events for this long (and no SessionEnded) are sealed. */
  idleTimeoutMs: number;
  key: KeyObject;
  /** Who seals (recorded as sealed_by): the materializer's node id. */
  sealerId: string;
  /** Partitions of the topic assigned to this group member right now. */
  assigned: () => readonly number[];
  log: Logger;
  metrics: Metrics;
  /** Test hook. @default Date.now */
  now?: () => number;
}

/**
 * Seals sessions whose gateway never ended them (a crash): after idleTimeout without an event, a
 * signed `incomplete` seal pins what was stored (last seq and its hash).
 *
 * Two guards keep a live session from being sealed by mistake. A member seals only sessions of
 * partitions assigned to it (the gateway puts a session's records on sessionPartition(session id),
 * so the partition is computed, not looked up), so members never race. And it seals
 * only from partitions whose committed offset has reached the end of the partition: a member
 * catching up after downtime would otherwise take every session whose newer events are still
 * in Kafka for dead.
 */
export class IdleSealer {
  private partitions: PartitionMetadata[] | undefined;
  private running: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: SealerOptions) {}

  /** Sweeps every intervalMs until stop(). */
  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.sweep().catch((err: Error) => this.o.log.warn({ err }, 'incomplete-session sweep failed; retrying')), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One sweep (never two at once); resolves to the number of sessions sealed. */
  sweep(): Promise<number> {
    this.running ??= this.sweepOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async partitionCount(): Promise<PartitionMetadata[]> {
    if (!this.partitions) {
      const meta = await this.o.admin.fetchTopicMetadata({ topics: [this.o.topic] });
      this.partitions = meta.topics[0]?.partitions ?? [];
    }
    return this.partitions;
  }

  private partitionOfSession(sessionId: string, partitionMetadata: PartitionMetadata[]): number {
    return sessionPartition(sessionId, partitionMetadata.length);
  }

  /** Assigned partitions whose committed offset is at the end of the partition. */
  private async caughtUp(): Promise<Set<number>> {
    const assigned = new Set(this.o.assigned());
    if (assigned.size === 0) return assigned;
    const [ends, [committed]] = await Promise.all([
      this.o.admin.fetchTopicOffsets(this.o.topic),
      this.o.admin.fetchOffsets({ groupId: this.o.groupId, topics: [this.o.topic] }),
    ]);
    const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    const out = new Set<number>();
    for (const e of ends) {
      if (!assigned.has(e.partition)) continue;
      const offset = at.get(e.partition) ?? -1;
      if (Number(e.high) === Number(e.low) || offset >= Number(e.high)) out.add(e.partition);
    }
    return out;
  }

  private async sweepOnce(): Promise<number> {
    const ready = await this.caughtUp();
    if (ready.size === 0) return 0;
    const now = (this.o.now ?? Date.now)();
    const idle = await this.o.store.idleSessions((now - this.o.idleTimeoutMs) * 1000);
    if (idle.length === 0) return 0;
    const meta = await this.partitionCount();
    let sealed = 0;
    for (const s of idle) {
      if (meta.length === 0 || !ready.has(this.partitionOfSession(s.sessionId, meta))) continue;
      const signature = signIncompleteSeal(this.o.key, s.sessionId, s.lastSeq, Buffer.from(s.headHash, 'hex'));
      await this.o.store.sealIncomplete({
        ...s, sealedMicros: now * 1000, sealedBy: this.o.sealerId, reason: IDLE_REASON, signature: signature.toString('hex'),
      });
      this.o.metrics.sealed.inc();
      this.o.log.info({ sessionId: s.sessionId, lastSeq: s.lastSeq, idleMs: now - Math.floor(s.lastEventMicros / 1000) }, 'sealed a session incomplete (no SessionEnded)');
      sealed++;
    }
    return sealed;
  }
}
