/**
 * The message of anything thrown: an Error's message, else the value as a string. One helper in
 * place of `(err as Error).message` casts, which print `undefined` (or throw) when a library
 * rejects with a string or a plain object. Log the error itself as `{ err }` instead, so pino's
 * serializer keeps the stack; this is for text a person reads (a refusal, a CLI line).
 */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  return String(err);
}
