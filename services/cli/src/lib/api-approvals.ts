import type { ApprovalsBackend } from '@chaperone/api';
import { createApprovalsClient, type ApprovalsClient } from '@chaperone/approvals';
import type { Config } from '@chaperone/config';

/**
 * The approval workflows for `chaperone api`: the API is the only door people use to answer
 * approvals, and this is its Temporal client (the API service does not import the approvals
 * service itself). Connects on first use and again after a failure, so the API starts, and
 * serves recordings, while Temporal is down.
 */
export function approvalsBackend(temporal: Config['temporal']): ApprovalsBackend & { close(): Promise<void> } {
  let client: Promise<ApprovalsClient> | undefined;
  const get = (): Promise<ApprovalsClient> => {
    client ??= createApprovalsClient(temporal, { connectTimeoutMs: 5_000 }).catch((err: unknown) => {
      client = undefined;
      throw err;
    });
    return client;
  };
  return {
    list: async (o) => (await get()).list(o),
    resolveId: async (id) => (await get()).resolveId(id),
    status: async (id) => (await get()).status(id),
    approve: async (id, a) => (await get()).approve(id, a),
    deny: async (id, a) => (await get()).deny(id, a),
    close: async () => {
      if (client) await (await client.catch(() => undefined))?.close();
    },
  };
}
