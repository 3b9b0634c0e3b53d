export { buildTranscript } from './transcript.js';
export type { Transcript, TranscriptCommand } from './transcript.js';
export { formatTranscript, formatTable, formatMicros } from './format.js';
export type { FormatOptions } from './format.js';
export { LiveTranscript, eventBody } from './live.js';
