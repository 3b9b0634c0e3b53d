import { status, type ServiceError } from '@grpc/grpc-js';

/** A failed API call as the client sees it: the gRPC status name and the server's message. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    /** gRPC status name, e.g. NOT_FOUND, UNAVAILABLE, INVALID_ARGUMENT, UNAUTHENTICATED. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Turns a grpc-js ServiceError into an ApiError whose message is the server's own text. */
export function fromServiceError(err: unknown, address: string): ApiError {
  const e = err as Partial<ServiceError>;
  const code = typeof e.code === 'number' ? (status[e.code] ?? 'UNKNOWN') : 'UNKNOWN';
  if (code === 'UNAVAILABLE')
    return new ApiError(
      code,
      `cannot reach the Chaperone API at ${address} (${(e.details ?? e.message ?? '').replace(/\.?\s*Resolution note:.*$/, '')}); is \`chaperone api\` running there?`,
      { cause: err },
    );
  return new ApiError(code, e.details || e.message || String(err), { cause: err });
}
