import { definitionSha256, diffDefinitions, type DefinitionChange, type ToolDefinition } from './definition.js';
import { scanTool, type ScanResult } from './scan.js';

/**
 * The records of the tool registry topic (compacted: the latest record per key is kept for
 * good). A definition seen by any node is one `observed` record per (server, tool, definition);
 * an admin's acceptance is one `accepted` record per (server, tool). Every node folds the same
 * records into the same state, whatever order they arrive in (see ToolRegistry).
 */
export type ToolRecord = ObservedRecord | AcceptedRecord;

export interface ObservedRecord {
  kind: 'observed';
  server: string;
  tool: string;
  sha256: string;
  definition: ToolDefinition;
  /** When any node first saw this definition (kept when it is seen again). */
  firstSeenMicros: number;
  /** When a node last saw the server switch to this definition. */
  seenMicros: number;
  node: string;
  sessionId: string;
}

export interface AcceptedRecord {
  kind: 'accepted';
  server: string;
  tool: string;
  sha256: string;
  by: string;
  reason: string;
  atMicros: number;
}

/** The compaction key of a record. */
export function recordKey(r: ToolRecord): string {
  return JSON.stringify(r.kind === 'observed' ? ['observed', r.server, r.tool, r.sha256] : ['accepted', r.server, r.tool]);
}

/** Where one tool of one server stands. */
export interface ToolView {
  server: string;
  tool: string;
  /** `changed`: the server now describes the tool otherwise than pinned; blocked by the default policy until accepted. */
  status: 'pinned' | 'changed';
  pinned: { sha256: string; definition: ToolDefinition; firstSeenMicros: number; acceptedBy: string | null; acceptedMicros: number | null };
  current: { sha256: string; definition: ToolDefinition; seenMicros: number };
  /** Pinned → current, field by field (empty unless changed). */
  changes: DefinitionChange[];
  /** The injection scan of the current definition. */
  scan: ScanResult;
}

interface ToolState {
  observed: Map<string, ObservedRecord>;
  accepted: AcceptedRecord | undefined;
  view: ToolView | undefined;
}

const nowMicros = (): number => Date.now() * 1000;

/**
 * Pinned definitions, folded from the registry records. The pin is the accepted definition, else
 * the one first seen (earliest firstSeenMicros, then the smaller hash: every node picks the same
 * one even when two saw different definitions at once). The current definition is the one seen
 * last. Both are derived, never overwritten, so a late or duplicated record cannot move a pin.
 */
export class ToolRegistry {
  private readonly tools = new Map<string, ToolState>();

  private state(server: string, tool: string): ToolState {
    const k = JSON.stringify([server, tool]);
    let s = this.tools.get(k);
    if (!s) this.tools.set(k, (s = { observed: new Map(), accepted: undefined, view: undefined }));
    return s;
  }

  apply(r: ToolRecord): void {
    const s = this.state(r.server, r.tool);
    if (r.kind === 'accepted') {
      if (!s.accepted || r.atMicros >= s.accepted.atMicros) s.accepted = r;
    } else {
      const had = s.observed.get(r.sha256);
      s.observed.set(r.sha256, had ? { ...r, firstSeenMicros: Math.min(had.firstSeenMicros, r.firstSeenMicros), seenMicros: Math.max(had.seenMicros, r.seenMicros) } : r);
    }
    s.view = undefined;
  }

  /**
   * A tombstone on the topic (a record key with no value) removes that record: what
   * KafkaToolStore.forget publishes for every record of a tool, so compaction drops the tool.
   */
  applyTombstone(key: string): void {
    let k: unknown;
    try {
      k = JSON.parse(key);
    } catch {
      return;
    }
    if (!Array.isArray(k) || typeof k[1] !== 'string' || typeof k[2] !== 'string') return;
    const id = JSON.stringify([k[1], k[2]]);
    const s = this.tools.get(id);
    if (!s) return;
    if (k[0] === 'observed' && typeof k[3] === 'string') s.observed.delete(k[3]);
    if (k[0] === 'accepted') s.accepted = undefined;
    s.view = undefined;
    if (s.observed.size === 0 && !s.accepted) this.tools.delete(id);
  }

  /** The keys of every record this registry holds for a tool (to forget it). */
  recordKeys(server: string, tool: string): string[] {
    const s = this.tools.get(JSON.stringify([server, tool]));
    if (!s) return [];
    const keys = [...s.observed.values()].map((r) => recordKey(r));
    if (s.accepted) keys.push(recordKey(s.accepted));
    return keys;
  }

  view(server: string, tool: string): ToolView | undefined {
    const s = this.tools.get(JSON.stringify([server, tool]));
    if (!s || s.observed.size === 0) return undefined;
    return (s.view ??= buildView(server, tool, s));
  }

  list(server?: string): ToolView[] {
    const out: ToolView[] = [];
    for (const k of this.tools.keys()) {
      const [srv, tool] = JSON.parse(k) as [string, string];
      if (server !== undefined && srv !== server) continue;
      const v = this.view(srv, tool);
      if (v) out.push(v);
    }
    return out.sort((a, b) => a.server.localeCompare(b.server) || a.tool.localeCompare(b.tool));
  }

  /**
   * A tools/list answer showed `definition`: returns the record to publish when this node did
   * not know the server to describe the tool so (new, or switched), already applied here.
   */
  observe(server: string, definition: ToolDefinition, ctx: { node: string; sessionId: string; nowMicros?: number }): ObservedRecord | undefined {
    const sha256 = definitionSha256(definition);
    const v = this.view(server, definition.name);
    if (v?.current.sha256 === sha256) return undefined;
    const now = ctx.nowMicros ?? nowMicros();
    const had = this.state(server, definition.name).observed.get(sha256);
    const r: ObservedRecord = { kind: 'observed', server, tool: definition.name, sha256, definition, firstSeenMicros: had?.firstSeenMicros ?? now, seenMicros: Math.max(now, (v?.current.seenMicros ?? 0) + 1), node: ctx.node, sessionId: ctx.sessionId };
    this.apply(r);
    return r;
  }
}

function buildView(server: string, tool: string, s: ToolState): ToolView {
  const all = [...s.observed.values()];
  const first = all.reduce((a, b) => (b.firstSeenMicros < a.firstSeenMicros || (b.firstSeenMicros === a.firstSeenMicros && b.sha256 < a.sha256) ? b : a));
  const last = all.reduce((a, b) => (b.seenMicros > a.seenMicros || (b.seenMicros === a.seenMicros && b.sha256 > a.sha256) ? b : a));
  const acc = s.accepted ? s.observed.get(s.accepted.sha256) : undefined;
  const pin = acc ?? first;
  const changed = last.sha256 !== pin.sha256;
  return {
    server,
    tool,
    status: changed ? 'changed' : 'pinned',
    pinned: { sha256: pin.sha256, definition: pin.definition, firstSeenMicros: pin.firstSeenMicros, acceptedBy: acc ? s.accepted!.by : null, acceptedMicros: acc ? s.accepted!.atMicros : null },
    current: { sha256: last.sha256, definition: last.definition, seenMicros: last.seenMicros },
    changes: changed ? diffDefinitions(pin.definition, last.definition) : [],
    scan: scanTool(last.definition),
  };
}

/** Parses a record read from the topic; undefined for anything else. */
export function parseRecord(value: Buffer | null): ToolRecord | undefined {
  if (!value) return undefined;
  try {
    const r = JSON.parse(value.toString('utf8')) as ToolRecord;
    if ((r.kind === 'observed' || r.kind === 'accepted') && typeof r.server === 'string' && typeof r.tool === 'string' && typeof r.sha256 === 'string') return r;
  } catch {
    // not a registry record
  }
  return undefined;
}
