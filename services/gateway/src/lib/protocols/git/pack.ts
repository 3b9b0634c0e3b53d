import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { GitProtocolError } from './errors.js';
import { errorMessage } from '@chaperone/observability';

/** Object types in a pack (gitformat-pack "Object types"). */
export const enum PackType {
  Commit = 1,
  Tree = 2,
  Blob = 3,
  Tag = 4,
  OfsDelta = 6,
  RefDelta = 7,
}

export interface PackCommit {
  id: string;
  parents: string[];
}

export interface PackScan {
  /** Commits found, by id. */
  commits: Map<string, PackCommit>;
  /**
   * True when the scan saw the end of the commit section (the first tree or blob, or the end of
   * the pack): git writes commits and tags before trees and blobs (pack-objects'
   * compute_write_order), so every commit of the pack is in `commits`.
   */
  complete: boolean;
  /** Objects announced in the pack header. */
  objects: number;
  error?: GitProtocolError;
}

export interface PackScanOptions {
  /** Stop (incomplete) after buffering this many bytes without finishing the commit section. */
  maxScanBytes: number;
  /** Stop (incomplete) after this many commits. */
  maxCommits: number;
  /** 20 for SHA-1 repositories, 32 for SHA-256 (object-format capability). @default 20 */
  hashBytes?: number;
}

const HEADER = 12;

/**
 * Incremental reader of the head of a pack: finds every commit object (inflating it, resolving
 * deltas against commits seen earlier) and stops at the first tree or blob. Memory is bounded by
 * maxScanBytes; blobs and trees are never inflated, so a multi-GB push costs nothing beyond
 * its commits.
 */
export class PackCommitScanner {
  private buf: Buffer = Buffer.alloc(0);
  /** Offset in the pack of buf[0]. */
  private base = 0;
  private remaining = -1;
  private readonly byOffset = new Map<number, { type: PackType; content?: Buffer }>();
  private readonly byId = new Map<string, { type: PackType; content?: Buffer }>();
  private contentBytes = 0;
  private readonly result: PackScan = { commits: new Map(), complete: false, objects: 0 };
  private done = false;
  private readonly hashBytes: number;

  constructor(private readonly opts: PackScanOptions) {
    this.hashBytes = opts.hashBytes ?? 20;
  }

  get finished(): boolean {
    return this.done;
  }

  get scan(): PackScan {
    return this.result;
  }

  /** Feeds pack bytes; returns true once the scan is over (complete, error or limits). */
  push(chunk: Buffer): boolean {
    if (this.done) return true;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    try {
      this.parse();
    } catch (err) {
      if (!(err instanceof GitProtocolError)) throw err;
      this.result.error = err;
      this.finish(false);
    }
    if (!this.done && this.buf.length > this.opts.maxScanBytes) this.finish(false);
    return this.done;
  }

  /** The pack ended (end of the request body). */
  end(): PackScan {
    if (!this.done) this.finish(this.remaining === 0);
    return this.result;
  }

  private finish(complete: boolean): void {
    this.done = true;
    this.result.complete = complete;
    this.buf = Buffer.alloc(0);
    this.byOffset.clear();
    this.byId.clear();
  }

  private parse(): void {
    if (this.remaining < 0) {
      if (this.buf.length < HEADER) return;
      if (this.buf.toString('latin1', 0, 4) !== 'PACK') throw new GitProtocolError('BAD_PACK', 'the pack does not start with "PACK"');
      const version = this.buf.readUInt32BE(4);
      if (version !== 2 && version !== 3) throw new GitProtocolError('BAD_PACK', `unsupported pack version ${version}`);
      this.remaining = this.result.objects = this.buf.readUInt32BE(8);
      this.consume(HEADER);
    }
    while (!this.done) {
      if (this.remaining === 0) return this.finish(true);
      if (!this.object()) return;
    }
  }

  private consume(n: number): void {
    this.buf = this.buf.subarray(n);
    this.base += n;
  }

  /** Parses one object if its bytes are all here; false when more input is needed. */
  private object(): boolean {
    const b = this.buf;
    const offset = this.base;
    let i = 0;
    if (b.length < 1) return false;
    let c = b[i++]!;
    const type = ((c >> 4) & 7) as PackType;
    let size = c & 0x0f;
    let shift = 4;
    while (c & 0x80) {
      if (i >= b.length) return false;
      if (shift > 49) throw new GitProtocolError('BAD_PACK', 'object size varint too long');
      c = b[i++]!;
      size += (c & 0x7f) * 2 ** shift;
      shift += 7;
    }
    if (type === PackType.Tree || type === PackType.Blob) {
      this.finish(true);
      return false;
    }
    let baseContent: Buffer | undefined;
    let baseType: PackType | undefined;
    if (type === PackType.OfsDelta) {
      if (i >= b.length) return false;
      c = b[i++]!;
      let rel = c & 0x7f;
      while (c & 0x80) {
        if (i >= b.length) return false;
        if (rel > 2 ** 45) throw new GitProtocolError('BAD_PACK', 'delta base offset too large');
        c = b[i++]!;
        rel = (rel + 1) * 128 + (c & 0x7f);
      }
      const baseObj = this.byOffset.get(offset - rel);
      if (!baseObj) throw new GitProtocolError('BAD_PACK', `delta base at offset ${offset - rel} is not an object of this pack`);
      if (baseObj.type !== PackType.Commit && baseObj.type !== PackType.Tag) {
        this.finish(true);
        return false;
      }
      baseContent = baseObj.content;
      baseType = baseObj.type;
    } else if (type === PackType.RefDelta) {
      if (b.length - i < this.hashBytes) return false;
      const id = b.toString('hex', i, i + this.hashBytes);
      i += this.hashBytes;
      const known = this.byId.get(id);
      // A delta against an object outside the pack (a thin pack's base) is a tree or blob:
      // commits are never thin-deltified (pack-objects adds only trees as preferred bases).
      if (!known?.content) {
        this.finish(true);
        return false;
      }
      baseContent = known.content;
      baseType = known.type;
    } else if (type !== PackType.Commit && type !== PackType.Tag) {
      throw new GitProtocolError('BAD_PACK', `invalid object type ${Number(type)} at pack offset ${offset}`);
    }
    if (size > this.opts.maxScanBytes) {
      this.finish(false);
      return false;
    }
    let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
    try {
      inflated = inflateSync(b.subarray(i), { info: true, maxOutputLength: Math.max(size, 1) }) as unknown as typeof inflated;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') return false;
      throw new GitProtocolError('BAD_PACK', `object at pack offset ${offset} does not inflate: ${errorMessage(err)}`);
    }
    const data = inflated.buffer;
    if (data.length !== size) throw new GitProtocolError('BAD_PACK', `object at pack offset ${offset} inflates to ${data.length} bytes, header says ${size}`);
    const content = baseContent ? applyDelta(baseContent, data) : data;
    const objType = baseType ?? type;
    const entry = { type: objType, content };
    const id = createHash(this.hashBytes === 32 ? 'sha256' : 'sha1')
      .update(`${objType === PackType.Commit ? 'commit' : 'tag'} ${content.length}\0`)
      .update(content)
      .digest('hex');
    this.contentBytes += content.length;
    if (objType === PackType.Commit) {
      this.result.commits.set(id, { id, parents: parseParents(content) });
      if (this.result.commits.size >= this.opts.maxCommits || this.contentBytes > this.opts.maxScanBytes) {
        this.finish(false);
        return false;
      }
    }
    this.byOffset.set(offset, entry);
    this.byId.set(id, entry);
    this.remaining--;
    this.consume(i + inflated.engine.bytesWritten);
    return true;
  }
}

/** `parent <id>` header lines of a commit object (gitformat-commit). */
export function parseParents(content: Buffer): string[] {
  const end = content.indexOf('\n\n');
  const head = content.toString('latin1', 0, end < 0 ? content.length : end);
  const out: string[] = [];
  for (const line of head.split('\n')) if (line.startsWith('parent ')) out.push(line.slice(7).trim());
  return out;
}

function readVarint(d: Buffer, pos: { i: number }): number {
  let v = 0;
  let shift = 0;
  let c: number;
  do {
    if (pos.i >= d.length || shift > 49) throw new GitProtocolError('BAD_PACK', 'truncated delta header');
    c = d[pos.i++]!;
    v += (c & 0x7f) * 2 ** shift;
    shift += 7;
  } while (c & 0x80);
  return v;
}

/** Applies a git delta (gitformat-pack "Deltified representation") to its base. */
export function applyDelta(base: Buffer, delta: Buffer): Buffer {
  const pos = { i: 0 };
  const srcSize = readVarint(delta, pos);
  const dstSize = readVarint(delta, pos);
  if (srcSize !== base.length) throw new GitProtocolError('BAD_PACK', `delta expects a base of ${srcSize} bytes, the base has ${base.length}`);
  if (dstSize > 64 * 1024 * 1024) throw new GitProtocolError('BAD_PACK', 'delta result too large');
  const out = Buffer.alloc(dstSize);
  let o = 0;
  while (pos.i < delta.length) {
    const op = delta[pos.i++]!;
    if (op & 0x80) {
      let off = 0;
      let len = 0;
      for (let k = 0; k < 4; k++) if (op & (1 << k)) off |= (delta[pos.i++] ?? 0) << (8 * k);
      for (let k = 0; k < 3; k++) if (op & (0x10 << k)) len |= (delta[pos.i++] ?? 0) << (8 * k);
      off >>>= 0;
      if (len === 0) len = 0x10000;
      if (off + len > base.length || o + len > dstSize) throw new GitProtocolError('BAD_PACK', 'delta copy out of range');
      base.copy(out, o, off, off + len);
      o += len;
    } else if (op !== 0) {
      if (pos.i + op > delta.length || o + op > dstSize) throw new GitProtocolError('BAD_PACK', 'delta insert out of range');
      delta.copy(out, o, pos.i, pos.i + op);
      pos.i += op;
      o += op;
    } else throw new GitProtocolError('BAD_PACK', 'delta opcode 0 is reserved');
  }
  if (o !== dstSize) throw new GitProtocolError('BAD_PACK', `delta produced ${o} bytes, header says ${dstSize}`);
  return out;
}
