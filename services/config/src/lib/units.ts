import { ConfigError } from './errors.js';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };

/** Parses `250ms`, `30s`, `15m`, `2h`, `1d` (or a bare number of milliseconds) to milliseconds. */
export function parseDuration(value: string | number, field = 'duration'): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value);
  if (!m) throw new ConfigError(`${field}: "${value}" is not a duration; write e.g. 500ms, 30s, 15m, 2h`);
  return Math.round(Number(m[1]) * DURATION_UNITS[(m[2] ?? 'ms').toLowerCase()]!);
}

/** Parses `512`, `64KiB`, `16MiB`, `1GB` to bytes. */
export function parseSize(value: string | number, field = 'size'): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)?\s*$/i.exec(value);
  const unit = SIZE_UNITS[(m?.[2] ?? 'b').toLowerCase()];
  if (!m || unit === undefined) throw new ConfigError(`${field}: "${value}" is not a size; write e.g. 64KiB, 16MiB`);
  return Math.round(Number(m[1]) * unit);
}
