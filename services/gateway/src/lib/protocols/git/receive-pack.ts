import { GitProtocolError } from './errors.js';
import { PackCommitScanner, type PackScan } from './pack.js';
import { PktLineReader, pktText } from './pktline.js';

export interface RefUpdate {
  ref: string;
  oldId: string;
  newId: string;
}

export interface ReceivePackLimits {
  /** Largest command list (all ref updates and push options). @default 1MiB */
  maxCommandBytes?: number;
  /** How much of the pack may be buffered to find its commits. @default 32MiB */
  maxScanBytes?: number;
  /** @default 100000 */
  maxCommits?: number;
}

export interface ReceivePackRequest {
  updates: RefUpdate[];
  capabilities: string[];
  pushOptions: string[];
  shallow: string[];
  /** undefined when no pack follows (only deletions). */
  pack: PackScan | undefined;
  /** Hex length of object ids: 40 (SHA-1) or 64 (SHA-256). */
  idLength: number;
  error?: GitProtocolError;
}

const COMMAND = /^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) (\S+)$/;

export const isZeroId = (id: string): boolean => /^0+$/.test(id);

/**
 * Incremental parser of a `git-receive-pack` request body (gitprotocol-pack "Reference Update
 * Request and Packfile Transfer"): shallow lines, the command list with capabilities, push
 * options, then the head of the pack until its commits are known. `push` returns true once
 * there is enough for the decision; the bytes themselves are forwarded untouched.
 */
export class ReceivePackParser {
  private lines = new PktLineReader({ stopAfterFlush: true });
  private phase: 'commands' | 'options' | 'pack' | 'done' = 'commands';
  private commandBytes = 0;
  private scanner: PackCommitScanner | undefined;
  private readonly req: ReceivePackRequest = { updates: [], capabilities: [], pushOptions: [], shallow: [], pack: undefined, idLength: 40 };
  private readonly limits: Required<ReceivePackLimits>;

  constructor(limits: ReceivePackLimits = {}) {
    this.limits = { maxCommandBytes: limits.maxCommandBytes ?? 1024 * 1024, maxScanBytes: limits.maxScanBytes ?? 32 * 1024 * 1024, maxCommits: limits.maxCommits ?? 100_000 };
  }

  get request(): ReceivePackRequest {
    return this.req;
  }

  get done(): boolean {
    return this.phase === 'done';
  }

  push(chunk: Buffer): boolean {
    if (this.phase === 'done') return true;
    if (this.phase === 'pack') return this.feedPack(chunk);
    this.commandBytes += chunk.length;
    const { lines, error } = this.lines.push(chunk);
    if (error) return this.fail(error);
    for (const line of lines) {
      if (line.kind !== 'data') continue;
      const text = pktText(line.payload);
      const err = this.phase === 'commands' ? this.command(text) : (this.req.pushOptions.push(text), undefined);
      if (err) return this.fail(err);
    }
    if (this.lines.stoppedAtFlush) {
      const rest = this.lines.remainder();
      if (this.phase === 'commands' && this.req.capabilities.includes('push-options')) {
        this.phase = 'options';
        this.lines = new PktLineReader({ stopAfterFlush: true });
        return rest.length > 0 ? this.push(rest) : false;
      }
      if (this.req.updates.every((u) => isZeroId(u.newId))) {
        this.phase = 'done';
        return true;
      }
      this.phase = 'pack';
      this.scanner = new PackCommitScanner({ maxScanBytes: this.limits.maxScanBytes, maxCommits: this.limits.maxCommits, hashBytes: this.req.idLength / 2 });
      return rest.length > 0 ? this.feedPack(rest) : false;
    }
    if (this.commandBytes > this.limits.maxCommandBytes)
      return this.fail(new GitProtocolError('TOO_LARGE', `the push command list exceeds ${this.limits.maxCommandBytes} bytes`));
    return false;
  }

  /** The request body ended: whatever was found is final. */
  end(): ReceivePackRequest {
    if (this.scanner) this.req.pack = this.scanner.end();
    if (this.phase !== 'done' && this.phase !== 'pack' && !this.req.error)
      this.req.error = new GitProtocolError('BAD_COMMAND', 'the push request ended inside its command list');
    this.phase = 'done';
    return this.req;
  }

  private feedPack(chunk: Buffer): boolean {
    const done = this.scanner!.push(chunk);
    if (done) {
      this.req.pack = this.scanner!.scan;
      this.phase = 'done';
    }
    return done;
  }

  private fail(err: GitProtocolError): boolean {
    this.req.error = err;
    this.phase = 'done';
    return true;
  }

  private command(text: string): GitProtocolError | undefined {
    let line = text;
    if (this.req.updates.length === 0 && line.startsWith('shallow ')) {
      this.req.shallow.push(line.slice(8).trim());
      return undefined;
    }
    if (line.startsWith('push-cert')) return new GitProtocolError('BAD_COMMAND', 'signed pushes (push-cert) are not supported through the gateway');
    const nul = line.indexOf('\0');
    if (nul >= 0) {
      if (this.req.updates.length > 0) return new GitProtocolError('BAD_COMMAND', 'capabilities after the first command');
      this.req.capabilities = line.slice(nul + 1).split(' ').filter((c) => c !== '');
      line = line.slice(0, nul);
    }
    const m = COMMAND.exec(line);
    if (!m || m[1]!.length !== m[2]!.length) return new GitProtocolError('BAD_COMMAND', `not a ref update: ${JSON.stringify(line.slice(0, 120))}`);
    if (!m[3]!.startsWith('refs/') && m[3] !== 'HEAD') return new GitProtocolError('BAD_COMMAND', `ref ${JSON.stringify(m[3])} is outside refs/`);
    this.req.idLength = m[1]!.length;
    this.req.updates.push({ oldId: m[1]!, newId: m[2]!, ref: m[3]! });
    return undefined;
  }
}
