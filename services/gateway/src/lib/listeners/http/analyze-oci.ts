import { HttpProtocolError, parseQuery, type HttpCommand } from '../../protocols/http/index.js';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, ociActions, parseOciPath, summarizeManifest, type OciRequest } from '../../protocols/oci/index.js';
import { routedSegments, type Analysis, type RequestInfo, type UpstreamProbe } from './analysis.js';

const requestText = (info: RequestInfo): string => `${info.method} ${info.target.path}${info.target.query ? `?${info.target.query}` : ''}`;

function targetOf(r: OciRequest): string {
  if (r.repository === '') return '';
  return r.tag ? `${r.repository}:${r.tag}` : r.digest ? `${r.repository}@${r.digest}` : r.repository;
}

/** OCI distribution requests; undefined for paths outside the API (the REST view applies). */
export function ociAnalysis(info: RequestInfo): Analysis | undefined {
  const r = parseOciPath(info.method, routedSegments(info), parseQuery(info.target.query));
  if (!r) return undefined;
  const scope = r.repository ? { repository: r.repository, actions: ociActions(r.op) } : {};
  const base = (details: Record<string, unknown> = {}): HttpCommand => ({
    protocol: 'oci',
    action: `oci.${r.op}`,
    targets: r.repository ? [targetOf(r)] : [],
    text: requestText(info),
    details: { repository: r.repository, op: r.op, tag: r.tag, digest: r.digest, ...(r.from ? { from: r.from } : {}), ...details },
  });
  if (r.op !== 'manifest.push') return { bodyBytes: 0, scope, command: () => base() };
  const chunks: Buffer[] = [];
  return {
    bodyBytes: MAX_MANIFEST_BYTES,
    scope,
    consume(chunk) {
      chunks.push(chunk);
      return false;
    },
    async command(ended, probe) {
      if (!ended) throw new HttpProtocolError('BODY_TOO_LARGE', `a manifest may be at most ${MAX_MANIFEST_BYTES} bytes`);
      const m = summarizeManifest(Buffer.concat(chunks), info.headers['content-type']);
      if (m.invalid) throw new HttpProtocolError('BAD_BODY', 'the manifest is not a JSON object');
      const previous = r.tag ? await currentDigest(probe, r) : undefined;
      return base({
        digest: r.digest ?? m.digest,
        manifest: { mediaType: m.mediaType, size: m.size, layers: m.layers, layersSize: m.layersSize, config: m.config },
        // A push by digest is content-addressed and never replaces anything.
        overwrite: r.tag === null ? false : previous === undefined ? null : previous !== null && previous !== m.digest,
        previousDigest: previous ?? null,
      });
    },
  };
}

/**
 * What the tag points to now, asked upstream with the connection's credentials: a digest, null
 * when the tag does not exist, undefined when the registry would not say (the policy sees
 * `overwrite: null`).
 */
async function currentDigest(probe: UpstreamProbe, r: OciRequest): Promise<string | null | undefined> {
  try {
    const auth = await probe.auth({ repository: r.repository, actions: ['pull'] });
    const res = await probe.pool.fetch(
      probe.conn,
      { method: 'HEAD', path: probe.upstreamPath(`/v2/${r.repository}/manifests/${r.tag}`), headers: ['Host', probe.conn.http.url.host, 'Accept', MANIFEST_ACCEPT, ...auth.flat()] },
      undefined,
      0,
    );
    if (res.status === 404) return null;
    const d = res.headers['docker-content-digest'];
    return res.status === 200 && typeof d === 'string' ? d : undefined;
  } catch {
    return undefined;
  }
}
