/** A registry request that cannot be answered as asked; `code` is the gRPC status name the API answers with. */
export class McpToolError extends Error {
  override name = 'McpToolError';
  constructor(
    readonly code: 'NOT_FOUND' | 'FAILED_PRECONDITION',
    message: string,
  ) {
    super(message);
  }
}
