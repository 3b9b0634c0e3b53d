import fc from 'fast-check';

/** One edit of a frame's bytes. */
export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'int'; at: number; width: 2 | 4; value: number };

/**
 * Values at the edges of what length and count fields mean: below the 4 bytes a length counts
 * itself, the int16 counts' sign, the startup limit (10000) and the suite's message limit.
 */
export const EDGE_INTS = [-0x80000000, -1, 0, 1, 3, 4, 5, 7, 8, 0x7fff, 0x8000, 0xffff, 10000, 10001, 256 * 1024, 256 * 1024 + 1, 0x7fffffff];

const edgeInt = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...EDGE_INTS) }, { weight: 1, arbitrary: fc.integer() });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('int' as const), at: fc.nat(), width: fc.constantFrom(2 as const, 4 as const), value: edgeInt }) },
);

/** Applies `m` to the bytes of `buf` from offset `from` on (earlier bytes stay as they are). */
export function mutate(buf: Buffer, m: Mutation, from = 0): Buffer {
  const span = buf.length - from;
  const at = from + (span <= 0 ? 0 : m.at % span);
  switch (m.kind) {
    case 'flip': {
      if (span <= 0) return buf;
      const out = Buffer.from(buf);
      out[at] = (out[at] ?? 0) ^ (1 << m.bit);
      return out;
    }
    case 'truncate':
      return buf.subarray(0, at);
    case 'insert':
      return Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
    case 'delete':
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.count)]);
    case 'int': {
      if (at + m.width > buf.length) return buf;
      const out = Buffer.from(buf);
      if (m.width === 2) out.writeUInt16BE(m.value & 0xffff, at);
      else out.writeUInt32BE(m.value >>> 0, at);
      return out;
    }
  }
}

/**
 * Mutates the body of a typed frame and rewrites its length, so the frame stays well framed
 * and the mutation reaches the message decoders rather than the framer.
 */
export function mutateBody(frame: Buffer, ms: Mutation[]): Buffer {
  const out = ms.reduce((b, m) => mutate(b, m, 5), frame);
  if (out.length < 5) return out;
  const fixed = Buffer.from(out);
  fixed.writeInt32BE(fixed.length - 1, 1);
  return fixed;
}

/** Mutates anywhere, header included, without repairing anything: the framer's problem. */
export function mutateRaw(frame: Buffer, ms: Mutation[]): Buffer {
  return ms.reduce((b, m) => mutate(b, m), frame);
}

/** Splits `bytes` at fractional cut points, so a batch reaches the peer in several writes. */
export function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = cuts.map((c) => Math.floor(c * bytes.length)).sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    if (p > prev) pieces.push(bytes.subarray(prev, p));
    prev = Math.max(prev, p);
  }
  return pieces;
}

export const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 });

/**
 * Bytes from a generated seed (xorshift32): fast-check draws two integers instead of one value
 * per byte, which keeps generating hundreds of thousands of frames well inside the time budget.
 */
export function noiseBytes(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed | 0 || 0x2545f491;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const noiseArb = (maxLength: number): fc.Arbitrary<Buffer> =>
  fc.tuple(fc.integer(), fc.integer({ min: 0, max: maxLength })).map(([seed, n]) => noiseBytes(seed, n));

/** Mostly printable ASCII and SQL punctuation, with multi-byte, control and lone-surrogate characters; never NUL. */
const TEXT_ALPHABET = [
  ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
  ...'\'\'""$$;;()--\n\t\r\\',
  ...['é', 'ß', '✓', '€', '😀', '\u00a0', '\u200b', '\ud800', '\u0001', '\u001b', '\u007f', '\ufeff'],
];

export const noiseTextArb = (maxLength: number): fc.Arbitrary<string> =>
  noiseArb(maxLength).map((b) => {
    let s = '';
    for (const byte of b) s += TEXT_ALPHABET[byte % TEXT_ALPHABET.length];
    return s;
  });
