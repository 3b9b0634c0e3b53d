/** SPDY/3.1 (the upgrade `kubectl exec`/`port-forward` fall back to): frames, header blocks, streams. */
export * from './errors.js';
export * from './frame.js';
export * from './header-block.js';
export * from './streams.js';
export { SPDY3_DICTIONARY } from './dictionary.js';
