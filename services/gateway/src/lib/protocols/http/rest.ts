import type { RequestTarget } from './target.js';
import { mediaType } from './headers.js';

/** What every HTTP-borne command carries for the record and the policy. */
export interface HttpCommand {
  protocol: 'http' | 'git' | 'oci' | 'k8s' | 'mcp';
  /** e.g. GET, git.push, oci.manifest.push, k8s.delete */
  action: string;
  targets: string[];
  /** The exact request line the decision is bound to: `METHOD /path?query`. */
  text: string;
  /** Protocol-specific parse (Command.detailsJson, and `command.<protocol>` in the policy input). */
  details: Record<string, unknown>;
}

const MAX_QUERY_PARAMS = 256;

/** Query parameters as a name → values map (repeated names keep every value, in order). */
export function parseQuery(query: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (query === '') return out;
  let n = 0;
  for (const [k, v] of new URLSearchParams(query)) {
    if (++n > MAX_QUERY_PARAMS) break;
    (out[k] ??= []).push(v);
  }
  return out;
}

/** Any REST API: method, path, query and content type (issue 4, "any other REST API"). */
export function restCommand(method: string, target: RequestTarget, contentType: string | undefined): HttpCommand {
  const text = `${method} ${target.path}${target.query ? `?${target.query}` : ''}`;
  return {
    protocol: 'http',
    action: method,
    targets: [target.path],
    text,
    details: { method, path: target.path, query: parseQuery(target.query), contentType: mediaType(contentType) },
  };
}
