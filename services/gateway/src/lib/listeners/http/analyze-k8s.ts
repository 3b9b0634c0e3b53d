import { mediaType, parseQuery, type HttpCommand } from '../../protocols/http/index.js';
import { k8sTarget, objectOf, parseK8sPath } from '../../protocols/k8s/index.js';
import { routedSegments, type Analysis, type RequestInfo } from './analysis.js';

/** Object bodies larger than this are not inspected for kind/name (the decision goes on without). */
const MAX_OBJECT_BYTES = 1024 * 1024;

/** Kubernetes API requests: every path has a meaning (resource or not), so there is no fallback. */
export function k8sAnalysis(info: RequestInfo): Analysis {
  const query = parseQuery(info.target.query);
  const r = parseK8sPath(info.method, routedSegments(info), query);
  const withBody = (r.verb === 'create' || r.verb === 'update' || r.verb === 'patch') && mediaType(info.headers['content-type']).includes('json');
  const chunks: Buffer[] = [];
  let bytes = 0;
  return {
    bodyBytes: withBody ? MAX_OBJECT_BYTES : 0,
    scope: {},
    consume: withBody
      ? (c) => {
          bytes += c.length;
          if (bytes <= MAX_OBJECT_BYTES) chunks.push(c);
          return bytes > MAX_OBJECT_BYTES;
        }
      : undefined,
    command(ended): HttpCommand {
      const object = withBody && ended && bytes <= MAX_OBJECT_BYTES ? objectOf(Buffer.concat(chunks)) : undefined;
      // A create names its object in the body, not in the path.
      const name = r.name || (r.verb === 'create' && !r.subresource ? (object?.name ?? '') : '');
      const req = { ...r, name };
      const path = `${info.target.path}`;
      return {
        protocol: 'k8s',
        action: `k8s.${r.action}`,
        targets: [k8sTarget(req, path)],
        text: `${info.method} ${info.target.path}${info.target.query ? `?${info.target.query}` : ''}`,
        details: {
          verb: r.verb,
          resourceRequest: r.resourceRequest,
          group: r.group,
          version: r.version,
          resource: r.resource,
          subresource: r.subresource,
          namespace: r.namespace || object?.namespace || '',
          name,
          ...(r.resourceRequest ? {} : { path: info.routedPath }),
          ...(object ? { object: { kind: object.kind, apiVersion: object.apiVersion } } : {}),
          ...(query.dryRun ? { dryRun: query.dryRun } : {}),
          ...(r.subresource === 'exec' ? { command: query.command ?? [], container: query.container?.[0] ?? '' } : {}),
        },
      };
    },
  };
}
