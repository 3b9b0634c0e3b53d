import type { Logger } from '@chaperone/observability';

/** Keeps a service running until SIGTERM/SIGINT, then runs its graceful stop once. */
export function runUntilSignal(log: Logger, stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'stopping');
      stop().then(
        () => resolve(),
        (err: Error) => {
          log.error({ err: err.message }, 'error while stopping');
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
  });
}
