import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary.js';
import { SpdyProtocolError } from './errors.js';
import { errorMessage } from '@chaperone/observability';

/** Name/value pairs of a header block; a value holds the NUL-separated values of a name. */
export type SpdyHeaders = [name: string, values: string[]][];

/**
 * Parses a decompressed name/value block (draft 3.1 §2.6.10): a 32-bit pair count, then per pair
 * a 32-bit length and the name, a 32-bit length and the value. Names are non-empty, lower-case
 * and unique; several values of one name are separated by NUL.
 */
export function parseNameValueBlock(b: Buffer, maxPairs: number): SpdyHeaders | SpdyProtocolError {
  const bad = (why: string): SpdyProtocolError => new SpdyProtocolError('BAD_HEADER_BLOCK', `header block: ${why}`);
  if (b.length < 4) return bad('shorter than its pair count');
  const count = b.readUInt32BE(0);
  if (count > maxPairs) return bad(`${count} pairs (limit ${maxPairs})`);
  const out: SpdyHeaders = [];
  const seen = new Set<string>();
  let off = 4;
  const field = (): Buffer | undefined => {
    if (b.length - off < 4) return undefined;
    const len = b.readUInt32BE(off);
    if (b.length - off - 4 < len) return undefined;
    off += 4 + len;
    return b.subarray(off - len, off);
  };
  for (let i = 0; i < count; i++) {
    const name = field();
    const value = field();
    if (!name || !value) return bad('a length runs past the end');
    const n = name.toString('latin1');
    if (n === '' || n !== n.toLowerCase()) return bad(`invalid name ${JSON.stringify(n.slice(0, 40))}`);
    if (seen.has(n)) return bad(`name ${JSON.stringify(n.slice(0, 40))} appears twice`);
    seen.add(n);
    out.push([n, value.toString('latin1').split('\0')]);
  }
  if (off !== b.length) return bad('bytes after the last pair');
  return out;
}

/** Encodes name/value pairs as an uncompressed block (for tests and the stand-in's replies). */
export function encodeNameValueBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [u32(headers.length)];
  for (const [name, values] of headers) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(values.join('\0'), 'latin1');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export interface HeaderDecoderLimits {
  /** Largest inflated block. @default 64 KiB */
  maxBlockBytes?: number;
  /** Most pairs in one block. @default 256 */
  maxPairs?: number;
}

/**
 * Runs one block through a zlib stream and collects what the sync flush yields. The stream is
 * kept: a SPDY connection compresses all header blocks of a direction with one zlib context,
 * each block ending in a sync flush (draft 3.1 §2.6.10.1), so blocks decode only in order and
 * with the context. Node's zlib has no synchronous entry that keeps a context (inflateSync
 * closes it), hence the stream and its flush callback, which runs after the block's output.
 */
function flushThrough(z: Inflate | Deflate, block: Buffer, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let n = 0;
    const cleanup = (): void => {
      z.off('data', onData);
      z.off('error', onError);
    };
    const onData = (c: Buffer): void => {
      n += c.length;
      out.push(c);
      if (n <= maxBytes) return;
      // A compression bomb: stop inflating at once (the stream is unusable afterwards anyway).
      cleanup();
      z.destroy();
      reject(new Error(`inflates to more than ${maxBytes} bytes`));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    z.on('data', onData);
    z.once('error', onError);
    z.write(block);
    z.flush(constants.Z_SYNC_FLUSH, () => {
      cleanup();
      resolve(Buffer.concat(out, n));
    });
  });
}

/**
 * Inflates and parses the header blocks of one direction of a SPDY connection. Calls must not
 * overlap: the caller awaits each block before the next (blocks only decode in order).
 */
export class SpdyHeaderDecoder {
  private readonly inflate: Inflate;
  private readonly maxPairs: number;
  private readonly maxBlockBytes: number;
  private broken = false;

  constructor(limits: HeaderDecoderLimits = {}) {
    this.maxPairs = limits.maxPairs ?? 256;
    this.maxBlockBytes = limits.maxBlockBytes ?? 64 * 1024;
    this.inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  }

  async decode(block: Buffer): Promise<SpdyHeaders | SpdyProtocolError> {
    if (this.broken) return new SpdyProtocolError('BAD_HEADER_BLOCK', 'the header compression context of this direction is broken');
    let plain: Buffer;
    try {
      plain = await flushThrough(this.inflate, block, this.maxBlockBytes);
    } catch (err) {
      this.close();
      return new SpdyProtocolError('BAD_HEADER_BLOCK', `header block does not inflate with the SPDY/3 dictionary: ${errorMessage(err)}`);
    }
    const parsed = parseNameValueBlock(plain, this.maxPairs);
    if (parsed instanceof SpdyProtocolError) this.close();
    return parsed;
  }

  close(): void {
    if (this.broken) return;
    this.broken = true;
    this.inflate.destroy();
  }
}

/** Compresses the header blocks of one direction (tests; the gateway never re-encodes). */
export class SpdyHeaderEncoder {
  private readonly deflate: Deflate = createDeflate({ dictionary: SPDY3_DICTIONARY });

  encode(headers: SpdyHeaders): Promise<Buffer> {
    return flushThrough(this.deflate, encodeNameValueBlock(headers), Number.MAX_SAFE_INTEGER);
  }

  close(): void {
    this.deflate.destroy();
  }
}
