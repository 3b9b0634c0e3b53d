/** Git smart-HTTP: pkt-lines, receive-pack requests, pack commit scanning, ancestry, refusals. */
export * from './errors.js';
export * from './pktline.js';
export * from './pack.js';
export * from './receive-pack.js';
export * from './ancestry.js';
export * from './url.js';
export * from './report.js';
