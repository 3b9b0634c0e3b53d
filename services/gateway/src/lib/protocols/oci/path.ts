/**
 * The OCI distribution API (distribution-spec v1.1 "Endpoints"), as the policy sees it: which
 * repository, which operation, which tag or digest.
 */
export type OciOp =
  | 'ping'
  | 'catalog'
  | 'tags.list'
  | 'manifest.pull'
  | 'manifest.push'
  | 'manifest.delete'
  | 'blob.pull'
  | 'blob.delete'
  | 'blob.upload.start'
  | 'blob.upload'
  | 'blob.mount'
  | 'blob.upload.chunk'
  | 'blob.upload.complete'
  | 'blob.upload.status'
  | 'blob.upload.cancel'
  | 'referrers';

export interface OciRequest {
  op: OciOp;
  /** Repository name, e.g. `team/app`; '' for ping and catalog. */
  repository: string;
  tag: string | null;
  digest: string | null;
  /** Blob mounts: the repository the blob comes from. */
  from: string | null;
}

// distribution-spec "Pulling manifests": <name> and <reference> grammars.
const NAME_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const MAX_NAME = 255;

export const isDigest = (ref: string): boolean => DIGEST.test(ref);

function name(parts: readonly string[]): string | undefined {
  if (parts.length === 0 || !parts.every((p) => NAME_COMPONENT.test(p))) return undefined;
  const n = parts.join('/');
  return n.length <= MAX_NAME ? n : undefined;
}

function reference(ref: string): { tag: string | null; digest: string | null } | undefined {
  if (isDigest(ref)) return { tag: null, digest: ref };
  if (TAG.test(ref)) return { tag: ref, digest: null };
  return undefined;
}

/** Classifies `/v2/...` (segments already percent-decoded); undefined when it is no API route. */
export function parseOciPath(method: string, segments: readonly string[], query: Record<string, string[]>): OciRequest | undefined {
  if (segments[0] !== 'v2') return undefined;
  const s = segments.slice(1);
  const n = s.length;
  const none = { tag: null, digest: null, from: null };
  if (n === 0) return { op: 'ping', repository: '', ...none };
  if (n === 1 && s[0] === '_catalog') return { op: 'catalog', repository: '', ...none };
  if (n >= 3 && s[n - 2] === 'tags' && s[n - 1] === 'list') {
    const repo = name(s.slice(0, n - 2));
    return repo === undefined ? undefined : { op: 'tags.list', repository: repo, ...none };
  }
  if (n >= 3 && (s[n - 2] === 'manifests' || s[n - 2] === 'referrers')) {
    const repo = name(s.slice(0, n - 2));
    const ref = reference(s[n - 1]!);
    if (repo === undefined || !ref) return undefined;
    if (s[n - 2] === 'referrers') return ref.digest ? { op: 'referrers', repository: repo, ...ref, from: null } : undefined;
    const op: OciOp = method === 'PUT' ? 'manifest.push' : method === 'DELETE' ? 'manifest.delete' : 'manifest.pull';
    return { op, repository: repo, ...ref, from: null };
  }
  const uploads = s.lastIndexOf('uploads');
  if (uploads >= 2 && s[uploads - 1] === 'blobs' && n - uploads <= 2) {
    const repo = name(s.slice(0, uploads - 1));
    if (repo === undefined) return undefined;
    const digest = query.digest?.[0] ?? null;
    if (digest !== null && !isDigest(digest)) return undefined;
    if (n === uploads + 1) {
      if (method !== 'POST') return undefined;
      const mount = query.mount?.[0];
      if (mount !== undefined) return isDigest(mount) ? { op: 'blob.mount', repository: repo, tag: null, digest: mount, from: query.from?.[0] ?? null } : undefined;
      return { op: digest ? 'blob.upload' : 'blob.upload.start', repository: repo, tag: null, digest, from: null };
    }
    const op: OciOp | undefined = method === 'PATCH' ? 'blob.upload.chunk' : method === 'PUT' ? 'blob.upload.complete' : method === 'DELETE' ? 'blob.upload.cancel' : method === 'GET' ? 'blob.upload.status' : undefined;
    return op ? { op, repository: repo, tag: null, digest, from: null } : undefined;
  }
  if (n >= 3 && s[n - 2] === 'blobs') {
    const repo = name(s.slice(0, n - 2));
    if (repo === undefined || !isDigest(s[n - 1]!)) return undefined;
    return { op: method === 'DELETE' ? 'blob.delete' : 'blob.pull', repository: repo, tag: null, digest: s[n - 1]!, from: null };
  }
  return undefined;
}

/** Registry token scope actions an operation needs (distribution token auth "Scope"). */
export function ociActions(op: OciOp): ('pull' | 'push' | 'delete')[] {
  if (op === 'manifest.delete' || op === 'blob.delete') return ['delete'];
  if (op.startsWith('blob.upload') || op === 'blob.mount' || op === 'manifest.push') return ['pull', 'push'];
  return ['pull'];
}
