import type { IncomingHttpHeaders } from 'node:http';
import type { HttpCommand, RequestTarget } from '../../protocols/http/index.js';
import type { CredentialScope } from './credentials.js';
import type { Refusal } from './refuse.js';
import type { HttpConnection } from './types.js';
import type { UpstreamPool } from './upstream.js';

/** A request as the protocol analysers see it (head only; the body comes through `consume`). */
export interface RequestInfo {
  method: string;
  target: RequestTarget;
  /** The path as the upstream API sees it (route prefix removed when it is stripped), percent-encoded. */
  routedPath: string;
  headers: IncomingHttpHeaders;
}

/** Lets an analyser ask the upstream something before the decision (e.g. does this tag exist). */
export interface UpstreamProbe {
  conn: HttpConnection;
  pool: UpstreamPool;
  /** Headers with the connection's credentials for this scope. */
  auth(scope: CredentialScope): Promise<[string, string][]>;
  /** The upstream request path (base path prepended) for a path as the upstream API sees it. */
  upstreamPath(apiPath: string): string;
}

/**
 * What a protocol analyser makes of one request. The listener reads at most `bodyBytes` of the
 * body before deciding (feeding each chunk to `consume` until it returns true), then asks for the
 * command; the request is forwarded only after the command and its decision are recorded.
 */
export interface Analysis {
  /** How much of the body the decision may depend on (0: none). */
  bodyBytes: number;
  consume?(chunk: Buffer): boolean;
  /** `ended`: the whole body was read. */
  command(ended: boolean, probe: UpstreamProbe): HttpCommand | Promise<HttpCommand>;
  /** For registry token scopes. */
  scope: CredentialScope;
  /** A protocol-native refusal (e.g. a git report-status that rejects each ref). */
  refusal?(status: number, message: string): Refusal | undefined;
}

/** The routed path's segments, percent-decoded (the target checks already refused bad escapes). */
export function routedSegments(info: RequestInfo): string[] {
  return info.routedPath
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}
