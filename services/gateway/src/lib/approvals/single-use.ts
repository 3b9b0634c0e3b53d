import type { HttpUpstream } from '@chaperone/config';

/**
 * Which held commands an approval releases exactly once, and which it releases again while it
 * is valid (`validUntil`, the policy's ttlMs from the decision). The choice is per connection kind:
 *
 *   - `mcp` — single use. A tool call is an action the agent may repeat at will (an agent loop
 *     retries freely), and the promise is "approved, then executed exactly once": the
 *     gateway claims the approval (TemporalApprovalWorkflows.consume) before it forwards the
 *     call, and an identical call after it is refused and asks for a new approval.
 *   - PostgreSQL statements and the other HTTP kinds (`rest`, `git`, `oci`, `k8s`) — reusable
 *     within `validUntil`, for the same identity, connection and exact command text: a statement
 *     retried after a dropped connection, or kubectl's WebSocket attempt of an `exec` followed by
 *     its SPDY fallback (one command, see upgradeCommandText), must not ask twice.
 */
export function singleUseApproval(kind: HttpUpstream['kind'] | 'postgres'): boolean {
  return kind === 'mcp';
}
