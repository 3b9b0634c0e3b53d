import type { McpToolsBackend } from '@chaperone/api';
import type { Config } from '@chaperone/config';
import type { Logger } from '@chaperone/observability';
import { KafkaToolStore } from '@chaperone/mcp-tools';

/**
 * The MCP tool registry for `chaperone api`: the compacted Kafka topic the gateway nodes pin tool
 * definitions in. Started on first use and again after a failure, so the API starts, and serves
 * recordings, while Kafka is down.
 */
export function mcpToolsBackend(config: Config, log: Logger): McpToolsBackend & { close(): Promise<void> } {
  let store: Promise<KafkaToolStore> | undefined;
  const get = (): Promise<KafkaToolStore> => {
    store ??= (async () => {
      const s = new KafkaToolStore({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-api-${config.nodeId}`, topic: config.kafka.mcpToolsTopic, log });
      await s.start();
      return s;
    })().catch((err: unknown) => {
      store = undefined;
      throw err;
    });
    return store;
  };
  return {
    list: async (server) => (await get()).list(server),
    accept: async (server, tool, opts) => (await get()).accept(server, tool, opts),
    close: async () => {
      if (store) await (await store.catch(() => undefined))?.stop();
    },
  };
}
