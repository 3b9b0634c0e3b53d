/**
 * PII detectors: e-mail addresses, payment card numbers (Luhn), IBANs (ISO 13616 mod 97), phone
 * numbers and national identity numbers (national.ts). Numbers are found by probing for runs of four digits (every card, IBAN and
 * the phone formats we accept contain one) and only those neighbourhoods are examined, so
 * digits in ids, amounts and timestamps cost a table lookup, not a regex.
 */
import { CLASS, DIGIT, EMAIL_LOCAL, HOST, LOWER, UPPER, ibanValid, latin1, luhnValid } from './bytes.js';
import { forEachByte, forEachSparseRun, type Scan } from './scan.js';
import type { Match } from './types.js';
import { AT_REACH, urlPasswordAt } from './secrets.js';
import { nationalIn } from './national.js';

// --- '@': e-mail addresses and URL passwords ---------------------------------------------

/** An RFC 5321 address: local part ≤ 64, dot-separated domain with an alphabetic TLD. */
function emailAt(buf: Buffer, from: number, to: number, at: number): { start: number; end: number } | undefined {
  let start = at;
  while (start > from && at - start < 64 && (CLASS[buf[start - 1]!]! & EMAIL_LOCAL) !== 0) start--;
  while (start < at && buf[start] === 0x2e) start++;
  if (start === at || buf[at - 1] === 0x2e) return undefined;
  let end = at + 1;
  while (end < to && end - at <= 253 && (CLASS[buf[end]!]! & HOST) !== 0) end++;
  while (end > at + 1 && (buf[end - 1] === 0x2e || buf[end - 1] === 0x2d)) end--; // "mail a@b.com."
  // The last '.' of the domain (a short way back: the TLD); a native lastIndexOf costs more.
  let dot = end - 1;
  while (dot > at + 1 && buf[dot] !== 0x2e) dot--;
  if (dot <= at + 1 || end - dot < 3) return undefined;
  for (let i = dot + 1; i < end; i++) if ((buf[i]! | 0x20) < 0x61 || (buf[i]! | 0x20) > 0x7a) return undefined;
  if (buf[at + 1] === 0x2e || buf[at + 1] === 0x2d) return undefined;
  return { start, end };
}

function onAt(s: Scan, at: number): number | void {
  const p = s.cfg.urlPassword ? urlPasswordAt(s.buf, s.from, at) : undefined;
  if (p) return void s.out.push({ start: p.start, end: p.end, detector: 'url-password' });
  const e = s.cfg.email ? emailAt(s.buf, s.from, s.to, at) : undefined;
  if (e) {
    s.out.push({ start: e.start, end: e.end, detector: 'email' });
    return e.end;
  }
}

export function scanAt(s: Scan): void {
  if (s.cfg.email || s.cfg.urlPassword) forEachByte(s, 0x40, onAt, s.until + AT_REACH);
}

// --- numbers: cards, IBANs, phones --------------------------------------------------------

const NUMERIC = new Uint8Array(256);
for (const c of '0123456789 -.()+/') NUMERIC[c.charCodeAt(0)] = 1;
const ALNUM_SPACE = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ') ALNUM_SPACE[c.charCodeAt(0)] = 1;

const PHONE_INTL = /(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,4})){1,6}(?![\d-]|\.\d)/g;
const PHONE_NANP = /(?<![\w+.-])(?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4}(?![\d-]|\.\d)/g;

/** Issuer prefixes (ISO/IEC 7812 IIN ranges of the card networks) with their valid lengths. */
function plausibleCard(digits: string): boolean {
  const n = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p4 = Number(digits.slice(0, 4));
  switch (digits[0]) {
    case '4': return n === 13 || n === 16 || n === 19; // Visa
    case '5': return p2 >= 51 && p2 <= 55 ? n === 16 : n >= 12; // Mastercard, Maestro
    case '2': return ((p4 >= 2221 && p4 <= 2720) || (p4 >= 2200 && p4 <= 2204)) && n === 16; // Mastercard 2-series, Mir
    case '8': return (p2 === 81 || p2 === 82) && n === 16; // RuPay
    case '9': return p4 === 9792 && n === 16; // Troy
    case '3': return (p2 === 34 || p2 === 37) ? n === 15 : p4 >= 3528 && p4 <= 3589 ? n >= 16 : (p2 === 36 || p2 === 38 || p2 === 39 || (p4 >= 3000 && p4 <= 3059)) && n >= 14;
    case '6': return n >= 16; // Discover, UnionPay, Maestro
    default: return false;
  }
}

/** IBAN lengths by country (SWIFT IBAN registry). */
const IBAN_LENGTH: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28, CZ: 24,
  DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28,
  HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29,
  RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22,
  VG: 24, XK: 20, BI: 27, DJ: 27, FK: 18, HN: 28, LY: 25, MN: 20, NI: 28, OM: 23, RU: 33, SD: 18, SO: 23, YE: 30,
};

/** An IBAN starting at `start` (country code), compact or printed in groups with single spaces. */
function ibanAt(buf: Buffer, start: number, to: number): number | undefined {
  const len = IBAN_LENGTH[latin1(buf, start, start + 2)];
  if (len === undefined) return undefined;
  let compact = '';
  let i = start;
  while (i < to && compact.length < len) {
    const c = buf[i]!;
    if (c === 0x20 && compact.length % 4 === 0 && i > start && buf[i - 1] !== 0x20) {
      i++;
      continue;
    }
    if (ALNUM_SPACE[c] !== 1 || c === 0x20) return undefined;
    compact += String.fromCharCode(c);
    i++;
  }
  if (compact.length !== len || (i < to && (CLASS[buf[i]!]! & (DIGIT | UPPER | LOWER)) !== 0)) return undefined;
  return ibanValid(compact) ? i : undefined;
}

/** Start of an IBAN (two capital letters, two check digits, not inside a word) in [w, limit), or -1. */
function ibanStart(buf: Buffer, from: number, w: number, limit: number): number {
  for (let j = Math.max(w, from); j + 4 <= limit; j++) {
    if ((CLASS[buf[j]!]! & UPPER) === 0 || (CLASS[buf[j + 1]!]! & UPPER) === 0 || (CLASS[buf[j + 2]!]! & DIGIT) === 0 || (CLASS[buf[j + 3]!]! & DIGIT) === 0) continue;
    if (j > from && (CLASS[buf[j - 1]!]! & (DIGIT | UPPER | LOWER)) !== 0) continue;
    return j;
  }
  return -1;
}

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/**
 * Card numbers in [start, end): 13 to 19 digits, compact or in groups split by single spaces or
 * single dashes (not both), not glued to other digits. At each start the longest valid
 * candidate wins, so "9 4111 1111 1111 1111" and "4111111111111111 1" still yield the card.
 */
function cardsIn(s: Scan, start: number, end: number): void {
  const { buf, out } = s;
  let i = start;
  while (i < end) {
    const prev = buf[i - 1];
    if (!isDigit(buf[i]) || (i > s.from && (isDigit(prev) || prev === 0x2e || prev === 0x2d))) {
      i++;
      continue;
    }
    let sep = 0;
    let digits = 0;
    let found = -1;
    for (let k = i; k < end && digits < 19; k++) {
      const c = buf[k]!;
      if (isDigit(c)) {
        digits++;
        const next = buf[k + 1];
        const boundary = !isDigit(next) && !(next === 0x2e && isDigit(buf[k + 2])) && !(next === 0x2d && isDigit(buf[k + 2]) && sep !== 0x20);
        if (digits >= 13 && boundary && plausibleCard(latin1(buf, i, k + 1).replace(/[ -]/g, '')) && luhnValid(buf, i, k + 1)) found = k + 1;
      } else if ((c === 0x20 || c === 0x2d) && (sep === 0 || sep === c) && isDigit(buf[k + 1]) && isDigit(buf[k - 1])) sep = c;
      else break;
    }
    if (found !== -1) {
      out.push({ start: i, end: found, detector: 'card-number' });
      i = found;
    } else i++;
  }
}

/** How far before a run of digits an IBAN can start (its country code and check digits, see onNumber). */
const IBAN_REACH = 30;
/** Shortest number we look at: a Spanish DNI's eight digits; phones, cards, IBANs and other ids are longer. */
const MIN_NUMBER = 8;

export function scanNumbers(s: Scan): void {
  // Runs of digits and the separators printed numbers use; most runs are dates or spaces.
  if (s.cfg.card || s.cfg.iban || s.cfg.phone || s.cfg.nationalId) forEachSparseRun(s, NUMERIC, MIN_NUMBER, onNumber, s.until + IBAN_REACH);
}

function onNumber(s: Scan, start: number, end: number): void {
  const { buf, from, to, out } = s;
  const { card, iban, phone } = s.cfg;
  {
    let digits = 0;
    let plus = false;
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x30 && c <= 0x39) digits++;
      else if (c === 0x2b) plus = true;
    }
    if (digits < 8) return;
    if (iban) {
      // An IBAN's country code and check digits sit at most 30 characters before its digits.
      let w = start;
      while (w > from && start - w < IBAN_REACH && ALNUM_SPACE[buf[w - 1]!] === 1) w--;
      // The run holds no letter: a country code needs two bytes before it.
      for (let j = start - w >= 2 ? ibanStart(buf, from, w, end) : -1; j !== -1; ) {
        const e = ibanAt(buf, j, to);
        if (e !== undefined) out.push({ start: j, end: e, detector: 'iban' });
        j = ibanStart(buf, from, e ?? j + 1, end);
      }
    }
    if (s.cfg.nationalId || phone) nationalIn(s, start, end);
    // Cards have 13+ digits, North American numbers 10, international ones a '+' and 8+.
    if (digits < 10 && !plus) return;
    if (card && digits >= 13) cardsIn(s, start, end);
    if (phone) {
      // The regexes run on a string: only where they can match (a '+', or NANP's ddd-dddd).
      const nanp = hasNanpTail(buf, start, end);
      if (!plus && !nanp) return;
      const text = latin1(buf, start, end);
      if (plus) phones(out, PHONE_INTL, text, start);
      if (nanp) phones(out, PHONE_NANP, text, start);
    }
  }
}

function phones(out: Match[], re: RegExp, text: string, start: number): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = m[0].replace(/\D/g, '').length;
    if (n >= 8 && n <= 15) out.push({ start: start + m.index, end: start + m.index + m[0].length, detector: 'phone-number' });
  }
}

/** Whether buf[start, end) holds three digits, '.' or '-', four digits: the end of every PHONE_NANP match. */
export function hasNanpTail(buf: Buffer, start: number, end: number): boolean {
  let run = 0;
  for (let i = start; i + 4 < end; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) run++;
    else {
      if (run >= 3 && (c === 0x2e || c === 0x2d) && isDigit(buf[i + 1]) && isDigit(buf[i + 2]) && isDigit(buf[i + 3]) && isDigit(buf[i + 4])) return true;
      run = 0;
    }
  }
  return false;
}

export const PII_DETECTORS = ['email', 'card-number', 'iban', 'phone-number', 'national-id'];
