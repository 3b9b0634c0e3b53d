/** HTTP/1.1 request checks, header handling, routing and body capture for the HTTP listener. */
export * from './errors.js';
export * from './target.js';
export * from './headers.js';
export * from './host.js';
export * from './framer.js';
export * from './auth.js';
export * from './route.js';
export * from './body.js';
export * from './rest.js';
export * from './websocket.js';
