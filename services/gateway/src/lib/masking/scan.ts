import type { Match } from './types.js';

/** Which detectors run, resolved once per Masker so that a scan does no set look-ups. */
export interface DetectorConfig {
  readonly enabled: ReadonlySet<string>;
  /** 1 for each enabled token rule, by its index in TOKEN_RULES. */
  readonly tokenRules: Uint8Array;
  readonly anyTokenRule: boolean;
  readonly nationalId: boolean;
  readonly awsSecret: boolean;
  readonly privateKey: boolean;
  readonly email: boolean;
  readonly urlPassword: boolean;
  readonly assignment: boolean;
  readonly card: boolean;
  readonly iban: boolean;
  readonly phone: boolean;
}

/** One detection pass over buf[from, to): detectors push matches into `out`. */
export interface Scan {
  readonly buf: Buffer;
  readonly from: number;
  readonly to: number;
  readonly out: Match[];
  readonly cfg: DetectorConfig;
  /**
   * Matches starting here or later may be left out (see Masker.find): each pass stops looking
   * where no match it could still find starts before this. `to` when all are wanted.
   */
  readonly until: number;
}

/*
 * The callbacks below are module-level functions taking the Scan, not closures: a scan runs
 * per DataRow, and allocating closures per row showed up in profiles.
 */

/**
 * Yields every occurrence of `byte` in [from, to), before `limit`. Buffer#indexOf is memchr
 * underneath, so finding rare anchor bytes ('@', '-', ':') costs far less than a regex.
 */
export function forEachByte(s: Scan, byte: number, fn: (s: Scan, pos: number) => number | void, limit = s.to): void {
  const end = Math.min(s.to, limit);
  let i = s.from;
  while (i < end) {
    const at = s.buf.indexOf(byte, i);
    if (at === -1 || at >= end) return;
    const next = fn(s, at);
    i = typeof next === 'number' && next > at ? next : at + 1;
  }
}

/** FIRST_OUT[m]: bit k of m set when the byte k before the probe is in the class; the least k whose bit is clear (8: none). */
const FIRST_OUT = new Uint8Array(256);
for (let m = 0; m < 256; m++) {
  let k = 0;
  while (k < 8 && ((m >> k) & 1) === 1) k++;
  FIRST_OUT[m] = k;
}

/**
 * Finds every maximal run of bytes of a class (`cls[b]` is 1 for its bytes, else 0), at least
 * `minLen` (≥ 8) long, within [from, to), and calls fn(start, end) in order. Probes every
 * minLen-th byte only: a run that long must cover a probe, so text without such runs (prose,
 * short JSON values) is skipped minLen bytes at a time. At each probe the 8 bytes ending there
 * are looked up at once, without a branch: the nearest byte outside the class among them says
 * where the next probe goes. Only when all 8 are in the class (inside a long word or token)
 * does a byte-by-byte walk decide. For classes most text is made of (letters): see
 * forEachSparseRun for the others.
 */
export function forEachRun(s: Scan, cls: Uint8Array, minLen: number, fn: (s: Scan, start: number, end: number) => void, limit = s.until): void {
  if (minLen < 8) throw new RangeError(`forEachRun looks 8 bytes back from a probe: minLen ${minLen} is too short`);
  const { buf, from, to } = s;
  // At a probe i every run not yet reported starts after i - minLen.
  const last = Math.min(to, limit + minLen - 1);
  let i = from + minLen - 1;
  while (i < last) {
    const m = cls[buf[i]!]! | (cls[buf[i - 1]!]! << 1) | (cls[buf[i - 2]!]! << 2) | (cls[buf[i - 3]!]! << 3) | (cls[buf[i - 4]!]! << 4) | (cls[buf[i - 5]!]! << 5) | (cls[buf[i - 6]!]! << 6) | (cls[buf[i - 7]!]! << 7);
    const k = FIRST_OUT[m]!;
    i = k < 8 ? i - k + minLen : runAt(s, cls, minLen, i, 8, fn);
  }
}

/**
 * forEachRun for classes most text is not made of (digits and their separators): the probe and
 * the byte before it decide most probes without a branch, since the class's bytes seldom come
 * in pairs outside the runs looked for; when they do, the 8 bytes ending at the probe.
 */
export function forEachSparseRun(s: Scan, cls: Uint8Array, minLen: number, fn: (s: Scan, start: number, end: number) => void, limit = s.until): void {
  if (minLen < 8) throw new RangeError(`forEachSparseRun looks 8 bytes back from a probe: minLen ${minLen} is too short`);
  const { buf, from, to } = s;
  const last = Math.min(to, limit + minLen - 1);
  let i = from + minLen - 1;
  while (i < last) {
    const c0 = cls[buf[i]!]!;
    if ((c0 & cls[buf[i - 1]!]!) === 0) {
      i += minLen - c0;
      continue;
    }
    const m = c0 | 2 | (cls[buf[i - 2]!]! << 2) | (cls[buf[i - 3]!]! << 3) | (cls[buf[i - 4]!]! << 4) | (cls[buf[i - 5]!]! << 5) | (cls[buf[i - 6]!]! << 6) | (cls[buf[i - 7]!]! << 7);
    const k = FIRST_OUT[m]!;
    i = k < 8 ? i - k + minLen : runAt(s, cls, minLen, i, 8, fn);
  }
}

/**
 * The probe at i and the `seen` bytes before it are in the class: walks back to the nearest byte
 * outside it (no run of minLen covers i then, the next probe goes minLen past that byte), or
 * finds the run covering i and calls fn. Returns where the next probe goes.
 */
function runAt(s: Scan, cls: Uint8Array, minLen: number, i: number, seen: number, fn: (s: Scan, start: number, end: number) => void): number {
  const { buf, from, to } = s;
  const floor = Math.max(from, i - minLen + 1);
  let j = i - seen;
  while (j >= floor && cls[buf[j]!] === 1) j--;
  if (j >= floor) return j + minLen;
  let start = floor;
  while (start > from && cls[buf[start - 1]!] === 1) start--;
  let end = i + 1;
  while (end < to && cls[buf[end]!] === 1) end++;
  fn(s, start, end);
  return end + minLen;
}
