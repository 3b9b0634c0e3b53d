/** Why the materializer cannot run; the message says what to do. */
export class MaterializerError extends Error {
  override name = 'MaterializerError';
  constructor(
    readonly code: 'START_FAILED' | 'CONSUMER_CRASHED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
