/** Something a benchmark cannot go on without; `code` is stable for scripts, the message says what to do. */
export class BenchError extends Error {
  override name = 'BenchError';
  constructor(
    readonly code: 'NO_STACK' | 'NO_TOOL' | 'BAD_ARGS' | 'SETUP_FAILED' | 'RUN_FAILED' | 'BAD_OUTPUT',
    message: string,
  ) {
    super(message);
  }
}
