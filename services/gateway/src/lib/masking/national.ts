/**
 * National formats found among the runs of digits pii.ts probes for: identity numbers of major
 * countries (with their check digits where the format has one) and domestic phone numbers that
 * carry no '+'. A run is cut into digit groups joined by one separator each; a format is a shape
 * of group lengths plus its checks, so dates, times, amounts and versions are turned away by
 * their shape before any arithmetic.
 */
import { luhnValid } from './bytes.js';
import type { Scan } from './scan.js';

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;
const isLetter = (c: number | undefined) => c !== undefined && ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
const SEPARATORS = new Set([0x20, 0x2d, 0x2e, 0x2f]); // ' ' '-' '.' '/'

interface Group {
  start: number;
  end: number;
  /** The separator before this group (0 for the first). */
  sep: number;
}

const digitsOf = (buf: Buffer, groups: readonly Group[]): number[] => {
  const out: number[] = [];
  for (const g of groups) for (let i = g.start; i < g.end; i++) out.push(buf[i]! - 0x30);
  return out;
};

// --- check digits ---------------------------------------------------------------------------

const luhn = (d: number[]) => luhnValid(Buffer.from(d.join('')), 0, d.length);

/** Verhoeff (Aadhaar). */
const V_D = [[0,1,2,3,4,5,6,7,8,9],[1,2,3,4,0,6,7,8,9,5],[2,3,4,0,1,7,8,9,5,6],[3,4,0,1,2,8,9,5,6,7],[4,0,1,2,3,9,5,6,7,8],[5,9,8,7,6,0,4,3,2,1],[6,5,9,8,7,1,0,4,3,2],[7,6,5,9,8,2,1,0,4,3],[8,7,6,5,9,3,2,1,0,4],[9,8,7,6,5,4,3,2,1,0]]; // prettier-ignore
const V_P = [[0,1,2,3,4,5,6,7,8,9],[1,5,7,6,2,8,3,0,9,4],[5,8,0,3,7,9,6,1,4,2],[8,9,1,6,0,4,3,5,2,7],[9,4,5,3,1,2,6,8,7,0],[4,2,8,6,5,7,3,9,0,1],[2,7,9,3,8,0,6,4,1,5],[7,0,4,6,9,1,3,2,5,8]]; // prettier-ignore
export function verhoeffValid(d: number[]): boolean {
  let c = 0;
  for (let i = 0; i < d.length; i++) c = V_D[c]![V_P[i % 8]![d[d.length - 1 - i]!]!]!;
  return c === 0;
}

const weighted = (d: number[], w: number[]) => w.reduce((s, x, i) => s + x * d[i]!, 0);
const validDate = (month: number, day: number) => month >= 1 && month <= 12 && day >= 1 && day <= 31;

/** US Social Security number: area 001–899 but 666, group 01–99, serial 0001–9999. */
export const ssnValid = (d: number[]) => {
  const area = d[0]! * 100 + d[1]! * 10 + d[2]!;
  return area !== 0 && area !== 666 && area < 900 && d[3]! * 10 + d[4]! !== 0 && d.slice(5).some((x) => x !== 0);
};
/** Canadian Social Insurance Number: Luhn, not starting with 0 or 8. */
export const sinValid = (d: number[]) => d[0] !== 0 && d[0] !== 8 && luhn(d);
/** Brazilian CPF: two mod-11 check digits, not all one digit. */
export function cpfValid(d: number[]): boolean {
  if (d.every((x) => x === d[0])) return false;
  const c1 = ((weighted(d, [10, 9, 8, 7, 6, 5, 4, 3, 2]) * 10) % 11) % 10;
  const c2 = ((weighted(d, [11, 10, 9, 8, 7, 6, 5, 4, 3, 2]) * 10) % 11) % 10;
  return c1 === d[9] && c2 === d[10];
}
/** German tax id (Steuer-IdNr): ISO 7064 MOD 11,10; in the first ten one digit twice or thrice, the rest once or never. */
export function steuerIdValid(d: number[]): boolean {
  if (d[0] === 0) return false;
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 10; i++) counts[d[i]!]!++;
  const repeated = counts.filter((c) => c > 1);
  if (repeated.length !== 1 || repeated[0]! > 3) return false;
  let product = 10;
  for (let i = 0; i < 10; i++) {
    let sum = (d[i]! + product) % 10;
    if (sum === 0) sum = 10;
    product = (sum * 2) % 11;
  }
  return (11 - product) % 10 === d[10];
}
/** Polish PESEL: weighted check digit, a birth date with the century in the month. */
export function peselValid(d: number[]): boolean {
  const month = (d[2]! * 10 + d[3]!) % 20;
  return validDate(month, d[4]! * 10 + d[5]!) && (10 - (weighted(d, [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]) % 10)) % 10 === d[10];
}
/** French NIR (numéro de sécurité sociale): sex 1–4/7/8, month 01–12 or 20+, key = 97 − (first 13 mod 97). */
export function nirValid(d: number[]): boolean {
  if (![1, 2, 3, 4, 7, 8].includes(d[0]!)) return false;
  let rem = 0;
  for (let i = 0; i < 13; i++) rem = (rem * 10 + d[i]!) % 97;
  return 97 - rem === d[13]! * 10 + d[14]!;
}
/** Aadhaar: 12 digits, not starting with 0 or 1, Verhoeff. */
export const aadhaarValid = (d: number[]) => d[0]! >= 2 && verhoeffValid(d);
/** Chinese resident identity number: a birth date YYYYMMDD at 6, ISO 7064 MOD 11-2 check (10 as X). */
export function cnIdValid(d: number[], x: boolean): boolean {
  const year = d[6]! * 1000 + d[7]! * 100 + d[8]! * 10 + d[9]!;
  if (year < 1900 || year > 2099 || !validDate(d[10]! * 10 + d[11]!, d[12]! * 10 + d[13]!)) return false;
  const check = '10X98765432'[weighted(d, [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]) % 11];
  return x ? check === 'X' : check === String(d[17]);
}
/** Korean resident registration number: YYMMDD, then a weighted check digit. */
export function rrnValid(d: number[]): boolean {
  if (!validDate(d[2]! * 10 + d[3]!, d[4]! * 10 + d[5]!)) return false;
  return (11 - (weighted(d, [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]) % 11)) % 10 === d[12];
}
/** Swedish personnummer: (YY)YYMMDD, four digits, Luhn over the last ten (day + 60 for coordination numbers). */
export function personnummerValid(d: number[]): boolean {
  const t = d.slice(-10);
  return validDate(t[2]! * 10 + t[3]!, (t[4]! * 10 + t[5]!) % 60) && luhn(t);
}
/** Spanish DNI: eight digits and the letter of their value mod 23. */
export const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

// --- shapes ---------------------------------------------------------------------------------

type Kind = 'national-id' | 'phone-number';
interface Shape {
  kind: Kind;
  lengths: number[];
  /** Separators allowed between the groups (all the same unless `mixed`). */
  seps: number[];
  valid: (d: number[], buf: Buffer, groups: Group[]) => boolean;
  /** A capital letter must follow (Spanish DNI), or may (a Chinese id's X). */
  letter?: 'dni' | 'cn-x';
  /** Separators in the listed order (CPF: '.', '.', '-'). */
  order?: number[];
}

const SP = 0x20;
const DASH = 0x2d;
const DOT = 0x2e;
const SHAPES: Shape[] = [
  { kind: 'national-id', lengths: [3, 2, 4], seps: [DASH, SP], valid: ssnValid },
  { kind: 'national-id', lengths: [3, 3, 3], seps: [DASH, SP], valid: sinValid },
  { kind: 'national-id', lengths: [4, 4, 4], seps: [SP, DASH], valid: aadhaarValid },
  { kind: 'national-id', lengths: [12], seps: [], valid: aadhaarValid },
  { kind: 'national-id', lengths: [3, 3, 3, 2], seps: [], order: [DOT, DOT, DASH], valid: cpfValid },
  { kind: 'national-id', lengths: [11], seps: [], valid: (d) => cpfValid(d) || steuerIdValid(d) || peselValid(d) },
  { kind: 'national-id', lengths: [2, 3, 3, 3], seps: [SP], valid: steuerIdValid },
  { kind: 'national-id', lengths: [1, 2, 2, 2, 3, 3, 2], seps: [SP], valid: nirValid },
  { kind: 'national-id', lengths: [15], seps: [], valid: nirValid },
  { kind: 'national-id', lengths: [8], seps: [], letter: 'dni', valid: () => true },
  { kind: 'national-id', lengths: [18], seps: [], valid: (d) => cnIdValid(d, false) },
  { kind: 'national-id', lengths: [17], seps: [], letter: 'cn-x', valid: (d) => cnIdValid(d, true) },
  { kind: 'national-id', lengths: [6, 7], seps: [DASH], valid: rrnValid },
  { kind: 'national-id', lengths: [6, 4], seps: [DASH, 0x2b], valid: personnummerValid },
  { kind: 'national-id', lengths: [8, 4], seps: [DASH], valid: personnummerValid },
  // France: 0X XX XX XX XX; UK mobiles: 07XXX XXXXXX and 07XXX XXX XXX.
  { kind: 'phone-number', lengths: [2, 2, 2, 2, 2], seps: [SP, DOT, DASH], valid: (d) => d[0] === 0 && d[1] !== 0 },
  { kind: 'phone-number', lengths: [5, 6], seps: [SP], valid: (d) => d[0] === 0 && d[1] === 7 },
  { kind: 'phone-number', lengths: [5, 3, 3], seps: [SP], valid: (d) => d[0] === 0 && d[1] === 7 },
];

/** The digit groups of buf[start, end), each joined to the previous by exactly one separator. */
function groupsIn(buf: Buffer, start: number, end: number): Group[][] {
  const chains: Group[][] = [];
  let chain: Group[] = [];
  let i = start;
  while (i < end) {
    if (!isDigit(buf[i])) {
      i++;
      continue;
    }
    let j = i;
    while (j < end && isDigit(buf[j])) j++;
    const prev = chain[chain.length - 1];
    const sep = buf[i - 1]!;
    if (prev && prev.end === i - 1 && (SEPARATORS.has(sep) || sep === 0x2b)) chain.push({ start: i, end: j, sep });
    else {
      if (chain.length > 0) chains.push(chain);
      chain = [{ start: i, end: j, sep: 0 }];
    }
    i = j;
  }
  if (chain.length > 0) chains.push(chain);
  return chains;
}

function shapeFits(shape: Shape, groups: Group[], k: number): boolean {
  const n = shape.lengths.length;
  if (k + n > groups.length) return false;
  const sep = groups[k + 1]?.sep;
  for (let g = 0; g < n; g++) {
    const grp = groups[k + g]!;
    if (grp.end - grp.start !== shape.lengths[g]) return false;
    if (g === 0) continue;
    if (shape.order ? grp.sep !== shape.order[g - 1] : !shape.seps.includes(grp.sep) || grp.sep !== sep) return false;
  }
  return true;
}

/** Whether the bytes around [start, end) leave it a number of its own (not part of a longer one or a word). */
function standsAlone(buf: Buffer, from: number, to: number, start: number, end: number, letter: boolean): boolean {
  const before = start > from ? buf[start - 1] : undefined;
  if (isDigit(before) || isLetter(before)) return false;
  if (before !== undefined && SEPARATORS.has(before) && before !== SP && (isDigit(buf[start - 2]) || isLetter(buf[start - 2]))) return false;
  const after = end < to ? buf[end] : undefined;
  if (isDigit(after) || (!letter && isLetter(after))) return false;
  return !(after !== undefined && SEPARATORS.has(after) && after !== SP && (isDigit(buf[end + 1]) || isLetter(buf[end + 1])));
}

/** Group lengths (up to 31) a shape can begin with: one group, two joined, three joined (by one separator). */
const SINGLE = new Uint8Array(32);
const PAIR = new Uint8Array(32 * 32);
const TRIPLE = new Uint8Array(32 * 32 * 32);
for (const shape of SHAPES) {
  const [a = 0, b = 0, c = 0] = shape.lengths;
  if (shape.lengths.length === 1) SINGLE[a] = 1;
  else if (shape.lengths.length === 2) PAIR[(a << 5) | b] = 1;
  else TRIPLE[(a << 10) | (b << 5) | c] = 1;
}

/**
 * Whether buf[start, end) holds a digit group, or two or three joined ones, that some shape
 * begins with: dates (4-2-2), times and amounts are turned away here without allocating.
 */
function mayHold(buf: Buffer, start: number, end: number): boolean {
  let a = 0;
  let b = 0;
  /** The separator that joined b to a, and the one joining the group that just ended to b. */
  let sepAB = 0;
  let sep = 0;
  let len = 0;
  for (let i = start; i <= end; i++) {
    if (i < end && isDigit(buf[i])) {
      len++;
      continue;
    }
    if (len > 0) {
      const c = Math.min(len, 31);
      if (SINGLE[c] === 1 || PAIR[(b << 5) | c] === 1 || (sepAB === sep && TRIPLE[(a << 10) | (b << 5) | c] === 1)) return true;
      // Groups join only over one separator.
      if (i + 1 < end && isDigit(buf[i + 1])) {
        a = b;
        b = c;
        sepAB = sep;
        sep = buf[i]!;
      } else a = b = sepAB = sep = 0;
    }
    len = 0;
  }
  return false;
}

/** National identity numbers and domestic phone numbers in the run buf[start, end). */
export function nationalIn(s: Scan, start: number, end: number): void {
  const { buf, from, to, out } = s;
  if (!mayHold(buf, start, end)) return;
  for (const groups of groupsIn(buf, start, end)) {
    for (let k = 0; k < groups.length; k++) {
      for (const shape of SHAPES) {
        if (shape.kind === 'national-id' ? !s.cfg.nationalId : !s.cfg.phone) continue;
        if (!shapeFits(shape, groups, k)) continue;
        const parts = groups.slice(k, k + shape.lengths.length);
        const first = parts[0]!.start;
        let last = parts[parts.length - 1]!.end;
        const d = digitsOf(buf, parts);
        if (shape.letter) {
          const c = buf[last];
          if (shape.letter === 'dni' ? c !== DNI_LETTERS.charCodeAt(Number(d.join('')) % 23) : c !== 0x58 && c !== 0x78) continue;
          last++;
        }
        if (!standsAlone(buf, from, to, first, last, false) || !shape.valid(d, buf, parts)) continue;
        out.push({ start: first, end: last, detector: shape.kind });
        k += shape.lengths.length - 1;
        break;
      }
    }
  }
}
