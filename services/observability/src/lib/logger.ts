import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stderr (stdout stays free for command output). */
export function createLogger(opts: { name: string; level?: string; nodeId?: string }): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? 'info',
      base: { pid: process.pid, ...(opts.nodeId ? { node: opts.nodeId } : {}) },
      // Credentials must never reach a log line, whatever object a caller passes.
      redact: { paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
