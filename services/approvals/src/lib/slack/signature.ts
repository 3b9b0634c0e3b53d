/**
 * Slack request signing, version v0 (https://api.slack.com/authentication/verifying-requests-from-slack):
 * the signature is `v0=` + hex HMAC-SHA256, keyed with the app's signing secret, of
 * `v0:{X-Slack-Request-Timestamp}:{raw body}`; it is compared in constant time, and requests
 * whose timestamp is more than five minutes from now are refused so a captured request cannot
 * be replayed later. Within the window, signatures already seen are refused too.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SlackRequestRejectedError } from '../errors.js';

/** Slack's recommended bound on |now − X-Slack-Request-Timestamp|. */
export const SLACK_TIMESTAMP_WINDOW_S = 5 * 60;

export function slackSignature(signingSecret: string, timestamp: string | number, rawBody: Buffer | string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest('hex')}`;
}

/** Throws SlackRequestRejectedError unless the request carries a valid, fresh v0 signature. */
export function verifySlackSignature(
  signingSecret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  rawBody: Buffer,
  nowSeconds: number,
): void {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature) throw new SlackRequestRejectedError('missing-headers', 'X-Slack-Request-Timestamp and X-Slack-Signature are required');
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > SLACK_TIMESTAMP_WINDOW_S)
    throw new SlackRequestRejectedError('stale-timestamp', `request timestamp ${timestamp} is more than ${SLACK_TIMESTAMP_WINDOW_S} s from now`);
  const expected = Buffer.from(slackSignature(signingSecret, timestamp, rawBody));
  const given = Buffer.from(signature);
  // timingSafeEqual needs equal lengths; the length of a well-formed signature is public anyway.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new SlackRequestRejectedError('bad-signature', 'X-Slack-Signature does not match the body');
}

/**
 * Remembers the signatures accepted within the timestamp window (older ones are refused by the
 * window itself), so a captured request cannot be sent again. Per process: with several
 * workers behind a balancer a replay could reach another one, where the workflow still
 * ignores a repeated answer (one per approver, first decision wins).
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = 100_000) {}

  /** Records the signature; throws if it was seen before. */
  check(signature: string, timestamp: string, nowSeconds: number): void {
    this.prune(nowSeconds);
    if (this.seen.has(signature)) throw new SlackRequestRejectedError('replayed', 'this request was already received');
    // Drop the oldest when full rather than grow without bound under a flood.
    if (this.seen.size >= this.maxEntries) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(signature, Number(timestamp) + SLACK_TIMESTAMP_WINDOW_S);
  }

  /** Entries arrive in about timestamp order: drop from the oldest until one is still inside the window. */
  private prune(nowSeconds: number): void {
    for (const [sig, until] of this.seen) {
      if (until >= nowSeconds) break;
      this.seen.delete(sig);
    }
  }
}
