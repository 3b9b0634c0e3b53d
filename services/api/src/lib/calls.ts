import { status } from '@grpc/grpc-js';
import { Counter, Histogram, type Logger, type Registry, errorMessage } from '@chaperone/observability';
import { StoreError } from '@chaperone/store';
import { CallRefused, type Authenticator, type Caller } from './auth.js';

/** A failed call: its gRPC status and the message for the caller. */
export interface CallFailure {
  code: status;
  details: string;
}

/** Maps store failures onto gRPC statuses callers can act on. */
export function toStatus(err: unknown, rpc: string): CallFailure {
  if (err instanceof CallRefused) return { code: err.status, details: err.message };
  // The approvals client's errors, by name: the API does not import the approvals service.
  if ((err as Error)?.name === 'ApprovalNotFoundError') return { code: status.NOT_FOUND, details: errorMessage(err) };
  if ((err as Error)?.name === 'TemporalUnavailableError') return { code: status.UNAVAILABLE, details: errorMessage(err) };
  if (err instanceof StoreError) {
    switch (err.code) {
      case 'NOT_FOUND':
        return { code: status.NOT_FOUND, details: err.message };
      case 'READONLY':
        return { code: status.PERMISSION_DENIED, details: err.message };
      case 'BAD_REQUEST':
        return { code: status.INVALID_ARGUMENT, details: err.message };
      case 'UNAVAILABLE':
        return { code: status.UNAVAILABLE, details: `recording store unavailable: ${err.message}` };
      case 'CLICKHOUSE':
        // In Query the SQL is the caller's: a server refusal is their error to fix.
        return { code: rpc === 'Query' ? status.INVALID_ARGUMENT : status.INTERNAL, details: err.message };
      default:
        return { code: status.INTERNAL, details: err.message };
    }
  }
  return { code: status.INTERNAL, details: errorMessage(err) };
}

/**
 * Runs one call of either transport: authorizes the caller for `rpc` from the `authorization`
 * header, counts and times it, logs it; a failure rejects with an Error carrying `code` and
 * `details` (what grpc-js sends as the status; web.ts maps it to an HTTP status).
 */
export type CallRunner = <T>(rpc: string, authorization: string | undefined, fn: (caller: Caller | undefined) => Promise<T>) => Promise<T>;

export function createCallRunner(deps: { auth: Authenticator; log: Logger; registry: Registry }): CallRunner {
  const { auth, log, registry } = deps;
  const calls = new Counter({ name: 'chaperone_api_calls_total', help: 'API calls by method and status', labelNames: ['method', 'code'], registers: [registry] });
  const seconds = new Histogram({ name: 'chaperone_api_call_seconds', help: 'API call duration', labelNames: ['method'], registers: [registry] });
  return async (rpc, authorization, fn) => {
    const end = seconds.startTimer({ method: rpc });
    try {
      const caller = await auth.caller(authorization, rpc);
      const out = await fn(caller);
      calls.inc({ method: rpc, code: 'OK' });
      log.info({ rpc, caller: caller?.identity.subject, roles: caller?.roles }, 'call');
      return out;
    } catch (err) {
      const s = toStatus(err, rpc);
      calls.inc({ method: rpc, code: status[s.code] });
      log[s.code === status.INTERNAL || s.code === status.UNAVAILABLE ? 'error' : 'info']({ rpc, err }, 'call failed');
      throw Object.assign(new Error(s.details), s);
    } finally {
      end();
    }
  };
}
