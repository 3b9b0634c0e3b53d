/** OCI distribution API: endpoint classification and manifest summaries. */
export * from './path.js';
export * from './manifest.js';
