import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4's RequestQueue re-arms its "check pending requests" timer after every check,
 * even when nothing is pending and nothing is throttled: `throttledUntil - Date.now()` is then
 * negative, so the timer fires after 1 ms, checks an empty queue and arms itself again. Every
 * broker connection of every client spins so from its first response on (kafkajs issue #1556,
 * unmerged fix #1667): ~6% of a core per idle gateway node, and timer churn between statements
 * under load. Nothing pending means nothing to check: `push` arms the timer when it queues a
 * request, and every response or timeout checks the queue itself. So the check is armed only while
 * requests wait, after the throttle when there is one and after kafkajs' own 10 ms otherwise
 * (as kafkajs does once requests wait, including #1532's marginal-throttle case).
 *
 * Installed on the prototype only when the class has the shape this was written against;
 * otherwise kafkajs keeps its own ('kafkajs').
 */
const require = createRequire(import.meta.url);
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

interface RequestQueueInstance {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
}
type Schedule = ((this: RequestQueueInstance) => void) & { armedOnlyWhenPending?: boolean };
interface RequestQueueClass {
  prototype: RequestQueueInstance & { scheduleCheckPendingRequests: Schedule };
}

/** Loads kafkajs' RequestQueue class (an internal module; the patch and its test use it). */
export function loadRequestQueue(): RequestQueueClass | undefined {
  try {
    const dir = require.resolve('kafkajs/package.json').replace(/package\.json$/, '');
    return require(`${dir}src/network/requestQueue/index.js`) as RequestQueueClass;
  } catch {
    return undefined;
  }
}

function install(): 'pending-only' | 'kafkajs' {
  const RequestQueue = loadRequestQueue();
  const original = RequestQueue?.prototype.scheduleCheckPendingRequests;
  if (!RequestQueue || typeof original !== 'function' || typeof RequestQueue.prototype.checkPendingRequests !== 'function') return 'kafkajs';
  if (original.armedOnlyWhenPending) return 'pending-only';
  // The fields the replacement reads must be the ones kafkajs' own version reads.
  const source = original.toString();
  if (!['throttledUntil', 'throttleCheckTimeoutId', 'pending.length', 'checkPendingRequests'].every((f) => source.includes(f))) return 'kafkajs';
  const schedule: Schedule = function (this: RequestQueueInstance): void {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const throttled = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, throttled > 0 ? throttled : CHECK_PENDING_REQUESTS_INTERVAL);
  };
  schedule.armedOnlyWhenPending = true;
  RequestQueue.prototype.scheduleCheckPendingRequests = schedule;
  return 'pending-only';
}

/**
 * How kafkajs' request queues schedule their pending-request check in this process: only while
 * requests wait ('pending-only'), or kafkajs' own 1 ms loop ('kafkajs') when its code is not the
 * shape this patch knows. Importing @chaperone/events installs it.
 */
export const kafkaRequestQueue: 'pending-only' | 'kafkajs' = install();
