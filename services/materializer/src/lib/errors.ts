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

/** The consumer is stopping (or rebalancing): the batch is left uncommitted for the next owner. */
export class NoLongerOurs extends Error {
  override name = 'NoLongerOurs';
  readonly code = 'NO_LONGER_OURS';
}
