/**
 * What a pattern's matches must contain, read from the pattern itself: the few literal strings
 * of three (or two) bytes that every match begins with (`ghp`, `gho`, … for `gh[pousr]_…`), or,
 * when a match can begin with any byte, a literal every match holds further in (`Q~` in the
 * Azure client secret, `T3BlbkFJ`-like infixes). The token screen (tokens.ts) runs a pattern
 * only on tokens holding one of them. A small parser of the JavaScript pattern syntax the rule
 * sets use: alternatives, groups, classes, escapes, quantifiers and zero-width assertions.
 */
import { CLASS, TOKEN } from './bytes.js';

type Node =
  | { t: 'lit'; c: string }
  | { t: 'set'; chars: string[] }
  /** Any of many bytes; `token` when they are all token bytes (\w, \d, a large class of them). */
  | { t: 'any'; token: boolean }
  | { t: 'assert' }
  | { t: 'group'; alts: Node[][] }
  | { t: 'rep'; node: Node; min: number; max: number };

/** Classes larger than this are treated as "any byte" for the starts. */
const MAX_SET = 16;
const isTokenChar = (c: string) => c.length === 1 && (CLASS[c.charCodeAt(0)]! & TOKEN) !== 0;

class Parser {
  i = 0;
  constructor(readonly src: string) {}

  alts(): Node[][] {
    const out: Node[][] = [[]];
    while (this.i < this.src.length && this.src[this.i] !== ')') {
      if (this.src[this.i] === '|') {
        this.i++;
        out.push([]);
      } else out[out.length - 1]!.push(this.quantified(this.atom()));
    }
    return out;
  }

  private atom(): Node {
    const c = this.src[this.i++]!;
    if (c === '(') return this.group();
    if (c === '[') return this.set();
    if (c === '\\') return this.escape(false) as Node;
    if (c === '.') return { t: 'any', token: false };
    if (c === '^' || c === '$') return { t: 'assert' };
    return { t: 'lit', c };
  }

  private group(): Node {
    let look = false;
    if (this.src.startsWith('?:', this.i)) this.i += 2;
    else if (/^\?<?[=!]/.test(this.src.slice(this.i, this.i + 3))) {
      look = true;
      this.i += this.src[this.i + 1] === '<' ? 3 : 2;
    } else if (this.src.startsWith('?<', this.i)) this.i = this.src.indexOf('>', this.i) + 1;
    const alts = this.alts();
    this.i++; // ')'
    return look ? { t: 'assert' } : { t: 'group', alts };
  }

  /** After a backslash: a literal, a class, or an assertion. In a class (`inSet`) a string of its bytes. */
  private escape(inSet: boolean): Node | string[] {
    const c = this.src[this.i++]!;
    const named: Record<string, string> = { n: '\n', r: '\r', t: '\t', f: '\f', v: '\v', '0': '\0' };
    if (c in named) return inSet ? [named[c]!] : { t: 'lit', c: named[c]! };
    if (c === 'x' || c === 'u') {
      const len = c === 'x' ? 2 : 4;
      const ch = String.fromCharCode(parseInt(this.src.slice(this.i, this.i + len), 16));
      this.i += len;
      return inSet ? [ch] : { t: 'lit', c: ch };
    }
    if (c === 'p' || c === 'P') {
      this.i = this.src.indexOf('}', this.i) + 1;
      return inSet ? ['\u0080'] : { t: 'any', token: false };
    }
    if ('dwDWsS'.includes(c)) {
      if (inSet) return c === 'd' ? [...'0123456789'] : c === 'w' ? [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'] : [' ', '\u0080'];
      return { t: 'any', token: c === 'd' || c === 'w' };
    }
    if (!inSet && (c === 'b' || c === 'B')) return { t: 'assert' };
    return inSet ? [c] : { t: 'lit', c };
  }

  private set(): Node {
    const negated = this.src[this.i] === '^';
    if (negated) this.i++;
    const chars: string[] = [];
    let first = true;
    while (this.i < this.src.length && (this.src[this.i] !== ']' || first)) {
      first = false;
      let from: string[];
      const c = this.src[this.i++]!;
      from = c === '\\' ? (this.escape(true) as string[]) : [c];
      if (from.length === 1 && this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length) {
        this.i++;
        const d = this.src[this.i++]!;
        const to = d === '\\' ? (this.escape(true) as string[])[0]! : d;
        from = [];
        for (let k = c.charCodeAt(0); k <= to.charCodeAt(0); k++) from.push(String.fromCharCode(k));
      }
      chars.push(...from);
    }
    this.i++; // ']'
    const uniq = [...new Set(chars)];
    if (negated) return { t: 'any', token: false };
    return uniq.length > MAX_SET ? { t: 'any', token: uniq.every(isTokenChar) } : { t: 'set', chars: uniq };
  }

  private quantified(node: Node): Node {
    const q = this.src[this.i];
    let min: number;
    let max: number;
    if (q === '*' || q === '+' || q === '?') {
      this.i++;
      [min, max] = q === '*' ? [0, Infinity] : q === '+' ? [1, Infinity] : [0, 1];
    } else if (q === '{' && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.i))) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i))!;
      this.i += m[0].length;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    } else return node;
    if (this.src[this.i] === '?') this.i++; // lazy
    return { t: 'rep', node, min, max };
  }
}

/** Gives up on patterns whose starts would be too many to be a useful screen. */
const MAX_STARTS = 64;

/** The strings of up to n bytes every match of `items` begins with; false when there are too many. */
function prefixes(items: Node[], n: number, ci: boolean): Set<string> | false {
  const out = new Set<string>();
  let budget = 50_000;
  const walk = (rest: Node[], prefix: string): boolean => {
    if (--budget < 0 || out.size > MAX_STARTS) return false;
    if (prefix.length >= n || rest.length === 0) return (out.add(prefix.slice(0, n)), true);
    const [node, ...tail] = rest as [Node, ...Node[]];
    switch (node.t) {
      case 'assert':
        return walk(tail, prefix);
      case 'any':
        return (out.add(prefix), true);
      case 'lit': {
        const cases = ci && node.c.toLowerCase() !== node.c.toUpperCase() ? [node.c.toLowerCase(), node.c.toUpperCase()] : [node.c];
        return cases.every((c) => walk(tail, prefix + c));
      }
      case 'set':
        return node.chars.every((c) => walk(tail, prefix + c));
      case 'group':
        return node.alts.every((alt) => walk([...alt, ...tail], prefix));
      case 'rep': {
        const most = Math.min(node.max, node.min + n);
        for (let k = node.min; k <= most; k++) if (!walk([...Array<Node>(k).fill(node.node), ...tail], prefix)) return false;
        return true;
      }
    }
  };
  return walk(items, '') && out.size <= MAX_STARTS ? out : false;
}

/** A literal of 2+ bytes (or a group of such alternatives) that every match of the sequence holds, as its 3-byte heads. */
function infix(items: Node[], ci: boolean): string[] | undefined {
  for (let k = 0; k < items.length; k++) {
    const node = items[k]!;
    if (node.t !== 'lit' && node.t !== 'group') continue;
    const p = prefixes(items.slice(k), 3, ci);
    if (p && [...p].every((s) => s.length >= 2)) return [...p];
  }
  return undefined;
}

export interface RuleShape {
  /** Literal strings of 2–3 bytes, one of which every match holds. */
  starts: string[];
  /** Whether every byte a match can hold is a token byte (A-Z a-z 0-9 + / = _ - . ~). */
  token: boolean;
}

/** Whether a match of these nodes can only hold token bytes. */
function tokenOnly(alts: Node[][]): boolean {
  const ok = (node: Node): boolean => {
    switch (node.t) {
      case 'lit':
        return isTokenChar(node.c);
      case 'set':
        return node.chars.every(isTokenChar);
      case 'any':
        return node.token;
      case 'assert':
        return true;
      case 'group':
        return tokenOnly(node.alts);
      case 'rep':
        return ok(node.node);
    }
  };
  return alts.every((alt) => alt.every(ok));
}

/** The starts and shape of a pattern, or undefined when no literal screens it. */
export function ruleShape(re: RegExp): RuleShape | undefined {
  const p = new Parser(re.source);
  const alts = p.alts();
  const ci = re.flags.includes('i');
  const starts = startsOf(alts, ci);
  return starts ? { starts, token: tokenOnly(alts) } : undefined;
}

/** For each alternative its prefixes, else a literal further in; an alternative that is one group, per alternative of it. */
function startsOf(alts: Node[][], ci: boolean): string[] | undefined {
  const starts = new Set<string>();
  for (const alt of alts) {
    const pre = prefixes(alt, 3, ci);
    let found = pre && [...pre].every((s) => s.length >= 2) ? [...pre] : infix(alt, ci);
    const inner = alt.filter((n) => n.t !== 'assert');
    if (!found && inner.length === 1 && inner[0]!.t === 'group') found = startsOf(inner[0]!.alts, ci);
    if (!found) return undefined;
    for (const s of found) starts.add(s);
  }
  return [...starts];
}
