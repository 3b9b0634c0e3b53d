import { status } from '@grpc/grpc-js';
import { CallRefused, type Caller } from './auth.js';
import { errorMessage } from '@chaperone/observability';

/**
 * The MCP tool registry as the API needs it (pinned tool definitions; issue #15). `chaperone api`
 * passes @chaperone/mcp-tools' KafkaToolStore in; its errors carry the gRPC status name in `code`.
 */
export interface McpToolsBackend {
  list(server?: string): Promise<unknown[]>;
  accept(server: string, tool: string, opts: { sha256?: string; by: string; reason: string }): Promise<unknown>;
}

const NO_BACKEND = 'the MCP tool registry is not served by this API (it was started without Kafka)';

function refused(err: unknown): Error {
  const code = (err as { code?: unknown })?.code;
  if (code === 'NOT_FOUND') return new CallRefused(status.NOT_FOUND, errorMessage(err));
  if (code === 'FAILED_PRECONDITION') return new CallRefused(status.FAILED_PRECONDITION, errorMessage(err));
  return err instanceof Error ? err : new Error(String(err));
}

/** ListMcpTools (soc, admin) and AcceptMcpTool (admin, recorded with the caller's subject). */
export function mcpToolCalls(backend: McpToolsBackend | undefined) {
  const need = (): McpToolsBackend => {
    if (!backend) throw new CallRefused(status.UNIMPLEMENTED, NO_BACKEND);
    return backend;
  };
  return {
    async list(r: { server: string; tool: string; changedOnly: boolean }) {
      const all = (await need().list(r.server || undefined)) as { tool: string; status: string }[];
      return { json: JSON.stringify(all.filter((v) => (!r.tool || v.tool === r.tool) && (!r.changedOnly || v.status === 'changed'))) };
    },
    async accept(r: { server: string; tool: string; sha256: string; reason: string }, caller: Caller | undefined) {
      if (!caller) throw new CallRefused(status.UNAUTHENTICATED, 'accepting a tool needs a token: the acceptance is recorded under its subject');
      if (!r.server || !r.tool) throw new CallRefused(status.INVALID_ARGUMENT, 'AcceptMcpTool needs a server and a tool');
      const view = await need()
        .accept(r.server, r.tool, { ...(r.sha256 ? { sha256: r.sha256 } : {}), by: caller.identity.subject, reason: r.reason })
        .catch((err: unknown) => Promise.reject(refused(err)));
      return { json: JSON.stringify([view]) };
    },
  };
}
