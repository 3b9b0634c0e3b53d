/** What a git smart-HTTP URL asks for (gitprotocol-http "Smart Clients"). */
export interface GitEndpoint {
  /** Repository path as the server names it, e.g. `team/app.git`. */
  repo: string;
  /** `advertise`: GET info/refs; `rpc`: POST git-upload-pack / git-receive-pack; `dumb`: the dumb protocol's files. */
  op: 'advertise' | 'rpc' | 'dumb';
  service: 'upload-pack' | 'receive-pack' | undefined;
}

/** Classifies a request against a git http-backend; undefined when it is not a git URL. */
export function parseGitPath(method: string, segments: readonly string[], query: Record<string, string[]>): GitEndpoint | undefined {
  const n = segments.length;
  const last = segments[n - 1];
  if (n >= 3 && segments[n - 2] === 'info' && last === 'refs') {
    const svc = query.service?.[0];
    const repo = segments.slice(0, n - 2).join('/');
    if (svc === 'git-upload-pack' || svc === 'git-receive-pack') return { repo, op: 'advertise', service: svc.slice(4) as 'upload-pack' | 'receive-pack' };
    return { repo, op: 'dumb', service: undefined };
  }
  if (n >= 2 && method === 'POST' && (last === 'git-upload-pack' || last === 'git-receive-pack'))
    return { repo: segments.slice(0, n - 1).join('/'), op: 'rpc', service: last.slice(4) as 'upload-pack' | 'receive-pack' };
  const objects = segments.indexOf('objects');
  if (objects >= 1) return { repo: segments.slice(0, objects).join('/'), op: 'dumb', service: undefined };
  if (n >= 2 && (last === 'HEAD' || (segments[n - 2] === 'info' && (last === 'alternates' || last === 'http-alternates' || last === 'packs'))))
    return { repo: segments.slice(0, last === 'HEAD' ? n - 1 : n - 2).join('/'), op: 'dumb', service: undefined };
  return undefined;
}
