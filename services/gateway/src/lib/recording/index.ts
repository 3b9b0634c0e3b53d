export { SessionRecorder, type RecorderOptions } from './session-recorder.js';
export { FrameBuilder, joinBuffers } from './frames.js';
export type { EventSink } from './sink.js';
