/**
 * Byte classes and small numeric checks shared by the detectors. The scanners work on the raw
 * UTF-8 bytes (no decoding on the hot path); every pattern is ASCII, and bytes ≥ 0x80 belong
 * to no class but the e-mail ones (whose spans start and end at ASCII bytes), so a replacement
 * never cuts a multibyte character.
 */

export const TOKEN = 1; // A-Z a-z 0-9 + / = _ - . ~  (the alphabet of keys, tokens, base64, JWTs)
export const DIGIT = 2;
export const UPPER = 4;
export const LOWER = 8;
export const B64 = 16; // A-Z a-z 0-9 + /
export const WORD = 32; // A-Z a-z 0-9 _ - .  (identifier of a key in `key = value`)
export const EMAIL_LOCAL = 64; // RFC 5322 dot-atom subset: A-Z a-z 0-9 . _ % + -
export const HOST = 128; // A-Z a-z 0-9 . -

export const CLASS = new Uint8Array(256);
(() => {
  const add = (chars: string, bits: number) => {
    for (const c of chars) CLASS[c.charCodeAt(0)]! |= bits;
  };
  const upper = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const lower = 'abcdefghijklmnopqrstuvwxyz';
  const digits = '0123456789';
  const alnum = upper + lower + digits;
  add(alnum + '+/=_-.~', TOKEN);
  add(digits, DIGIT);
  add(upper, UPPER);
  add(lower, LOWER);
  add(alnum + '+/', B64);
  add(alnum + '_-.', WORD);
  add(alnum + '._%+-', EMAIL_LOCAL);
  add(alnum + '.-', HOST);
  // RFC 6531 internationalised addresses: UTF-8 sequences belong to the local part and domain.
  for (let b = 0x80; b < 0x100; b++) CLASS[b]! |= EMAIL_LOCAL | HOST;
})();

export const is = (b: Buffer, i: number, bits: number): boolean => (CLASS[b[i]!]! & bits) !== 0;

const COUNTS = new Uint32Array(256);

/** Shannon entropy in bits per character of buf[start, end). */
export function entropy(buf: Buffer, start: number, end: number): number {
  for (let i = start; i < end; i++) COUNTS[buf[i]!]!++;
  const n = end - start;
  let h = 0;
  // Each distinct byte once, in the order first seen (as a Map would give them: the same sum).
  for (let i = start; i < end; i++) {
    const c = COUNTS[buf[i]!]!;
    if (c === 0) continue;
    COUNTS[buf[i]!] = 0;
    const p = c / n;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Luhn (ISO/IEC 7812-1) over the digits of buf[start, end), other bytes skipped. */
export function luhnValid(buf: Buffer, start: number, end: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = end - 1; i >= start; i--) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) continue;
    let d = c - 0x30;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** ISO 13616 IBAN check: move the first four characters to the end, letters → 10..35, mod 97 = 1. */
export function ibanValid(compact: string): boolean {
  const s = compact.slice(4) + compact.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) rem = (rem * 10 + (c - 0x30)) % 97;
    else if (c >= 0x41 && c <= 0x5a) rem = (rem * 100 + (c - 55)) % 97;
    else return false;
  }
  return rem === 1;
}

/** buf[start, end) as a one-byte-per-char string: the detectors' patterns are all ASCII. */
export const latin1 = (buf: Buffer, start: number, end: number): string => buf.toString('latin1', start, end);
