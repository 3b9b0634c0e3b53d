import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { errorMessage } from '@chaperone/observability';

/** An address a service will listen on, and the setting that names it (for the message). */
export interface Listener {
  what: string;
  setting: string;
  at: { host: string; port: number };
}

/**
 * Binds and releases each address before the service's heavy modules load (the gateway's take
 * seconds on a busy machine), so a taken port fails the start at once, with the same line the
 * service itself would print. The service binds again for real; this only moves the failure early.
 */
export async function checkListenable(listeners: readonly Listener[]): Promise<void> {
  for (const l of listeners) {
    if (l.at.port === 0) continue;
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'the address is in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
        reject(new Error(`cannot bind the ${l.what} on ${l.at.host}:${l.at.port} (${l.setting}): ${why}`, { cause: err }));
      });
      probe.listen({ host: l.at.host, port: l.at.port, exclusive: true }, () => probe.close(() => resolve()));
    });
  }
}

/** The policy bundle must at least be readable; the gateway loads and self-checks it at start. */
export function checkReadable(what: string, file: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw new Error(`cannot load the ${what} ${file}: ${errorMessage(err)}`, { cause: err });
  }
}
