import type { Lifecycle, Logger } from '@chaperone/observability';
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

/** A started daemon: how to stop it, and (optionally) a promise that settles when it ends by itself. */
export interface ServiceHandle {
  stop(): Promise<void>;
  /** Resolves when the service ended on its own (rejects when it failed): the process then exits too. */
  done?: Promise<void>;
}

export interface RunServiceOptions {
  /** The name in the one-line start failure (`chaperone <name>: cannot start: …`). */
  name: string;
  log: Logger;
  /** Starts the service; a rejection is a failed start (one line, exit 1). */
  start: () => Promise<ServiceHandle>;
  /** The longest a graceful stop may take before the process exits 1 anyway. @default 60 s */
  stopDeadlineMs?: number;
  /** For tests: where signals come from and how the process exits. */
  process?: { on(signal: NodeJS.Signals, fn: (signal: NodeJS.Signals) => void): unknown; off(signal: NodeJS.Signals, fn: (signal: NodeJS.Signals) => void): unknown };
  exit?: (log: Logger, code: number) => never;
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * The one lifecycle of the four daemons (gateway, API, materializer, approvals worker): start
 * (a failure exits 1 with one line), then run until SIGTERM/SIGINT or until the service ends by
 * itself, stop once — within a deadline, so a stop that rejects or never settles cannot keep a
 * drained pod alive — and exit 0 after a clean stop, 1 otherwise. A signal during start stops
 * the service as soon as it is up; a second signal exits at once (1).
 */
export async function runService(o: RunServiceOptions): Promise<never> {
  const { log } = o;
  const proc = o.process ?? process;
  const exit = o.exit ?? exitAfterStop;
  const deadlineMs = o.stopDeadlineMs ?? 60_000;
  let handle: ServiceHandle | undefined;
  let stopping: Promise<never> | undefined;
  const stop = (why: Record<string, unknown>, code: number): Promise<never> =>
    (stopping ??= (async () => {
      log.info(why, 'stopping');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), deadlineMs)));
      try {
        const r = await Promise.race([handle!.stop().then(() => 'stopped' as const), deadline]);
        if (r === 'deadline') {
          log.error({ deadlineMs }, 'the service did not stop within its deadline; exiting');
          return exit(log, 1);
        }
        return exit(log, code);
      } catch (err) {
        log.error({ err }, 'error while stopping');
        return exit(log, 1);
      } finally {
        clearTimeout(timer);
      }
    })());
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      return exit(log, 1);
    }
    signalled = true;
    if (handle) void stop({ signal }, 0);
    else log.info({ signal }, 'signal during start: stopping once started');
  };
  for (const s of SIGNALS) proc.on(s, onSignal);
  try {
    handle = await o.start();
  } catch (err) {
    for (const s of SIGNALS) proc.off(s, onSignal);
    exitNow(o.name, err, log);
  }
  if (signalled) return await stop({ signal: 'during start' }, 0);
  handle.done?.then(
    () => void stop({ reason: 'the service ended' }, 0),
    (err: unknown) => {
      log.error({ err }, `${o.name} failed`);
      void stop({ reason: 'the service failed' }, 1);
    },
  );
  return await new Promise<never>(() => undefined);
}

/**
 * A ServiceHandle's `done` for a service that reports its end through a Lifecycle (the
 * materializer): resolves once it is `stopped`, rejects once it is `failed` (a consumer crash).
 */
export function lifecycleDone(lifecycle: Lifecycle): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (s: string) => {
      if (s === 'stopped') resolve();
      else if (s === 'failed') reject(new Error(`${lifecycle.component} failed`));
    };
    settle(lifecycle.state);
    lifecycle.onChange(settle);
  });
}

/** Flushes the logger and exits with the code (or the one already set). */
export function exitAfterStop(log: Logger, code: number): never {
  log.info({ code: code || process.exitCode || 0 }, 'stopped');
  log.flush();
  process.exit(code || (typeof process.exitCode === 'number' ? process.exitCode : 0));
}
