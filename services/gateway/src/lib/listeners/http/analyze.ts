import { restCommand } from '../../protocols/http/index.js';
import type { Analysis, RequestInfo } from './analysis.js';
import type { Kind } from './refuse.js';

/** The analyser for a connection kind; every kind falls back to the REST view of a request. */
export function analyze(kind: Kind, info: RequestInfo): Analysis {
  switch (kind) {
    default:
      return restAnalysis(info);
  }
}

export function restAnalysis(info: RequestInfo): Analysis {
  return { bodyBytes: 0, scope: {}, command: () => restCommand(info.method, info.target, info.headers['content-type']) };
}
