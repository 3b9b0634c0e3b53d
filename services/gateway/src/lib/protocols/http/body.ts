import { createHash, type Hash } from 'node:crypto';
import { mediaType } from './headers.js';

export type BodyStore = 'full' | 'digest' | 'none';

export interface BodyRules {
  maxStoredBytes: number;
  rules: readonly { pattern: string; store: BodyStore }[];
  fallback: BodyStore;
}

function matches(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('[^;]*')}$`);
  return re.test(type);
}

/** The storage rule for a body of this Content-Type (first matching rule, else the fallback). */
export function bodyStoreFor(contentType: string | undefined, rules: BodyRules): BodyStore {
  const type = mediaType(contentType);
  if (type === '') return rules.fallback;
  for (const r of rules.rules) if (matches(r.pattern, type)) return r.store;
  return rules.fallback;
}

export interface BodySummary {
  store: BodyStore;
  bytes: number;
  storedBytes: number;
  /** Hex SHA-256 of the whole body as forwarded; '' when store is 'none'. */
  sha256: string;
}

/**
 * Decides, chunk by chunk, which bytes of a body go into the recording: with `full` the first
 * maxStoredBytes, with `digest` none (size and SHA-256 are recorded at the end), with `none`
 * only the size. Memory stays constant whatever the body's size.
 */
export class BodyCapture {
  private bytes = 0;
  private stored = 0;
  /** Created on the first byte: most requests have no body at all. */
  private hash: Hash | undefined;
  private done: BodySummary | undefined;

  constructor(
    readonly store: BodyStore,
    private readonly maxStoredBytes: number,
  ) {}

  /** Returns the part of `chunk` to store as a frame (possibly empty). */
  take(chunk: Buffer): Buffer {
    this.bytes += chunk.length;
    if (this.store !== 'none') (this.hash ??= createHash('sha256')).update(chunk);
    if (this.store !== 'full' || this.stored >= this.maxStoredBytes) return EMPTY;
    const n = Math.min(chunk.length, this.maxStoredBytes - this.stored);
    this.stored += n;
    return n === chunk.length ? chunk : chunk.subarray(0, n);
  }

  get size(): number {
    return this.bytes;
  }

  get storedBytes(): number {
    return this.stored;
  }

  /** The final summary; after this call `take` must not be called again. */
  summary(): BodySummary {
    this.done ??= { store: this.store, bytes: this.bytes, storedBytes: this.stored, sha256: this.store === 'none' ? '' : (this.hash ?? createHash('sha256')).digest('hex') };
    return this.done;
  }
}

const EMPTY = Buffer.alloc(0);
