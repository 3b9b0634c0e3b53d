/**
 * @module Fixtures of the gateway for other packages' tests: the masking corpus (random,
 * format-valid secrets for every rule of the adopted rule set and each PII kind, and
 * look-alikes that must pass unmasked).
 */
export { maskingCorpus, lookalikes, type CorpusValue } from './lib/masking/corpus.js';
