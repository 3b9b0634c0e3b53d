/** Kubernetes API: request attributes as RBAC sees them. */
export * from './path.js';
