/**
 * Kubernetes API request attributes, derived the way the apiserver's RequestInfoFactory does
 * (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go), so that a policy sees the same
 * verb/group/version/resource/namespace/name/subresource RBAC would.
 */
export interface K8sRequest {
  /** RBAC verb: get, list, watch, create, update, patch, delete, deletecollection (proxy for legacy proxy paths). */
  verb: string;
  /** false for /version, /healthz, /openapi/..., and discovery documents. */
  resourceRequest: boolean;
  /** '' for the core group. */
  group: string;
  version: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** What the policy and the record call it: exec/attach/portforward for those subresources, else the verb. */
  action: string;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const STREAMING = new Set(['exec', 'attach', 'portforward']);
// DNS-1123 subdomain-ish: what path segment names may be (path.IsValidPathSegmentName rejects / and %).
const SEGMENT = /^[^/%]{1,253}$/;

const VERB_BY_METHOD: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

export function parseK8sPath(method: string, segments: readonly string[], query: Record<string, string[]>): K8sRequest {
  const base = { resourceRequest: false, group: '', version: '', resource: '', subresource: '', namespace: '', name: '' };
  const nonResource = (): K8sRequest => {
    const verb = (VERB_BY_METHOD[method] ?? method.toLowerCase());
    return { ...base, verb, action: verb };
  };
  let parts = [...segments];
  if (parts[0] === 'api') {
    if (parts.length < 2) return nonResource();
    base.version = parts[1]!;
    parts = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length < 3) return nonResource();
    base.group = parts[1]!;
    base.version = parts[2]!;
    parts = parts.slice(3);
  } else return nonResource();
  if (parts.length === 0) return { ...nonResource(), group: base.group, version: base.version };
  if (!parts.every((p) => SEGMENT.test(p))) return nonResource();
  let verb = VERB_BY_METHOD[method] ?? method.toLowerCase();
  // Deprecated /api/v1/watch/... and /api/v1/proxy/... forms.
  if (parts[0] === 'watch' || parts[0] === 'proxy') {
    verb = parts[0];
    parts = parts.slice(1);
    if (parts.length === 0) return nonResource();
  }
  let namespace = '';
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      namespace = parts[1]!;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }
  const resource = parts[0] ?? '';
  let name = parts[1] ?? '';
  const subresource = verb !== 'proxy' && verb !== 'watch' ? (parts[2] ?? '') : '';
  if (name === '' && verb === 'get') {
    const watch = query.watch?.[0];
    verb = watch === '1' || watch === 'true' ? 'watch' : 'list';
    const m = /^metadata\.name(?:==|=)([^,]+)$/.exec(query.fieldSelector?.[0] ?? '');
    if (m && SEGMENT.test(m[1]!)) name = m[1]!;
  }
  if (name === '' && verb === 'delete') verb = 'deletecollection';
  const action = STREAMING.has(subresource) ? subresource : verb;
  return { ...base, resourceRequest: true, verb, resource, subresource, namespace, name, action };
}

/** `ns/resource.group/name` for the record's targets (the cluster-wide parts left out). */
export function k8sTarget(r: K8sRequest, fallbackPath: string): string {
  if (!r.resourceRequest) return fallbackPath;
  const res = `${r.group ? `${r.resource}.${r.group}` : r.resource}${r.subresource ? `/${r.subresource}` : ''}`;
  return [r.namespace, res, r.name].filter((p) => p !== '').join('/');
}

/** What a create/update body says about the object (kind, name, namespace), if it is JSON. */
export function objectOf(body: Buffer): { kind: string; apiVersion: string; name: string; namespace: string } | undefined {
  try {
    const v = JSON.parse(body.toString('utf8')) as { kind?: unknown; apiVersion?: unknown; metadata?: { name?: unknown; namespace?: unknown; generateName?: unknown } };
    if (!v || typeof v !== 'object') return undefined;
    const str = (x: unknown): string => (typeof x === 'string' ? x : '');
    return { kind: str(v.kind), apiVersion: str(v.apiVersion), name: str(v.metadata?.name) || str(v.metadata?.generateName), namespace: str(v.metadata?.namespace) };
  } catch {
    return undefined;
  }
}
