/** Inline masking of secrets and PII: detectors, PostgreSQL result rewriting, streaming bodies (JSON paths + detectors). */
export { Masker, markerText, NoteSink } from './masker.js';
export { PgResultMasker, type Masked } from './postgres.js';
export { StreamMasker, type StreamMaskerOptions } from './stream.js';
export { JsonPathStream, MAX_DEPTH as MAX_JSON_DEPTH, type JsonPathStreamOptions } from './json-stream.js';
export { BodyMasker } from './body.js';
export { DETECTORS, DETECTOR_IDS, SECRET_DETECTOR_IDS, MAX_MATCH_BYTES } from './detectors.js';
export { compileJsonPath, findJsonPaths, JsonSyntaxError } from './json-path.js';
export { MaskRulesError } from './errors.js';
export type { MaskNote, MaskRules, Match, DetectorInfo, DetectorKind } from './types.js';
export { PgSessionMasking, effectiveRules, unionRules, maskerFor } from './session.js';
