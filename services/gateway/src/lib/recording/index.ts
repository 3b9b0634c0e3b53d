export { SessionRecorder, type RecorderOptions } from './session-recorder.js';
export type { EventSink } from './sink.js';
