/** Mask rules the gateway cannot apply (an unknown detector id, a JSON path it cannot parse). */
export class MaskRulesError extends Error {
  readonly code = 'MASK_RULES_INVALID';
  override name = 'MaskRulesError';
}
