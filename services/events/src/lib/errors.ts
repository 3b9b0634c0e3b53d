/** An event that cannot be decoded: unknown schema fingerprint, bad magic, truncated Avro. */
export class EventDecodeError extends Error {
  override name = 'EventDecodeError';
  constructor(
    readonly code: 'BAD_MAGIC' | 'UNKNOWN_SCHEMA' | 'MALFORMED',
    message: string,
  ) {
    super(message);
  }
}
