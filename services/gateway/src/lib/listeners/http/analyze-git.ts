import {
  FetchResponseReader,
  PktLineReader,
  ReceivePackParser,
  ancestryRequest,
  describeUpdates,
  encodeRejection,
  parseGitPath,
  pktText,
  type GitEndpoint,
  type RefUpdateDetail,
} from '../../protocols/git/index.js';
import { HttpProtocolError, parseQuery, type HttpCommand } from '../../protocols/http/index.js';
import { routedSegments, type Analysis, type RequestInfo, type UpstreamProbe } from './analysis.js';

/** Pack bytes the gateway may hold back to find a push's commits before deciding. */
const MAX_PACK_SCAN = 32 * 1024 * 1024;
/** Commits the walk may leave the pack through before the ancestry question is left open. */
const MAX_BOUNDARY_CHECKS = 8;
const ANCESTRY_TIMEOUT_MS = 15_000;

const requestText = (info: RequestInfo): string => `${info.method} ${info.target.path}${info.target.query ? `?${info.target.query}` : ''}`;

/** Git smart-HTTP requests; undefined for URLs that are not git's (the REST view applies). */
export function gitAnalysis(info: RequestInfo): Analysis | undefined {
  const query = parseQuery(info.target.query);
  const segments = routedSegments(info);
  const ep = parseGitPath(info.method, segments, query);
  if (!ep) return undefined;
  const encoding = (info.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (ep.op === 'rpc' && ep.service === 'receive-pack') return pushAnalysis(info, ep, encoding);
  if (ep.op === 'rpc') return fetchAnalysis(info, ep, encoding);
  const action = ep.op === 'advertise' ? 'git.advertise' : 'git.dumb';
  return {
    bodyBytes: 0,
    scope: {},
    command: () => ({ protocol: 'git', action, targets: [ep.repo], text: requestText(info), details: { repo: ep.repo, op: ep.op, service: ep.service ?? null } }),
  };
}

/** upload-pack: which v2 command (ls-refs, fetch) and how many wants/haves; the body is small. */
function fetchAnalysis(info: RequestInfo, ep: GitEndpoint, encoding: string): Analysis {
  const reader = new PktLineReader();
  const seen = { command: 'fetch', wants: 0, haves: 0, done: false };
  let readable = encoding === 'identity';
  return {
    bodyBytes: 0,
    scope: {},
    consume(chunk) {
      if (!readable) return true;
      const { lines, error } = reader.push(chunk);
      if (error) readable = false;
      for (const l of lines) {
        if (l.kind !== 'data') continue;
        const t = pktText(l.payload);
        if (t.startsWith('command=')) seen.command = t.slice(8);
        else if (t.startsWith('want ')) seen.wants++;
        else if (t.startsWith('have ')) seen.haves++;
        else if (t === 'done') seen.done = true;
      }
      return false;
    },
    command: () => ({
      protocol: 'git',
      action: seen.command === 'ls-refs' ? 'git.ls-refs' : 'git.fetch',
      targets: [ep.repo],
      text: requestText(info),
      details: { repo: ep.repo, op: 'rpc', service: 'upload-pack', command: seen.command, wants: seen.wants, haves: seen.haves, compressed: encoding !== 'identity' },
    }),
  };
}

function pushAnalysis(info: RequestInfo, ep: GitEndpoint, encoding: string): Analysis {
  if (encoding !== 'identity') throw new HttpProtocolError('UNSUPPORTED_ENCODING', `a push body with Content-Encoding ${encoding} cannot be inspected; push without compression`);
  const parser = new ReceivePackParser({ maxScanBytes: MAX_PACK_SCAN });
  return {
    bodyBytes: MAX_PACK_SCAN + 1024 * 1024,
    scope: {},
    consume: (chunk) => parser.push(chunk),
    async command(ended, probe): Promise<HttpCommand> {
      const req = ended || !parser.done ? parser.end() : parser.request;
      if (req.error) throw new HttpProtocolError('BAD_BODY', `the push request does not parse: ${req.error.message}`);
      const { details, unresolved } = describeUpdates(req);
      const repoPath = info.routedPath.slice(0, info.routedPath.lastIndexOf('/'));
      for (const u of unresolved) {
        const d = details[u.index]!;
        d.force = await forceFromUpstream(probe, repoPath, d, u.boundary, req.idLength / 2);
      }
      const text = [requestText(info), ...req.updates.map((u) => `${u.oldId} ${u.newId} ${u.ref}`)].join('\n');
      return {
        protocol: 'git',
        action: 'git.push',
        targets: [ep.repo, ...req.updates.map((u) => u.ref)],
        text,
        details: {
          repo: ep.repo,
          op: 'rpc',
          service: 'receive-pack',
          updates: details,
          capabilities: req.capabilities.filter((c) => !c.startsWith('agent=') && !c.startsWith('session-id=')),
          pushOptions: req.pushOptions,
          pack: req.pack ? { objects: req.pack.objects, commits: req.pack.commits.size, scanComplete: req.pack.complete } : null,
        },
      };
    },
    refusal: (_status, message) => ({
      status: 200,
      headers: [
        ['Content-Type', 'application/x-git-receive-pack-result'],
        ['Cache-Control', 'no-cache'],
      ],
      body: encodeRejection(
        parser.request.updates.map((u) => u.ref),
        message,
        parser.request.capabilities,
      ),
    }),
  };
}

/**
 * The pack could not tell whether `old` is an ancestor of `new` (the new history leaves the
 * pack through commits the server already has): ask the upstream, with the connection's
 * credentials, whether `old` is an ancestor of one of those commits. Any error leaves it open
 * (null), which the policy treats as "cannot prove a fast-forward".
 */
async function forceFromUpstream(probe: UpstreamProbe, repoPath: string, d: RefUpdateDetail, boundary: string[], hashBytes: number): Promise<boolean | null> {
  if (boundary.length > MAX_BOUNDARY_CHECKS) return null;
  let open = false;
  for (const tip of boundary) {
    const r = await isAncestorUpstream(probe, repoPath, tip, d.old, hashBytes).catch(() => null);
    if (r === true) return false;
    if (r === null) open = true;
  }
  return open ? null : true;
}

function isAncestorUpstream(probe: UpstreamProbe, repoPath: string, tip: string, have: string, hashBytes: number): Promise<boolean | null> {
  return probe.auth({}).then(
    (auth) =>
      new Promise<boolean | null>((resolve) => {
        const headers = ['Host', probe.conn.http.url.host, 'Content-Type', 'application/x-git-upload-pack-request', 'Accept', 'application/x-git-upload-pack-result', 'Git-Protocol', 'version=2', ...auth.flat()];
        const req = probe.pool.open(probe.conn, { method: 'POST', path: probe.upstreamPath(`${repoPath}/git-upload-pack`), headers });
        const reader = new FetchResponseReader(MAX_PACK_SCAN, hashBytes);
        const settle = (v: boolean | null): void => {
          req.destroy();
          resolve(v);
        };
        req.setTimeout(ANCESTRY_TIMEOUT_MS, () => settle(null));
        req.on('error', () => settle(null));
        req.on('response', (res) => {
          if (res.statusCode !== 200) return settle(null);
          res.on('data', (c: Buffer) => {
            if (reader.push(c)) settle(reader.isAncestor(tip, have));
          });
          res.on('end', () => settle(reader.isAncestor(tip, have)));
          res.on('error', () => settle(null));
        });
        req.end(ancestryRequest(tip, have, false));
      }),
  );
}
