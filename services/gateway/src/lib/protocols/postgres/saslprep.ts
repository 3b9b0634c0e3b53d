/**
 * SASLprep (RFC 4013, a profile of stringprep RFC 3454) as PostgreSQL applies it to SCRAM
 * passwords: both libpq and the server (when it builds the stored verifier) run pg_saslprep and
 * fall back to the raw password when the result is prohibited, so we must do the same to derive
 * the same key. Like pg_saslprep, pure-ASCII input is used unchanged.
 *
 * Not implemented: the bidirectional check (RFC 3454 §6) and the unassigned code point table
 * (A.1); a password that only fails those would be normalized here and used raw by PostgreSQL.
 * @see https://www.rfc-editor.org/rfc/rfc4013
 * @see https://github.com/postgres/postgres/blob/master/src/common/saslprep.c
 */

type Range = readonly [number, number];

/** RFC 3454 C.1.2 non-ASCII space characters, mapped to SPACE (RFC 4013 §2.1). */
const NON_ASCII_SPACE: Range[] = [[0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200b], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000]];

/** RFC 3454 B.1 "commonly mapped to nothing" (RFC 4013 §2.1). */
const MAPPED_TO_NOTHING: Range[] = [
  [0xad, 0xad], [0x34f, 0x34f], [0x1806, 0x1806], [0x180b, 0x180d], [0x200b, 0x200d], [0x2060, 0x2060], [0xfe00, 0xfe0f], [0xfeff, 0xfeff],
];

/**
 * RFC 4013 §2.3 prohibited output: C.1.2 spaces, C.2.1/C.2.2 controls, C.3 private use,
 * C.4 non-characters, C.5 surrogates, C.6 inappropriate for plain text, C.7 for canonical
 * representation, C.8 display-property changes, C.9 tagging characters.
 */
const PROHIBITED: Range[] = [
  ...NON_ASCII_SPACE, // C.1.2
  [0x00, 0x1f], [0x7f, 0x9f], // C.2.1, C.2.2
  [0x6dd, 0x6dd], [0x70f, 0x70f], [0x180e, 0x180e], [0x200c, 0x200d], [0x2028, 0x2029], [0x2060, 0x2063],
  [0x206a, 0x206f], [0xfeff, 0xfeff], [0xfff9, 0xfffc], [0x1d173, 0x1d17a], // C.2.2
  [0xe000, 0xf8ff], [0xf0000, 0xffffd], [0x100000, 0x10fffd], // C.3
  [0xfdd0, 0xfdef], ...Array.from({ length: 17 }, (_, plane): Range => [plane * 0x10000 + 0xfffe, plane * 0x10000 + 0xffff]), // C.4
  [0xd800, 0xdfff], // C.5 (only lone surrogates survive in a JS string)
  [0xfff9, 0xfffd], // C.6
  [0x2ff0, 0x2ffb], // C.7
  [0x340, 0x341], [0x200e, 0x200f], [0x202a, 0x202e], // C.8
  [0xe0001, 0xe0001], [0xe0020, 0xe007f], // C.9
];

function inRanges(cp: number, ranges: readonly Range[]): boolean {
  return ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
}

/** Returns the SASLprep'd password, or the input unchanged where PostgreSQL would use it raw. */
export function saslprep(password: string): string {
  if (Buffer.byteLength(password) === password.length) return password; // pure ASCII
  let mapped = '';
  for (const ch of password) {
    const cp = ch.codePointAt(0) ?? 0;
    if (inRanges(cp, NON_ASCII_SPACE)) mapped += ' ';
    else if (!inRanges(cp, MAPPED_TO_NOTHING)) mapped += ch;
  }
  const prepared = mapped.normalize('NFKC');
  for (const ch of prepared) {
    if (inRanges(ch.codePointAt(0) ?? 0, PROHIBITED)) return password;
  }
  return prepared === '' ? password : prepared;
}
