import { createHash } from 'node:crypto';

/** The manifest a push carries, summarised for the record and the policy. */
export interface ManifestSummary {
  digest: string;
  size: number;
  mediaType: string;
  /** Layers (image manifest) or manifests (index / manifest list). */
  layers: number;
  layersSize: number;
  config: string | null;
  /** The body is not the JSON object a manifest must be. */
  invalid: boolean;
}

/** Largest manifest registries accept (distribution-spec: at least 4 MiB must be accepted). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

interface Descriptor {
  digest?: unknown;
  size?: unknown;
}

/** Digest (sha256 of the exact bytes, as the registry computes it) and what the manifest references. */
export function summarizeManifest(body: Buffer, contentType: string | undefined): ManifestSummary {
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  let doc: { mediaType?: unknown; layers?: Descriptor[]; manifests?: Descriptor[]; config?: Descriptor } | undefined;
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) doc = v;
  } catch {
    doc = undefined;
  }
  const items = Array.isArray(doc?.layers) ? doc.layers : Array.isArray(doc?.manifests) ? doc.manifests : [];
  const mediaType = typeof doc?.mediaType === 'string' ? doc.mediaType : (contentType ?? '').split(';')[0]!.trim();
  return {
    digest,
    size: body.length,
    mediaType,
    layers: items.length,
    layersSize: items.reduce((n, d) => n + (typeof d?.size === 'number' ? d.size : 0), 0),
    config: typeof doc?.config?.digest === 'string' ? doc.config.digest : null,
    invalid: doc === undefined,
  };
}

/** Every manifest media type a registry may hold, for the overwrite check's HEAD request. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
].join(', ');
