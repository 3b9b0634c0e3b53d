import { GitProtocolError } from './errors.js';
import { PackCommitScanner, type PackScan } from './pack.js';
import { DELIM_PKT, FLUSH_PKT, PktLineReader, pktLine, pktText } from './pktline.js';
import { isZeroId, type ReceivePackRequest, type RefUpdate } from './receive-pack.js';

export type RefKind = 'branch' | 'tag' | 'other';

/** One ref update as the record and the policy see it. */
export interface RefUpdateDetail {
  ref: string;
  /** `main` for refs/heads/main, `v1` for refs/tags/v1. */
  name: string;
  refKind: RefKind;
  old: string;
  new: string;
  type: 'create' | 'update' | 'delete';
  /** true: not a fast-forward (history is rewritten); null: could not be determined. */
  force: boolean | null;
  delete: boolean;
}

function refKind(ref: string): { kind: RefKind; name: string } {
  if (ref.startsWith('refs/heads/')) return { kind: 'branch', name: ref.slice(11) };
  if (ref.startsWith('refs/tags/')) return { kind: 'tag', name: ref.slice(10) };
  return { kind: 'other', name: ref };
}

/**
 * Decides from the pushed pack alone whether `old` is an ancestor of `new`: walking the pack's
 * commits from `new`, reaching `old` proves a fast-forward. Returns the commits where the walk
 * left the pack (the server already has them) when the pack cannot tell; a complete scan with
 * no such commit proves the opposite (the new history does not contain `old`).
 */
export function walkPack(u: RefUpdate, pack: PackScan | undefined): { fastForward: boolean | null; boundary: string[] } {
  if (u.oldId === u.newId) return { fastForward: true, boundary: [] };
  if (!pack?.commits.has(u.newId)) return { fastForward: null, boundary: [u.newId] };
  const seen = new Set<string>();
  const boundary = new Set<string>();
  const queue = [u.newId];
  while (queue.length > 0) {
    const id = queue.pop()!;
    if (id === u.oldId) return { fastForward: true, boundary: [] };
    if (seen.has(id)) continue;
    seen.add(id);
    const c = pack.commits.get(id);
    if (!c) boundary.add(id);
    else queue.push(...c.parents);
  }
  if (boundary.size === 0 && pack.complete) return { fastForward: false, boundary: [] };
  return { fastForward: null, boundary: [...boundary] };
}

/** Ref updates with create/update/delete and force as far as the pack alone tells. */
export function describeUpdates(req: ReceivePackRequest): { details: RefUpdateDetail[]; unresolved: { index: number; boundary: string[] }[] } {
  const details: RefUpdateDetail[] = [];
  const unresolved: { index: number; boundary: string[] }[] = [];
  req.updates.forEach((u, index) => {
    const { kind, name } = refKind(u.ref);
    const base = { ref: u.ref, name, refKind: kind, old: u.oldId, new: u.newId };
    if (isZeroId(u.oldId)) return details.push({ ...base, type: 'create', force: false, delete: false });
    if (isZeroId(u.newId)) return details.push({ ...base, type: 'delete', force: false, delete: true });
    const w = walkPack(u, req.pack);
    if (w.fastForward === null) unresolved.push({ index, boundary: w.boundary });
    return details.push({ ...base, type: 'update', force: w.fastForward === null ? null : !w.fastForward, delete: false });
  });
  return { details, unresolved };
}

/**
 * A protocol v2 `fetch` (gitprotocol-v2) that asks the upstream for the commits reachable from
 * `tip` but not from `have`. `have` is an ancestor of `tip` exactly when one of those commits
 * has `have` as a parent (or tip === have). Trees and blobs are filtered out when the server
 * allows filters; the scan stops at the first tree anyway.
 */
export function ancestryRequest(tip: string, have: string, filter: boolean): Buffer {
  return Buffer.concat([
    pktLine('command=fetch\n'),
    pktLine('agent=chaperone\n'),
    DELIM_PKT,
    pktLine('no-progress\n'),
    pktLine('ofs-delta\n'),
    ...(filter ? [pktLine('filter tree:0\n')] : []),
    pktLine(`want ${tip}\n`),
    pktLine(`have ${have}\n`),
    pktLine('done\n'),
    FLUSH_PKT,
  ]);
}

/**
 * Reads a v2 fetch response far enough to know the commits it carries: the `packfile` section's
 * band-1 pkt-lines are the pack (band 2 is progress, band 3 a fatal error).
 */
export class FetchResponseReader {
  private readonly lines = new PktLineReader();
  private inPack = false;
  readonly scanner: PackCommitScanner;
  error: GitProtocolError | undefined;

  constructor(maxScanBytes: number, hashBytes = 20) {
    this.scanner = new PackCommitScanner({ maxScanBytes, maxCommits: 1_000_000, hashBytes });
  }

  /** True once the commits are known (or the response is unusable). */
  push(chunk: Buffer): boolean {
    const { lines, error } = this.lines.push(chunk);
    if (error) return ((this.error = error), true);
    for (const l of lines) {
      if (l.kind !== 'data') continue;
      if (!this.inPack) {
        const t = pktText(l.payload);
        if (t === 'packfile') this.inPack = true;
        else if (t.startsWith('ERR ')) return ((this.error = new GitProtocolError('BAD_PKT_LINE', `upstream: ${t.slice(4)}`)), true);
        continue;
      }
      const band = l.payload[0];
      if (band === 3) return ((this.error = new GitProtocolError('BAD_PKT_LINE', `upstream: ${l.payload.toString('utf8', 1).trim()}`)), true);
      if (band === 1 && this.scanner.push(l.payload.subarray(1))) return true;
    }
    return false;
  }

  /** Whether `have` is an ancestor of `tip`, given everything read. */
  isAncestor(tip: string, have: string): boolean | null {
    if (tip === have) return true;
    const scan = this.scanner.end();
    if (this.error || scan.error) return null;
    if (!scan.commits.has(tip)) return scan.complete && scan.commits.size === 0 ? false : null;
    for (const c of scan.commits.values()) if (c.parents.includes(have)) return true;
    return scan.complete ? false : null;
  }
}
