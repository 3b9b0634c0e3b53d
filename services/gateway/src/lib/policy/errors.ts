/** A policy bundle that cannot be used; the running policy (if any) stays in force. */
export class PolicyBundleError extends Error {
  override name = 'PolicyBundleError';
  constructor(
    readonly code: 'BUNDLE_UNREADABLE' | 'BUNDLE_INVALID' | 'SELF_CHECK_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The policy's output is not a decision this gateway understands (evaluated as deny). */
export class InvalidDecisionError extends Error {
  readonly code = 'DECISION_INVALID';
  override name = 'InvalidDecisionError';
}
