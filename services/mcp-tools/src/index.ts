/**
 * @module @chaperone/mcp-tools
 * MCP tool integrity (issue #15): the definition of a tool that is pinned and its hash, the
 * registry of pinned definitions that every gateway node and the API share over a compacted
 * Kafka topic, and the heuristic scan of tool descriptions for instructions aimed at the model.
 */
export { canonicalJson, definitionSha256, diffDefinitions, toolDefinition, type DefinitionChange, type ToolDefinition } from './lib/definition.js';
export { scanTool, type ScanFinding, type ScanResult, type ScanRule } from './lib/scan.js';
export { parseRecord, recordKey, ToolRegistry, type AcceptedRecord, type ObservedRecord, type ToolRecord, type ToolView } from './lib/registry.js';
export { McpToolError } from './lib/errors.js';
export { KafkaToolStore, type KafkaToolStoreOptions } from './lib/kafka.js';
