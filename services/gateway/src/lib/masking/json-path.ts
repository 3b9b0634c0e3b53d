/**
 * JSON path rules over raw JSON bytes. The document is walked without building it, and only
 * the matched values' bytes are replaced, so everything else (formatting, key order, numbers
 * beyond 2^53) reaches the agent exactly as the upstream sent it.
 *
 * Paths: `$` root, `.name` / `['name']`, `[3]`, `[*]` / `.*`, and `..name` (at any depth),
 * a subset of RFC 9535 JSONPath.
 */
import { MaskRulesError } from './errors.js';

export type Step = { descend: boolean } & ({ kind: 'key'; name: string } | { kind: 'index'; n: number } | { kind: 'any' });

export interface JsonPath {
  source: string;
  steps: Step[];
}

const STEP = /^(\.\.?)(\*|[A-Za-z_$][\w$-]*)|^(\.\.)?\[(?:\*|(\d+)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/;

export function compileJsonPath(source: string): JsonPath {
  if (!source.startsWith('$')) throw new MaskRulesError(`JSON path ${JSON.stringify(source)} must start with $`);
  const steps: Step[] = [];
  let rest = source.slice(1);
  while (rest.length > 0) {
    const m = STEP.exec(rest);
    if (!m) throw new MaskRulesError(`JSON path ${JSON.stringify(source)}: cannot read ${JSON.stringify(rest)} (supported: .name, ['name'], [n], [*], .*, ..name)`);
    rest = rest.slice(m[0].length);
    if (m[1] !== undefined) {
      const descend = m[1] === '..';
      steps.push(m[2] === '*' ? { descend, kind: 'any' } : { descend, kind: 'key', name: m[2]! });
    } else {
      const descend = m[3] !== undefined;
      if (m[4] !== undefined) steps.push({ descend, kind: 'index', n: Number(m[4]) });
      else if (m[5] !== undefined || m[6] !== undefined) steps.push({ descend, kind: 'key', name: (m[5] ?? m[6]!).replace(/\\(.)/g, '$1') });
      else steps.push({ descend, kind: 'any' });
    }
  }
  if (steps.length === 0) throw new MaskRulesError(`JSON path ${JSON.stringify(source)} names the whole document; mask a member instead`);
  return { source, steps };
}

export const compileJsonPaths = (paths: readonly string[]): JsonPath[] => paths.map(compileJsonPath);

/** A member name or an array index; null: a member name not kept (too long to equal any rule's name). */
export type PathKey = string | number | null;
type Key = PathKey;

const stepMatches = (s: Step, k: Key): boolean => (s.kind === 'any' ? true : k !== null && (s.kind === 'key' ? s.name === k : s.n === k));

/** Whether a value at `path` (keys and indexes from the root) is selected by these steps. */
export const pathMatches = (steps: readonly Step[], path: readonly PathKey[]): boolean => matches(steps, 0, path, 0);

/**
 * The rules as one automaton over keys, for streams: a state set says, for every rule, how many
 * of its steps the path so far has matched (a `..` step may also stay put). Stepping a set by
 * the next key costs O(rules), whatever the depth; an empty set means nothing below can match.
 * Sets live in caller-owned Int32Arrays of `width` entries, so stepping allocates nothing.
 */
export class PathAutomaton {
  private readonly stride: number;
  /** Most states a set can hold. */
  readonly width: number;
  /** A rule matched the value of the last `step`. */
  final = false;
  /** The names key steps compare with, by UTF-8 length, with their bytes. */
  private readonly names: { bytes: Buffer; name: string }[][] = [];

  constructor(private readonly rules: readonly JsonPath[]) {
    this.stride = Math.max(1, ...rules.map((r) => r.steps.length)) + 1;
    this.width = rules.length * this.stride;
    for (const r of rules)
      for (const s of r.steps) {
        if (s.kind !== 'key') continue;
        const bytes = Buffer.from(s.name);
        const same = (this.names[bytes.length] ??= []);
        if (!same.some((x) => x.name === s.name)) same.push({ bytes, name: s.name });
      }
  }

  /** The set of the document root; returns its size. */
  root(into: Int32Array): number {
    for (let r = 0; r < this.rules.length; r++) into[r] = r * this.stride;
    return this.rules.length;
  }

  /**
   * A member name as the rules see it, from its raw (unescaped) bytes: the rule's own string when
   * one names it, else null (any other name: only wildcards match it). Nothing is decoded.
   */
  nameFor(buf: Buffer, start: number, end: number): string | null {
    const same = this.names[end - start];
    if (!same) return null;
    // Names are short: a byte loop beats Buffer.compare's call overhead.
    next: for (const x of same) {
      for (let k = 0; k < x.bytes.length; k++) if (buf[start + k] !== x.bytes[k]) continue next;
      return x.name;
    }
    return null;
  }

  /** Fills `into` with the set after `key` from `from[0, n)`; returns its size and sets `final`. */
  step(from: Int32Array, n: number, key: PathKey, into: Int32Array): number {
    let m = 0;
    this.final = false;
    for (let k = 0; k < n; k++) {
      const st = from[k]!;
      const r = (st / this.stride) | 0;
      const si = st - r * this.stride;
      const steps = this.rules[r]!.steps;
      const s = steps[si]!;
      if (s.descend) m = addState(into, m, st);
      if (stepMatches(s, key)) {
        if (si + 1 === steps.length) this.final = true;
        else m = addState(into, m, st + 1);
      }
    }
    return m;
  }
}

function addState(into: Int32Array, m: number, st: number): number {
  for (let j = 0; j < m; j++) if (into[j] === st) return m;
  into[m] = st;
  return m + 1;
}

function matches(steps: readonly Step[], si: number, path: readonly Key[], pi: number): boolean {
  if (si === steps.length) return pi === path.length;
  const s = steps[si]!;
  if (!s.descend) return pi < path.length && stepMatches(s, path[pi]!) && matches(steps, si + 1, path, pi + 1);
  for (let k = pi; k < path.length; k++) if (stepMatches(s, path[k]!) && matches(steps, si + 1, path, k + 1)) return true;
  return false;
}

export function formatPath(path: readonly Key[]): string {
  return `$${path.map((k) => (k === null ? '[?]' : typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$-]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)).join('')}`;
}

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
}

const MAX_DEPTH = 256;
const WS = new Uint8Array(256);
for (const c of ' \t\r\n') WS[c.charCodeAt(0)] = 1;
const DELIM = new Uint8Array(256);
for (const c of ' \t\r\n,]}') DELIM[c.charCodeAt(0)] = 1;

/** Spans of the values whose paths match, in document order (a matched value is not entered). */
export function findJsonPaths(buf: Buffer, paths: readonly JsonPath[]): { start: number; end: number; path: string }[] {
  const found: { start: number; end: number; path: string }[] = [];
  const path: Key[] = [];
  let i = 0;
  const ws = () => {
    while (i < buf.length && WS[buf[i]!] === 1) i++;
  };
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at byte ${i}`);
  };
  const stringEnd = (start: number): number => {
    let q = start + 1;
    for (;;) {
      q = buf.indexOf(0x22, q);
      if (q === -1) return fail('unterminated string');
      let bs = 0;
      while (buf[q - 1 - bs] === 0x5c) bs++;
      if (bs % 2 === 0) return q + 1;
      q++;
    }
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    ws();
    const start = i;
    if (path.length > 0 && paths.some((p) => matches(p.steps, 0, path, 0))) {
      skip();
      found.push({ start, end: i, path: formatPath(path) });
      return;
    }
    const c = buf[i];
    if (c === 0x7b) {
      i++;
      ws();
      if (buf[i] === 0x7d) return void i++;
      for (;;) {
        ws();
        if (buf[i] !== 0x22) fail('expected a member name');
        const ke = stringEnd(i);
        const raw = buf.subarray(i + 1, ke - 1);
        const key = raw.includes(0x5c) ? (JSON.parse(buf.toString('utf8', i, ke)) as string) : raw.toString('utf8');
        i = ke;
        ws();
        if (buf[i] !== 0x3a) fail("expected ':'");
        i++;
        path.push(key);
        value(depth + 1);
        path.pop();
        ws();
        if (buf[i] === 0x2c) i++;
        else if (buf[i] === 0x7d) return void i++;
        else fail("expected ',' or '}'");
      }
    } else if (c === 0x5b) {
      i++;
      ws();
      if (buf[i] === 0x5d) return void i++;
      for (let n = 0; ; n++) {
        path.push(n);
        value(depth + 1);
        path.pop();
        ws();
        if (buf[i] === 0x2c) i++;
        else if (buf[i] === 0x5d) return void i++;
        else fail("expected ',' or ']'");
      }
    } else skip();
  };
  /** Moves past one value without looking at paths. */
  const skip = (): void => {
    const c = buf[i];
    if (c === 0x22) i = stringEnd(i);
    else if (c === 0x7b || c === 0x5b) {
      let level = 0;
      while (i < buf.length) {
        const b = buf[i]!;
        if (b === 0x22) {
          i = stringEnd(i);
          continue;
        }
        if (b === 0x7b || b === 0x5b) level++;
        else if (b === 0x7d || b === 0x5d) {
          level--;
          if (level === 0) return void i++;
        }
        i++;
      }
      fail('unterminated container');
    } else {
      const s = i;
      while (i < buf.length && DELIM[buf[i]!] !== 1) i++;
      if (i === s) fail('expected a value');
    }
  };
  value(0);
  ws();
  if (i !== buf.length) fail('trailing data');
  return found;
}
