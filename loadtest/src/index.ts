/**
 * @module @chaperone/loadtest
 * Load and loss tooling: the ground-truth loss checker (upstream statement log vs recorded
 * Commands), shared by the integration tests, the fault scenarios and the fleet simulator.
 */
export * from './loss/index.js';
