/** The approval service (Temporal) could not be reached or did not answer; the held command is refused (fail closed). */
export class ApprovalUnavailableError extends Error {
  override name = 'ApprovalUnavailableError';
  readonly code = 'APPROVAL_UNAVAILABLE';
}
