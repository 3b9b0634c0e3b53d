/**
 * Where a session's records go in the event log: one partition per session, chosen from the
 * session id alone, so the gateway that writes and a follower that reads (`replay --follow`)
 * agree without asking each other.
 */

/** A session id's 32-bit hash (the Java String.hashCode recurrence, unsigned). */
export function sessionHash(sessionId: string): number {
  let h = 0;
  for (let i = 0; i < sessionId.length; i++) h = (Math.imul(h, 31) + sessionId.charCodeAt(i)) >>> 0;
  return h;
}

/** The partition (0 … partitions − 1) that holds the session's records. */
export function sessionPartition(sessionId: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`a topic has at least one partition, not ${partitions}`);
  return sessionHash(sessionId) % partitions;
}
