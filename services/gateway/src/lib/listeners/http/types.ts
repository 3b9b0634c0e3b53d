import type { Connection } from '@chaperone/config';

/** The upstream block of an http connection (compiled by @chaperone/config). */
export type HttpUpstream = NonNullable<Connection['http']>;

/** A configured connection with protocol http. */
export type HttpConnection = Connection & { http: HttpUpstream };

export const isHttpConnection = (c: Connection): c is HttpConnection => c.protocol === 'http' && c.http !== undefined;
