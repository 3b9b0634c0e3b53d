import type { Match } from './types.js';

/** Which detectors run, resolved once per Masker so that a scan does no set look-ups. */
export interface DetectorConfig {
  readonly enabled: ReadonlySet<string>;
  readonly tokenRules: readonly { id: string; re: RegExp; group?: number }[];
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
}

/*
 * The callbacks below are module-level functions taking the Scan, not closures: a scan runs
 * per DataRow, and allocating closures per row showed up in profiles.
 */

/**
 * Yields every occurrence of `byte` in [from, to). Buffer#indexOf is memchr underneath, so
 * finding rare anchor bytes ('@', '-', ':') costs far less than a regex over the whole text.
 */
export function forEachByte(s: Scan, byte: number, fn: (s: Scan, pos: number) => number | void): void {
  let i = s.from;
  while (i < s.to) {
    const at = s.buf.indexOf(byte, i);
    if (at === -1 || at >= s.to) return;
    const next = fn(s, at);
    i = typeof next === 'number' && next > at ? next : at + 1;
  }
}

/**
 * Finds every maximal run of bytes whose CLASS has `bits`, at least `minLen` long, and calls
 * fn(start, end). Probes every minLen-th byte only: a run
 * that long must cover a probe, so text without such runs (prose, short JSON values) is
 * skipped minLen bytes at a time.
 */
export function forEachRun(s: Scan, cls: Uint8Array, bits: number, minLen: number, fn: (s: Scan, start: number, end: number) => void): void {
  const { buf, from, to } = s;
  let i = from + minLen - 1;
  while (i < to) {
    // Walk back from the probe to the nearest byte outside the class; a run of minLen cannot
    // start before it, so the next probe goes minLen bytes past it.
    const floor = Math.max(from, i - minLen + 1);
    let j = i;
    while (j >= floor && (cls[buf[j]!]! & bits) !== 0) j--;
    if (j >= floor) {
      i = j + minLen;
      continue;
    }
    let start = floor;
    while (start > from && (cls[buf[start - 1]!]! & bits) !== 0) start--;
    let end = i + 1;
    while (end < to && (cls[buf[end]!]! & bits) !== 0) end++;
    fn(s, start, end);
    i = end + minLen;
  }
}
