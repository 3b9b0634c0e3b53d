/**
 * @module @chaperone/loadtest
 * Load and loss tooling: the ground-truth loss checker (upstream statement log, access logs and
 * git refs vs recorded Commands), the fleet simulator and the fault scenarios, shared by the
 * integration tests and the commands in src/fleet/main.ts and src/faults/<name>.ts.
 */
export * from './loss/index.js';
export * from './fleet/index.js';
export * from './faults/index.js';
