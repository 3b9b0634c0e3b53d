import { restCommand } from '../../protocols/http/index.js';
import type { Analysis, RequestInfo } from './analysis.js';
import { gitAnalysis } from './analyze-git.js';
import { k8sAnalysis } from './analyze-k8s.js';
import { mcpAnalysis } from './analyze-mcp.js';
import { ociAnalysis } from './analyze-oci.js';
import type { Kind } from './types.js';

/** The analyser for a connection kind; a request the kind does not recognise gets the REST view. */
export function analyze(kind: Kind, info: RequestInfo): Analysis {
  switch (kind) {
    case 'git':
      return gitAnalysis(info) ?? restAnalysis(info);
    case 'oci':
      return ociAnalysis(info) ?? restAnalysis(info);
    case 'k8s':
      return k8sAnalysis(info);
    case 'mcp':
      return mcpAnalysis(info, () => restAnalysis(info));
    default:
      return restAnalysis(info);
  }
}

export function restAnalysis(info: RequestInfo): Analysis {
  return { bodyBytes: 0, scope: {}, command: () => restCommand(info.method, info.target, info.headers['content-type']) };
}
