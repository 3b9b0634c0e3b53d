/**
 * The one JSON style of every `--json` output of the CLI and of `replay --json` (services/cli
 * README, "JSON output"): numbers as numbers, times as ISO 8601 strings, no JSON inside strings,
 * the same field names everywhere. Applied to what the API returns, so every command's output
 * follows it without each one converting by hand:
 *
 * - a time in microseconds since the epoch, `<name>Micros`, becomes `<name>At` (`tsMicros`: `at`),
 *   an ISO 8601 UTC string with microseconds; 0 (no such time yet, e.g. the end of an open
 *   session) becomes null. Durations in microseconds (`evalMicros`, …) stay numbers.
 * - a string of JSON, `<name>Json`, becomes its parsed value under `<name>` (left as it is when it
 *   is not JSON);
 * - a bigint becomes a number when it is a safe integer, else a decimal string;
 * - a Buffer (or Uint8Array) becomes lowercase hex.
 */

const DURATION = /^(eval|duration|elapsed|wait|latency)/i;

/** ISO 8601 UTC with microseconds: 2026-12-07T15:24:27.123456Z. */
export function isoMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 23)}${String(Math.trunc(micros - ms * 1000)).padStart(3, '0')}Z`;
}

function timeKey(key: string): string | undefined {
  if (!key.endsWith('Micros') || key.length === 'Micros'.length) return undefined;
  const base = key.slice(0, -'Micros'.length);
  if (DURATION.test(base)) return undefined;
  return base === 'ts' ? 'at' : `${base}At`;
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `value` in the one JSON style (see the module comment); a new value, the input is not changed. */
export function jsonStyle(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (Array.isArray(value)) return value.map(jsonStyle);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const time = typeof v === 'number' ? timeKey(k) : undefined;
    if (time !== undefined) out[time] = v === 0 ? null : isoMicros(v as number);
    else if (k.endsWith('Json') && k.length > 4 && typeof v === 'string') out[k.slice(0, -4)] = parsedJson(v);
    else out[k] = jsonStyle(v);
  }
  return out;
}
