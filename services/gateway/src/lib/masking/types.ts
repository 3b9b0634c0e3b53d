import type { MaskNote as RecordedMaskNote } from '@chaperone/events';

/** Which detector fired where: the Avro MaskNote recorded with each Frame event. */
export type MaskNote = RecordedMaskNote;

/** What to mask besides what the detectors find; the `mask` part of a policy decision. */
export interface MaskRules {
  /** Column names whose every value is replaced (PostgreSQL result columns, case-insensitive). */
  columns?: string[];
  /** JSON paths (`$.a.b`, `$.items[*].email`, `$..password`) whose values are replaced in JSON bodies. */
  jsonPaths?: string[];
  /**
   * Enabled detector ids (see DETECTORS).
   * @default every detector
   */
  detectors?: string[];
}

/** One span to replace, in bytes of the scanned buffer; `end` is exclusive. */
export interface Match {
  start: number;
  end: number;
  detector: string;
}

export type DetectorKind = 'secret' | 'pii';

export interface DetectorInfo {
  id: string;
  kind: DetectorKind;
  description: string;
}
