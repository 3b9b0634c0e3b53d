/** MCP (Model Context Protocol) over Streamable HTTP: JSON-RPC messages and the tools/list filter. */
export * from './jsonrpc.js';
export * from './tools-filter.js';
