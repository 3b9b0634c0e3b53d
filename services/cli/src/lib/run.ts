import type { Logger } from '@chaperone/observability';
import { errorMessage } from '@chaperone/observability';

/**
 * A service that failed to start exits at once, non-zero, with one line naming what failed
 * (`chaperone gateway: cannot start: cannot bind the … on 0.0.0.0:6432 (gateway.postgres.listen):
 * the address is in use`). Nothing may linger half-started: under Kubernetes a process that keeps
 * a listener open after a failed start looks alive and fails every agent (issue #18).
 */
export async function startOrExit<T>(service: string, start: () => Promise<T>, log?: Logger): Promise<T> {
  try {
    return await start();
  } catch (err) {
    exitNow(service, err, log);
  }
}

/** Writes the one line for a failed start (or run, for one-off commands) and exits 1 (after the logger's buffered lines). */
export function exitNow(service: string, err: unknown, log?: Logger, what = 'cannot start'): never {
  // A service's own error may already say it cannot start ("materializer cannot start: …").
  const message = errorMessage(err).replace(`${service} cannot start: `, '');
  log?.error({ err }, what);
  log?.flush();
  process.stderr.write(`chaperone ${service}: ${what}: ${message.split('\n').join(' ')}\n`);
  process.exit(1);
}

/**
 * Keeps a started service running until SIGTERM/SIGINT, runs its graceful stop once, then exits
 * (0 after a clean drain, 1 if stopping failed): a client library's stray timer must not keep a
 * drained pod from terminating. A second signal exits at once.
 */
export function runUntilSignal(log: Logger, stop: () => Promise<void>): Promise<void> {
  return new Promise(() => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        log.flush();
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'stopping');
      stop().then(
        () => exitAfterStop(log, 0),
        (err: Error) => {
          log.error({ err }, 'error while stopping');
          exitAfterStop(log, 1);
        },
      );
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
  });
}

/** Flushes the logger and exits with the code (or the one already set). */
export function exitAfterStop(log: Logger, code: number): never {
  log.info({ code: code || process.exitCode || 0 }, 'stopped');
  log.flush();
  process.exit(code || (typeof process.exitCode === 'number' ? process.exitCode : 0));
}
