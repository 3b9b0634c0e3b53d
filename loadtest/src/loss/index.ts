export { checkLoss, lossFree, sealProblems, BackendOwners, type CheckOptions, type LossReport } from './checker.js';
export { parseStatementLog, type LoggedStatement } from './statement-log.js';
export { parseAccessLog, checkHttpLoss, upstreamRequest, type AccessLogEntry, type HttpRoute, type HttpLossReport, type HttpCheckOptions } from './access-log.js';
export { checkGitRefs, readRefs, type GitRefsReport, type GitRefsOptions } from './git-refs.js';
export { recordedMessages, backendPid, type RecordedMessage } from './frames.js';
export { loadSessions, gapFree, cutSessions, adminReader, type LossReader, type RecordedSession, type SealState, type SessionScope } from './sessions.js';
export { checkRun, formatLossReport, readLogFrom, logOffset, type RunCheckOptions, type RunLossReport } from './run.js';
export { checkMcpLoss, toolCallKey, type ExecutedToolCall, type McpLossReport, type McpCheckOptions } from './mcp.js';
