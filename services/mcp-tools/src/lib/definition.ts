import { createHash } from 'node:crypto';

/**
 * What of an MCP tool is pinned: the parts the model reads and the client validates against
 * (https://modelcontextprotocol.io/specification/2025-06-18/server/tools#tool): description,
 * title, input and output schema, annotations. A change to any of them is a change of the tool.
 */
export interface ToolDefinition {
  name: string;
  title: string | null;
  description: string | null;
  inputSchema: unknown;
  outputSchema: unknown;
  annotations: unknown;
}

/** Objects nested deeper than this in a tool listing are cut off in the canonical form. */
const MAX_DEPTH = 64;

/** Canonical JSON: object keys sorted at every level, no insignificant space. */
export function canonicalJson(v: unknown, depth = 0): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (depth >= MAX_DEPTH) return '"…"';
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x, depth + 1)).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k], depth + 1)}`).join(',')}}`;
}

/** The pinned view of one entry of a tools/list answer; undefined when it has no string name. */
export function toolDefinition(tool: unknown): ToolDefinition | undefined {
  if (tool === null || typeof tool !== 'object') return undefined;
  const t = tool as Record<string, unknown>;
  if (typeof t.name !== 'string') return undefined;
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return { name: t.name, title: str(t.title), description: str(t.description), inputSchema: t.inputSchema ?? null, outputSchema: t.outputSchema ?? null, annotations: t.annotations ?? null };
}

/** SHA-256 of the canonical JSON of a definition: what a pin and an acceptance are bound to. */
export function definitionSha256(d: ToolDefinition): string {
  return createHash('sha256').update(canonicalJson(d), 'utf8').digest('hex');
}

/** One changed part of a definition, for `chaperone mcp tools diff` and the recording. */
export interface DefinitionChange {
  field: 'title' | 'description' | 'inputSchema' | 'outputSchema' | 'annotations';
  before: unknown;
  after: unknown;
}

const FIELDS: DefinitionChange['field'][] = ['title', 'description', 'inputSchema', 'outputSchema', 'annotations'];

/** The fields whose canonical JSON differs between two definitions of a tool. */
export function diffDefinitions(before: ToolDefinition, after: ToolDefinition): DefinitionChange[] {
  return FIELDS.filter((f) => canonicalJson(before[f]) !== canonicalJson(after[f])).map((field) => ({ field, before: before[field], after: after[field] }));
}
