import { z } from 'zod';
import { configSchema } from './schema.js';

/** The generated reference beside this package's README; `npm run docs` rewrites it. */
export const REFERENCE_FILE = new URL('../../REFERENCE.md', import.meta.url);

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
};

interface Row {
  key: string;
  type: string;
  required: boolean;
  default?: unknown;
  notes: string[];
}

const variants = (s: JsonSchema): JsonSchema[] => s.anyOf ?? s.oneOf ?? [];
/** `{value}`, `{file}` or `{env}`: one row, "secret", rather than three. */
const isSecret = (s: JsonSchema): boolean => Object.keys(s.properties ?? {}).sort().join() === 'env,file,value';
const isObject = (s: JsonSchema): boolean =>
  s.type === 'object' && !isSecret(s) && (s.properties !== undefined || typeof s.additionalProperties === 'object');

function typeName(s: JsonSchema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (variants(s).length > 0) return [...new Set(variants(s).map(typeName))].join(' | ');
  if (s.type === 'array') {
    const item = s.items ? typeName(s.items) : 'any';
    return item.includes(' | ') ? `(${item})[]` : `${item}[]`;
  }
  if (isSecret(s)) return 'secret';
  if (s.type === 'object') return s.properties ? 'object' : 'map';
  if (Array.isArray(s.type)) return s.type.join(' | ');
  return s.type ?? 'any';
}

function notes(s: JsonSchema): string[] {
  const n: string[] = [];
  if (s.description) n.push(s.description);
  if (s.format) n.push(`format ${s.format}`);
  if (s.pattern) n.push(`matches \`${s.pattern}\``);
  if (s.minimum !== undefined) n.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) n.push(`≤ ${s.maximum}`);
  if (s.minLength) n.push(`at least ${s.minLength} character${s.minLength > 1 ? 's' : ''}`);
  if (s.minItems) n.push(`at least ${s.minItems} item${s.minItems > 1 ? 's' : ''}`);
  for (const v of variants(s)) if (!isObject(v)) n.push(...notes(v).filter((x) => !n.includes(x)));
  return n;
}

/** One row per key, depth first: `a.b`, `list[].c`, `map.<name>.d`, `union{type: x}.e`. */
function walk(s: JsonSchema, key: string, required: boolean, rows: Row[]): void {
  // An object's default is the defaults of its fields, listed on their rows.
  if (key) rows.push({ key, type: typeName(s), required: required && s.default === undefined, default: isObject(s) ? undefined : s.default, notes: notes(s) });
  if (s.properties && isObject(s)) {
    const req = new Set(s.required ?? []);
    for (const [k, v] of Object.entries(s.properties)) walk(v, key ? `${key}.${k}` : k, req.has(k), rows);
  }
  if (typeof s.additionalProperties === 'object' && isObject(s.additionalProperties)) walk(s.additionalProperties, `${key}.<name>`, true, rows);
  if (s.items && (isObject(s.items) || variants(s.items).some(isObject))) walk(s.items, `${key}[]`, true, rows);
  for (const v of variants(s)) {
    if (!isObject(v)) continue;
    // A discriminated union: each variant is named by its constant field.
    const tag = Object.entries(v.properties ?? {}).find(([, p]) => p.const !== undefined);
    walk(v, tag ? `${key}{${tag[0]}: ${String(tag[1].const)}}` : key, required, rows);
  }
}

const cell = (v: string): string => v.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The configuration reference, generated from the zod schema (what users write: zod's input side). */
export function configReference(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: Row[] = [];
  walk(schema, '', true, rows);
  const lines = [
    '# chaperone.yaml reference',
    '',
    '<!-- Generated from the zod schema (services/config/src/lib/schema.ts, identity.ts) by',
    '     `npm run docs` in services/config; src/lib/reference.test.ts fails when it is stale. Do not edit. -->',
    '',
    'Every key `chaperone.yaml` accepts, with its type, whether it is required and its default.',
    'Unknown keys are refused. Durations are written `500ms`, `30s`, `15m`, `2h`, `90d` (or a',
    'number of milliseconds); sizes `64KiB`, `16MiB` (or a number of bytes). Relative paths are',
    'relative to the file. A secret is exactly one of `{value: …}`, `{file: …}` or `{env: VAR}`.',
    'Keys written `list[]` are fields of each item of a list, `map.<name>` of each value of a map,',
    'and `key{type: x}` of the variant whose `type` is `x`. What each key does is commented beside',
    'it in the schema.',
    '',
    '| key | type | required | default | notes |',
    '|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const def = r.default === undefined ? '' : `\`${cell(JSON.stringify(r.default))}\``;
    lines.push(`| \`${r.key}\` | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${def} | ${cell(r.notes.join('; '))} |`);
  }
  return `${lines.join('\n')}\n`;
}
