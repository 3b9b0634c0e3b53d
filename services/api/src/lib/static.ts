import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import type { Logger } from '@chaperone/observability';

export interface StaticFile {
  type: string;
  bytes: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The built console, read once into memory by URL path: a request can only name a file that was
 * there at start (no path from the URL ever reaches the file system). Undefined when the folder
 * has no index.html (not built).
 */
export function loadConsole(dir: string, log: Logger): Map<string, StaticFile> | undefined {
  const files = new Map<string, StaticFile>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const type = TYPES[extname(name).toLowerCase()];
        if (type) files.set(`/${relative(dir, p).split(sep).join('/')}`, { type, bytes: readFileSync(p) });
      }
    }
  };
  try {
    walk(dir);
  } catch (err) {
    log.warn({ err, dir }, 'console not found: build it with `npx nx run @chaperone/console:build`');
    return undefined;
  }
  if (!files.has('/index.html')) {
    log.warn({ dir }, 'console has no index.html: build it with `npx nx run @chaperone/console:build`');
    return undefined;
  }
  return files;
}
