import { Runtime, makeTelemetryFilterString, type LogLevel, type LogMetadata, type Logger as TemporalLogger } from '@temporalio/worker';
import type { Logger } from '@chaperone/observability';

// Temporal's Runtime is a process-wide singleton that can be configured only once. The bridge
// below forwards to whichever pino logger the latest worker supplied, so a second worker in
// the same process (tests) still logs through its own logger.
let target: Logger | undefined;

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

function emit(level: LogLevel, message: string, meta?: LogMetadata): void {
  const fn = LEVELS[level] ?? 'info';
  target?.[fn]({ temporal: meta ?? {} }, message);
}

const bridge: TemporalLogger = {
  log: emit,
  trace: (m, meta) => emit('TRACE', m, meta),
  debug: (m, meta) => emit('DEBUG', m, meta),
  info: (m, meta) => emit('INFO', m, meta),
  warn: (m, meta) => emit('WARN', m, meta),
  error: (m, meta) => emit('ERROR', m, meta),
};

/**
 * Installs the Temporal Runtime once: SDK and native (Rust core) logs go to our pino logger
 * on stderr instead of the console, and the Runtime does not install its own SIGINT/SIGTERM
 * handlers — the process owner (the CLI) drives a graceful stop through the worker handle.
 */
export function useRuntimeLogger(log: Logger): void {
  target = log.child({ component: 'temporal-sdk' });
  if (Runtime._instance !== undefined) return;
  Runtime.install({
    logger: bridge,
    shutdownSignals: [],
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} } },
  });
}
