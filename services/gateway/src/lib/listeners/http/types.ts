import type { Connection } from '@chaperone/config';

/** The upstream block of an http connection (compiled by @chaperone/config). */
export type HttpUpstream = NonNullable<Connection['http']>;

/** A configured connection with protocol http. */
export type HttpConnection = Connection & { http: HttpUpstream };

/** The kind of an HTTP connection: how requests are parsed and refusals shaped. */
export type Kind = 'rest' | 'git' | 'oci' | 'k8s' | 'mcp';

/** A ready-made answer the gateway gives in place of the upstream's. */
export interface Refusal {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

export const isHttpConnection = (c: Connection): c is HttpConnection => c.protocol === 'http' && c.http !== undefined;
