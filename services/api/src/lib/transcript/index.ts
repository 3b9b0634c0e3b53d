export { buildTranscript, TranscriptBuilder } from './transcript.js';
export type { Transcript, TranscriptCommand, TranscriptBuilderOptions } from './transcript.js';
export { TranscriptJsonWriter, transcriptDocument } from './json.js';
export { formatTranscript, formatTable, formatMicros } from './format.js';
export type { FormatOptions } from './format.js';
export { LiveTranscript } from './live.js';
export { eventBody } from './frames.js';
export { interleaveMcpReplays, mcpSessionsQuery, mergeMcpTranscripts, type McpTranscript, type McpTranscriptCommand, type TimedText } from './mcp-session.js';
