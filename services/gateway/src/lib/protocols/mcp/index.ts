/** MCP (Model Context Protocol) over Streamable HTTP and HTTP+SSE: JSON-RPC messages, server event streams, the tools/list filter. */
export * from './jsonrpc.js';
export * from './sse.js';
export * from './stream.js';
export * from './tools-filter.js';
export * from './batch.js';
